"""A sync's pull after its push: a page expected to be small is read the cheap way, and is still the
page a plain pull gives (``EventStore.pull`` with ``known_head``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from schema import ValidEvent, validate_fields
from server.accounts.auth import Accounts
from server.database import migrate
from server.database import tables as db
from server.eventlog import event_store
from server.eventlog.recorder import SMALL_PAGE
from server.eventlog.store import EventStore
from tests.factories import Device
from tests.support.databases import sqlite_url


def test_a_page_read_as_small_is_the_page_a_plain_pull_gives(tmp_path: Path) -> None:
    async def scenario() -> None:
        engine = db.create_engine(sqlite_url(tmp_path / "pages.db"))
        store: EventStore = event_store(engine)
        try:
            await migrate.upgrade(engine)
            await Accounts(store).create_user("ada")
            async with engine.connect() as connection:
                user_id = int(await connection.scalar(select(db.users.c.id).where(db.users.c.name == "ada")))
            events = [validate_fields(event) for event in Device().events(SMALL_PAGE + 30)]
            assert all(isinstance(event, ValidEvent) for event in events)
            _, head = await store.push(user_id, events)
            assert head == SMALL_PAGE + 30
            for after, limit, known_head in [
                (0, 1000, 1),  # the caller saw seq 1, but the log holds more than a small page since
                (0, 1000, head),  # a page too large to read as small
                (head - 10, 1000, head),  # a small page
                (head - 10, 3, head),  # a small page cut by the limit
                (0, SMALL_PAGE, 5),  # a limit of exactly a small page
                (head, 100, head),  # nothing new
            ]:
                plain = await store.pull(user_id, after, limit)
                small = await store.pull(user_id, after, limit, known_head=known_head)
                assert (small.events, small.count, small.cursor, small.more, small.digest) == (
                    plain.events,
                    plain.count,
                    plain.cursor,
                    plain.more,
                    plain.digest,
                ), (after, limit, known_head)
                assert plain.count == min(limit, head - after)
        finally:
            store.close()
            await engine.dispose()

    asyncio.run(scenario())
