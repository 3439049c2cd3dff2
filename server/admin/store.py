"""The store as the admin commands open it: at the schema this code needs, or a clear refusal."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from server.accounts.auth import AdminError
from server.database import tables as db
from server.database.migrate import SchemaOutOfDate, SchemaTooNew, open_store
from server.eventlog import event_store
from server.eventlog.store import EventStore


@asynccontextmanager
async def admin_store(url: str) -> AsyncIterator[EventStore]:
    """An ``EventStore`` on ``url`` for one admin command; its engine is disposed at the end.

    SQLite is upgraded in place; an out-of-date PostgreSQL schema (or one from a newer winledger)
    is an ``AdminError`` whose message names the command to run.
    """
    engine = db.create_engine(url)
    store = event_store(engine)
    try:
        try:
            await open_store(engine, url)
        except (SchemaOutOfDate, SchemaTooNew) as exc:
            raise AdminError(str(exc)) from None
        yield store
    finally:
        store.close()
        await engine.dispose()


def sqlite_file(url: str) -> Path | None:
    """The absolute path of a SQLite URL's file; ``None`` for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).absolute()


def shown(url: str) -> str:
    """``url`` as a person should see it: the password hidden, and a SQLite file by its absolute path
    (a relative one depends on the directory the command runs in)."""
    parsed = make_url(url)
    file = sqlite_file(url)
    if file is not None:
        parsed = parsed.set(database=str(file))
    return parsed.render_as_string(hide_password=True)


def name_database(url: str, *, create: bool, creates: bool, source: str) -> str:
    """Before an admin command opens ``url``: the line that names the database, for standard error.

    A SQLite file that does not exist (or is empty) would be created by opening it. That is refused,
    with an ``AdminError`` asking for ``--db`` (the server's database was meant, most likely) or, for
    a command that makes a database (``creates``: create-user, migrate, restore), ``--create``.
    ``source`` says where ``url`` came from (``--db``, ``$WINLEDGER_DB`` or the default).
    """
    file = sqlite_file(url)
    if file is None or (file.exists() and file.stat().st_size > 0):
        return f"Database: {shown(url)}"
    where = f"{file} ({source})"
    if not creates:
        raise AdminError(
            f"there is no database at {where}; nothing was created. Name the server's database with "
            "--db URL or $WINLEDGER_DB (`winledger serve` prints the one it serves)"
        )
    if not create:
        raise AdminError(
            f"there is no database at {where}, and this command would create a new, empty one there, "
            "which no running server uses; nothing was created. Name the server's database with --db URL "
            "or $WINLEDGER_DB (`winledger serve` prints the one it serves), or pass --create to create "
            "this one"
        )
    return f"Database: {shown(url)} (new)"


def announce(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def fail(message: str) -> int:
    """An admin command that cannot do what was asked: ``message`` on standard error, exit status 1."""
    print(f"winledger: {message}", file=sys.stderr)
    return 1
