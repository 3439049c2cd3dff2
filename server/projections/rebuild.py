"""Rebuilding a user's read models from their event log, beside the live ones.

A project's model depends only on its own events and the user's retractions
(``schema.projections.forward.ProjectFold.of``), so the log is folded one project at a time
and memory is bounded by the largest project, not by the log. While a server
keeps serving and taking pushes:

1. take the user's lease (the projector of any process then leaves the user alone);
2. read the user's retractions up to the log's head (few), then the events of
   whole projects in reads of about ``PAGE`` events (a larger project is read
   alone), each in a short read transaction; fold each project outside any
   transaction, spool its encoded model and drop its events;
3. read what arrived meanwhile, and re-fold only the projects it touches (the
   project of each new event, and of the target of each new retraction);
4. in one short write transaction: read the last events that arrived, re-fold
   the projects they touch, then replace the user's model rows with the spooled
   ones and set the checkpoint, and release the lease. Readers see the old
   models or the new ones, never a mix; a push waits at most for that one
   transaction.

The encoded models are spooled to an anonymous temporary file, not kept in
memory: a project's model holds an entry per event, so all of a user's models
together are about the size of the log's bodies. Not into the database either:
staged rows would need a table of their own (or would be seen by readers, and
survive a crash and an erasure). The swap writes the rows it would have
written anyway; the file goes with the process.

Reads and writes go through the tracking recorder (server/projections/tracking.py), which
owns the rows and checkpoint; ``server.projections.verify`` folds the same way to compare.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field

from schema.events import EventRetracted
from schema.projections import ProjectModel
from schema.projections.fold import retracted_ids
from server.eventlog.store import EventStore
from server.exceptions import ServerError
from server.projections.bodies import RETRACTED, TARGETING, decode_event, read_body, retraction_target
from server.projections.leases import DEFAULT_LEASE_S
from server.projections.pool import FoldPool
from server.projections.pool import fold_projects as fold_projects  # the fold of a read, here as before
from server.projections.recorders import recorder_for
from server.projections.rows import NO_PROJECT_KEY, EncodedRow, encode_row, key_of
from server.projections.tracking import Checkpoint, LogReads, TrackingRecorder, code_version

PAGE = 5000
"""Events per page of the log in seq order (what arrived during a rebuild)."""
READ_EVENTS = 50_000
"""Events per read of whole projects, as many projects as fit (one larger project is read alone).

Large on purpose: a project's events are spread over the log's pages among those of the projects
active at the same time, so reading the projects one by one reads each page about once per
project (5x slower than reading them together, on a log of 8 interleaved projects). About 35 MB
of bodies at most, whatever the log's size."""
SWAP_BYTES = 8 << 20
"""Encoded model bytes per insert statement of the swap."""


class LeaseBusy(ServerError):
    """Another projector or rebuild holds the user's lease."""


@dataclass
class Outcome:
    user_id: int
    events: int = 0
    projects: int = 0
    seq: int = 0
    differences: list[str] = field(default_factory=list)


class Spool:
    """Encoded model rows in an anonymous temporary file; the newest row of each project wins."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close(), as the rebuild ends
        self._end = 0
        self.index: dict[str, tuple[int, int, int] | None] = {}
        """Project key -> (offset, model bytes, summary bytes; -1 without a summary); None: no model."""

    def put(self, key: str, model: ProjectModel | None) -> None:
        if model is None:
            self.index[key] = None
            return
        self.put_encoded(key, *encode_row(key, model))

    def put_encoded(self, key: str, encoded: bytes | None, summary: bytes | None) -> None:
        """A row encoded already (``encode_row``); ``encoded`` ``None``: the project has no model."""
        if encoded is None:
            self.index[key] = None
            return
        self._file.seek(self._end)
        self._file.write(encoded)
        self._file.write(summary or b"")
        self.index[key] = (self._end, len(encoded), -1 if summary is None else len(summary))
        self._end += len(encoded) + len(summary or b"")

    def rows(self, batch_bytes: int | None = None) -> Iterator[list[EncodedRow]]:
        """The rows, in batches of about ``batch_bytes`` (``SWAP_BYTES``)."""
        batch_bytes = SWAP_BYTES if batch_bytes is None else batch_bytes
        batch: list[EncodedRow] = []
        size = 0
        for key, place in sorted(self.index.items()):
            if place is None:
                continue
            offset, model_size, summary_size = place
            self._file.seek(offset)
            model = self._file.read(model_size)
            summary = None if summary_size < 0 else self._file.read(summary_size)
            batch.append((key, model, summary))
            size += model_size + max(summary_size, 0)
            if size >= batch_bytes:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    @property
    def projects(self) -> int:
        """Projects rebuilt: the bucket of wins and learnings captured without a project is none."""
        return sum(place is not None and key != NO_PROJECT_KEY for key, place in self.index.items())

    def close(self) -> None:
        self._file.close()


def plan(sizes: Iterable[tuple[str, int]], page: int | None = None) -> list[list[str]]:
    """Project keys grouped into reads of about ``page`` events (a larger project is read alone).

    In key order: projects started together (UUIDv7 ids) are read together."""
    page = READ_EVENTS if page is None else page
    reads: list[list[str]] = []
    keys: list[str] = []
    total = 0
    for key, count in sizes:
        if keys and (total + count > page or len(keys) >= 500):
            reads.append(keys)
            keys, total = [], 0
        keys.append(key)
        total += count
    if keys:
        reads.append(keys)
    return reads


async def acquire_lease(
    store: EventStore | TrackingRecorder, user_id: int, holder: str, lease_s: float, wait_s: float
) -> None:
    """Take the user's lease, asking its holder for it and retrying for up to ``wait_s`` seconds."""
    recorder = recorder_for(store)
    deadline = time.monotonic() + wait_s
    while True:
        async with recorder.writing() as writes:
            if await writes.take_lease(user_id, holder, lease_s, request=True):
                return
        if time.monotonic() >= deadline:
            raise LeaseBusy(f"another projector holds the lease of user {user_id}; try again later")
        await asyncio.sleep(0.1)


