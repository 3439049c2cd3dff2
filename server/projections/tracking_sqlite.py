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

import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from schema.projections import ProjectModel
from server.eventlog.direct import Held
from server.eventlog.sqlite import SQLiteRecorder
from server.eventlog.store import EventStore
from server.projections import leases
from server.projections.bodies import RETRACTED, TARGETING, decode_event
from server.projections.reads import IN_CHUNK
from server.projections.rows import NO_PROJECT_KEY, Encoded, EncodedRow, decode_model, encode_row, key_of
from server.projections.stored import model_rows, read_checkpoint
from server.projections.tracking import (
    Checkpoint,
    CheckpointMoved,
    LogReads,
    LogRow,
    TrackingRecorder,
    TrackingWrites,
)
from server.projections.tracking_sqlalchemy import SqlAlchemyTrackingRecorder


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (values[start : start + IN_CHUNK] for start in range(0, len(values), IN_CHUNK))


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _checkpoint(row: tuple[Any, Any] | None) -> Checkpoint | None:
    return None if row is None or row[0] is None else Checkpoint(int(row[0]), int(row[1]))


# Reads: each a function of a connection inside the caller's transaction -----------------------------


def _standing(connection: sqlite3.Connection, user_id: int) -> tuple[int, Checkpoint | None]:
    row = connection.execute(
        "SELECT u.last_seq, c.seq, c.version FROM users AS u "
        "LEFT JOIN projection_checkpoints AS c ON c.user_id = u.id WHERE u.id = ?",
        (user_id,),
    ).fetchone()
    return (0, None) if row is None else (int(row[0]), _checkpoint(row[1:]))


def _log_head(connection: sqlite3.Connection, user_id: int) -> int:
    row = connection.execute("SELECT last_seq FROM users WHERE id = ?", (user_id,)).fetchone()
    return 0 if row is None else int(row[0] or 0)


_BEHIND = (
    "SELECT u.id, u.last_seq, c.seq, c.version FROM users AS u "
    "LEFT JOIN projection_checkpoints AS c ON c.user_id = u.id "
    "WHERE ((c.user_id IS NULL AND u.last_seq > 0) OR u.last_seq > c.seq OR c.version != ?)"
)


def _behind_users(
    connection: sqlite3.Connection, version: int, only: list[int] | None
) -> list[tuple[int, int, Checkpoint | None]]:
    if only is None:
        rows = connection.execute(_BEHIND, (version,)).fetchall()
    else:
        rows = []
        for chunk in _chunks(only):
            rows += connection.execute(f"{_BEHIND} AND u.id IN ({_marks(chunk)})", (version, *chunk))
    rows.sort(key=lambda row: row[0])
    return [(int(user_id), int(last), _checkpoint((seq, ver))) for user_id, last, seq, ver in rows]


def _events_after(
    connection: sqlite3.Connection, user_id: int, after: int, upto: int | None, limit: int | None
) -> list[LogRow]:
    query = "SELECT seq, type, project_id, body FROM events WHERE user_id = ? AND seq > ?"
    args: list[Any] = [user_id, after]
    if upto is not None:
        query += " AND seq <= ?"
        args.append(upto)
    query += " ORDER BY seq"
    if limit is not None:
        query += " LIMIT ?"
        args.append(limit)
    return connection.execute(query, args).fetchall()


def _keys_of_targets(connection: sqlite3.Connection, user_id: int, targets: list[str], upto: int) -> set[str]:
    keys: set[str] = set()
    for chunk in _chunks(targets):
        rows = connection.execute(
            f"SELECT type, project_id FROM events WHERE user_id = ? AND event_id IN ({_marks(chunk)}) "
            "AND seq <= ?",
            (user_id, *chunk, upto),
        )
        keys |= {key_of(project_id) for kind, project_id in rows if kind not in TARGETING}
    return keys


def _retraction_bodies(connection: sqlite3.Connection, user_id: int, upto: int) -> list[bytes]:
    rows = connection.execute(
        "SELECT body FROM events WHERE user_id = ? AND type = ? AND seq <= ?", (user_id, RETRACTED, upto)
    )
    return [body for (body,) in rows]


def _project_bodies(
    connection: sqlite3.Connection, user_id: int, keys: list[str], upto: int
) -> list[tuple[str, bytes]]:
    ids = [key for key in keys if key != NO_PROJECT_KEY]
    found: list[tuple[str, bytes]] = []
    base = "SELECT project_id, body FROM events WHERE user_id = ? AND type NOT IN (?, ?) AND seq <= ? AND "
    for chunk in _chunks(ids):
        found += connection.execute(
            base + f"project_id IN ({_marks(chunk)})", (user_id, *TARGETING, upto, *chunk)
        ).fetchall()
    if NO_PROJECT_KEY in keys:
        rows = connection.execute(base + "project_id IS NULL", (user_id, *TARGETING, upto))
        found += [(NO_PROJECT_KEY, body) for _, body in rows]
    return found


