"""The recorder on PostgreSQL through plain ``asyncpg``: a push in four round trips, a page in one.

Through the engine a push took 15 round trips and a page 9 (a pooled connection's pre-ping alone is
three: BEGIN, a ping, ROLLBACK), each statement built, compiled and adapted by SQLAlchemy on the way;
on this project's machines a round trip over loopback TCP costs more than the work it carries. Here a
push is: BEGIN with the user's row lock (one simple-protocol message); one lookup of what the batch is
judged against, with the log head (arrays, never chunks; one index probe a value); one INSERT of an
array per column (from ``COPY_FROM`` rows, a binary COPY, two round trips); the head written with
COMMIT. A page is one statement, and so is a token lookup (``fetch``). The recorder keeps a small pool
of its own connections (``POOL_SIZE`` at most), opened on first use with the engine's settings;
everything else (the projector, admin, account writes) stays on the engine.

Writers in turn: a push takes the user's row lock (``SELECT ... FOR UPDATE``), so pushes of one user,
from any connection of any process, take turns on that row and commit in seq order, while pushes of
different users run in parallel (``single_writer`` is False). The lookup and the head are read after
the lock is granted, by a statement of its own: on READ COMMITTED it sees every push committed before.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import NoResultFound, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from schema import ValidEvent
from server.database import tables as db
from server.eventlog import rules
from server.eventlog.recorder import (
    Answered,
    Append,
    Appended,
    Page,
    Recorder,
    served_event,
    served_page,
    utc_now,
)
from server.eventlog.rules import Existing

Connection = Any
"""An ``asyncpg.Connection`` (asyncpg ships no type hints)."""

_HEAD = "SELECT last_seq, digest FROM users WHERE id = $1"

# What a batch is judged against (``rules.Existing``), in one statement: the stored events named by
# id (0), the stored redactions naming an id of the batch (1), the events holding a device seq (2),
# and the user's log head (3), read after the lock on it is granted.
# One index probe per value (LATERAL ... LIMIT 1, on the unique indexes): a join or ``= ANY`` let the
# planner scan the user's whole log, 19 ms for a batch of 1,000 against 20,000 events, where the
# probes take 3.7 ms whatever the log's size.
_EXISTING = """
SELECT 0, e.event_id, e.body, e.seq, e.hash FROM unnest($2::varchar[]) AS w(id)
CROSS JOIN LATERAL (
    SELECT event_id, body, seq, hash FROM events WHERE user_id = $1 AND event_id = w.id LIMIT 1
) AS e
UNION ALL
SELECT 1, e.target, NULL, NULL, NULL FROM unnest($3::varchar[]) AS w(id)
CROSS JOIN LATERAL (SELECT target FROM events WHERE user_id = $1 AND target = w.id LIMIT 1) AS e
UNION ALL
SELECT 2, e.event_id, NULL, e.device_seq, e.device_id
FROM unnest($4::varchar[], $5::bigint[]) AS w(device_id, device_seq)
CROSS JOIN LATERAL (
    SELECT event_id, device_seq, device_id FROM events
    WHERE user_id = $1 AND device_id = w.device_id AND device_seq = w.device_seq LIMIT 1
) AS e
UNION ALL
SELECT 3, digest, NULL, last_seq, NULL FROM users WHERE id = $1
"""

# The new rows go in as one INSERT of an array per column (one round trip), or from COPY_FROM rows on
# by binary COPY (two round trips, and a third less time in PostgreSQL than the INSERT for 1,000 rows,
# half that of executemany; asyncpg reads the columns' types once per connection).
COPY_FROM = 64
_COPY = f"COPY events ({', '.join(db.EVENT_INSERT_COLUMNS)}) FROM STDIN (FORMAT binary)"
_TYPES = ("int", "bigint", "varchar", "varchar", "bigint", "varchar", "int", "varchar", "bigint", "bytea",
          "varchar", "varchar", "varchar")  # fmt: skip
_INSERT = (
    f"INSERT INTO events ({', '.join(db.EVENT_INSERT_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'${i}::{kind}[]' for i, kind in enumerate(_TYPES, 1))})"
)
_REWRITE = (
    "UPDATE events SET body = new.body, hash = new.hash "
    "FROM unnest($2::varchar[], $3::bytea[], $4::varchar[]) AS new(event_id, body, hash) "
    "WHERE events.user_id = $1 AND events.event_id = new.event_id"
)
_HEX32 = re.compile("[0-9a-f]{32}")


def _lock(user_id: int) -> str:
    """Takes the user's row lock (see the module's docstring), sent with BEGIN in one round trip: the
    simple protocol takes no parameters, so the values are written in, from integers only."""
    return f"SELECT 1 FROM users WHERE id = {int(user_id)} FOR UPDATE"


def _set_head(user_id: int, last_seq: int, digest: str) -> str:
    """Writes the user's log head, sent with COMMIT in one round trip (integers and 32 hex digits)."""
    if not _HEX32.fullmatch(digest):
        raise ValueError(f"not a digest: {digest!r}")
    return f"UPDATE users SET last_seq = {int(last_seq)}, digest = '{digest}' WHERE id = {int(user_id)}"


