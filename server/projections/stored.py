"""A user's stored read models as the routes and pages read them: the checkpoint and the rows from one
snapshot, so that the rows reflect exactly the checkpoint's seq (server/projections/tracking.py).

On a SQLite file, whose event log is plain ``sqlite3`` (``server.eventlog.direct``), each read is one
hop to a reader thread, its statements and the rows' decoding run there whole; through SQLAlchemy's
engine the same two statements were a read transaction of four hops and two compiled statements
(docs/performance.md, round 4). On PostgreSQL, one statement on a connection of the event log's pool
(``PostgresRecorder.borrow``) reads the checkpoint beside each row: one round trip, where the engine
took a pre-ping, BEGIN, two statements and COMMIT. Elsewhere (an in-memory SQLite) they go through the
engine (``server.projections.reads``). A row this code cannot decode (a projection version being rebuilt)
raises ``msgspec.ValidationError`` on either path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from schema.projections import ProjectModel, ProjectSummary
from server.eventlog.postgres import PostgresRecorder
from server.eventlog.store import EventStore
from server.projections import reads
from server.projections.rows import NO_PROJECT_KEY, decode_model, decode_summary
from server.projections.tracking import Checkpoint


def read_checkpoint(connection: sqlite3.Connection, user_id: int) -> Checkpoint | None:
    row = connection.execute(
        "SELECT seq, version FROM projection_checkpoints WHERE user_id = ?", (user_id,)
    ).fetchone()
    return None if row is None else Checkpoint(int(row[0]), int(row[1]))


def model_rows(
    connection: sqlite3.Connection, user_id: int, keys: list[str] | None
) -> list[tuple[str, bytes]]:
    """``(project key, model)`` of the user's rows of these keys (all of them with ``None``)."""
    query = "SELECT project_key, model FROM project_models WHERE user_id = ?"
    if keys is None:
        return connection.execute(query, (user_id,)).fetchall()
    found: list[tuple[str, bytes]] = []
    for start in range(0, len(keys), reads.IN_CHUNK):
        chunk = keys[start : start + reads.IN_CHUNK]
        found += connection.execute(
            f"{query} AND project_key IN ({', '.join('?' * len(chunk))})", (user_id, *chunk)
        ).fetchall()
    return found


def _summaries(
    connection: sqlite3.Connection, user_id: int
) -> tuple[Checkpoint | None, list[ProjectSummary]]:
    rows = connection.execute(
        "SELECT summary FROM project_models WHERE user_id = ? AND project_key != ?",
        (user_id, NO_PROJECT_KEY),
    )
    summaries = [decode_summary(raw) for (raw,) in rows if raw is not None]
    return read_checkpoint(connection, user_id), summaries


def _models(
    connection: sqlite3.Connection, user_id: int, keys: list[str] | None
) -> tuple[Checkpoint | None, list[ProjectModel]]:
    models = [decode_model(raw) for _, raw in model_rows(connection, user_id, keys)]
    return read_checkpoint(connection, user_id), models


# PostgreSQL: the checkpoint beside each row, in one statement (one snapshot, one round trip).
_PG_ROWS = (
    "SELECT c.seq, c.version, m.{column} FROM (SELECT $1::int AS id) AS u "
    "LEFT JOIN projection_checkpoints AS c ON c.user_id = u.id "
    "LEFT JOIN project_models AS m ON m.user_id = u.id AND {keys}"
)
_PG_SUMMARIES = _PG_ROWS.format(column="summary", keys="m.project_key <> ''")
_PG_MODELS = _PG_ROWS.format(
    column="model", keys="($2::varchar[] IS NULL OR m.project_key = ANY($2::varchar[]))"
)


async def _pg_rows(log: PostgresRecorder, sql: str, *args: Any) -> tuple[Checkpoint | None, list[bytes]]:
    async with log.borrow() as connection:
        rows = await connection.fetch(sql, *args)
    seq, version = rows[0][0], rows[0][1]
    return (None if seq is None else Checkpoint(int(seq), int(version))), [row[2] for row in rows if row[2]]


async def summaries(store: EventStore, user_id: int) -> tuple[Checkpoint | None, list[ProjectSummary]]:
    """The checkpoint and the summary of each of the user's projects, in no particular order."""
    if store.direct is not None:
        return await store.direct.run(_summaries, user_id)
    log = store.recorder
    if isinstance(log, PostgresRecorder):
        checkpoint, raws = await _pg_rows(log, _PG_SUMMARIES, user_id)
        return checkpoint, [decode_summary(raw) for raw in raws]
    async with reads.snapshot(store.engine) as connection:
        checkpoint = await reads.read_checkpoint(connection, user_id)
        return checkpoint, await reads.load_summaries(connection, user_id)


async def models(
    store: EventStore, user_id: int, keys: Iterable[str] | None = None
) -> tuple[Checkpoint | None, list[ProjectModel]]:
    """The checkpoint and the user's models of these project keys (``''``: the wins without a project), of
    every project with ``None``; those that exist, in no particular order."""
    wanted = None if keys is None else sorted(set(keys))
    if store.direct is not None:
        return await store.direct.run(_models, user_id, wanted)
    log = store.recorder
    if isinstance(log, PostgresRecorder):
        checkpoint, raws = await _pg_rows(log, _PG_MODELS, user_id, wanted)
        return checkpoint, [decode_model(raw) for raw in raws]
    async with reads.snapshot(store.engine) as connection:
        checkpoint = await reads.read_checkpoint(connection, user_id)
        if wanted is None:
            return checkpoint, list((await reads.load_models(connection, user_id)).values())
        return checkpoint, list((await reads.load_models_of(connection, user_id, wanted)).values())
