"""Databases for tests: a SQLite file, or a fresh database on the PostgreSQL named by the environment.

``WINLEDGER_TEST_POSTGRES_URL`` names a PostgreSQL server and a database the
tests may connect to (``postgresql+asyncpg://postgres@127.0.0.1:5432/test`` on
this project's machines; ``.ci/run`` sets it). Each test server gets a database
of its own, created from ``template0`` and dropped after the test.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

POSTGRES_ENV = "WINLEDGER_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def skip_reason() -> str:
    return (
        f"the PostgreSQL half was not run: {POSTGRES_ENV} is not set "
        "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test)"
    )


SKIP_LOCATION = (
    str(Path(__file__).relative_to(Path(__file__).parents[2])),
    skip_reason.__code__.co_firstlineno,
)
"""Where every skip for want of PostgreSQL is reported (tests/conftest.py folds them into one line)."""


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class PostgresDatabases:
    """Creates databases on the test server and drops every one of them at ``close``."""

    def __init__(self, admin_url: str) -> None:
        url = make_url(admin_url)
        if url.drivername != "postgresql+asyncpg":
            url = url.set(drivername="postgresql+asyncpg")
        self.admin_url = url
        self.prefix = f"wl_{uuid.uuid4().hex[:8]}"
        self._counter = itertools.count(1)
        self.created: list[str] = []

    def _execute(self, *statements: str) -> None:
        import asyncpg

        async def run() -> None:
            connection = await asyncpg.connect(
                host=self.admin_url.host,
                port=self.admin_url.port or 5432,
                user=self.admin_url.username,
                password=self.admin_url.password,
                database=self.admin_url.database,
            )
            try:
                for statement in statements:
                    await connection.execute(statement)
            finally:
                await connection.close()

        asyncio.run(run())

    def create(self) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = f"{self.prefix}_{next(self._counter)}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        self.created.append(name)
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def close(self) -> None:
        if self.created:
            self._execute(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in self.created))
            self.created.clear()

    def reachable(self) -> str | None:
        """None when the server answers, else why not."""
        try:
            self._execute("SELECT 1")
        except Exception as exc:
            return f"cannot reach the PostgreSQL at {self.admin_url.render_as_string()}: {exc}"
        return None
