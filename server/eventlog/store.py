"""The event store: each user's log, stored once and in order.

Ordering: ``seq`` is per user, starts at 1 and is assigned inside the write
transaction from the user's ``last_seq`` row, so seqs are gap-free and follow
commit order. A reader that has seen seq N can never later meet a committed
seq below N. On SQLite every write transaction of this process goes through
one lock (SQLite has one writer anyway) and starts with ``BEGIN IMMEDIATE``,
which also orders writers from other processes (the admin CLI). On
PostgreSQL a push reads the user's row ``FOR UPDATE``: pushes of one user,
from any connection of any process, take turns on that row lock and commit in
seq order, while pushes of different users run in parallel. No sequence or
autoincrement hands out a seq before commit, so no reader can see seq 11
committed while seq 10 is still in flight.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import NoResultFound, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schema import (
    DEVICE_SEQ_CONFLICT,
    ID_CONFLICT,
    Rejection,
    ValidEvent,
    add_hash,
    format_timestamp,
)
from schema.redaction import redacted_body, redaction_target, replace_hash
from server.database import tables as db
from server.eventlog.direct import DirectReads, DirectWriter

_IN_CHUNK = 500  # parameters per IN (...) lookup
_GROUP_REQUESTS = 256  # most pushes one group commit takes
_GROUP_EVENTS = 20_000  # and most events: a round stays short for the requests behind it
log = logging.getLogger("winledger.store")


class CursorAhead(Exception):
    """A pull position beyond the user's newest seq (a store restored without a new epoch)."""

    def __init__(self, after: int, last_seq: int) -> None:
        super().__init__(f"`after` is {after}, but the newest event on this server is seq {last_seq}")
        self.after = after
        self.last_seq = last_seq


class Overloaded(Exception):
    """Too many requests already wait for the write lock; the caller sheds this one (503)."""


_Queued = tuple[int, Sequence[ValidEvent | Rejection], int | None, "asyncio.Future[Any]"]
"""A push waiting for the group-commit writer: user, items, ``after`` and its answer to come."""