async def release(recorder: TrackingRecorder, user_id: int, holder: str) -> None:
    async with recorder.writing() as writes:
        await writes.release_lease(user_id, holder)


class UserLog:
    """One user's log, read project by project in short read transactions, renewing the lease as it goes."""

    def __init__(
        self,
        recorder: TrackingRecorder,
        user_id: int,
        holder: str,
        lease_s: float,
        on_events: Callable[[int], None],
        fold_in_thread: bool,
        pool: FoldPool | None = None,
    ) -> None:
        self.recorder, self.user_id, self.holder, self.lease_s = recorder, user_id, holder, lease_s
        self.on_events, self.fold_in_thread, self.pool = on_events, fold_in_thread, pool
        self.count = 0
        """Events read (each once: a re-fold does not count its events again)."""
        self.sizes: dict[str, int] = {}
        self._retractions: list[EventRetracted] = []
        self.retracted: set[str] = set()
        self._renewed = time.monotonic()

    async def head(self) -> int:
        async with self.recorder.reading() as reading:
            return await reading.log_head(self.user_id)

    def counted(self, count: int) -> None:
        self.count += count
        self.on_events(count)

    def _add_retractions(self, bodies: Iterable[bytes]) -> None:
        for body in bodies:
            event = read_body(body)
            if isinstance(event, EventRetracted):
                self._retractions.append(event)
        self.retracted = retracted_ids(self._retractions)

    async def read_retractions(self, upto: int) -> None:
        async with self.recorder.reading() as reading:
            bodies = await reading.retraction_bodies(self.user_id, upto)
        self._add_retractions(bodies)
        self.counted(len(bodies))

    async def fold_all(self, upto: int, spool: Spool) -> None:
        """Fold every project of the log up to ``upto`` into ``spool``, one read of projects at a time
        (with a pool, its workers fold a read while the next is read)."""
        await self.read_sizes()
        folding: asyncio.Future[None] | None = None
        try:
            for keys in plan(self.sizes.items()):
                if self.pool is None:
                    self.counted(await self.fold(keys, upto, spool.put))
                else:
                    rows = await self.recorder.project_bodies(self.user_id, keys, upto)
                    self.counted(len(rows))
                    if folding is not None:
                        await folding
                    folding = asyncio.ensure_future(self._fold_in_pool(self.pool, rows, keys, spool))
                await self.renew()
            if folding is not None:
                await folding
        finally:
            if folding is not None and not folding.done():
                folding.cancel()
                await asyncio.gather(folding, return_exceptions=True)

    async def _fold_in_pool(
        self, pool: FoldPool, rows: list[tuple[str, bytes]], keys: list[str], spool: Spool
    ) -> None:
        for key, encoded, summary in await pool.fold(rows, keys, self.retracted):
            spool.put_encoded(key, encoded, summary)

    async def read_sizes(self) -> None:
        async with self.recorder.reading() as reading:
            self.sizes = dict(await reading.project_sizes(self.user_id))

    async def fold(
        self,
        keys: list[str],
        upto: int,
        sink: Callable[[str, ProjectModel | None], None],
        writing: LogReads | None = None,
    ) -> int:
        """Read these projects' events up to ``upto`` (in ``writing``, else in a read of their own),
        fold them into ``sink``; the number of events read."""
        if writing is not None:
            rows = await writing.project_bodies(self.user_id, keys, upto)
        else:
            rows = await self.recorder.project_bodies(self.user_id, keys, upto)
        count = len(rows)

        def fold() -> None:
            for key, model in fold_projects(rows, keys, self.retracted):
                sink(key, model)

        await (asyncio.to_thread(fold) if self.fold_in_thread else _now(fold))
        return count

    async def catch_up(
        self,
        after: int,
        upto: int,
        sink: Callable[[str, ProjectModel | None], None],
        writing: LogReads | None = None,
    ) -> None:
        """Read the events ``after < seq <= upto`` and re-fold the projects they touch (the projector's
        rule: the project of each new event, and of the target of each new retraction or redaction, if it
        arrived: a redaction rewrote its target's body in the log)."""
        keys: set[str] = set()
        targets: list[str] = []
        while after < upto:
            async with _reading(self.recorder, writing) as reading:
                rows = await reading.events_after(self.user_id, after, upto, PAGE)
            if not rows:
                break
            retractions = [body for _, kind, _, body in rows if kind == RETRACTED]
            keys |= {key_of(project_id) for _, kind, project_id, _ in rows if kind not in TARGETING}
            targets += [
                target
                for _, kind, _, body in rows
                if kind in TARGETING and (target := retraction_target(decode_event(body)))
            ]
            self._add_retractions(retractions)
            self.counted(len(rows))
            after = rows[-1][0]
            await self.renew(writing)
        if targets:
            async with _reading(self.recorder, writing) as reading:
                keys |= await reading.keys_of_targets(self.user_id, targets, upto)
        for read in plan((key, self.sizes.get(key, 0)) for key in sorted(keys)):
            await self.fold(read, upto, sink, writing)
            await self.renew(writing)

    async def renew(self, writing: LogReads | None = None) -> None:
        if writing is not None or time.monotonic() - self._renewed <= self.lease_s / 3:
            return  # a caller's write transaction checks the lease itself
        async with self.recorder.writing() as writes:
            if not await writes.take_lease(self.user_id, self.holder, self.lease_s):
                raise LeaseBusy(f"lost the lease of user {self.user_id} while reading its log")
        self._renewed = time.monotonic()


