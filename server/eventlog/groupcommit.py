"""Group commit: concurrent pushes share one transaction and one commit, where the database takes one
writer at a time (SQLite).

A push joins the queue of the one writer task, which takes every push waiting
when its turn on the write lock comes (up to ``GROUP_REQUESTS`` pushes and
``GROUP_EVENTS`` events), has the recorder apply each in a savepoint of its
own (a push that fails rolls back alone) and commit them together. Each push
is answered only after that commit: a client never hears "accepted" for an
event that a crash could still take back. Pushes leave the queue in the order
they came, so one client's consecutive requests keep their order in the log.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from server.eventlog.recorder import Answered, Append, Appended

GROUP_REQUESTS = 256
"""Most pushes one group commit takes."""
GROUP_EVENTS = 20_000
"""And most events: a round stays short for the requests behind it."""

_Queued = tuple[Append, "asyncio.Future[Appended]"]


class GroupCommit:
    """The queue of pushes and its writer task. ``commit`` applies a group and commits it (a recorder's
    ``append_group``); it runs under ``lock``, the lock every writer of this process takes."""

    def __init__(
        self, commit: Callable[[Sequence[Append]], Awaitable[list[Answered]]], lock: asyncio.Lock
    ) -> None:
        self._commit = commit
        self._lock = lock
        self._queue: collections.deque[_Queued] = collections.deque()
        self._writer: asyncio.Task[None] | None = None
        self.pending = 0
        """Pushes queued or in a group not yet committed."""

    async def push(self, push: Append) -> Appended:
        """``push`` applied and committed with the others of its group."""
        future: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._queue.append((push, future))
        self.pending += 1
        future.add_done_callback(self._answered)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="winledger-group-commit")
        # Shielded: a client that goes away does not cancel the answer the others of its group wait on.
        return await asyncio.shield(future)

    def _answered(self, _future: asyncio.Future[Any]) -> None:
        self.pending -= 1

    async def _drain(self) -> None:
        """The writer: one transaction per round, for every push waiting at its start."""
        while self._queue:
            group: list[_Queued] = []
            try:
                async with self._lock:
                    group = self._take_group()
                    answers = await self._commit([push for push, _ in group])
            except BaseException as exc:  # the commit (or the transaction) failed: nobody is stored
                if not group:  # it failed to begin: every push waiting would wait for ever
                    group = list(self._queue)
                    self._queue.clear()
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), (answer, error) in zip(group, answers, strict=True):
                if future.done():
                    continue
                if error is not None:
                    future.set_exception(error)
                else:
                    assert answer is not None
                    future.set_result(answer)

    def _take_group(self) -> list[_Queued]:
        """The pushes of the next group commit, in the order they came."""
        group: list[_Queued] = []
        events = 0
        while self._queue and len(group) < GROUP_REQUESTS and events < GROUP_EVENTS:
            queued = self._queue.popleft()
            group.append(queued)
            events += len(queued[0].items)
        return group
