"""On PostgreSQL the server's connections plan each statement for the table as it is now.

asyncpg keeps prepared statements for a connection's life, and PostgreSQL may switch one to a generic
plan made while the table was small; for a push's duplicate lookup, one made on an empty log took 1.1 s
among 100,000 events, where a custom plan takes 28 ms (server/database/tables.py)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from server.database import tables as db
from tests.support.databases import postgres_url, skip_reason

pytestmark = pytest.mark.skipif(postgres_url() is None, reason=skip_reason())


def test_every_connection_of_the_server_uses_custom_plans() -> None:
    url = postgres_url()
    assert url is not None

    async def modes() -> list[str]:
        engine = db.create_engine(url)
        try:
            async with engine.connect() as first, engine.connect() as second:
                show = text("SHOW plan_cache_mode")
                return [str(await connection.scalar(show)) for connection in (first, second)]
        finally:
            await engine.dispose()

    assert asyncio.run(modes()) == ["force_custom_plan", "force_custom_plan"]
