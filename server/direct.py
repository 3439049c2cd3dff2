"""One-hop reads on SQLite: the hottest reads (a pull page, a token lookup) run whole in a worker thread.

Through SQLAlchemy's async engine and aiosqlite, every statement, cursor, BEGIN and COMMIT is a hop
to the connection's thread and back; on these machines a read transaction of two statements costs
about 2 ms that way, against 0.2 ms for the same statements run together in one thread
(``benchmarks``, PERF notes in docs/deploy.md). So these reads are plain ``sqlite3`` functions run in
a small pool of reader threads, each with its own connection, one hop per request. WAL gives each
read transaction its snapshot, as before. Writes stay on the engine (``EventStore.write``), where
SQLite's single writer serializes them anyway.

Only for SQLite files; an in-memory database, or another backend, uses the engine for everything.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")
READERS = 4


class DirectReads:
    def __init__(self, path: str, threads: int = READERS) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="winledger-read")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> DirectReads | None:
        if engine.dialect.name != "sqlite":
            return None
        database = engine.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return cls(database)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA busy_timeout=10000")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _run(self, read: Callable[..., T], args: tuple[Any, ...]) -> T:
        connection = self._connection()
        try:
            connection.execute("BEGIN")  # one snapshot for every statement of the read
            try:
                return read(connection, *args)
            finally:
                connection.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            # As the engine would raise it: the app answers 503 with Retry-After (busy, disk errors).
            raise OperationalError(read.__name__, None, exc) from exc

    async def run(self, read: Callable[..., T], *args: Any) -> T:
        """``read(connection, *args)`` in a reader thread, inside one read transaction."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, read, args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
