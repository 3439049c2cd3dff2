"""The tracking recorder on a SQLite file, on plain ``sqlite3``: each read or write of the projector is one
hop to a thread and back, as the event log's are (``server.eventlog.direct``).

Through SQLAlchemy's async engine every statement was compiled (or found in its cache), sent to
aiosqlite's thread and back, and its rows processed: under ``push_small``'s load the projector spent
about as much CPU in that engine as in folding (docs/performance.md, round 4). Here a read transaction
is a connection held for its reads (``DirectReads.snapshot``), a write transaction the writer thread's
connection under the store's turn to write (``EventStore.write_turn``, then ``DirectWriter.transaction``:
``BEGIN IMMEDIATE``), and every method a plain function run there whole. The statements and the
invariants are those of the SQLAlchemy recorder (server/projections/tracking.py): the only statements
that write rows also move the checkpoint, in the same transaction. tests/server/test_tracking.py runs
the same contract against both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager

from schema.projections import ProjectModel
from server.eventlog.direct import Held
from server.eventlog.sqlite import SQLiteRecorder
from server.projections import tracking_sqlite_reads as sql
from server.projections import tracking_sqlite_writes as writes
from server.projections.rows import Encoded, EncodedRow, decode_model, encoded_rows
from server.projections.stored import model_rows, read_checkpoint
from server.projections.tracking import (
    BatchOutcome,
    Checkpoint,
    LogReads,
    LogRow,
    TrackingWrites,
)
from server.projections.tracking_sqlalchemy import DriverTrackingRecorder


class SqliteReads(LogReads):
    def __init__(self, held: Held) -> None:
        self.held = held

    async def standing(self, user_id: int) -> tuple[int, Checkpoint | None]:
        return await self.held.run(sql.standing, user_id)

    async def log_head(self, user_id: int) -> int:
        return await self.held.run(sql.log_head, user_id)

    async def read_checkpoint(self, user_id: int) -> Checkpoint | None:
        return await self.held.run(read_checkpoint, user_id)

    async def behind_users(
        self, version: int, only: Iterable[int] | None = None
    ) -> list[tuple[int, int, Checkpoint | None]]:
        return await self.held.run(sql.behind_users, version, None if only is None else sorted(set(only)))

    async def events_after(
        self, user_id: int, after: int, upto: int | None = None, limit: int | None = None
    ) -> list[LogRow]:
        return await self.held.run(sql.events_after, user_id, after, upto, limit)

    async def keys_of_targets(self, user_id: int, targets: Iterable[str], upto: int) -> set[str]:
        wanted = sorted(set(targets))
        return await self.held.run(sql.keys_of_targets, user_id, wanted, upto) if wanted else set()

    async def retraction_bodies(self, user_id: int, upto: int) -> list[bytes]:
        return await self.held.run(sql.retraction_bodies, user_id, upto)

    async def project_bodies(self, user_id: int, keys: Iterable[str], upto: int) -> list[tuple[str, bytes]]:
        return await self.held.run(sql.project_bodies, user_id, sorted(set(keys)), upto)

    async def project_sizes(self, user_id: int) -> list[tuple[str, int]]:
        return await self.held.run(sql.project_sizes, user_id)

    async def model_keys(self, user_id: int) -> list[str]:
        return await self.held.run(sql.model_keys, user_id)

    async def load_models_of(self, user_id: int, keys: Iterable[str]) -> dict[str, ProjectModel]:
        rows = await self.held.run(model_rows, user_id, sorted(set(keys)))
        return {str(key): decode_model(raw) for key, raw in rows}


class SqliteWrites(SqliteReads, TrackingWrites):
    async def take_lease(self, user_id: int, holder: str, ttl_s: float, *, request: bool = False) -> bool:
        return await self.held.run(writes.take_lease, user_id, holder, ttl_s, request)

    async def take_leases(self, user_ids: Sequence[int], holder: str, ttl_s: float) -> list[bool]:
        return await self.held.run(writes.take_leases, list(user_ids), holder, ttl_s)

    async def commit_batch(
        self,
        user_id: int,
        holder: str,
        ttl_s: float,
        models: Mapping[str, Encoded | None],
        new: Checkpoint,
        expected: Checkpoint | None,
    ) -> BatchOutcome:
        rows = [(key, *model) for key, model in models.items() if model is not None]
        keys = sorted(models)
        return await self.held.run(writes.commit_batch, user_id, holder, ttl_s, rows, keys, new, expected)

    async def hand_over(self, user_id: int, holder: str, ttl_s: float) -> bool:
        return await self.held.run(writes.hand_over, user_id, holder, ttl_s)

    async def release_lease(self, user_id: int, holder: str) -> None:
        await self.held.run(writes.release, holder, [user_id])

    async def release_all(self, holder: str, user_ids: Sequence[int] | None = None) -> None:
        await self.held.run(writes.release, holder, None if user_ids is None else list(user_ids))

    async def record(
        self,
        user_id: int,
        models: Mapping[str, ProjectModel | Encoded | None],
        new: Checkpoint,
        expected: Checkpoint | None,
    ) -> None:
        rows = encoded_rows(models)
        await self.held.run(writes.record, user_id, rows, sorted(models), new, expected)

    async def swap(self, user_id: int, rows: Iterable[Sequence[EncodedRow]], checkpoint: Checkpoint) -> None:
        await self.held.run(writes.delete_rows, user_id)
        for batch in rows:
            await self.held.run(writes.insert_rows, user_id, batch)
        await self.held.run(writes.set_checkpoint, user_id, checkpoint)


class SqliteTrackingRecorder(DriverTrackingRecorder):
    """On the reader threads and the writer thread of the store's SQLite event log (the SQLAlchemy recorder
    when the store's log is no longer plain ``sqlite3``: ``DriverTrackingRecorder``)."""

    log_type = SQLiteRecorder

    @asynccontextmanager
    async def _reading(self, log: SQLiteRecorder) -> AsyncIterator[LogReads]:
        async with log.reads.snapshot() as held:
            yield SqliteReads(held)

    @asynccontextmanager
    async def _writing(self, log: SQLiteRecorder) -> AsyncIterator[TrackingWrites]:
        async with self.store.write_turn(), log.writer.transaction() as held:
            yield SqliteWrites(held)

    async def _project_bodies(
        self, log: SQLiteRecorder, user_id: int, keys: list[str], upto: int
    ) -> list[tuple[str, bytes]]:
        return await log.reads.run(sql.project_bodies, user_id, keys, upto)

    async def standing(self, user_id: int) -> tuple[int, Checkpoint | None]:
        # Two rows by key: read in the event loop's thread (DirectReads.point), cheaper than the hops.
        log = self.store.recorder
        if not isinstance(log, SQLiteRecorder):
            return await self._engine.standing(user_id)
        return await log.reads.point(sql.standing, user_id, one_statement=True)
