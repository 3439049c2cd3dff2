"""A user's stored read models as the routes and pages read them: the checkpoint and the rows from one
snapshot, so that the rows reflect exactly the checkpoint's seq (server/projections/tracking.py).

On a SQLite file, whose event log is plain ``sqlite3`` (``server.eventlog.direct``), each read is one
hop to a reader thread, its statements and the rows' decoding run there whole; through SQLAlchemy's
engine the same two statements were a read transaction of four hops and two compiled statements
(docs/performance.md, round 4). Elsewhere (PostgreSQL, an in-memory SQLite) they go through the engine
(``server.projections.reads``). A row this code cannot decode (a projection version being rebuilt)
raises ``msgspec.ValidationError`` on either path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncEngine

from schema.projections import ProjectModel, ProjectSummary
from server.eventlog.direct import DirectReads
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


async def summaries(
    engine: AsyncEngine, direct: DirectReads | None, user_id: int
) -> tuple[Checkpoint | None, list[ProjectSummary]]:
    """The checkpoint and the summary of each of the user's projects, in no particular order."""
    if direct is not None:
        return await direct.run(_summaries, user_id)
    async with reads.snapshot(engine) as connection:
        checkpoint = await reads.read_checkpoint(connection, user_id)
        return checkpoint, await reads.load_summaries(connection, user_id)


async def models(
    engine: AsyncEngine, direct: DirectReads | None, user_id: int, keys: Iterable[str] | None = None
) -> tuple[Checkpoint | None, list[ProjectModel]]:
    """The checkpoint and the user's models of these project keys (``''``: the wins without a project), of
    every project with ``None``; those that exist, in no particular order."""
    wanted = None if keys is None else sorted(set(keys))
    if direct is not None:
        return await direct.run(_models, user_id, wanted)
    async with reads.snapshot(engine) as connection:
        checkpoint = await reads.read_checkpoint(connection, user_id)
        if wanted is None:
            return checkpoint, list((await reads.load_models(connection, user_id)).values())
        return checkpoint, list((await reads.load_models_of(connection, user_id, wanted)).values())
