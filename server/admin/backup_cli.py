"""``winledger admin backup`` and ``winledger admin restore`` (see ``server.admin.backup``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from server.admin import backup as b
from server.database import tables as db


def _fail(message: str) -> int:
    print(f"winledger: {message}", file=sys.stderr)
    return 1


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'s' * (count != 1)}"


def backup(args: argparse.Namespace) -> int:
    try:
        facts = b.backup(args.db, Path(args.path))
    except b.BackupError as exc:
        return _fail(str(exc))
    print(
        f"Backed up {_plural(facts.users, 'user')} and {_plural(facts.events, 'event')} "
        f"(epoch {facts.epoch}) to {args.path}"
    )
    return 0


def restore(args: argparse.Namespace) -> int:
    if args.new_epoch_only:
        if args.path is not None:
            return _fail("give either a backup PATH or --new-epoch-only, not both")
        return _new_epoch_only(args.db)
    if args.path is None:
        return _fail("argument PATH: give the backup file to restore (or --new-epoch-only after pg_restore)")
    try:
        facts, epoch = asyncio.run(b.restore(Path(args.path), args.db))
    except b.BackupError as exc:
        return _fail(str(exc))
    print(
        f"Restored {_plural(facts.users, 'user')} and {_plural(facts.events, 'event')} from {args.path}. "
        f"New epoch {epoch}: on their next sync, devices pull everything again and push back what "
        "this backup lacks."
    )
    return 0


def _new_epoch_only(url: str) -> int:
    async def run() -> tuple[str, tuple[int, int]]:
        from server.database.migrate import SchemaOutOfDate, SchemaTooNew, open_store

        engine = db.create_engine(url)
        try:
            try:
                await open_store(engine, url)
            except (SchemaOutOfDate, SchemaTooNew) as exc:
                raise b.BackupError(str(exc)) from None
            return await b.new_epoch(engine), await b.counts(engine)
        finally:
            await engine.dispose()

    try:
        path = b.sqlite_path(url)
        with b.no_server(path) if path is not None else contextlib.nullcontext():
            epoch, (users, events) = asyncio.run(run())
    except b.BackupError as exc:
        return _fail(str(exc))
    print(
        f"The store ({_plural(users, 'user')}, {_plural(events, 'event')}) has a new epoch {epoch}; "
        "projection leases are cleared. Start the servers: devices will pull everything again and "
        "push back what the store lacks."
    )
    return 0
