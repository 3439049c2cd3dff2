"""The tracking recorder on SQLAlchemy: any database the server runs on (SQLite, PostgreSQL).

Writes go through ``EventStore.write`` (one serialized write transaction, ``BEGIN IMMEDIATE`` on
SQLite) so that they queue with the pushes of this process; reads through ``reads.snapshot``
(REPEATABLE READ on PostgreSQL). The invariants are those of server/projections/tracking.py: the
only statements here that write rows also move the checkpoint, in the same transaction.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from schema.projections import ProjectModel
from server.database import tables as db
from server.eventlog.store import EventStore
from server.projections import leases, reads
from server.projections.bodies import RETRACTED, TARGETING
from server.projections.reads import IN_CHUNK
from server.projections.rows import NO_PROJECT_KEY, Encoded, EncodedRow, encoded_rows, key_of
from server.projections.tracking import (
    Checkpoint,
    CheckpointMoved,
    LogReads,
    LogRow,
    TrackingRecorder,
    TrackingWrites,
)


def _project_conditions(keys: Iterable[str]) -> list[ColumnElement[bool]]:
    """``WHERE`` conditions that together select the events of these project keys, a chunk each."""
    e = db.events.c
    wanted = sorted(set(keys))
    ids = [key for key in wanted if key != NO_PROJECT_KEY]
    conditions: list[ColumnElement[bool]] = [
        e.project_id.in_(ids[start : start + IN_CHUNK]) for start in range(0, len(ids), IN_CHUNK)
    ]
    if NO_PROJECT_KEY in wanted:
        conditions.append(e.project_id.is_(None))
    return conditions


class SqlAlchemyReads(LogReads):
    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def standing(self, user_id: int) -> tuple[int, Checkpoint | None]:
        u, c = db.users.c, db.projection_checkpoints.c
        row = (
            await self.connection.execute(
                select(u.last_seq, c.seq, c.version)
                .select_from(db.users.outerjoin(db.projection_checkpoints, c.user_id == u.id))
                .where(u.id == user_id)
            )
        ).one_or_none()
        if row is None:
            return 0, None
        last_seq, seq, version = row
        return int(last_seq), None if seq is None else Checkpoint(int(seq), int(version))

    async def log_head(self, user_id: int) -> int:
        last_seq = await self.connection.scalar(select(db.users.c.last_seq).where(db.users.c.id == user_id))
        return int(last_seq or 0)

    async def read_checkpoint(self, user_id: int) -> Checkpoint | None:
        return await reads.read_checkpoint(self.connection, user_id)

    async def behind_users(
        self, version: int, only: Iterable[int] | None = None
    ) -> list[tuple[int, int, Checkpoint | None]]:
        u, c = db.users.c, db.projection_checkpoints.c
        query = (
            select(u.id, u.last_seq, c.seq, c.version)
            .select_from(db.users.outerjoin(db.projection_checkpoints, c.user_id == u.id))
            .where(((c.user_id.is_(None)) & (u.last_seq > 0)) | (u.last_seq > c.seq) | (c.version != version))
            .order_by(u.id)
        )
        if only is not None:
            query = query.where(u.id.in_(sorted(only)))
        rows = (await self.connection.execute(query)).all()
        return [
            (int(user_id), int(last), None if seq is None else Checkpoint(int(seq), int(ver)))
            for user_id, last, seq, ver in rows
        ]

    async def events_after(
        self, user_id: int, after: int, upto: int | None = None, limit: int | None = None
    ) -> list[LogRow]:
        e = db.events.c
        query = select(e.seq, e.type, e.project_id, e.body).where(e.user_id == user_id, e.seq > after)
        if upto is not None:
            query = query.where(e.seq <= upto)
        query = query.order_by(e.seq)
        if limit is not None:
            query = query.limit(limit)
        rows = (await self.connection.execute(query)).all()
        return [(int(seq), kind, project_id, bytes(body)) for seq, kind, project_id, body in rows]

    async def keys_of_targets(self, user_id: int, targets: Iterable[str], upto: int) -> set[str]:
        e = db.events.c
        wanted = sorted(set(targets))
        keys: set[str] = set()
        for start in range(0, len(wanted), IN_CHUNK):
            result = await self.connection.execute(
                select(e.type, e.project_id).where(
                    e.user_id == user_id, e.event_id.in_(wanted[start : start + IN_CHUNK]), e.seq <= upto
                )
            )
            keys |= {key_of(project_id) for kind, project_id in result.all() if kind not in TARGETING}
        return keys

    async def retraction_bodies(self, user_id: int, upto: int) -> list[bytes]:
        e = db.events.c
        result = await self.connection.execute(
            select(e.body).where(e.user_id == user_id, e.type == RETRACTED, e.seq <= upto)
        )
        return [bytes(body) for (body,) in result.all()]

    async def project_bodies(self, user_id: int, keys: Iterable[str], upto: int) -> list[tuple[str, bytes]]:
        e = db.events.c
        found: list[tuple[str, bytes]] = []
        for condition in _project_conditions(keys):
            result = await self.connection.execute(
                select(e.project_id, e.body).where(
                    e.user_id == user_id, condition, e.type.notin_(TARGETING), e.seq <= upto
                )
            )
            found += [(key_of(project_id), bytes(body)) for project_id, body in result.all()]
        return found

    async def project_sizes(self, user_id: int) -> list[tuple[str, int]]:
        # Counted from the (user_id, project_id) index alone.
        e = db.events.c
        result = await self.connection.execute(
            select(e.project_id, func.count()).where(e.user_id == user_id).group_by(e.project_id)
        )
        return sorted((key_of(project_id), int(count)) for project_id, count in result.all())

    async def model_keys(self, user_id: int) -> list[str]:
        return await reads.model_keys(self.connection, user_id)

    async def load_models_of(self, user_id: int, keys: Iterable[str]) -> dict[str, ProjectModel]:
        return await reads.load_models_of(self.connection, user_id, keys)


class SqlAlchemyWrites(SqlAlchemyReads, TrackingWrites):
    async def take_lease(self, user_id: int, holder: str, ttl_s: float, *, request: bool = False) -> bool:
        return await leases.take_lease(self.connection, user_id, holder, ttl_s, request=request)

    async def hand_over(self, user_id: int, holder: str, ttl_s: float) -> bool:
        return await leases.hand_over(self.connection, user_id, holder, ttl_s)

    async def release_lease(self, user_id: int, holder: str) -> None:
        await leases.release_lease(self.connection, user_id, holder)

    async def release_all(self, holder: str, user_ids: Sequence[int] | None = None) -> None:
        await leases.release_all(self.connection, holder, user_ids)

    async def record(
        self,
        user_id: int,
        models: Mapping[str, ProjectModel | Encoded | None],
        new: Checkpoint,
        expected: Checkpoint | None,
    ) -> None:
        table = db.project_models
        keys = sorted(models)
        for start in range(0, len(keys), IN_CHUNK):
            chunk = keys[start : start + IN_CHUNK]
            await self.connection.execute(
                delete(table).where(table.c.user_id == user_id, table.c.project_key.in_(chunk))
            )
        await self._insert(
            user_id,
            encoded_rows(models),
        )
        if new != expected:
            await self._move_checkpoint(user_id, new, expected)

    async def swap(self, user_id: int, rows: Iterable[Sequence[EncodedRow]], checkpoint: Checkpoint) -> None:
        await self.connection.execute(delete(db.project_models).where(db.project_models.c.user_id == user_id))
        for batch in rows:
            await self._insert(user_id, batch)
        table = db.projection_checkpoints
        values = {"seq": checkpoint.seq, "version": checkpoint.version}
        result = await self.connection.execute(update(table).where(table.c.user_id == user_id).values(values))
        if result.rowcount == 0:
            await self.connection.execute(insert(table).values(user_id=user_id, **values))

    async def _insert(self, user_id: int, rows: Sequence[EncodedRow]) -> None:
        values = [
            {"user_id": user_id, "project_key": key, "model": model, "summary": summary}
            for key, model, summary in rows
        ]
        if values:
            await self.connection.execute(insert(db.project_models), values)

    async def _move_checkpoint(self, user_id: int, new: Checkpoint, expected: Checkpoint | None) -> None:
        table = db.projection_checkpoints
        if expected is None:
            if await self.read_checkpoint(user_id) is not None:
                raise CheckpointMoved(f"user {user_id} has a checkpoint already")
            await self.connection.execute(
                insert(table).values(user_id=user_id, seq=new.seq, version=new.version)
            )
            return
        result = await self.connection.execute(
            update(table)
            .where(
                table.c.user_id == user_id, table.c.seq == expected.seq, table.c.version == expected.version
            )
            .values(seq=new.seq, version=new.version)
        )
        if result.rowcount != 1:
            raise CheckpointMoved(f"the checkpoint of user {user_id} is no longer at seq {expected.seq}")


class SqlAlchemyTrackingRecorder(TrackingRecorder):
    def __init__(self, store: EventStore) -> None:
        self.store = store

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlAlchemyReads]:
        async with reads.snapshot(self.store.engine) as connection:
            yield SqlAlchemyReads(connection)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[SqlAlchemyWrites]:
        async with self.store.write() as connection:
            yield SqlAlchemyWrites(connection)

    async def project_bodies(self, user_id: int, keys: Iterable[str], upto: int) -> list[tuple[str, bytes]]:
        async with self.reading() as reading:
            return await reading.project_bodies(user_id, keys, upto)


class DriverTrackingRecorder(TrackingRecorder):
    """A recorder on the plain driver of the store's event log (``tracking_sqlite``, ``tracking_postgres``),
    the log looked up at each use (``EventStore.recorder`` may be swapped): a store whose log is not of
    ``log_type`` is served by the SQLAlchemy recorder. Subclasses give the three ways in on their log."""

    log_type: type

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._engine = SqlAlchemyTrackingRecorder(store)

    def _log(self) -> Any:
        log = self.store.recorder
        return log if isinstance(log, self.log_type) else None

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[LogReads]:
        log = self._log()
        context = self._engine.reading() if log is None else self._reading(log)
        async with context as reading:
            yield reading

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[TrackingWrites]:
        log = self._log()
        context = self._engine.writing() if log is None else self._writing(log)
        async with context as writes:
            yield writes

    async def project_bodies(self, user_id: int, keys: Iterable[str], upto: int) -> list[tuple[str, bytes]]:
        log = self._log()
        if log is None:
            return await self._engine.project_bodies(user_id, keys, upto)
        return await self._project_bodies(log, user_id, sorted(set(keys)), upto)

    @abstractmethod
    def _reading(self, log: Any) -> AbstractAsyncContextManager[LogReads]: ...

    @abstractmethod
    def _writing(self, log: Any) -> AbstractAsyncContextManager[TrackingWrites]: ...

    @abstractmethod
    async def _project_bodies(
        self, log: Any, user_id: int, keys: list[str], upto: int
    ) -> list[tuple[str, bytes]]: ...