def _project_sizes(connection: sqlite3.Connection, user_id: int) -> list[tuple[str, int]]:
    # Counted from the (user_id, project_id) index alone.
    rows = connection.execute(
        "SELECT project_id, count(*) FROM events WHERE user_id = ? GROUP BY project_id", (user_id,)
    )
    return sorted((key_of(project_id), int(count)) for project_id, count in rows)


def _model_keys(connection: sqlite3.Connection, user_id: int) -> list[str]:
    rows = connection.execute("SELECT project_key FROM project_models WHERE user_id = ?", (user_id,))
    return [str(key) for (key,) in rows]


# Writes: each a function of the writer's connection inside its write transaction ---------------------


def _take_lease(
    connection: sqlite3.Connection, user_id: int, holder: str, ttl_s: float, request: bool
) -> bool:
    # BEGIN IMMEDIATE made this transaction the only writer: the row is created if missing (expired),
    # read, and decided on alone (leases.lease_decision, as on every backend).
    now = leases.now_ms()
    connection.execute(
        "INSERT OR IGNORE INTO projection_leases (user_id, holder, expires_at_ms) VALUES (?, ?, 0)",
        (user_id, holder),
    )
    row = connection.execute(
        "SELECT holder, expires_at_ms, requested_by FROM projection_leases WHERE user_id = ?", (user_id,)
    ).fetchone()
    taken, requested_by = leases.lease_decision(row, holder, now, request=request)
    if not taken:
        if requested_by != row[2]:
            connection.execute(
                "UPDATE projection_leases SET requested_by = ? WHERE user_id = ?", (requested_by, user_id)
            )
        return False
    connection.execute(
        "UPDATE projection_leases SET holder = ?, expires_at_ms = ?, requested_by = ? WHERE user_id = ?",
        (holder, now + int(ttl_s * 1000), requested_by, user_id),
    )
    return True


def _hand_over(connection: sqlite3.Connection, user_id: int, holder: str, ttl_s: float) -> bool:
    row = connection.execute(
        "SELECT requested_by FROM projection_leases WHERE user_id = ? AND holder = ?", (user_id, holder)
    ).fetchone()
    if row is None or row[0] is None or row[0] == holder:
        return False
    connection.execute(
        "UPDATE projection_leases SET holder = ?, expires_at_ms = ?, requested_by = NULL WHERE user_id = ?",
        (row[0], leases.now_ms() + int(ttl_s * 1000), user_id),
    )
    return True


def _release(connection: sqlite3.Connection, holder: str, user_ids: list[int] | None) -> None:
    query = "UPDATE projection_leases SET expires_at_ms = 0 WHERE holder = ?"
    if user_ids is None:
        connection.execute(query, (holder,))
        return
    for chunk in _chunks(user_ids):
        connection.execute(f"{query} AND user_id IN ({_marks(chunk)})", (holder, *chunk))


def _insert_rows(connection: sqlite3.Connection, user_id: int, rows: Sequence[EncodedRow]) -> None:
    connection.executemany(
        "INSERT INTO project_models (user_id, project_key, model, summary) VALUES (?, ?, ?, ?)",
        [(user_id, key, model, summary) for key, model, summary in rows],
    )


def _record(
    connection: sqlite3.Connection,
    user_id: int,
    rows: list[EncodedRow],
    keys: list[str],
    new: Checkpoint,
    expected: Checkpoint | None,
) -> None:
    for chunk in _chunks(keys):
        connection.execute(
            f"DELETE FROM project_models WHERE user_id = ? AND project_key IN ({_marks(chunk)})",
            (user_id, *chunk),
        )
    _insert_rows(connection, user_id, rows)
    if new == expected:
        return
    if expected is None:
        if read_checkpoint(connection, user_id) is not None:
            raise CheckpointMoved(f"user {user_id} has a checkpoint already")
        connection.execute(
            "INSERT INTO projection_checkpoints (user_id, seq, version) VALUES (?, ?, ?)",
            (user_id, new.seq, new.version),
        )
        return
    moved = connection.execute(
        "UPDATE projection_checkpoints SET seq = ?, version = ? "
        "WHERE user_id = ? AND seq = ? AND version = ?",
        (new.seq, new.version, user_id, expected.seq, expected.version),
    )
    if moved.rowcount != 1:
        raise CheckpointMoved(f"the checkpoint of user {user_id} is no longer at seq {expected.seq}")


def _set_checkpoint(connection: sqlite3.Connection, user_id: int, checkpoint: Checkpoint) -> None:
    connection.execute(
        "INSERT INTO projection_checkpoints (user_id, seq, version) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, version = excluded.version",
        (user_id, checkpoint.seq, checkpoint.version),
    )


def _delete_rows(connection: sqlite3.Connection, user_id: int) -> None:
    connection.execute("DELETE FROM project_models WHERE user_id = ?", (user_id,))