class Outcome:
    """The answer to one pushed event, in request order."""

    __slots__ = ("code", "id", "message", "seq", "status")

    def __init__(
        self,
        id: str | None,
        status: str,
        seq: int | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        self.id, self.status, self.seq, self.code, self.message = id, status, seq, code, message


class Page:
    """One page of a pull: ``events`` is the JSON array of the served events (each stored body, byte for
    byte, with ``seq`` and ``received_at`` added), ``count`` how many it holds."""

    __slots__ = ("count", "cursor", "digest", "events", "last_seq", "more")

    def __init__(self, events: bytes, count: int, cursor: int, last_seq: int, digest: str):
        self.events, self.count, self.cursor = events, count, cursor
        self.last_seq, self.digest, self.more = last_seq, digest, cursor < last_seq


def served_event(seq: int, body: bytes, received_at: str) -> bytes:
    """A stored event as a pull serves it: its body with ``seq`` and ``received_at`` spliced in."""
    return body[:-1] + b',"seq":%d,"received_at":"%s"}' % (seq, received_at.encode())


def served_page(rows: Sequence[tuple[int, bytes]]) -> bytes:
    """The JSON array of ``(seq, served event)`` rows."""
    return b"[" + b",".join([served for _, served in rows]) + b"]"


def utc_now() -> str:
    return format_timestamp(datetime.now(UTC))


class EventStore:
    def __init__(self, engine: AsyncEngine, *, max_write_queue: int = 0) -> None:
        self.engine = engine
        self.direct = DirectReads.for_engine(engine)
        """One-hop reads (SQLite files): see ``server.eventlog.direct``."""
        self.writer = DirectWriter.for_engine(engine)
        """The group commits' one-hop writer (SQLite files): see ``server.eventlog.direct``."""
        # SQLite has one writer: queue this process's writers here rather than on its busy timeout.
        # PostgreSQL takes writers in parallel (a push locks only its user's row), up to the pool's size.
        self._write_lock: asyncio.Lock | asyncio.Semaphore = (
            asyncio.Lock() if engine.dialect.name == "sqlite" else asyncio.Semaphore(db.WRITERS)
        )
        self.max_write_queue = max_write_queue
        """Most callers of ``write(shed=True)`` that may wait for the lock at once; 0: no limit."""
        self._waiting_writes = 0
        self._pushes_pending = 0
        self._group = engine.dialect.name == "sqlite"
        self._queue: collections.deque[_Queued] = collections.deque()
        self._writer: asyncio.Task[None] | None = None
        self.on_commit: list[Callable[[int, int], None]] = []
        """Called with ``(user_id, last_seq)`` after a push commits new events (the projector's wake-up)."""

    @property
    def waiting(self) -> int:
        """Requests waiting to write: pushes not yet committed, and callers of ``write(shed=True)`` queued
        for the lock. Background work (the projector) is not counted."""
        return self._waiting_writes + self._pushes_pending

    @asynccontextmanager
    async def write(self, *, shed: bool = False) -> AsyncIterator[AsyncConnection]:
        """A serialized write transaction (``BEGIN IMMEDIATE`` on SQLite).

        With ``shed``, raises ``Overloaded`` instead of queueing behind
        ``max_write_queue`` others: under a burst a request is better refused
        at once, with a time to retry, than left to wait until its client gives
        up. Background work (the projector) and admin commands always queue.
        """
        if shed and self.max_write_queue and self.waiting >= self.max_write_queue:
            raise Overloaded(f"{self.waiting} requests are already waiting to write")
        counted = 1 if shed else 0
        self._waiting_writes += counted
        try:
            await self._write_lock.acquire()
        finally:
            self._waiting_writes -= counted
        try:
            async with self.engine.connect() as connection:
                connection = await connection.execution_options(write=True)
                async with connection.begin():
                    yield connection
        finally:
            self._write_lock.release()

    async def push(
        self, user_id: int, items: Sequence[ValidEvent | Rejection], after: int | None = None
    ) -> tuple[list[Outcome], int]:
        """Store the new events of one request; return outcomes and the newest seq, once committed.

        With ``after`` (a sync request), raises ``CursorAhead`` before storing
        anything if ``after`` is beyond the user's newest seq.

        On SQLite, concurrent pushes share commits (group commit): a request
        joins the queue of the one writer, which takes every request waiting
        when it starts a transaction, applies each in a savepoint of its own (a
        request that fails rolls back alone), and commits them together. Each
        request is answered only after that commit. On PostgreSQL a push is its
        own transaction: pushes of different users run in parallel there.
        """
        if not self._group:
            async with self.write(shed=True) as connection:
                outcomes, last_seq, stored = await _apply(connection, user_id, items, after)
            self._committed(user_id, last_seq, stored)
            return outcomes, last_seq
        if self.max_write_queue and self.waiting >= self.max_write_queue:
            raise Overloaded(f"{self.waiting} requests are already waiting to write")
        future: asyncio.Future[tuple[list[Outcome], int, bool]] = asyncio.get_running_loop().create_future()
        self._queue.append((user_id, items, after, future))
        self._pushes_pending += 1
        future.add_done_callback(self._answered)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="winledger-group-commit")
        outcomes, last_seq, stored = await asyncio.shield(future)
        self._committed(user_id, last_seq, stored)
        return outcomes, last_seq

    def _answered(self, _future: asyncio.Future[Any]) -> None:
        self._pushes_pending -= 1

    def _committed(self, user_id: int, last_seq: int, stored: bool) -> None:
        if stored:
            for listener in self.on_commit:
                try:
                    listener(user_id, last_seq)
                except Exception:  # a listener never fails a push whose events are committed
                    log.exception("an on_commit listener failed")

    async def _drain(self) -> None:
        """The group-commit writer: one transaction per round, for every push waiting at its start."""
        while self._queue:
            group: list[_Queued] = []
            answers: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
            try:
                if self.writer is not None:
                    async with self._write_lock:
                        group = self._take_group()
                        done = await self.writer.run(_group_direct, [queued[:3] for queued in group])
                    answers = [
                        (queued[3], answer, error)
                        for queued, (answer, error) in zip(group, done, strict=True)
                    ]
                else:
                    async with self.write() as connection:
                        # Taken once the transaction has begun: every push that queued meanwhile joins.
                        group = self._take_group()
                        for user_id, items, after, future in group:
                            try:
                                async with connection.begin_nested():
                                    answer = await _apply(connection, user_id, items, after)
                            except Exception as exc:
                                answers.append((future, None, exc))  # rolled back to its savepoint alone
                            else:
                                answers.append((future, answer, None))
            except BaseException as exc:  # the commit (or the transaction) failed: nobody is stored
                if not group:  # it failed to begin: every push waiting would wait for ever
                    group = list(self._queue)
                    self._queue.clear()
                for _, _, _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for future, answer, error in answers:
                if future.done():
                    continue
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(answer)

    def _take_group(self) -> list[_Queued]:
        """The pushes of the next group commit, in the order they came."""
        group: list[_Queued] = []
        events = 0
        while self._queue and len(group) < _GROUP_REQUESTS and events < _GROUP_EVENTS:
            queued = self._queue.popleft()
            group.append(queued)
            events += len(queued[1])
        return group

    async def pull(self, user_id: int, after: int, limit: int) -> Page:
        """Events with seq > ``after`` in seq order, read in one snapshot with the log head."""
        if self.direct is not None:
            return await self.direct.run(_pull_direct, user_id, after, limit)
        async with self.engine.connect() as connection, connection.begin():
            last_seq, digest = await _user_log_head(connection, user_id)
            if after > last_seq:
                raise CursorAhead(after, last_seq)
            # `seq <= last_seq`: on PostgreSQL (READ COMMITTED) this statement may see a push that
            # committed after the head was read; the page stops at the head it reports.
            result = await connection.execute(
                select(db.events.c.seq, db.events.c.body, db.events.c.received_at)
                .where(db.events.c.user_id == user_id, db.events.c.seq > after, db.events.c.seq <= last_seq)
                .order_by(db.events.c.seq)
                .limit(limit)
            )
            rows = [(seq, served_event(seq, bytes(body), at)) for seq, body, at in result.all()]
        cursor = rows[-1][0] if rows else after
        return Page(served_page(rows), len(rows), cursor, last_seq, digest)

    def close(self) -> None:
        """Stop the reader and writer threads (the engine is disposed by its owner)."""
        if self.direct is not None:
            self.direct.close()
        if self.writer is not None:
            self.writer.close()

    async def head(self, user_id: int) -> tuple[int, str]:
        async with self.engine.connect() as connection, connection.begin():
            return await _user_log_head(connection, user_id)


