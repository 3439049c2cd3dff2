"""Projection leases: one projector or rebuild works on a user at a time, in any process.

A lease is a row of ``projection_leases`` (holder, expiry, and who asked for it), taken and renewed
inside the write transactions that write the user's rows (``TrackingWrites``), so a holder whose
lease expired or was handed over cannot commit. Invariants:

- At most one holder whose lease has not expired, per user.
- The row, once made, stays: a released lease is expired, not deleted, and ``take_lease`` relies on it.
- A refused ``take_lease(request=True)`` records the asker; the holder hands the lease over after its
  current batch (``hand_over``) instead of taking it again (ADR 0006).
- A lease whose holder's process is known to be gone counts as expired: a holder name says where its
  process ran (host, boot and pid namespace) and its pid, so that a process on the same machine can tell
  that a SIGKILLed server's projector, or a killed ``admin rebuild``, will never renew it. Without this,
  a server restarted after a crash waited up to ``lease_s`` (30 s) for each user its projector had held.
  Where the process cannot be told apart (another machine, a pid in use again), the expiry decides.

SQLAlchemy statements on the caller's write connection; every backend's recorder uses these.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from server.database import tables as db

DEFAULT_LEASE_S = 30.0


_HOST_CHARS = 32
"""Of the host name, in a holder name (the column holds 100 characters)."""


def _place() -> str:
    """Where a pid names one process: this boot of this kernel and this pid namespace; "" where unknown."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip().replace("-", "")[:8]
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except (OSError, ValueError):
        return ""
    return f"{boot}.{namespace}" if boot else ""


_PLACE = _place()
_HOST = socket.gethostname()[:_HOST_CHARS]
_HOLDER = re.compile(r"[^:]*:(?P<host>[^:]*):(?P<pid>\d+):[0-9a-f]+:(?P<place>[0-9a-f]+\.\d+)(?:/|$)")


def new_holder(role: str) -> str:
    """A holder name unique to this process and call: role, host, pid, a random part and where the pid
    is valid (``_place``). A holder derived from it by a suffix after ``/`` keeps its process."""
    return f"{role}:{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}:{_PLACE}"


def holder_gone(holder: str) -> bool:
    """True when ``holder`` names a process of this machine's pid namespace that no longer runs (or is a
    zombie): its lease will never be renewed nor released. False whenever that cannot be known."""
    found = _HOLDER.match(holder)
    if found is None or not _PLACE or found["place"] != _PLACE or found["host"] != _HOST:
        return False
    pid = int(found["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # another user's process: alive
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")  # killed, not yet reaped by its parent


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def lease_decision(
    row: tuple[str, int, str | None], holder: str, now: int, *, request: bool = False
) -> tuple[bool, str | None]:
    """What ``take_lease`` does with the lease's row ``(holder, expires_at_ms, requested_by)``: whether
    ``holder`` takes it, and the ``requested_by`` to store (the row's own when nothing changes).

    Every backend's ``take_lease`` decides here, so that they decide alike."""
    current, expires_at, requested_by = row
    if current != holder and int(expires_at) > now and not holder_gone(current):
        return False, holder if request else requested_by
    return True, None if requested_by == holder else requested_by


async def take_lease(
    connection: AsyncConnection, user_id: int, holder: str, ttl_s: float, *, request: bool = False
) -> bool:
    """Take or renew the user's lease inside a write transaction; False while someone else holds it.

    With ``request``, a refusal also asks the holder to hand the lease over when it can
    (``hand_over``): a rebuild would otherwise wait forever on a projector kept busy by pushes.
    """
    table = db.projection_leases
    now = now_ms()
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
    taken, requested_by = lease_decision(tuple(row), holder, now, request=request)
    if not taken:
        if requested_by != row[2]:
            await connection.execute(
                update(table).where(table.c.user_id == user_id).values(requested_by=requested_by)
            )
        return False
    await connection.execute(
        update(table)
        .where(table.c.user_id == user_id)
        .values(holder=holder, expires_at_ms=now + int(ttl_s * 1000), requested_by=requested_by)
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