class SqliteReads(LogReads):
    def __init__(self, held: Held) -> None:
        self.held = held

    async def standing(self, user_id: int) -> tuple[int, Checkpoint | None]:
        return await self.held.run(_standing, user_id)

    async def log_head(self, user_id: int) -> int:
        return await self.held.run(_log_head, user_id)

    async def read_checkpoint(self, user_id: int) -> Checkpoint | None:
        return await self.held.run(read_checkpoint, user_id)

    async def behind_users(
        self, version: int, only: Iterable[int] | None = None
    ) -> list[tuple[int, int, Checkpoint | None]]:
        return await self.held.run(_behind_users, version, None if only is None else sorted(set(only)))

    async def events_after(
        self, user_id: int, after: int, upto: int | None = None, limit: int | None = None
    ) -> list[LogRow]:
        return await self.held.run(_events_after, user_id, after, upto, limit)

    async def keys_of_targets(self, user_id: int, targets: Iterable[str], upto: int) -> set[str]:
        return await self.held.run(_keys_of_targets, user_id, sorted(set(targets)), upto)

    async def retractions(self, user_id: int, upto: int) -> list[dict[str, Any]]:
        return [decode_event(body) for body in await self.retraction_bodies(user_id, upto)]

    async def retraction_bodies(self, user_id: int, upto: int) -> list[bytes]:
        return await self.held.run(_retraction_bodies, user_id, upto)

    async def project_events(
        self, user_id: int, keys: Iterable[str], upto: int
    ) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {key: [] for key in sorted(set(keys))}
        for key, body in await self.project_bodies(user_id, found, upto):
            found[key].append(decode_event(body))
        return found

    async def project_bodies(self, user_id: int, keys: Iterable[str], upto: int) -> list[tuple[str, bytes]]:
        return await self.held.run(_project_bodies, user_id, sorted(set(keys)), upto)

    async def project_sizes(self, user_id: int) -> list[tuple[str, int]]:
        return await self.held.run(_project_sizes, user_id)

    async def model_keys(self, user_id: int) -> list[str]:
        return await self.held.run(_model_keys, user_id)

    async def load_models_of(self, user_id: int, keys: Iterable[str]) -> dict[str, ProjectModel]:
        rows = await self.held.run(model_rows, user_id, sorted(set(keys)))
        return {str(key): decode_model(raw) for key, raw in rows}


class SqliteWrites(SqliteReads, TrackingWrites):
    async def take_lease(self, user_id: int, holder: str, ttl_s: float, *, request: bool = False) -> bool:
        return await self.held.run(_take_lease, user_id, holder, ttl_s, request)

    async def hand_over(self, user_id: int, holder: str, ttl_s: float) -> bool:
        return await self.held.run(_hand_over, user_id, holder, ttl_s)

    async def release_lease(self, user_id: int, holder: str) -> None:
        await self.held.run(_release, holder, [user_id])

    async def release_all(self, holder: str, user_ids: Sequence[int] | None = None) -> None:
        await self.held.run(_release, holder, None if user_ids is None else list(user_ids))

    async def record(
        self,
        user_id: int,
        models: Mapping[str, ProjectModel | Encoded | None],
        new: Checkpoint,
        expected: Checkpoint | None,
    ) -> None:
        rows = [
            (key, *(model if isinstance(model, Encoded) else encode_row(key, model)))
            for key, model in models.items()
            if model is not None
        ]
        await self.held.run(_record, user_id, rows, sorted(models), new, expected)

    async def swap(self, user_id: int, rows: Iterable[Sequence[EncodedRow]], checkpoint: Checkpoint) -> None:
        await self.held.run(_delete_rows, user_id)
        for batch in rows:
            await self.held.run(_insert_rows, user_id, batch)
        await self.held.run(_set_checkpoint, user_id, checkpoint)


class SqliteTrackingRecorder(TrackingRecorder):
    """On the reader threads and the writer thread of the store's SQLite event log, looked up at each use
    (``EventStore.recorder`` may be swapped): a store whose log is no longer plain ``sqlite3`` is served by
    the SQLAlchemy recorder."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._engine = SqlAlchemyTrackingRecorder(store)

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[LogReads]:
        log = self.store.recorder
        if not isinstance(log, SQLiteRecorder):
            async with self._engine.reading() as reads:
                yield reads
            return
        async with log.reads.snapshot() as held:
            yield SqliteReads(held)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[TrackingWrites]:
        log = self.store.recorder
        if not isinstance(log, SQLiteRecorder):
            async with self._engine.writing() as writes:
                yield writes
            return
        async with self.store.write_turn(), log.writer.transaction() as held:
            yield SqliteWrites(held)

    async def project_bodies(self, user_id: int, keys: Iterable[str], upto: int) -> list[tuple[str, bytes]]:
        log = self.store.recorder
        if not isinstance(log, SQLiteRecorder):
            return await self._engine.project_bodies(user_id, keys, upto)
        return await log.reads.run(_project_bodies, user_id, sorted(set(keys)), upto)