async def _apply(
    connection: AsyncConnection, user_id: int, items: Sequence[ValidEvent | Rejection], after: int | None
) -> tuple[list[Outcome], int, bool]:
    """One request's push inside a write transaction: outcomes, the newest seq, whether it stored any."""
    last_seq, digest = await _user_log_head(connection, user_id, for_update=True)
    if after is not None and after > last_seq:
        raise CursorAhead(after, last_seq)
    valid = [item for item in items if isinstance(item, ValidEvent)]
    if not valid:
        return [_rejected(item) for item in items], last_seq, False  # type: ignore[arg-type]
    by_id, by_device, redacted = await _existing(connection, user_id, valid)
    outcomes, rows, rewrites, last_seq, digest = _judge(
        user_id, items, by_id, by_device, redacted, last_seq, digest
    )
    if rows:
        sql = (
            f"INSERT INTO events ({', '.join(db.EVENT_INSERT_COLUMNS)}) "
            f"VALUES ({db.placeholders(connection, len(db.EVENT_INSERT_COLUMNS))})"
        )
        await connection.exec_driver_sql(sql, rows)
        for event_id, (body, hash_value) in rewrites.items():
            await connection.execute(
                update(db.events)
                .where(db.events.c.user_id == user_id, db.events.c.event_id == event_id)
                .values(body=body, hash=format(hash_value, "032x"))
            )
        await connection.execute(
            update(db.users).where(db.users.c.id == user_id).values(last_seq=last_seq, digest=digest)
        )
    return outcomes, last_seq, bool(rows)


# `served_event` in SQL: SQLite splices the bytes in C, in the reader thread (the GIL released), which
# takes most of a large page's cost off the event loop. A BLOB concatenated as text keeps its bytes.
_SERVED_SQL = (
    'CAST(substr(body, 1, length(body) - 1) || \',"seq":\' || seq || \',"received_at":"\' || received_at '
    "|| '\"}' AS BLOB)"
)


