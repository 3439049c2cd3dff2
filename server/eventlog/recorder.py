"""The recorder: how one backend stores and reads the users' logs (as eventsourcing's ``persistence.py``).

One module per backend implements it: ``server.eventlog.sqlalchemy`` (PostgreSQL, and SQLite through
SQLAlchemy) and ``server.eventlog.sqlite`` (a SQLite file through plain ``sqlite3`` threads). Which one
a process uses is picked once, by ``server.eventlog.event_store``. The rules of what a push accepts
are not the recorder's (``server.eventlog.rules``); nor is the order of writers
(``server.eventlog.groupcommit``): a recorder runs what it is given inside the caller's write lock.

Ordering: ``seq`` is per user, starts at 1 and is assigned inside the write
transaction from the user's ``last_seq`` row, so seqs are gap-free and follow
commit order. A reader that has seen seq N can never later meet a committed
seq below N. No sequence or autoincrement hands out a seq before commit, so no
reader can see seq 11 committed while seq 10 is still in flight. How each
backend keeps writers in turn is said in its module.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncEngine

from schema import Rejection, ValidEvent, format_timestamp
from server.eventlog.direct import DirectReads, WriteTurn
from server.eventlog.rules import Outcome


class Append(NamedTuple):
    """One push: the user, its items in request order, and ``after`` (a sync's cursor) or None."""

    user_id: int
    items: Sequence[ValidEvent | Rejection]
    after: int | None


class Appended(NamedTuple):
    """A push once applied: an outcome per item, the user's newest seq, whether it stored any event."""

    outcomes: list[Outcome]
    last_seq: int
    stored: bool


Answered = tuple[Appended | None, BaseException | None]
"""One push of a group: its result, or the error it alone was rolled back for."""


class Page:
    """One page of a pull: ``events`` is the JSON array of the served events (each stored body, byte for
    byte, with ``seq`` and ``received_at`` added), ``count`` how many it holds."""

    __slots__ = ("count", "cursor", "digest", "events", "last_seq", "more")

    def __init__(self, events: bytes, count: int, cursor: int, last_seq: int, digest: str):
        self.events, self.count, self.cursor = events, count, cursor
        self.last_seq, self.digest, self.more = last_seq, digest, cursor < last_seq


def utc_now() -> str:
    """The time a push receives its events, as stored (``received_at``): ``format_timestamp`` of now.

    Called on every request (a token's checks, a push's ``received_at``): the seconds are formatted once
    a second, the microseconds each call, from the clock ``datetime.now`` reads (and truncates the same).
    """
    global _formatted_second
    second, micro = divmod(time.time_ns() // 1000, 1_000_000)
    cached = _formatted_second  # one read: writer threads call this too
    if cached[0] != second:
        cached = _formatted_second = (second, format_timestamp(datetime.fromtimestamp(second, UTC))[:-8])
    return f"{cached[1]}.{micro:06d}Z"


_formatted_second = (-1, "")


def served_event(seq: int, body: bytes, received_at: str) -> bytes:
    """A stored event as a pull serves it: its body with ``seq`` and ``received_at`` spliced in."""
    return body[:-1] + b',"seq":%d,"received_at":"%s"}' % (seq, received_at.encode())


def served_page(rows: Sequence[tuple[int, bytes]]) -> bytes:
    """The JSON array of ``(seq, served event)`` rows."""
    return b"[" + b",".join([served for _, served in rows]) + b"]"


SMALL_PAGE = 50
"""Events a page is expected to hold at most for ``Recorder.read_small_page``."""


class Recorder(ABC):
    """Stores pushes and reads pages of the users' logs on one backend."""

    engine: AsyncEngine
    """The backend's engine: every other read and write of the server goes through it."""

    reads: DirectReads | None = None
    """Reader threads with connections of their own, which other one-hop reads may share (token
    lookups, rebuilds); None on a backend read through the engine alone."""

    turn: WriteTurn | None = None
    """The turn to write among this machine's processes (SQLite files): every write transaction of the
    store takes it before it begins (``server.eventlog.direct.WriteTurn``)."""

    single_writer: bool
    """True when the database takes one writer at a time (SQLite): this process then queues its
    writers on one lock and commits concurrent pushes together (``append_group``). Otherwise writers
    run in parallel and each push is its own transaction (``append``)."""

    @abstractmethod
    async def append(self, push: Append) -> Appended:
        """Apply one push in a transaction of its own and commit it; raises if it fails (nothing stored).

        Raises ``CursorAhead`` before storing anything if ``push.after`` is beyond the newest seq.
        """

    @abstractmethod
    async def append_group(self, pushes: Sequence[Append]) -> list[Answered]:
        """Apply several pushes in one transaction, each in a savepoint of its own, and commit once.

        A push that fails rolls back alone and is answered with its error; if the transaction
        cannot begin or commit, this raises and none of them is stored.
        """

    @abstractmethod
    async def read_page(self, user_id: int, after: int, limit: int) -> Page:
        """Events with seq > ``after`` in seq order, read in one snapshot with the log head.

        Raises ``CursorAhead`` if ``after`` is beyond the newest seq.
        """

    async def read_small_page(self, user_id: int, after: int, limit: int) -> Page:
        """``read_page`` of a page expected to hold a few events (``SMALL_PAGE``): a backend may read it
        where it is asked rather than hop to a reader thread."""
        return await self.read_page(user_id, after, limit)

    @abstractmethod
    async def head(self, user_id: int) -> tuple[int, str]:
        """The user's newest seq and the digest of its log."""

    @abstractmethod
    def close(self) -> None:
        """Stop the recorder's threads, if it has any (the engine is disposed by its owner)."""
