"""Reads of the stored read models, for the routes, the admin commands and the SQLAlchemy recorder.

Read checkpoint and rows in one ``snapshot``: the rows then reflect exactly the checkpoint's seq
(server/projections/tracking.py says why). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schema.projections import ProjectModel, ProjectSummary
from server.database import tables as db
from server.projections.rows import NO_PROJECT_KEY, decode_model, decode_summary, project_of
from server.projections.tracking import Checkpoint

IN_CHUNK = 500
"""Values per ``IN (...)`` list: under every backend's limit on bound parameters."""


@asynccontextmanager
async def snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read transaction in which every statement sees the same committed state.

    SQLite's read transactions are snapshots already (WAL); PostgreSQL needs
    REPEATABLE READ, or a checkpoint and the model rows could come from two commits.
    """
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            yield connection


async def read_checkpoint(connection: AsyncConnection, user_id: int) -> Checkpoint | None:
    c = db.projection_checkpoints.c
    row = (await connection.execute(select(c.seq, c.version).where(c.user_id == user_id))).one_or_none()
    return None if row is None else Checkpoint(int(row[0]), int(row[1]))


async def lag(connection: AsyncConnection, version: int) -> tuple[int, int, list[tuple[str, int, str]]]:
    """How far the read models of ``version`` are behind the log: users behind, events behind, and
    ``(name, events behind, received_at of the oldest event not reflected)`` of each user behind, most
    behind first. Read models folded by another version reflect nothing: they will be refolded."""
    u, c, e = db.users.c, db.projection_checkpoints.c, db.events.c
    done = case((c.version == version, c.seq), else_=literal(0))
    behind = u.last_seq - func.coalesce(done, 0)
    lagging = (
        select(u.id, u.name, behind.label("behind"), func.coalesce(done, 0).label("done"))
        .select_from(db.users.outerjoin(db.projection_checkpoints, c.user_id == u.id))
        .where(behind > 0)
        .subquery()
    )
    users_behind, events_behind = (
        await connection.execute(select(func.count(), func.coalesce(func.sum(lagging.c.behind), 0)))
    ).one()
    # Each user's oldest event not yet reflected: one index lookup per lagging user (user_id, seq).
    oldest = (
        select(lagging.c.name, lagging.c.behind, e.received_at)
        .join(db.events, and_(e.user_id == lagging.c.id, e.seq == lagging.c.done + 1))
        .order_by(lagging.c.behind.desc(), lagging.c.name)
    )
    rows = [
        (str(name), int(count), str(received))
        for name, count, received in (await connection.execute(oldest)).all()
    ]
    return int(users_behind), int(events_behind), rows


async def list_users(connection: AsyncConnection, name: str | None = None) -> list[tuple[int, str, int]]:
    """``(id, name, newest seq)`` of every user, or of the one named."""
    u = db.users.c
    query = select(u.id, u.name, u.last_seq).order_by(u.id)
    if name is not None:
        query = query.where(u.name == name)
    return [(int(i), str(n), int(last)) for i, n, last in (await connection.execute(query)).all()]


async def model_keys(connection: AsyncConnection, user_id: int) -> list[str]:
    t = db.project_models.c
    result = await connection.execute(select(t.project_key).where(t.user_id == user_id))
    return [str(key) for (key,) in result.all()]


async def load_models_of(
    connection: AsyncConnection, user_id: int, keys: Iterable[str]
) -> dict[str, ProjectModel]:
    """The stored models of these project keys (those that exist)."""
    t = db.project_models.c
    wanted = sorted(set(keys))
    found: dict[str, ProjectModel] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        result = await connection.execute(
            select(t.project_key, t.model).where(
                t.user_id == user_id, t.project_key.in_(wanted[start : start + IN_CHUNK])
            )
        )
        found.update((str(key), decode_model(bytes(raw))) for key, raw in result.all())
    return found


async def load_models(connection: AsyncConnection, user_id: int) -> dict[str | None, ProjectModel]:
    t = db.project_models.c
    result = await connection.execute(select(t.project_key, t.model).where(t.user_id == user_id))
    return {project_of(key): decode_model(bytes(raw)) for key, raw in result.all()}


async def load_summaries(connection: AsyncConnection, user_id: int) -> list[ProjectSummary]:
    t = db.project_models.c
    result = await connection.execute(
        select(t.summary).where(t.user_id == user_id, t.project_key != NO_PROJECT_KEY)
    )
    return [decode_summary(bytes(raw)) for (raw,) in result.all() if raw is not None]
