"""The recorder on a SQLite file through plain ``sqlite3``: pushes on the writer thread, pages on the
reader threads, one hop from the event loop each (why: ``server.eventlog.direct``).

Writers in turn: SQLite takes one writer at a time (``single_writer``). The
event store queues this process's pushes and hands them here as groups, under
its write lock, which its other writers (the projector, admin commands) take
too; each group begins with ``BEGIN IMMEDIATE``, which also orders writers of
other processes. A seq is read from the user's row and written back in the
same transaction, so the seqs follow commit order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import chain

from sqlalchemy.exc import NoResultFound, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from schema import ValidEvent
from server.database import tables as db
from server.eventlog import rules
from server.eventlog.direct import DirectReads, DirectWriter, WriteTurn
from server.eventlog.recorder import (
    SMALL_PAGE,
    Answered,
    Append,
    Appended,
    Page,
    Recorder,
    served_page,
    utc_now,
)
from server.eventlog.rules import Existing
from server.eventlog.sqlalchemy import SQLAlchemyRecorder


class SQLiteRecorder(Recorder):
    """Needs a SQLite file (``direct.sqlite_path``): threads of their own cannot share a memory database.
    Its head is read through the engine (``SQLAlchemyRecorder``): it is no hot path."""

    single_writer = True
    reads: DirectReads

    def __init__(self, engine: AsyncEngine, path: str) -> None:
        self.engine = engine
        self._reads = self.reads = DirectReads(path)
        self.writer = DirectWriter(path)
        self._write_turn = self.turn = WriteTurn(path)
        self._engine_recorder = SQLAlchemyRecorder(engine)

    async def append(self, push: Append) -> Appended:
        [(answer, error)] = await self.append_group([push])
        if error is not None:
            raise error
        assert answer is not None
        return answer

    async def append_group(self, pushes: Sequence[Append]) -> list[Answered]:
        return await self.writer.run(_group, list(pushes), self._write_turn)

    async def read_page(self, user_id: int, after: int, limit: int) -> Page:
        return await self._reads.run(_read_page, user_id, after, limit)

    async def read_small_page(self, user_id: int, after: int, limit: int) -> Page:
        # A few rows by key: read in the event loop's thread, cheaper than the hop (DirectReads.point).
        return await self._reads.point(_read_page, user_id, after, min(limit, SMALL_PAGE))

    async def head(self, user_id: int) -> tuple[int, str]:
        return await self._engine_recorder.head(user_id)

    def close(self) -> None:
        self._reads.close()
        self.writer.close()
        self._write_turn.close()


# `served_event` in SQL: SQLite splices the bytes in C, in the reader thread (the GIL released), which
# takes most of a large page's cost off the event loop. A BLOB concatenated as text keeps its bytes.
_SERVED_SQL = (
    'CAST(substr(body, 1, length(body) - 1) || \',"seq":\' || seq || \',"received_at":"\' || received_at '
    "|| '\"}' AS BLOB)"
)


def _log_head(connection: sqlite3.Connection, user_id: int) -> tuple[int, str]:
    head = connection.execute("SELECT last_seq, digest FROM users WHERE id = ?", (user_id,)).fetchone()
    if head is None:
        raise NoResultFound(f"no user {user_id}")
    return int(head[0]), head[1]


def _read_page(connection: sqlite3.Connection, user_id: int, after: int, limit: int) -> Page:
    """A pull page as one read in a reader thread, in the read transaction of ``DirectReads``."""
    last_seq, digest = _log_head(connection, user_id)
    rules.check_cursor(after, last_seq)
    rows = connection.execute(
        f"SELECT seq, {_SERVED_SQL} FROM events WHERE user_id = ? AND seq > ? AND seq <= ? "
        "ORDER BY seq LIMIT ?",
        (user_id, after, last_seq, limit),
    ).fetchall()
    cursor = rows[-1][0] if rows else after
    return Page(served_page(rows), len(rows), cursor, last_seq, digest)


_ROW = f"({', '.join('?' * len(db.EVENT_INSERT_COLUMNS))})"
_INSERT = f"INSERT INTO events ({', '.join(db.EVENT_INSERT_COLUMNS)}) VALUES "
INSERT_ROWS = 500
"""Rows per INSERT statement: 6,500 values, within SQLite's limit of 32,766 since 3.32."""