def _pull_direct(connection: sqlite3.Connection, user_id: int, after: int, limit: int) -> Page:
    """``pull`` as one read in a reader thread (SQLite; see ``server.eventlog.direct``)."""
    head = connection.execute("SELECT last_seq, digest FROM users WHERE id = ?", (user_id,)).fetchone()
    if head is None:
        raise NoResultFound(f"no user {user_id}")
    last_seq, digest = int(head[0]), head[1]
    if after > last_seq:
        raise CursorAhead(after, last_seq)
    rows = connection.execute(
        f"SELECT seq, {_SERVED_SQL} FROM events WHERE user_id = ? AND seq > ? AND seq <= ? "
        "ORDER BY seq LIMIT ?",
        (user_id, after, last_seq, limit),
    ).fetchall()
    cursor = rows[-1][0] if rows else after
    return Page(served_page(rows), len(rows), cursor, last_seq, digest)


_INSERT = (
    f"INSERT INTO events ({', '.join(db.EVENT_INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(db.EVENT_INSERT_COLUMNS))})"
)


def _group_direct(
    connection: sqlite3.Connection, requests: list[tuple[int, Sequence[ValidEvent | Rejection], int | None]]
) -> list[tuple[tuple[list[Outcome], int, bool] | None, BaseException | None]]:
    """One group commit on the writer thread: each push in a savepoint of its own, one commit for all.

    A push that fails rolls back to its savepoint and gets its error; if the transaction cannot
    begin or commit, it raises and nobody is stored.
    """
    results: list[tuple[tuple[list[Outcome], int, bool] | None, BaseException | None]] = []
    connection.execute("BEGIN IMMEDIATE")
    try:
        for user_id, items, after in requests:
            connection.execute("SAVEPOINT push")
            try:
                answer = _apply_direct(connection, user_id, items, after)
            except Exception as exc:
                connection.execute("ROLLBACK TO push")
                connection.execute("RELEASE push")
                if isinstance(exc, sqlite3.OperationalError):
                    exc = OperationalError("push", None, exc)
                results.append((None, exc))
            else:
                connection.execute("RELEASE push")
                results.append((answer, None))
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return results


def _apply_direct(
    connection: sqlite3.Connection, user_id: int, items: Sequence[ValidEvent | Rejection], after: int | None
) -> tuple[list[Outcome], int, bool]:
    """``_apply`` as plain sqlite3 on the writer thread."""
    head = connection.execute("SELECT last_seq, digest FROM users WHERE id = ?", (user_id,)).fetchone()
    if head is None:
        raise NoResultFound(f"no user {user_id}")
    last_seq, digest = int(head[0]), head[1]
    if after is not None and after > last_seq:
        raise CursorAhead(after, last_seq)
    valid = [item for item in items if isinstance(item, ValidEvent)]
    if not valid:
        return [_rejected(item) for item in items], last_seq, False  # type: ignore[arg-type]
    by_id, by_device, redacted = _existing_direct(connection, user_id, valid)
    outcomes, rows, rewrites, last_seq, digest = _judge(
        user_id, items, by_id, by_device, redacted, last_seq, digest
    )
    if rows:
        connection.executemany(_INSERT, rows)
        if rewrites:
            connection.executemany(
                "UPDATE events SET body = ?, hash = ? WHERE user_id = ? AND event_id = ?",
                [
                    (body, format(hash_value, "032x"), user_id, event_id)
                    for event_id, (body, hash_value) in rewrites.items()
                ],
            )
        connection.execute(
            "UPDATE users SET last_seq = ?, digest = ? WHERE id = ?", (last_seq, digest, user_id)
        )
    return outcomes, last_seq, bool(rows)


_Stored = tuple[bytes, int, int]
"""A stored event as a push judges it: its body, seq and hash."""


