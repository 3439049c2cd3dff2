"""Where the benchmarks' stores live, and the raw baseline of each database, measured the same way.

``Sqlite`` (the default) makes store files in the run's folder; its baseline is plain ``sqlite3`` with the
server's durability (WAL, ``synchronous=FULL``). ``Postgres`` (``--db postgresql+asyncpg://...``) makes
a new database per store on that server (the URL's database is only used to create and drop them); its
baseline is plain ``asyncpg`` against the same server with the server's settings (``synchronous_commit``
as configured: on by default). Both baselines write into a table with exactly the server's ``events``
columns and indexes, compiled from the server's own table definition.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.engine import make_url

from benchmarks.common import (
    INSERT,
    ROW_COLUMNS,
    add_digests,
    create_raw_events_table,
    create_users,
    make_events,
    raw_connection,
    stored_rows,
)

Row = tuple[Any, ...]


class Raw(Protocol):
    """The baseline: the same rows through the database's plain driver, no server in between."""

    def insert_batches(self, rows: Sequence[Row], batch: int) -> float:
        """Seconds to insert ``rows``, one transaction per ``batch`` rows."""

    def insert_requests(self, rows: Sequence[Row], counts: Sequence[int]) -> float:
        """Seconds to insert ``rows``, one transaction per request of ``counts[i]`` rows."""

    def close(self) -> None: ...


class Log(Protocol):
    """A store seeded with one user's log, and the baseline's reads of that same table."""

    url: str
    token: str

    def read_all(self) -> float:
        """Seconds to read every event body of the user in seq order."""

    def read_pages(self, limit: int) -> float:
        """Seconds to page through the user's events, ``seq > ?`` ``limit`` at a time."""


class Backend(Protocol):
    name: str
    baseline: str
    """How the baseline is named in the table: ``sqlite3`` or ``asyncpg (PostgreSQL)``."""
    durability: str

    def fresh_store(self, name: str) -> tuple[str, str]:
        """A new migrated store with one user; its URL and the user's token."""

    def raw(self, name: str) -> Raw: ...

    def seed_log(self, count: int) -> Log: ...

    def cleanup(self) -> None: ...


def seed_chunks(count: int, chunk: int = 50_000) -> Any:
    """Realistic events for a seeded log, in chunks, as the server stores them (user 1, seqs from 1)."""
    seq = 0
    device = None
    for start in range(0, count, chunk):
        events = make_events(min(chunk, count - start), seed=start, start_seq=start + 1, device=device)
        device = events[0]["device_id"]
        rows, _ = stored_rows(1, events, first_seq=seq + 1)
        seq += len(rows)
        yield rows


# SQLite -----------------------------------------------------------------------------------------


