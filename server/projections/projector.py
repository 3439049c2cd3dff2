"""The projector: keeps every user's read models up to date with their event log.

A background task, woken after each push commit (for the pushed user), at
startup and every ``poll_s`` seconds (every user: pushes taken by another
process, a lease that was busy). After a wake-up it waits ``settle_s`` so
that a burst of pushes is projected in one batch rather than one each.
On SQLite, the users whose newest seq is above their checkpoint are projected together, in
rounds (``project_round``): a round takes the leases of all of them (one projector
per user, in any process) in one write transaction, runs a batch of at most
``batch`` events for each (read and folded outside any transaction:
server/projections/batches.py), and writes every batch in one write transaction;
users with more to do go on to the next round; on PostgreSQL each user's batch commits
on its own (``project_batch``), as soon as it is folded. Rows and checkpoint commit together,
so a restart resumes exactly where the last commit left off, and no event is
applied twice.

A user whose stored projection version differs from the code's, or who is far
behind (first start on an old log), is rebuilt in the background by
``server.projections.rebuild`` while the old rows keep being served; the swap is one
transaction. A failure is logged and the user retried later with backoff; it
never reaches a push.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from server.eventlog.store import EventStore
from server.projections.batches import DEFAULT_BATCH, BatchResult, project_batch, project_round
from server.projections.leases import DEFAULT_LEASE_S, new_holder
from server.projections.rebuild import rebuild_user
from server.projections.recorders import recorder_for
from server.projections.states import States
from server.projections.tracking import code_version

__all__ = ["DEFAULT_BATCH", "BatchResult", "Projector", "project_batch", "project_round"]

log = logging.getLogger("winledger.projector")

DEFAULT_SETTLE_S = 0.02
"""How long the projector lets pushes gather after a wake-up before it projects them."""
MAX_WAIT_S = 5.0

REMOTE_POLL_S = 0.02
"""How often a reader waiting for read models re-reads the checkpoint when another process projects."""


class Projector:
    """The background task of one server process (see the module docstring)."""

    def __init__(
        self,
        store: EventStore,
        *,
        batch: int = DEFAULT_BATCH,
        poll_s: float = 1.0,
        lease_s: float = DEFAULT_LEASE_S,
        rebuild_gap: int | None = None,
        settle_s: float = DEFAULT_SETTLE_S,
    ) -> None:
        self.store = store
        self.recorder = recorder_for(store)
        """Picked once, here: every batch and rebuild of this projector writes through it."""
        self.batch = batch
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.rebuild_gap = rebuild_gap if rebuild_gap is not None else 5 * batch
        self.holder = new_holder("projector")
        self.states = States()
        """Each user's projects folded forward between batches (server/projections/states.py)."""
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._rebuilds: dict[int, asyncio.Task[Any]] = {}
        self._retry_at: dict[int, tuple[float, int]] = {}
        self._pending: set[int] = set()
        """Users whose pushes (in this process) or readers asked for work since the last round."""
        self.settle_s = settle_s

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="winledger-projector")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in list(self._rebuilds.values()):
            task.cancel()
        pending = [task for task in [self._task, *self._rebuilds.values()] if task is not None]
        if pending:
            _, late = await asyncio.wait(pending, timeout=10)
            for task in late:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        self._task = None
        with contextlib.suppress(Exception):
            async with self.recorder.writing() as writes:
                await writes.release_all(self.holder)

    def notify(self, user_id: int, last_seq: int) -> None:
        """Called after a push commits new events."""
        self._pending.add(user_id)
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_scan = loop.time()  # every user at start, then every poll_s
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_scan - loop.time())):
                    await self._wake.wait()
            if self._stopping:
                break
            if self.settle_s:
                # Let a burst of pushes gather: one batch then folds a project once for all of them.
                await asyncio.sleep(self.settle_s)
            self._wake.clear()
            pending, self._pending = self._pending, set()
            scan = loop.time() >= next_scan
            if scan:
                next_scan = loop.time() + self.poll_s
            try:
                await self.catch_up(loop.time(), None if scan else pending)
            except Exception:
                log.exception("the projector failed to list the users to project; retrying")

    async def catch_up(self, now: float | None = None, only: set[int] | None = None) -> None:
        """Bring every user who is behind (of ``only``, if given) up to date, or start their rebuild.

        On SQLite the users behind are projected together, a batch each per round (``project_round``),
        until each is caught up; if a round's write fails, its users are projected one by one, each
        failure backed off on its own. On PostgreSQL they are projected one by one (``_in_rounds``)."""
        loop = asyncio.get_running_loop()
        now = loop.time() if now is None else now
        if only is not None and not only:
            return
        async with self.recorder.reading() as reading:
            behind = await reading.behind_users(code_version(), only)
        users = [
            user_id
            for user_id, _, _ in behind
            if user_id not in self._rebuilds
            and ((retry := self._retry_at.get(user_id)) is None or retry[0] <= now)
        ]
        if not self._in_rounds():
            await self._one_by_one(users)
            return
        leased: set[int] = set()
        while users and not self._stopping:
            try:
                results = await project_round(
                    self.recorder, users, self.holder, leased=leased, **self._batches()
                )
            except Exception:
                log.warning("a projection round of %d users failed; projecting them one by one", len(users))
                await self._one_by_one(users)
                return
            self._signal()
            users, leased = [], set()
            for user_id, result in results.items():
                if isinstance(result, Exception):
                    delay = self._backoff(user_id)
                    log.error(
                        "projecting user %s failed; retrying in %.1f s", user_id, delay, exc_info=result
                    )
                elif result.status == "rebuild":
                    self._start_rebuild(user_id)
                elif result.status == "more":
                    users.append(user_id)
                    leased.add(user_id)  # the round renewed the lease and kept it
                else:
                    self._retry_at.pop(user_id, None)

    def _batches(self) -> dict[str, Any]:
        """The options every batch of this projector takes."""
        return {
            "batch": self.batch,
            "lease_s": self.lease_s,
            "rebuild_gap": self.rebuild_gap,
            "states": self.states,
        }

    def _in_rounds(self) -> bool:
        """Rounds on SQLite, where each write transaction's commit is an fsync of its own: twenty users'
        batches cost two instead of forty. PostgreSQL flushes concurrent commits together, and there a
        round was slower than each user's batch committed as soon as it is folded (projector_lag p99, quick,
        runs alternating with the code before rounds: 2.4-2.6 s in rounds against 1.1-1.8 s; one by one
        1.3-1.7 s against 1.6-1.7 s)."""
        return self.store.engine.dialect.name == "sqlite"

    async def _one_by_one(self, users: list[int]) -> None:
        for user_id in users:
            if self._stopping:
                return
            try:
                await self._catch_up_user(user_id)
            except Exception:
                delay = self._backoff(user_id)
                log.exception("projecting user %s failed; retrying in %.1f s", user_id, delay)
            else:
                if user_id not in self._rebuilds:
                    self._retry_at.pop(user_id, None)

    async def _catch_up_user(self, user_id: int) -> None:
        leased = False
        while not self._stopping:
            result = await project_batch(
                self.recorder, user_id, self.holder, leased=leased, **self._batches()
            )
            leased = result.status == "more"  # the batch renewed the lease and kept it
            self._signal()
            if result.status == "rebuild":
                self._start_rebuild(user_id)
                return
            if result.status != "more":
                return

    def _start_rebuild(self, user_id: int) -> None:
        async def run() -> None:
            try:
                await rebuild_user(
                    self.recorder,
                    user_id,
                    f"{self.holder}/rebuild",
                    lease_s=self.lease_s,
                    lease_wait_s=5.0,
                    fold_in_thread=True,
                )
            except Exception:
                self._backoff(user_id)
                log.exception("rebuilding the read models of user %s failed; retrying later", user_id)
            finally:
                self._rebuilds.pop(user_id, None)
                self._signal()
                self._wake.set()

        self._rebuilds[user_id] = asyncio.create_task(run(), name=f"winledger-rebuild-{user_id}")

    def _backoff(self, user_id: int) -> float:
        failures = self._retry_at.get(user_id, (0.0, 0))[1] + 1
        delay = min(60.0, self.poll_s * 2.0**failures)
        self._retry_at[user_id] = (asyncio.get_running_loop().time() + delay, failures)
        return delay

    def _signal(self) -> None:
        # Wake every waiter of `wait_for`: they re-read the checkpoint.
        self._progress.set()
        self._progress = asyncio.Event()

    async def wait_for(self, user_id: int, min_seq: int, timeout: float = MAX_WAIT_S) -> None:
        """Return once the user's checkpoint reaches ``min_seq``, or after ``timeout`` seconds.

        Returns at once when ``min_seq`` is beyond the user's newest seq: it
        cannot be reached by waiting.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            head, checkpoint = await self.recorder.standing(user_id)
            if min_seq > head or (checkpoint is not None and checkpoint.seq >= min_seq) or min_seq <= 0:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._pending.add(user_id)
            self._wake.set()
            progress = self._progress
            # Also poll: another process (the projector process of `winledger serve`, an admin rebuild,
            # a second server) may be the one projecting; then only polling sees its progress.
            poll = 0.1 if self._task is not None else REMOTE_POLL_S
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, poll)):
                    await progress.wait()
