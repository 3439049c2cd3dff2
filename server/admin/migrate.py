"""``winledger admin migrate``: bring the database's schema up to date, or ``--check`` it (the migrations
themselves are ``server.database.migrate``)."""

from __future__ import annotations

import argparse
import asyncio

from server.admin.store import fail, shown
from server.database import tables as db
from server.database.migrate import SchemaTooNew, status, upgrade


def migrate_command(args: argparse.Namespace) -> int:
    async def run() -> tuple[str | None, str]:
        engine = db.create_engine(args.db)
        try:
            if args.check:
                state = await status(engine)
                return state.current, state.head
            return await upgrade(engine)
        finally:
            await engine.dispose()

    try:
        before, after = asyncio.run(run())
    except SchemaTooNew as exc:
        return fail(str(exc))
    where = "an empty database" if before is None else f"revision {before}"
    if args.check:
        if before == after:
            print(f"{shown(args.db)}: the schema is up to date (revision {after})")
            return 0
        print(f"{shown(args.db)}: {where}; revision {after} is needed: run `winledger admin migrate`")
        return 1
    if before == after:
        print(f"{shown(args.db)}: the schema is up to date (revision {after}); nothing to do")
    else:
        print(f"{shown(args.db)}: migrated from {where} to revision {after}")
    return 0
