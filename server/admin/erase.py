"""``winledger admin delete-user NAME``: erase a user and everything the server holds of them, for good.

One write transaction deletes the user's rows from every table that has a
``user_id`` column (events, read models, checkpoints, leases, web sessions,
tokens, and any such table added later), then the user. Before it, the
command takes the user's projection lease the way a rebuild does, so that no
projector is between reading the user's log and writing their read models:
one that was could otherwise write rows back after the erasure.

What this cannot reach: backups taken before the erasure (a restore brings the
user back; docs/operations.md), and the copies on the user's own devices.
"""

from __future__ import annotations

import argparse
import asyncio

from sqlalchemy import Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.accounts.auth import AdminError
from server.admin.store import admin_store, fail
from server.database import tables as db
from server.eventlog.store import EventStore
from server.projections.leases import new_holder
from server.projections.rebuild import LeaseBusy, acquire_lease

LEASE_S = 60.0


def user_tables() -> list[Table]:
    """Every table with a ``user_id`` column, in a fixed order (by name)."""
    return sorted(
        (table for table in db.metadata.tables.values() if "user_id" in table.c), key=lambda t: t.name
    )


async def _count(connection: AsyncConnection, table: Table, user_id: int) -> int:
    return int(
        await connection.scalar(select(func.count()).select_from(table).where(table.c.user_id == user_id))
        or 0
    )


async def delete_user(store: EventStore, name: str, *, lease_wait_s: float = 30.0) -> dict[str, int]:
    """Erase the user ``name``; the rows removed, by table (``users`` last, always 1)."""
    async with store.engine.connect() as connection:
        user_id = await connection.scalar(select(db.users.c.id).where(db.users.c.name == name))
    if user_id is None:
        raise AdminError(f"No user named {name!r}")
    await acquire_lease(store, user_id, new_holder("admin-erase"), LEASE_S, lease_wait_s)
    removed: dict[str, int] = {}
    async with store.write() as connection:
        for table in user_tables():
            removed[table.name] = await _count(connection, table, user_id)
            await connection.execute(delete(table).where(table.c.user_id == user_id))
        gone = await connection.execute(delete(db.users).where(db.users.c.id == user_id))
        if gone.rowcount != 1:
            raise AdminError(f"The user {name!r} was deleted by someone else meanwhile")
        removed["users"] = 1
    return removed


_SHOWN = {
    "events": ("event", "events"),
    "project_models": ("read model", "read models"),
    "projection_checkpoints": ("checkpoint", "checkpoints"),
    "web_sessions": ("web session", "web sessions"),
    "shares": ("shared link", "shared links"),
    "tokens": ("token", "tokens"),
}
_UNSHOWN = {"users", "projection_leases"}  # the user is named; the lease is the one this command took


def _shown(table: str, count: int) -> str:
    singular, plural = _SHOWN.get(table, (f"{table} row", f"{table} rows"))
    return f"{count:,} {singular if count == 1 else plural}"


def delete_user_command(args: argparse.Namespace) -> int:
    async def go() -> dict[str, int]:
        async with admin_store(args.db) as store:
            return await delete_user(store, args.name)

    try:
        removed = asyncio.run(go())
    except (AdminError, LeaseBusy) as exc:
        return fail(str(exc))
    parts = [_shown(table, count) for table, count in removed.items() if table not in _UNSHOWN]
    print(f"Deleted user {args.name!r} for good: {', '.join(parts)}.")
    print("Backups made before now still hold them; their devices keep their own copies.")
    return 0
