"""One-hop SQL on SQLite: the hottest reads (a pull page, a token lookup) and the group commit of pushes
run whole in a worker thread.

Through SQLAlchemy's async engine and aiosqlite, every statement, cursor, BEGIN and COMMIT is a hop
to the connection's thread and back; on these machines a read transaction of two statements costs
about 2 ms that way, against 0.2 ms for the same statements run together in one thread
(``benchmarks``, PERF notes in docs/deploy.md). So these reads are plain ``sqlite3`` functions run in
a small pool of reader threads, each with its own connection, one hop per request. WAL gives each
read transaction its snapshot, as before. The pushes of one group commit run as one function on the
writer thread's own connection (``DirectWriter``), one hop per group, under the store's write lock
like every other write of this process. Other writes (the projector, admin commands) stay on the
engine; SQLite serializes them all.

Only for SQLite files; an in-memory database, or another backend, uses the engine for everything.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError

try:
    import fcntl
except ImportError:  # Windows: SQLite's own lock alone orders the writers
    fcntl = None  # type: ignore[assignment]
from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")
READERS = 4


def sqlite_path(engine: AsyncEngine) -> str | None:
    """The file of a SQLite engine; None for another backend or an in-memory database."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


class Held:
    """One connection held for a transaction whose statements come from the event loop a few at a time:
    each ``run`` is one hop to ``executor``'s thread; the transaction begins with the first of them
    (``begin``) and ends with ``end``. For a caller that reads (or writes) in several steps with awaits
    between them, and needs them all in one snapshot (the projector's tracking recorder)."""

    def __init__(
        self, connection: Callable[[], sqlite3.Connection], executor: Executor | None, begin: str
    ) -> None:
        self._connection = connection
        self._executor = executor
        self._begin = begin
        self._begun = False
        self._running: asyncio.Future[Any] | None = None
        """The statement on the thread: one whose caller was cancelled may still run there."""

    def _call(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        connection = self._connection()
        try:
            if not self._begun:
                connection.execute(self._begin)
                self._begun = True
            return work(connection, *args)
        except sqlite3.OperationalError as exc:
            raise OperationalError(work.__name__, None, exc) from exc

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(connection, *args)`` in the transaction, on the connection's thread (where it is asked,
        without an executor)."""
        if self._executor is None:
            return self._call(work, args)
        loop = asyncio.get_running_loop()
        running = self._running = loop.run_in_executor(self._executor, self._call, work, args)
        # Shielded: a cancelled caller leaves the future to follow its statement to the end (``end``).
        return await asyncio.shield(running)

    def _finish(self, commit: bool) -> None:
        connection = self._connection()
        if not self._begun or not connection.in_transaction:
            return
        try:
            connection.execute("COMMIT" if commit else "ROLLBACK")
        except sqlite3.OperationalError as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise OperationalError("COMMIT", None, exc) from exc

    async def end(self, *, commit: bool) -> None:
        """Commit (or roll back) on the connection's thread, after any statement still running there."""
        if self._executor is None:
            self._finish(commit)
            return
        running = self._running
        if running is not None:
            if not running.done():
                # A cancelled caller's statement still runs on its thread; another thread of the executor
                # must not end the transaction under it.
                await asyncio.wait([running])
            if not running.cancelled():
                running.exception()  # retrieved: the caller may be gone
        await asyncio.get_running_loop().run_in_executor(self._executor, self._finish, commit)


