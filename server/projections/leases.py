"""Projection leases: one projector or rebuild works on a user at a time, in any process.

A lease is a row of ``projection_leases`` (holder, expiry, and who asked for it), taken and renewed
inside the write transactions that write the user's rows (``TrackingWrites``), so a holder whose
lease expired or was handed over cannot commit. Invariants:

- At most one holder whose lease has not expired, per user.
- The row, once made, stays: a released lease is expired, not deleted, and ``take_lease`` relies on it.
- A refused ``take_lease(request=True)`` records the asker; the holder hands the lease over after its
  current batch (``hand_over``) instead of taking it again (ADR 0006).

SQLAlchemy statements on the caller's write connection; every backend's recorder uses these.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.database import tables as db

DEFAULT_LEASE_S = 30.0


def new_holder(role: str) -> str:
    """A holder name unique to this process and call: role, host, pid and a random part."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def take_lease(
    connection: AsyncConnection, user_id: int, holder: str, ttl_s: float, *, request: bool = False
) -> bool:
    """Take or renew the user's lease inside a write transaction; False while someone else holds it.

    With ``request``, a refusal also asks the holder to hand the lease over when it can
    (``hand_over``): a rebuild would otherwise wait forever on a projector kept busy by pushes.
    """
    table = db.projection_leases
    now = now_ms()
    expires = now + int(ttl_s * 1000)
    # Several processes may race for a lease: the row is created if missing (an expired one at
    # first), then read FOR UPDATE, so that the rest of this transaction decides alone (on
    # PostgreSQL; SQLite's BEGIN IMMEDIATE already makes every writer decide alone).
    await db.insert_ignore(connection, table, {"user_id": user_id, "holder": holder, "expires_at_ms": 0})
    row = (
        await connection.execute(
            select(table.c.holder, table.c.expires_at_ms, table.c.requested_by)
            .where(table.c.user_id == user_id)
            .with_for_update()
        )
    ).one()
    current, expires_at, requested_by = row
    if current != holder and int(expires_at) > now:
        if request and requested_by != holder:
            await connection.execute(
                update(table).where(table.c.user_id == user_id).values(requested_by=holder)
            )
        return False
    await connection.execute(
        update(table)
        .where(table.c.user_id == user_id)
        .values(
            holder=holder,
            expires_at_ms=expires,
            requested_by=None if requested_by == holder else requested_by,
        )
    )
    return True


async def hand_over(connection: AsyncConnection, user_id: int, holder: str, ttl_s: float) -> bool:
    """Give the lease to whoever requested it, if anyone did; True when it was handed over."""
    table = db.projection_leases
    row = (
        await connection.execute(
            select(table.c.requested_by).where(table.c.user_id == user_id, table.c.holder == holder)
        )
    ).one_or_none()
    if row is None or row[0] is None or row[0] == holder:
        return False
    await connection.execute(
        update(table)
        .where(table.c.user_id == user_id)
        .values(holder=row[0], expires_at_ms=now_ms() + int(ttl_s * 1000), requested_by=None)
    )
    return True


async def release_lease(connection: AsyncConnection, user_id: int, holder: str) -> None:
    table = db.projection_leases
    await connection.execute(
        update(table).where(table.c.user_id == user_id, table.c.holder == holder).values(expires_at_ms=0)
    )


async def release_all(
    connection: AsyncConnection, holder: str, user_ids: Sequence[int] | None = None
) -> None:
    table = db.projection_leases
    query = update(table).where(table.c.holder == holder).values(expires_at_ms=0)
    if user_ids is not None:
        query = query.where(table.c.user_id.in_(list(user_ids)))
    await connection.execute(query)