# One statement, so one snapshot: the head and the page's rows agree without a transaction.
_PAGE = """
SELECT u.last_seq, u.digest, e.seq, e.body, e.received_at
FROM users AS u
LEFT JOIN LATERAL (
    SELECT seq, body, received_at FROM events
    WHERE user_id = u.id AND seq > $2 AND seq <= u.last_seq
    ORDER BY seq LIMIT $3
) AS e ON true
WHERE u.id = $1
"""

_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.InsufficientResourcesError,  # disk full, out of memory, too many connections
    asyncpg.OperatorInterventionError,  # shutdown, a cancelled statement
    asyncpg.PostgresSystemError,  # an I/O error
    asyncpg.TransactionRollbackError,  # serialization failure, deadlock
)
"""Errors that make a request a 503 ("retry later"), raised as the engine raises them:
SQLAlchemy's ``OperationalError``."""


class _Connection(asyncpg.Connection):  # type: ignore[misc]
    async def reset(self, *, timeout: float | None = None) -> None:
        """On release to the pool: every transaction here ends in COMMIT or ROLLBACK, and no session
        state is ever set, so a connection comes back clean; asyncpg's own reset would spend a round
        trip on it every time (RESET ALL, UNLISTEN, ...)."""
        if self.is_in_transaction():
            await self.execute("ROLLBACK", timeout=timeout)