def _unlink(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class SqliteRaw:
    def __init__(self, path: Path) -> None:
        _unlink(path)
        self.connection = raw_connection(path)
        create_raw_events_table(self.connection)

    def insert_batches(self, rows: Sequence[Row], batch: int) -> float:
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            self.connection.execute("BEGIN")
            self.connection.executemany(INSERT, rows[start : start + batch])
            self.connection.execute("COMMIT")
        return time.perf_counter() - started

    def insert_requests(self, rows: Sequence[Row], counts: Sequence[int]) -> float:
        started = time.perf_counter()
        position = 0
        for count in counts:
            self.connection.execute("BEGIN")
            self.connection.executemany(INSERT, rows[position : position + count])
            self.connection.execute("COMMIT")
            position += count
        return time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()


class SqliteLog:
    def __init__(self, path: Path, url: str, token: str) -> None:
        self.path, self.url, self.token = path, url, token

    def read_all(self) -> float:
        connection = raw_connection(self.path)
        started = time.perf_counter()
        count = 0
        for (body,) in connection.execute("SELECT body FROM events WHERE user_id = 1 ORDER BY seq"):
            count += len(body) > 0
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed

    def read_pages(self, limit: int) -> float:
        connection = raw_connection(self.path)
        started = time.perf_counter()
        after = 0
        while True:
            rows = connection.execute(
                "SELECT seq, body, received_at FROM events WHERE user_id = 1 AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (after, limit),
            ).fetchall()
            if not rows:
                break
            after = rows[-1][0]
        elapsed = time.perf_counter() - started
        connection.close()
        return elapsed


class Sqlite:
    name = "sqlite"
    baseline = "sqlite3"
    durability = "WAL+FULL"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def fresh_store(self, name: str) -> tuple[str, str]:
        path = self.folder / f"{name}.db"
        _unlink(path)
        url = f"sqlite+aiosqlite:///{path}"
        return url, create_users(url, ["bench"], migrate=True)[0]

    def raw(self, name: str) -> SqliteRaw:
        return SqliteRaw(self.folder / f"{name}.raw.db")

    def seed_log(self, count: int) -> SqliteLog:
        url, token = self.fresh_store("log")
        path = self.folder / "log.db"
        connection = raw_connection(path)
        digest, seq = "0" * 32, 0
        for rows in seed_chunks(count):
            connection.execute("BEGIN")
            connection.executemany(INSERT, rows)
            connection.execute("COMMIT")
            digest, seq = add_digests(digest, rows), seq + len(rows)
        connection.execute("UPDATE users SET last_seq = ?, digest = ? WHERE id = 1", (seq, digest))
        connection.close()
        return SqliteLog(path, url, token)

    def cleanup(self) -> None:
        pass


# PostgreSQL -------------------------------------------------------------------------------------

_PG_INSERT = (
    f"INSERT INTO events ({', '.join(ROW_COLUMNS)}) "
    f"VALUES ({', '.join(f'${place}' for place in range(1, len(ROW_COLUMNS) + 1))})"
)


def _pg_ddl() -> list[str]:
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex, CreateTable

    from server.database import tables as db

    dialect = postgresql.dialect()
    return [
        str(CreateTable(db.events).compile(dialect=dialect)),
        *(str(CreateIndex(index).compile(dialect=dialect)) for index in db.events.indexes),
    ]


class PostgresRaw:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def _run(self, chunks: list[Sequence[Row]]) -> float:
        import asyncpg

        connection = await asyncpg.connect(self.dsn)
        try:
            statement = await connection.prepare(_PG_INSERT)
            started = time.perf_counter()
            for chunk in chunks:
                async with connection.transaction():
                    await statement.executemany(chunk)
            return time.perf_counter() - started
        finally:
            await connection.close()

    def insert_batches(self, rows: Sequence[Row], batch: int) -> float:
        return asyncio.run(self._run([rows[start : start + batch] for start in range(0, len(rows), batch)]))

    def insert_requests(self, rows: Sequence[Row], counts: Sequence[int]) -> float:
        chunks, position = [], 0
        for count in counts:
            chunks.append(rows[position : position + count])
            position += count
        return asyncio.run(self._run(chunks))

    def close(self) -> None:
        pass


class PostgresLog:
    def __init__(self, dsn: str, url: str, token: str) -> None:
        self.dsn, self.url, self.token = dsn, url, token

    async def _read(self, limit: int | None) -> float:
        import asyncpg

        connection = await asyncpg.connect(self.dsn)
        try:
            started = time.perf_counter()
            if limit is None:
                count = 0
                async with connection.transaction():
                    query = "SELECT body FROM events WHERE user_id = 1 ORDER BY seq"
                    async for (body,) in connection.cursor(query, prefetch=5000):
                        count += len(body) > 0
            else:
                page = await connection.prepare(
                    "SELECT seq, body, received_at FROM events WHERE user_id = 1 AND seq > $1 "
                    "ORDER BY seq LIMIT $2"
                )
                after = 0
                while rows := await page.fetch(after, limit):
                    after = rows[-1][0]
            return time.perf_counter() - started
        finally:
            await connection.close()

    def read_all(self) -> float:
        return asyncio.run(self._read(None))

    def read_pages(self, limit: int) -> float:
        return asyncio.run(self._read(limit))


class Postgres:
    name = "postgresql"
    baseline = "asyncpg"
    durability = "synchronous_commit as configured"

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        if not self.url.drivername.startswith("postgresql"):
            raise ValueError(f"--db must be a postgresql+asyncpg:// URL, got {url!r}")
        self.created: list[str] = []

    def _dsn(self, database: str | None = None) -> str:
        plain = self.url.set(drivername="postgresql")
        if database is not None:
            plain = plain.set(database=database)
        return plain.render_as_string(hide_password=False)

    def _recreate(self, name: str) -> str:
        import asyncpg

        # The process id keeps two runs against one server (a developer's and CI's) apart.
        database = f"winledger_bench_{os.getpid()}_{name}".replace("-", "_")

        async def run() -> None:
            connection = await asyncpg.connect(self._dsn())
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                await connection.execute(f'CREATE DATABASE "{database}" TEMPLATE template0')
            finally:
                await connection.close()

        asyncio.run(run())
        if database not in self.created:
            self.created.append(database)
        return database

    def fresh_store(self, name: str) -> tuple[str, str]:
        database = self._recreate(name)
        url = self.url.set(database=database).render_as_string(hide_password=False)
        return url, create_users(url, ["bench"], migrate=True)[0]

    def raw(self, name: str) -> PostgresRaw:
        import asyncpg

        dsn = self._dsn(self._recreate(f"{name}_raw"))

        async def create() -> None:
            connection = await asyncpg.connect(dsn)
            try:
                for statement in _pg_ddl():
                    await connection.execute(statement)
            finally:
                await connection.close()

        asyncio.run(create())
        return PostgresRaw(dsn)

    def seed_log(self, count: int) -> PostgresLog:
        import asyncpg

        url, token = self.fresh_store("log")
        dsn = self._dsn(make_url(url).database)

        async def seed() -> None:
            connection = await asyncpg.connect(dsn)
            try:
                digest, seq = "0" * 32, 0
                for rows in seed_chunks(count):
                    await connection.copy_records_to_table("events", records=rows, columns=list(ROW_COLUMNS))
                    digest, seq = add_digests(digest, rows), seq + len(rows)
                await connection.execute(
                    "UPDATE users SET last_seq = $1, digest = $2 WHERE id = 1", seq, digest
                )
                await connection.execute("ANALYZE events")
            finally:
                await connection.close()

        asyncio.run(seed())
        return PostgresLog(dsn, url, token)

    def cleanup(self) -> None:
        import asyncpg

        async def run() -> None:
            connection = await asyncpg.connect(self._dsn())
            try:
                for database in self.created:
                    await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            finally:
                await connection.close()

        asyncio.run(run())