async def _now(function: Callable[[], None]) -> None:
    function()


@contextlib.asynccontextmanager
async def _reading(recorder: TrackingRecorder, writing: LogReads | None) -> AsyncIterator[LogReads]:
    if writing is not None:
        yield writing
    else:
        async with recorder.reading() as reading:
            yield reading


_CATCH_UPS = 3
"""Catch-up passes before the swap; whatever arrives after them is folded inside the swap."""


async def rebuild_user(
    store: EventStore | TrackingRecorder,
    user_id: int,
    holder: str,
    *,
    lease_s: float = DEFAULT_LEASE_S,
    lease_wait_s: float = 0.0,
    fold_in_thread: bool = False,
    on_events: Callable[[int], None] = lambda count: None,
    pool: FoldPool | None = None,
) -> Outcome:
    """Rebuild one user's read models and swap them in with the checkpoint (see the module docstring);
    with ``pool``, its workers fold (server/projections/pool.py)."""
    recorder = recorder_for(store)
    await acquire_lease(recorder, user_id, holder, lease_s, lease_wait_s)
    spool = Spool()
    try:
        log = UserLog(recorder, user_id, holder, lease_s, on_events, fold_in_thread, pool)
        head = await log.head()
        await log.read_retractions(head)
        await log.fold_all(head, spool)
        # Whatever arrived while folding, re-folded per project outside the swap transaction.
        for _ in range(_CATCH_UPS):
            newest = await log.head()
            if newest == head:
                break
            await log.catch_up(head, newest, spool.put)
            head = newest
        async with recorder.writing() as writes:
            if not await writes.take_lease(user_id, holder, lease_s):
                raise LeaseBusy(f"lost the lease of user {user_id} before the swap")
            newest = await writes.log_head(user_id)
            await log.catch_up(head, newest, spool.put, writes)
            await writes.swap(user_id, spool.rows(), Checkpoint(newest, code_version()))
            await writes.release_lease(user_id, holder)
        return Outcome(user_id, events=log.count, projects=spool.projects, seq=newest)
    except BaseException:
        with contextlib.suppress(Exception):  # else the lease expires on its own
            await release(recorder, user_id, holder)
        raise
    finally:
        spool.close()