class PostgresRecorder(Recorder):
    single_writer = False

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.before_statement: list[Callable[[str], None]] = []
        """Called with each statement before it runs (as the engine's ``before_cursor_execute``):
        what a test uses to play a failing disk."""
        self._pool: Any = None
        self._opening = asyncio.Lock()

    async def _open(self) -> Any:
        async with self._opening:
            if self._pool is None:
                _, options = self.engine.dialect.create_connect_args(self.engine.url)
                options.pop("prepared_statement_cache_size", None)
                self._pool = await asyncpg.create_pool(
                    **options,
                    min_size=0,
                    max_size=db.POOL_SIZE,
                    connection_class=_Connection,
                    # As the engine's connections (``server.database.tables.create_engine`` says why).
                    server_settings={"plan_cache_mode": "force_custom_plan"},
                )
        return self._pool

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        try:
            pool = self._pool or await self._open()
            async with pool.acquire(timeout=30) as connection:
                yield connection
        except _UNAVAILABLE as exc:
            raise OperationalError("event log", None, exc) from exc

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[Connection]:
        """One of this recorder's pooled connections, until the block ends: for a caller that runs its own
        transactions on it and leaves none open (the projector's tracking recorder,
        server/projections/tracking_postgres.py). Its errors come as the engine raises them
        (``OperationalError``)."""
        async with self._connection() as connection:
            yield connection

    async def _run(self, connection: Connection, sql: str, *args: Any) -> Any:
        for hook in self.before_statement:
            hook(sql)
        return await connection.fetch(sql, *args)

    async def _simple(self, connection: Connection, *statements: str) -> None:
        """Statements without parameters, sent together in one round trip (the simple protocol)."""
        if not statements:
            return
        for sql in statements:
            for hook in self.before_statement:
                hook(sql)
        await connection.execute("; ".join(statements))

    async def append(self, push: Append) -> Appended:
        async with self._connection() as connection:
            try:
                await self._simple(connection, "BEGIN", _lock(push.user_id))
                appended, head = await self._apply(connection, push)
                await self._simple(connection, *head, "COMMIT")
            except BaseException:
                await _rollback(connection)
                raise
        return appended

    async def append_group(self, pushes: Sequence[Append]) -> list[Answered]:
        answers: list[Answered] = []
        async with self._connection() as connection:
            try:
                await self._simple(connection, "BEGIN")
                for push in pushes:
                    await self._simple(connection, "SAVEPOINT push")
                    try:
                        await self._simple(connection, _lock(push.user_id))
                        appended, head = await self._apply(connection, push)
                        await self._simple(connection, *head)
                    except Exception as exc:
                        await connection.execute("ROLLBACK TO SAVEPOINT push")
                        answers.append((None, exc))  # rolled back to its savepoint alone
                    else:
                        answers.append((appended, None))
                    await connection.execute("RELEASE SAVEPOINT push")
                await self._simple(connection, "COMMIT")
            except BaseException:
                await _rollback(connection)
                raise
        return answers

    async def read_page(self, user_id: int, after: int, limit: int) -> Page:
        async with self._connection() as connection:
            rows = await self._run(connection, _PAGE, user_id, after, limit)
        if not rows:
            raise NoResultFound(f"no user {user_id}")
        last_seq, digest = int(rows[0][0]), rows[0][1]
        rules.check_cursor(after, last_seq)
        served = [(seq, served_event(seq, body, at)) for _, _, seq, body, at in rows if seq is not None]
        cursor = served[-1][0] if served else after
        return Page(served_page(served), len(served), cursor, last_seq, digest)

    async def head(self, user_id: int) -> tuple[int, str]:
        async with self._connection() as connection:
            return await self._head(connection, _HEAD, user_id)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """The rows of one statement (``$1``-style parameters) on this recorder's connections, in one
        round trip: for the other reads of every request (the token lookup), which through the engine
        take six (a pre-ping's three, BEGIN, the statement, ROLLBACK)."""
        async with self._connection() as connection:
            return list(await self._run(connection, sql, *args))

    def close(self) -> None:
        """Closes the pool's connections (the engine is disposed by its owner)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()

    async def _head(self, connection: Connection, sql: str, user_id: int) -> tuple[int, str]:
        rows = await self._run(connection, sql, user_id)
        if not rows:
            raise NoResultFound(f"no user {user_id}")
        return int(rows[0][0]), rows[0][1]

    async def _apply(self, connection: Connection, push: Append) -> tuple[Appended, list[str]]:
        """One push, its user's row locked: look up (and read the head), insert; what writes the head."""
        user_id, items, after = push
        valid = rules.valid_events(items)
        last_seq, digest, existing = await self._existing(connection, user_id, valid)
        rules.check_cursor(after, last_seq)
        if not valid:
            return Appended(rules.all_rejected(items), last_seq, False), []
        judged = rules.judge(user_id, items, existing, last_seq, digest, utc_now())
        if not judged.rows:
            return Appended(judged.outcomes, judged.last_seq, False), []
        if len(judged.rows) >= COPY_FROM:
            for hook in self.before_statement:
                hook(_COPY)
            await connection.copy_records_to_table(
                "events", records=judged.rows, columns=db.EVENT_INSERT_COLUMNS
            )
        else:
            await self._run(connection, _INSERT, *(list(column) for column in zip(*judged.rows, strict=True)))
        if judged.rewrites:
            rewrites = judged.rewrites.items()
            await self._run(
                connection,
                _REWRITE,
                user_id,
                [event_id for event_id, _ in rewrites],
                [body for _, (body, _) in rewrites],
                [format(hash_value, "032x") for _, (_, hash_value) in rewrites],
            )
        head = _set_head(user_id, judged.last_seq, judged.digest)
        return Appended(judged.outcomes, judged.last_seq, True), [head]

    async def _existing(
        self, connection: Connection, user_id: int, valid: list[ValidEvent]
    ) -> tuple[int, str, Existing]:
        """The user's log head, and what the stored log holds that the batch is judged against."""
        wanted = rules.lookups(valid)
        devices = [(device_id, seq) for device_id, seqs in wanted.seqs_by_device for seq in seqs]
        rows = await self._run(
            connection,
            _EXISTING,
            user_id,
            [event_id for chunk in wanted.ids for event_id in chunk],
            [event_id for chunk in wanted.own for event_id in chunk],
            [device_id for device_id, _ in devices],
            [device_seq for _, device_seq in devices],
        )
        existing = Existing()
        head: tuple[int, str] | None = None
        for kind, event_id, body, seq, extra in rows:
            if kind == 0:
                existing.by_id[event_id] = (body, seq, int(extra, 16))
            elif kind == 1:
                existing.redacted.add(event_id)
            elif kind == 2:
                existing.by_device[(extra, seq)] = event_id
            else:
                head = (int(seq), event_id)
        if head is None:
            raise NoResultFound(f"no user {user_id}")
        return head[0], head[1], existing


async def _rollback(connection: Connection) -> None:
    if not connection.is_closed():
        with suppress(Exception):  # else the pool's reset rolls it back, or drops the connection
            await connection.execute("ROLLBACK")
