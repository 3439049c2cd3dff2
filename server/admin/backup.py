"""``winledger admin backup`` and ``admin restore``: copies of a SQLite store, and the new epoch.

A restored store goes back in time. Events acknowledged after the backup are
gone, and the seqs after the backup's newest will be given again to other
events. A new epoch is what tells every client so: on seeing it, a client pulls
from 0 and pushes back every event the store lacks (docs/protocol.md, section 9;
ADR 0005). Projection leases are dropped with it: the processes that held them
in the backup are not running, and the restored server's projector would
otherwise wait for them to expire before it projects anyone.

A backup of SQLite goes through SQLite's online backup API: a consistent
copy while a server keeps writing. PostgreSQL has its own tools (``pg_dump``,
``pg_restore``); after restoring with them, ``admin restore --new-epoch-only``
does the one step they cannot: a new epoch, and no projection leases.

A restore replaces the store under a server's feet: a running server keeps
its epoch in memory and would go on telling clients the old one, so none
would notice that the log went back in time. So ``serve`` on SQLite holds a
shared ``flock`` on ``<database>.lock`` for as long as it runs (the kernel
drops it when the process dies, even by SIGKILL), and a restore takes the
same lock exclusively or refuses. That lock is advisory: a server of an
older winledger, or one on another machine sharing the file over a network
file system, does not hold it. Stop the server first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from server.admin.store import fail
from server.database import tables as db
from server.database.migrate import SchemaOutOfDate, SchemaTooNew, open_store, upgrade
from server.database.serving import no_server
from server.exceptions import ServerError


class BackupError(ServerError):
    """A backup or restore that cannot be done as asked; the message says why."""


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; ``None`` for another database. Raises on an in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError(f"{url!r} is an in-memory SQLite database; there is no file to back up or restore")
    return Path(parsed.database)


@dataclass(frozen=True)
class StoreFacts:
    users: int
    events: int
    epoch: str | None


def describe(path: Path) -> StoreFacts:
    """Users, events and epoch of a winledger SQLite store; ``BackupError`` if it is not one."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file")
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"winledger_meta", "users", "events"} <= tables:
                raise BackupError(f"{path} is not a winledger server store (no users and events tables)")
            users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
            events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
            row = conn.execute("SELECT value FROM winledger_meta WHERE key = 'epoch'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a SQLite database ({exc})") from None
    return StoreFacts(int(users), int(events), None if row is None else str(row[0]))


def backup(url: str, to: Path) -> StoreFacts:
    """Copy the live SQLite store of ``url`` to the new file ``to``; what the copy holds."""
    source = sqlite_path(url)
    if source is None:
        raise BackupError(
            "`admin backup` copies SQLite stores; back up PostgreSQL with its own tools: "
            "pg_dump --format=custom --file=winledger.dump DATABASE (see docs/operations.md)"
        )
    describe(source)
    if to.exists():
        raise BackupError(f"{to} exists already; give the path of a new file")
    if not to.parent.is_dir():
        raise BackupError(f"the folder of {to} does not exist")
    partial = to.with_name(to.name + ".partial")
    try:
        with (
            contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as live,
            contextlib.closing(sqlite3.connect(partial)) as copy,
        ):
            live.backup(copy)  # one consistent snapshot, while servers keep writing
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        os.replace(partial, to)
    finally:
        partial.unlink(missing_ok=True)
    return describe(to)


async def new_epoch(engine: AsyncEngine) -> str:
    """Give the store a new epoch and drop every projection lease, in one transaction."""
    epoch = str(uuid.uuid4())
    async with engine.connect() as connection:
        connection = await connection.execution_options(write=True)
        async with connection.begin():
            changed = await connection.execute(
                update(db.meta).where(db.meta.c.key == "epoch").values(value=epoch)
            )
            if changed.rowcount == 0:
                await connection.execute(db.meta.insert().values(key="epoch", value=epoch))
            await connection.execute(delete(db.projection_leases))
    return epoch


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        users = await connection.scalar(select(func.count()).select_from(db.users))
        events = await connection.scalar(select(func.count()).select_from(db.events))
    return int(users or 0), int(events or 0)


async def restore(backup_file: Path, url: str) -> tuple[StoreFacts, str]:
    """Put ``backup_file`` in place of the SQLite store of ``url`` under a new epoch.

    Returns what the backup holds and the new epoch.

    The store's lock is held from the copy to the new epoch, so no server can start in between and
    serve the restored log under the backup's old epoch. A backup from an older winledger is brought
    up to this version's schema before the epoch changes.
    """
    target = sqlite_path(url)
    if target is None:
        raise BackupError(
            "`admin restore PATH` restores SQLite stores; on PostgreSQL restore with pg_restore, then "
            "run `winledger admin restore --new-epoch-only --db URL` (see docs/operations.md)"
        )
    facts = describe(backup_file)
    if target.exists() and backup_file.resolve() == target.resolve():
        raise BackupError(f"{backup_file} is the store itself; give a backup made by `admin backup`")
    if not target.parent.is_dir():
        raise BackupError(f"the folder of {target} does not exist")
    with no_server(target, BackupError):
        with (
            contextlib.closing(sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)) as source,
            contextlib.closing(sqlite3.connect(target)) as restored,
        ):
            # Through the backup API, into the target: its write-ahead log cannot resurrect newer pages.
            source.backup(restored)
        engine = db.create_engine(url)
        try:
            await upgrade(engine)
            epoch = await new_epoch(engine)
        finally:
            await engine.dispose()
    return facts, epoch


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'s' * (count != 1)}"


def backup_command(args: argparse.Namespace) -> int:
    """``winledger admin backup PATH``."""
    try:
        facts = backup(args.db, Path(args.path))
    except BackupError as exc:
        return fail(str(exc))
    print(
        f"Backed up {_plural(facts.users, 'user')} and {_plural(facts.events, 'event')} "
        f"(epoch {facts.epoch}) to {args.path}"
    )
    return 0


def restore_command(args: argparse.Namespace) -> int:
    """``winledger admin restore PATH``, or ``--new-epoch-only`` after pg_restore."""
    if args.new_epoch_only:
        if args.path is not None:
            return fail("give either a backup PATH or --new-epoch-only, not both")
        return _new_epoch_only(args.db)
    if args.path is None:
        return fail("argument PATH: give the backup file to restore (or --new-epoch-only after pg_restore)")
    try:
        facts, epoch = asyncio.run(restore(Path(args.path), args.db))
    except BackupError as exc:
        return fail(str(exc))
    print(
        f"Restored {_plural(facts.users, 'user')} and {_plural(facts.events, 'event')} from {args.path}. "
        f"New epoch {epoch}: on their next sync, devices pull everything again and push back what "
        "this backup lacks."
    )
    return 0


def _new_epoch_only(url: str) -> int:
    async def run() -> tuple[str, tuple[int, int]]:
        engine = db.create_engine(url)
        try:
            try:
                await open_store(engine, url)
            except (SchemaOutOfDate, SchemaTooNew) as exc:
                raise BackupError(str(exc)) from None
            return await new_epoch(engine), await counts(engine)
        finally:
            await engine.dispose()

    try:
        path = sqlite_path(url)
        with no_server(path, BackupError) if path is not None else contextlib.nullcontext():
            epoch, (users, events) = asyncio.run(run())
    except BackupError as exc:
        return fail(str(exc))
    print(
        f"The store ({_plural(users, 'user')}, {_plural(events, 'event')}) has a new epoch {epoch}; "
        "projection leases are cleared. Start the servers: devices will pull everything again and "
        "push back what the store lacks."
    )
    return 0
