"""The event store: each user's log, stored once and in order, on the recorder of its backend.

The store owns the order of this process's writers: one write lock for every
write transaction (pushes, the projector, admin commands), group commit of
concurrent pushes where the database takes one writer at a time, and shedding
under a burst. What a push accepts is ``server.eventlog.rules``; how it is
stored and read is the recorder's (``server.eventlog.recorder``); which
recorder is picked once, by ``server.eventlog.event_store``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from schema import Rejection, ValidEvent
from server.database import tables as db
from server.eventlog.direct import DirectReads
from server.eventlog.groupcommit import GroupCommit
from server.eventlog.recorder import SMALL_PAGE, Append, Page, Recorder, utc_now
from server.eventlog.rules import CursorAhead, Outcome
from server.exceptions import ServerError

__all__ = [
    "CursorAhead",
    "EventStore",
    "Outcome",
    "Overloaded",
    "Page",
    "utc_now",
]

log = logging.getLogger("winledger.store")


class Overloaded(ServerError):
    """Too many requests already wait for the write lock; the caller sheds this one (503)."""


class EventStore:
    def __init__(self, recorder: Recorder, *, max_write_queue: int = 0) -> None:
        self.recorder = recorder
        """Stores and reads the logs on this backend; read at each use, so that a test may swap it."""
        self.engine = recorder.engine
        self.direct: DirectReads | None = recorder.reads
        """One-hop reads (SQLite files) that other reads share: see ``server.eventlog.direct``."""
        # SQLite has one writer: queue this process's writers here rather than on its busy timeout, and
        # let concurrent pushes share commits. PostgreSQL takes writers in parallel (a push locks only
        # its user's row), up to the pool's size.
        self._write_lock: asyncio.Lock | asyncio.Semaphore
        self._group: GroupCommit | None = None
        if recorder.single_writer:
            lock = self._write_lock = asyncio.Lock()
            self._group = GroupCommit(lambda pushes: self.recorder.append_group(pushes), lock)
        else:
            self._write_lock = asyncio.Semaphore(db.WRITERS)
        self.max_write_queue = max_write_queue
        """Most callers of ``write(shed=True)`` that may wait for the lock at once; 0: no limit."""
        self._waiting_writes = 0
        self.on_commit: list[Callable[[int, int], None]] = []
        """Called with ``(user_id, last_seq)`` after a push commits new events (the projector's wake-up)."""

    @property
    def waiting(self) -> int:
        """Requests waiting to write: pushes not yet committed, and callers of ``write(shed=True)`` queued
        for the lock. Background work (the projector) is not counted."""
        return self._waiting_writes + (self._group.pending if self._group is not None else 0)

    def _shed(self) -> None:
        if self.max_write_queue and self.waiting >= self.max_write_queue:
            raise Overloaded(f"{self.waiting} requests are already waiting to write")

    @asynccontextmanager
    async def _turn(self, *, shed: bool) -> AsyncIterator[None]:
        """This process's turn to write: the write lock, queued for, or refused with ``shed``."""
        if shed:
            self._shed()
        counted = 1 if shed else 0
        self._waiting_writes += counted
        try:
            await self._write_lock.acquire()
        finally:
            self._waiting_writes -= counted
        try:
            yield
        finally:
            self._write_lock.release()

    @asynccontextmanager
    async def write(self, *, shed: bool = False) -> AsyncIterator[AsyncConnection]:
        """A serialized write transaction (``BEGIN IMMEDIATE`` on SQLite).

        With ``shed``, raises ``Overloaded`` instead of queueing behind
        ``max_write_queue`` others: under a burst a request is better refused
        at once, with a time to retry, than left to wait until its client gives
        up. Background work (the projector) and admin commands always queue.
        """
        async with self._turn(shed=shed), self._file_turn(), self.engine.connect() as connection:
            connection = await connection.execution_options(write=True)
            async with connection.begin():
                yield connection

    @asynccontextmanager
    async def write_turn(self) -> AsyncIterator[None]:
        """The turn to write, without a connection: for a writer that brings its own (the projector's
        plain ``sqlite3`` recorder, server/projections/tracking_sqlite.py) and begins its transaction
        inside it. This process's write lock, then the machine's turn where the backend has one; always
        queues (background work)."""
        async with self._turn(shed=False), self._file_turn():
            yield

    @asynccontextmanager
    async def _file_turn(self) -> AsyncIterator[None]:
        """The turn among this machine's processes, where the backend has one (``Recorder.turn``)."""
        turn = self.recorder.turn
        if turn is None:
            yield
            return
        await turn.take_async()
        try:
            yield
        finally:
            turn.give()

    async def push(
        self, user_id: int, items: Sequence[ValidEvent | Rejection], after: int | None = None
    ) -> tuple[list[Outcome], int]:
        """Store the new events of one request; return outcomes and the newest seq, once committed.

        With ``after`` (a sync request), raises ``CursorAhead`` before storing
        anything if ``after`` is beyond the user's newest seq.

        With one writer (SQLite), concurrent pushes share commits
        (``server.eventlog.groupcommit``). Otherwise (PostgreSQL) a push is its
        own transaction: pushes of different users run in parallel there.
        """
        push = Append(user_id, items, after)
        if self._group is None:
            async with self._turn(shed=True):
                appended = await self.recorder.append(push)
        else:
            self._shed()
            appended = await self._group.push(push)
        if appended.stored:
            for listener in self.on_commit:
                try:
                    listener(user_id, appended.last_seq)
                except Exception:  # a listener never fails a push whose events are committed
                    log.exception("an on_commit listener failed")
        return appended.outcomes, appended.last_seq

    async def pull(self, user_id: int, after: int, limit: int, *, known_head: int | None = None) -> Page:
        """Events with seq > ``after`` in seq order, read in one snapshot with the log head.

        ``known_head``: a newest seq the caller has just seen (a sync's push); when it leaves a page of
        a few events, the recorder may read it the cheaper way (``Recorder.read_small_page``).
        """
        if known_head is not None and known_head - after <= SMALL_PAGE:
            page = await self.recorder.read_small_page(user_id, after, limit)
            if page.count < SMALL_PAGE or limit <= SMALL_PAGE:
                return page  # else more arrived meanwhile than a small page holds: read it whole
        return await self.recorder.read_page(user_id, after, limit)

    async def head(self, user_id: int) -> tuple[int, str]:
        """The user's newest seq and the digest of its log."""
        return await self.recorder.head(user_id)

    def close(self) -> None:
        """Stop the recorder's reader and writer threads (the engine is disposed by its owner)."""
        self.recorder.close()