def _lookups(
    valid: list[ValidEvent],
) -> tuple[list[list[str]], list[tuple[str, list[int]]], list[list[str]]]:
    """What to look up for a batch, in chunks of ``_IN_CHUNK``: the stored events of its ids and of the
    targets of its redactions, each device's seqs, and the stored redactions of its ids."""
    own = sorted({item.event.id for item in valid})
    targets = {target for item in valid if (target := redaction_target(item.fields)) is not None}
    ids = sorted(targets.union(own))
    seqs_by_device: dict[str, set[int]] = {}
    for item in valid:
        seqs_by_device.setdefault(item.event.device_id, set()).add(item.event.device_seq)
    device_chunks = []
    for device_id, device_seqs in seqs_by_device.items():
        ordered = sorted(device_seqs)
        device_chunks += [
            (device_id, ordered[at : at + _IN_CHUNK]) for at in range(0, len(ordered), _IN_CHUNK)
        ]
    return (
        [ids[at : at + _IN_CHUNK] for at in range(0, len(ids), _IN_CHUNK)],
        device_chunks,
        [own[at : at + _IN_CHUNK] for at in range(0, len(own), _IN_CHUNK)],
    )


def _existing_direct(
    connection: sqlite3.Connection, user_id: int, valid: list[ValidEvent]
) -> tuple[dict[str, _Stored], dict[tuple[str, int], str], set[str]]:
    """``_existing`` as plain sqlite3 on the writer thread."""
    ids, by_device_seqs, own = _lookups(valid)
    by_id: dict[str, _Stored] = {}
    for chunk in ids:
        found = connection.execute(
            "SELECT event_id, body, seq, hash FROM events WHERE user_id = ? "
            f"AND event_id IN ({', '.join('?' * len(chunk))})",
            (user_id, *chunk),
        )
        by_id.update({event_id: (bytes(body), seq, int(h, 16)) for event_id, body, seq, h in found})
    redacted: set[str] = set()
    for chunk in own:
        found = connection.execute(
            f"SELECT target FROM events WHERE user_id = ? AND target IN ({', '.join('?' * len(chunk))})",
            (user_id, *chunk),
        )
        redacted.update(target for (target,) in found)
    by_device: dict[tuple[str, int], str] = {}
    for device_id, seq_chunk in by_device_seqs:
        holders = connection.execute(
            "SELECT device_seq, event_id FROM events WHERE user_id = ? AND device_id = ? "
            f"AND device_seq IN ({', '.join('?' * len(seq_chunk))})",
            (user_id, device_id, *seq_chunk),
        )
        by_device.update({(device_id, seq): event_id for seq, event_id in holders})
    return by_id, by_device, redacted


async def _user_log_head(
    connection: AsyncConnection, user_id: int, *, for_update: bool = False
) -> tuple[int, str]:
    query = select(db.users.c.last_seq, db.users.c.digest).where(db.users.c.id == user_id)
    if for_update:
        # The user's row is the lock that orders concurrent pushes on servers with row locks
        # (PostgreSQL); SQLite's BEGIN IMMEDIATE already serializes writers.
        query = query.with_for_update()
    row = (await connection.execute(query)).one()
    return int(row[0]), row[1]


async def _existing(
    connection: AsyncConnection, user_id: int, valid: list[ValidEvent]
) -> tuple[dict[str, _Stored], dict[tuple[str, int], str], set[str]]:
    """Stored events that share an id, or a (device_id, device_seq), with the batch or are the target
    of one of its redactions; and the ids of the batch that a stored redaction names."""
    ids, by_device_seqs, own = _lookups(valid)
    e = db.events.c
    by_id: dict[str, _Stored] = {}
    for chunk in ids:
        result = await connection.execute(
            select(e.event_id, e.body, e.seq, e.hash).where(e.user_id == user_id, e.event_id.in_(chunk))
        )
        by_id.update({event_id: (bytes(body), seq, int(h, 16)) for event_id, body, seq, h in result.all()})
    redacted: set[str] = set()
    for chunk in own:
        targets = await connection.execute(select(e.target).where(e.user_id == user_id, e.target.in_(chunk)))
        redacted.update(targets.scalars())
    by_device: dict[tuple[str, int], str] = {}
    for device_id, seq_chunk in by_device_seqs:
        holders = await connection.execute(
            select(e.device_seq, e.event_id).where(
                e.user_id == user_id, e.device_id == device_id, e.device_seq.in_(seq_chunk)
            )
        )
        by_device.update({(device_id, seq): event_id for seq, event_id in holders.all()})
    return by_id, by_device, redacted


def _rejected(item: Rejection) -> Outcome:
    return Outcome(item.id, "rejected", None, item.code, item.message)


