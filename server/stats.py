"""What the database says about the store: its size, users, events, tokens, projector lag and a running
rebuild. Shared by ``GET /metrics`` and ``winledger admin stats`` (``server/admin/stats.py``, which prints it
for a person); every figure is the whole server's, whichever process computes it.

Projector lag is counted against the read models of the running code's
projection version: a user whose checkpoint was folded by another version is
behind by all of their events, since the projector refolds them from the start.
Seconds behind is the age of the oldest event not yet in the read models.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, case, delete, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schema import parse_timestamp
from server.database import tables as db
from server.eventlog.store import EventStore, utc_now
from server.projections import reads
from server.projections.tracking import code_version

REBUILD_KEY = "rebuild_progress"
REBUILD_REPORT_S = 2.0
"""How often a running ``admin rebuild`` records its progress where ``/metrics`` reads it."""


@dataclass(frozen=True)
class Lag:
    user: str
    events: int
    seconds: float


@dataclass(frozen=True)
class Rebuild:
    done: int
    total: int
    started_at: str
    updated_at: str


@dataclass(frozen=True)
class Facts:
    size_bytes: int | None
    users: int
    events: int
    tokens: dict[str, int]
    projection_version: int
    users_behind: int
    events_behind: int
    seconds_behind: float
    most_behind: list[Lag] = field(default_factory=list)
    rebuild: Rebuild | None = None


async def facts(engine: AsyncEngine, url: str, *, top: int = 5) -> Facts:
    version = code_version()
    now = utc_now()
    u, t = db.users.c, db.tokens.c
    async with engine.connect() as connection, connection.begin():
        users, events = (
            await connection.execute(select(func.count(), func.coalesce(func.sum(u.last_seq), 0)))
        ).one()
        state = case(
            (t.revoked_at.is_not(None), "revoked"),
            (and_(t.expires_at.is_not(None), t.expires_at <= now), "expired"),
            else_="active",
        )
        tokens = {"active": 0, "revoked": 0, "expired": 0}
        for name, count in (await connection.execute(select(state, func.count()).group_by(state))).all():
            tokens[str(name)] = int(count)
        users_behind, events_behind, rows = await reads.lag(connection, version)
        size = await _size(connection, url)
        progress = await connection.scalar(select(db.meta.c.value).where(db.meta.c.key == REBUILD_KEY))
    moment = parse_timestamp(now)
    ages = {name: (moment - parse_timestamp(received)).total_seconds() for name, _, received in rows}
    return Facts(
        size_bytes=size,
        users=int(users),
        events=int(events),
        tokens=tokens,
        projection_version=version,
        users_behind=int(users_behind),
        events_behind=int(events_behind),
        seconds_behind=max(ages.values(), default=0.0),
        most_behind=[Lag(name, int(count), ages[name]) for name, count, _ in rows[:top]],
        rebuild=_rebuild(progress),
    )


async def _size(connection: AsyncConnection, url: str) -> int | None:
    if connection.dialect.name == "postgresql":
        size = await connection.scalar(select(func.pg_database_size(func.current_database())))
        return None if size is None else int(size)
    path = make_url(url).database
    if not path or path == ":memory:":
        return None
    # The WAL holds committed pages not yet checkpointed into the main file: they are part of the store.
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def _rebuild(value: str | None) -> Rebuild | None:
    if value is None:
        return None
    try:
        data = json.loads(value)
        return Rebuild(int(data["done"]), int(data["total"]), str(data["started"]), str(data["updated"]))
    except (ValueError, KeyError, TypeError):
        return None


@contextlib.asynccontextmanager
async def rebuild_progress(store: EventStore, total: int, done: Callable[[], int]) -> AsyncIterator[None]:
    """While a rebuild runs, record ``done()`` of ``total`` events every few seconds for ``/metrics``;
    forget it when the rebuild ends. A killed rebuild leaves its last record, whose age shows it."""
    started = utc_now()

    async def record() -> None:
        value = json.dumps({"done": done(), "total": total, "started": started, "updated": utc_now()})
        async with store.write() as connection:
            changed = await connection.execute(
                update(db.meta).where(db.meta.c.key == REBUILD_KEY).values(value=value)
            )
            if not changed.rowcount:
                await connection.execute(db.meta.insert().values(key=REBUILD_KEY, value=value))

    async def keep_recording() -> None:
        while True:
            await record()
            await asyncio.sleep(REBUILD_REPORT_S)

    task = asyncio.create_task(keep_recording())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        async with store.write() as connection:
            await connection.execute(delete(db.meta).where(db.meta.c.key == REBUILD_KEY))


def seconds_since(timestamp: str) -> float:
    return (datetime.now(UTC) - parse_timestamp(timestamp)).total_seconds()


def human_size(size: int | None) -> str:
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:,.0f} {unit}" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
