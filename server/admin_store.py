"""The store as the admin commands open it: at the schema this code needs, or a clear refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from server import db
from server.auth import AdminError
from server.migrate import SchemaOutOfDate, SchemaTooNew, open_store
from server.store import EventStore


@asynccontextmanager
async def admin_store(url: str) -> AsyncIterator[EventStore]:
    """An ``EventStore`` on ``url`` for one admin command; its engine is disposed at the end.

    SQLite is upgraded in place; an out-of-date PostgreSQL schema (or one from a newer winledger)
    is an ``AdminError`` whose message names the command to run.
    """
    engine = db.create_engine(url)
    store = EventStore(engine)
    try:
        try:
            await open_store(engine, url)
        except (SchemaOutOfDate, SchemaTooNew) as exc:
            raise AdminError(str(exc)) from None
        yield store
    finally:
        store.close()
        await engine.dispose()
