"""The reads of every request (a token, a user's name) on each backend: one set of tests for the reader
threads of a SQLite file, the event log's own connections on PostgreSQL, and the engine on SQLite and
PostgreSQL (``server.accounts.auth``)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from server.accounts.auth import (
    TOKEN_PATTERN,
    AccountReads,
    Accounts,
    EngineAccountReads,
    PostgresAccountReads,
    SQLiteAccountReads,
    account_reads,
)
from server.database import migrate
from server.database import tables as db
from server.eventlog import event_store
from server.eventlog.direct import DirectReads
from server.eventlog.postgres import PostgresRecorder
from tests.support.databases import PostgresDatabases, sqlite_url

READERS = ("sqlite", "postgresql", "engine-sqlite", "engine-postgresql")


@pytest.mark.parametrize("kind", READERS)
def test_a_token_and_its_users_name_read_the_same_on_every_backend(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if kind.endswith("postgresql"):
        databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
        url = databases.create()
    else:
        url = sqlite_url(tmp_path / "accounts.db")

    async def scenario() -> None:
        engine = db.create_engine(url)
        store = event_store(engine)
        try:
            await migrate.upgrade(engine)
            token = await Accounts(store).create_user("ada", "laptop")
            reads: AccountReads
            if kind == "sqlite":
                assert store.direct is not None
                reads = SQLiteAccountReads(store.direct)
            elif kind == "postgresql":
                assert isinstance(store.recorder, PostgresRecorder)
                reads = PostgresAccountReads(store.recorder)
            else:
                reads = EngineAccountReads(engine)
            picked = type(account_reads(store))
            if url.startswith("postgresql"):
                assert picked is PostgresAccountReads
            else:
                assert picked is (SQLiteAccountReads if store.direct else EngineAccountReads)
            match = TOKEN_PATTERN.match(token)
            assert match is not None
            row = await reads.token(match.group(1))
            assert row is not None
            user_id, secret_hash, revoked_at, expires_at, last_used_at = row
            assert (revoked_at, expires_at, last_used_at) == (None, None, None) and len(secret_hash) == 64
            assert await reads.user_name(user_id) == "ada"
            assert await reads.token("0" * 16) is None and await reads.user_name(user_id + 1) is None
            assert await Accounts(store, reads).authenticate(token) == user_id
        finally:
            store.close()
            await engine.dispose()

    asyncio.run(scenario())


def test_a_point_read_on_the_event_loop_never_waits_there_for_a_lock(tmp_path: Path) -> None:
    """A token read runs in the loop's thread (``DirectReads.point``); when the file is locked it takes
    the hop to a reader thread, which waits for the lock, and the loop keeps serving meanwhile."""
    path = tmp_path / "tokens.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.execute("CREATE TABLE tokens (id TEXT PRIMARY KEY, secret TEXT)")
    setup.execute("INSERT INTO tokens VALUES ('a', 'x')")
    setup.close()

    def secret(connection: sqlite3.Connection, token_id: str) -> str:
        return str(connection.execute("SELECT secret FROM tokens WHERE id = ?", (token_id,)).fetchone()[0])

    async def scenario() -> None:
        reads = DirectReads(str(path))
        try:
            assert await reads.point(secret, "a") == "x"
            blocker = sqlite3.connect(path, isolation_level=None)
            blocker.execute("BEGIN EXCLUSIVE")  # a rollback journal: readers are locked out
            blocker.execute("UPDATE tokens SET secret = 'y'")
            ticks = 0

            async def ticking() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await asyncio.sleep(0.01)

            ticker = asyncio.create_task(ticking())
            read = asyncio.create_task(reads.point(secret, "a"))
            await asyncio.sleep(0.3)
            assert not read.done() and ticks >= 10  # it waits in a reader thread, not on the loop
            blocker.execute("COMMIT")
            blocker.close()
            assert await asyncio.wait_for(read, 10) == "y"
            ticker.cancel()
        finally:
            reads.close()

    asyncio.run(scenario())
