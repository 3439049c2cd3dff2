"""The reads of every request (a token, a user's name) on each backend: one set of tests for the reader
threads of a SQLite file, the event log's own connections on PostgreSQL, and the engine on SQLite and
PostgreSQL (``server.accounts.auth``)."""

from __future__ import annotations

import asyncio
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
