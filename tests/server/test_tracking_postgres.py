"""The PostgreSQL tracking recorder's own promises, beyond the contract of test_tracking.py: its transactions
run on the event log's connections as that contract needs them (a snapshot to read, custom plans), and a
store whose log is swapped for another recorder is served through the engine."""

from __future__ import annotations

import asyncio

from server.accounts.auth import Accounts
from server.database import migrate
from server.database import tables as db
from server.eventlog import event_store
from server.eventlog.sqlalchemy import SQLAlchemyRecorder
from server.projections.tracking import Checkpoint
from server.projections.tracking_postgres import PostgresReads, PostgresTrackingRecorder
from tests.support.databases import PostgresDatabases

STATE = (
    "SELECT current_setting('plan_cache_mode'), current_setting('transaction_isolation'), "
    "current_setting('transaction_read_only')"
)


def test_reads_see_one_snapshot_and_every_statement_is_planned_for_its_values(
    postgres_databases: PostgresDatabases,
) -> None:
    url = postgres_databases.create()

    async def main() -> tuple[list[str], list[str]]:
        engine = db.create_engine(url)
        store = event_store(engine)
        try:
            await migrate.upgrade(engine)
            recorder = PostgresTrackingRecorder(store)
            async with recorder.reading() as reading:
                assert isinstance(reading, PostgresReads)
                read = list(await reading.connection.fetchrow(STATE))
            async with recorder.writing() as writes:
                assert isinstance(writes, PostgresReads)
                written = list(await writes.connection.fetchrow(STATE))
            return read, written
        finally:
            store.close()
            await engine.dispose()

    read, written = asyncio.run(main())
    assert read == ["force_custom_plan", "repeatable read", "on"]
    assert written == ["force_custom_plan", "read committed", "off"]


def test_a_store_whose_log_is_not_on_asyncpg_is_served_through_the_engine(
    postgres_databases: PostgresDatabases,
) -> None:
    url = postgres_databases.create()

    async def main() -> tuple[Checkpoint | None, bool, bool]:
        engine = db.create_engine(url)
        store = event_store(engine)
        try:
            await migrate.upgrade(engine)
            await Accounts(store).create_user("ada")
            user_id = 1
            recorder = PostgresTrackingRecorder(store)
            store.close()
            store.recorder = SQLAlchemyRecorder(engine)  # looked up at each use
            async with recorder.writing() as writes:
                await writes.record(user_id, {}, Checkpoint(0, 1), None)
                on_asyncpg = isinstance(writes, PostgresReads)
            async with recorder.reading() as reading:
                return await reading.read_checkpoint(user_id), on_asyncpg, isinstance(reading, PostgresReads)
        finally:
            await engine.dispose()

    checkpoint, wrote_on_asyncpg, read_on_asyncpg = asyncio.run(main())
    assert (checkpoint, wrote_on_asyncpg, read_on_asyncpg) == (Checkpoint(0, 1), False, False)