def insert_rows(connection: sqlite3.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    """Insert ``rows`` into ``events`` with one multi-row statement per ``INSERT_ROWS``.

    Not ``executemany``: it releases and retakes the GIL for every row, and with the event loop
    decoding the next request meanwhile each row waits for the loop's turn to end (a batch of 1,000
    went from milliseconds to seconds: docs/performance.md). One statement steps once.
    """
    for at in range(0, len(rows), INSERT_ROWS):
        chunk = rows[at : at + INSERT_ROWS]
        connection.execute(_INSERT + ", ".join([_ROW] * len(chunk)), list(chain.from_iterable(chunk)))


def _group(connection: sqlite3.Connection, pushes: list[Append], turn: WriteTurn) -> list[Answered]:
    """One group commit on the writer thread: each push in a savepoint of its own, one commit for all."""
    turn.take()
    try:
        return _group_in_turn(connection, pushes)
    finally:
        turn.give()


def _group_in_turn(connection: sqlite3.Connection, pushes: list[Append]) -> list[Answered]:
    results: list[Answered] = []
    connection.execute("BEGIN IMMEDIATE")
    try:
        for push in pushes:
            connection.execute("SAVEPOINT push")
            try:
                answer = _apply(connection, push)
            except Exception as exc:
                connection.execute("ROLLBACK TO push")
                connection.execute("RELEASE push")
                if isinstance(exc, sqlite3.OperationalError):
                    exc = OperationalError("push", None, exc)  # as the engine raises it: a 503
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


def _apply(connection: sqlite3.Connection, push: Append) -> Appended:
    """One push inside the group's transaction (``server.eventlog.sqlalchemy._apply`` in plain sqlite3)."""
    user_id, items, after = push
    last_seq, digest = _log_head(connection, user_id)
    rules.check_cursor(after, last_seq)
    valid = rules.valid_events(items)
    if not valid:
        return Appended(rules.all_rejected(items), last_seq, False)
    existing = _existing(connection, user_id, valid)
    judged = rules.judge(user_id, items, existing, last_seq, digest, utc_now())
    if judged.rows:
        insert_rows(connection, judged.rows)
        if judged.rewrites:
            connection.executemany(
                "UPDATE events SET body = ?, hash = ? WHERE user_id = ? AND event_id = ?",
                [
                    (body, format(hash_value, "032x"), user_id, event_id)
                    for event_id, (body, hash_value) in judged.rewrites.items()
                ],
            )
        connection.execute(
            "UPDATE users SET last_seq = ?, digest = ? WHERE id = ?",
            (judged.last_seq, judged.digest, user_id),
        )
    return Appended(judged.outcomes, judged.last_seq, bool(judged.rows))


def _existing(connection: sqlite3.Connection, user_id: int, valid: list[ValidEvent]) -> Existing:
    """What the stored log holds that the batch is judged against (``rules.Existing``)."""
    wanted = rules.lookups(valid)
    existing = Existing()
    for chunk in wanted.ids:
        found = connection.execute(
            "SELECT event_id, body, seq, hash FROM events WHERE user_id = ? "
            f"AND event_id IN ({', '.join('?' * len(chunk))})",
            (user_id, *chunk),
        )
        existing.by_id.update({event_id: (bytes(body), seq, int(h, 16)) for event_id, body, seq, h in found})
    for chunk in wanted.own:
        found = connection.execute(
            f"SELECT target FROM events WHERE user_id = ? AND target IN ({', '.join('?' * len(chunk))})",
            (user_id, *chunk),
        )
        existing.redacted.update(target for (target,) in found)
    for device_id, seq_chunk in wanted.seqs_by_device:
        holders = connection.execute(
            "SELECT device_seq, event_id FROM events WHERE user_id = ? AND device_id = ? "
            f"AND device_seq IN ({', '.join('?' * len(seq_chunk))})",
            (user_id, device_id, *seq_chunk),
        )
        existing.by_device.update({(device_id, seq): event_id for seq, event_id in holders})
    return existing