def _judge(
    user_id: int,
    items: Sequence[ValidEvent | Rejection],
    by_id: dict[str, _Stored],
    by_device: dict[tuple[str, int], str],
    redacted: set[str],
    last_seq: int,
    digest: str,
) -> tuple[list[Outcome], list[tuple[Any, ...]], dict[str, tuple[bytes, int]], int, str]:
    """Decide each event against the stored log and the accepted earlier items of the same batch.

    ``by_id``, ``by_device`` and ``redacted`` (ids a redaction names) are updated as events are
    accepted, so a repeat later in the batch is judged against them like a stored event.

    Redactions (ADR 0007): a new event that a redaction names is stored redacted; an accepted
    redaction rewrites its target if the user holds it (a row of this batch, or a stored event:
    returned in ``rewrites`` as ``event_id -> (body, hash)``), and the digest follows each rewrite.
    A repeat of a redacted event's original text is a duplicate: it is compared redacted.
    """
    outcomes: list[Outcome] = []
    rows: list[tuple[Any, ...]] = []
    row_of: dict[str, int] = {}
    rewrites: dict[str, tuple[bytes, int]] = {}
    received_at = utc_now()
    for index, item in enumerate(items):
        if isinstance(item, Rejection):
            outcomes.append(_rejected(item))
            continue
        ev = item.event
        stored = by_id.get(ev.id)
        if stored is not None:
            body, seq, _ = stored
            if body == item.body or (ev.id in redacted and redacted_body(item.body)[0] == body):
                outcomes.append(Outcome(ev.id, "duplicate", seq))
            else:
                outcomes.append(
                    Outcome(
                        ev.id,
                        "rejected",
                        None,
                        ID_CONFLICT,
                        f"Event id {ev.id!r} is already used by an event with other content"
                        f" - at `$.events[{index}].id`",
                    )
                )
            continue
        holder = by_device.get((ev.device_id, ev.device_seq))
        if holder is not None:
            outcomes.append(
                Outcome(
                    ev.id,
                    "rejected",
                    None,
                    DEVICE_SEQ_CONFLICT,
                    f"device_seq {ev.device_seq} of device {ev.device_id!r} already belongs to event "
                    f"{holder!r} - at `$.events[{index}].device_seq`",
                )
            )
            continue
        body, hash_value = redacted_body(item.body) if ev.id in redacted else (item.body, item.hash)
        target = redaction_target(item.fields)
        last_seq += 1
        digest = add_hash(digest, hash_value)
        by_id[ev.id] = (body, last_seq, hash_value)
        by_device[(ev.device_id, ev.device_seq)] = ev.id
        row_of[ev.id] = len(rows)
        rows.append(
            (
                user_id,
                last_seq,
                ev.id,
                ev.device_id,
                ev.device_seq,
                item.fields["type"],
                ev.v,
                ev.project_id,
                ev.clock,
                body,
                format(hash_value, "032x"),
                received_at,
                target,
            )
        )
        outcomes.append(Outcome(ev.id, "accepted", last_seq))
        if target is not None:
            redacted.add(target)
            digest = _rewrite(target, by_id, rows, row_of, rewrites, digest)
    return outcomes, rows, rewrites, last_seq, digest


_BODY, _HASH = db.EVENT_INSERT_COLUMNS.index("body"), db.EVENT_INSERT_COLUMNS.index("hash")


def _rewrite(
    target: str,
    by_id: dict[str, _Stored],
    rows: list[tuple[Any, ...]],
    row_of: dict[str, int],
    rewrites: dict[str, tuple[bytes, int]],
    digest: str,
) -> str:
    """Redact the target of an accepted redaction where the user holds it; the digest after."""
    held = by_id.get(target)
    if held is None:
        return digest  # not (yet) in this user's log: redacted on insert if it comes
    body, seq, old_hash = held
    new_body, new_hash = redacted_body(body)
    if new_hash == old_hash:
        return digest  # already redacted
    by_id[target] = (new_body, seq, new_hash)
    at = row_of.get(target)
    if at is not None:
        row = list(rows[at])
        row[_BODY], row[_HASH] = new_body, format(new_hash, "032x")
        rows[at] = tuple(row)
    else:
        rewrites[target] = (new_body, new_hash)
    return replace_hash(digest, old_hash, new_hash)