class DirectReads:
    def __init__(self, path: str, threads: int = READERS) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="winledger-read")
        self.inline = False
        """Run every read where it is asked, in the event loop's thread: for a process whose loop does
        nothing else meanwhile (the projector's), where the hop to a thread costs more than it frees."""
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._inline: sqlite3.Connection | None = None
        self._held: list[sqlite3.Connection] = []
        """Idle connections of ``snapshot``."""

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> DirectReads | None:
        path = sqlite_path(engine)
        return None if path is None else cls(path)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self._connect(10000)
        return connection

    def _connect(self, busy_timeout_ms: int) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
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
        if self.inline:
            return self._run(read, args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, read, args)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Held]:
        """A read transaction held across awaits (``Held``): every ``run`` in it sees one committed state.
        Its connection is one of a few kept for this (never a reader thread's own), so that snapshots
        held at once by concurrent callers never share one."""
        connection = self._held.pop() if self._held else self._connect(10000)
        held = Held(lambda: connection, None if self.inline else self._executor, "BEGIN")
        try:
            yield held
        finally:
            await held.end(commit=True)  # a read: nothing to commit, the snapshot released
            self._held.append(connection)

    async def point(self, read: Callable[..., T], *args: Any, one_statement: bool = False) -> T:
        """A read of a row or two by key (a token), done where it is asked: in the event loop's thread.

        Such a read takes microseconds on a warm cache, and the hop to a reader thread costs about
        40 us of the loop's time (docs/performance.md). The loop's connection never waits for a lock
        (``busy_timeout`` 0): a read that would wait (a checkpoint, a restore) takes the hop instead.
        A read of ``one_statement`` runs without ``BEGIN`` and ``COMMIT``: one statement is a snapshot
        of its own (SQLite's autocommit).
        """
        connection = self._inline
        if connection is None:
            connection = self._inline = self._connect(0)
        try:
            if one_statement:
                return read(connection, *args)
            connection.execute("BEGIN")
            try:
                return read(connection, *args)
            finally:
                connection.execute("COMMIT")
        except sqlite3.OperationalError:
            return await self.run(read, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._inline = None
        self._held.clear()
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()


class DirectWriter:
    """The one connection that writes pushes (group commits), on a thread of its own."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.factory: type[sqlite3.Connection] = sqlite3.Connection
        """The connection class (``sqlite3.connect``'s ``factory``), for instrumenting the writer."""
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="winledger-write")
        self.inline = False
        """Run every write where it is asked (``DirectReads.inline``)."""
        self._connection: sqlite3.Connection | None = None

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> DirectWriter | None:
        path = sqlite_path(engine)
        return None if path is None else cls(path)

    def connection(self) -> sqlite3.Connection:
        """The writer's connection (made on first use, in the writer thread), with the server's
        durability: WAL and ``synchronous=FULL``, so a commit is on disk before anyone is answered."""
        if self._connection is None or not isinstance(self._connection, self.factory):
            if self._connection is not None:
                self._connection.close()
            connection = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, factory=self.factory
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA busy_timeout=10000")
            self._connection = connection
        return self._connection

    def _run(self, write: Callable[..., T], args: tuple[Any, ...]) -> T:
        try:
            return write(self.connection(), *args)
        except sqlite3.OperationalError as exc:
            raise OperationalError(write.__name__, None, exc) from exc

    async def run(self, write: Callable[..., T], *args: Any) -> T:
        """``write(connection, *args)`` on the writer thread; it manages its own transaction."""
        if self.inline:
            return self._run(write, args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, write, args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Held]:
        """A write transaction on the writer's connection (``BEGIN IMMEDIATE`` with its first statement):
        committed on a clean exit, rolled back otherwise. The caller holds the store's turn to write
        (``EventStore.write_turn``), so no group commit runs on the thread meanwhile."""
        held = Held(self.connection, None if self.inline else self._executor, "BEGIN IMMEDIATE")
        try:
            yield held
        except BaseException:
            await held.end(commit=False)
            raise
        await held.end(commit=True)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class WriteTurn:
    """The turn to write a SQLite file among the processes of this machine: an ``flock`` on a file beside
    it (``<file>-write.lock``), taken before ``BEGIN IMMEDIATE`` and given back after the commit.

    SQLite's own lock is taken by polling: a writer that finds the file locked sleeps 1, 2, 5, 10 ...
    up to 100 ms between tries, so the projector process, whose transactions come between the server's
    back-to-back group commits, waited up to most of a second for each of them (projector_lag in
    docs/performance.md). The kernel wakes a process waiting on an ``flock`` as soon as it is free.
    Within a process the store's write lock already orders writers; every writer of the process takes
    the turn through the same open file. SQLite's lock still guards against any other writer.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(f"{path}-write.lock", os.O_RDWR | os.O_CREAT, 0o600) if fcntl else -1

    def take(self) -> None:
        """Wait for the turn (blocking: on a thread of its own)."""
        if fcntl:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def give(self) -> None:
        if fcntl:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    async def take_async(self) -> None:
        """Wait for the turn without blocking the event loop."""
        if not fcntl:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waiting = asyncio.ensure_future(asyncio.to_thread(self.take))
        try:
            await asyncio.shield(waiting)
        except asyncio.CancelledError:
            # The thread takes the turn all the same: give it back once it has it.
            waiting.add_done_callback(lambda done: None if done.exception() else self.give())
            raise

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
