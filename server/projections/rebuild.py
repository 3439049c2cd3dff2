"""Rebuilding a user's read models from their event log, beside the live ones.

A project's model depends only on its own events and the user's retractions
(``schema.projections.fold_read``), so the log is folded one project at a time
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

``verify_user`` folds the same way and compares each project with its live row
at the same checkpoint, one read of projects at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from schema.events import EventRetracted
from schema.projections import ProjectModel
from schema.projections.fold import fold_read, retracted_ids
from server.eventlog.store import EventStore
from server.projections import modelstore as ms
from server.projections.projector import DEFAULT_LEASE_S, code_version, project_batch

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


class LeaseBusy(Exception):
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
        encoded, summary = ms.encode_row(key, model)
        self._file.seek(self._end)
        self._file.write(encoded)
        self._file.write(summary or b"")
        self.index[key] = (self._end, len(encoded), -1 if summary is None else len(summary))
        self._end += len(encoded) + len(summary or b"")

    def rows(self, batch_bytes: int | None = None) -> Iterator[list[tuple[str, bytes, bytes | None]]]:
        """The rows, in batches of about ``batch_bytes`` (``SWAP_BYTES``)."""
        batch_bytes = SWAP_BYTES if batch_bytes is None else batch_bytes
        batch: list[tuple[str, bytes, bytes | None]] = []
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
        return sum(place is not None for place in self.index.values())

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


def fold_projects(
    rows: list[tuple[str, bytes]], keys: Iterable[str], retracted: set[str]
) -> Iterator[tuple[str, ProjectModel | None]]:
    """Fold each project of ``keys`` from its stored bodies in ``rows`` (consumed as it goes)."""
    grouped: dict[str, list[bytes]] = {key: [] for key in keys}
    for key, body in rows:
        grouped[key].append(body)
    rows.clear()
    for key in list(grouped):
        bodies = grouped.pop(key)
        events = [event for event in map(ms.read_body, bodies) if event is not None]
        del bodies
        yield key, fold_read(ms.project_of(key), events, retracted)


async def acquire_lease(store: EventStore, user_id: int, holder: str, lease_s: float, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while True:
        async with store.write() as connection:
            if await ms.take_lease(connection, user_id, holder, lease_s, request=True):
                return
        if time.monotonic() >= deadline:
            raise LeaseBusy(f"another projector holds the lease of user {user_id}; try again later")
        await asyncio.sleep(0.1)


async def release(store: EventStore, user_id: int, holder: str) -> None:
    async with store.write() as connection:
        await ms.release_lease(connection, user_id, holder)


class _Log:
    """One user's log, read project by project in short read transactions, renewing the lease as it goes."""

    def __init__(
        self,
        store: EventStore,
        user_id: int,
        holder: str,
        lease_s: float,
        on_events: Callable[[int], None],
        fold_in_thread: bool,
    ) -> None:
        self.store, self.user_id, self.holder, self.lease_s = store, user_id, holder, lease_s
        self.on_events, self.fold_in_thread = on_events, fold_in_thread
        self.count = 0
        """Events read (each once: a re-fold does not count its events again)."""
        self.sizes: dict[str, int] = {}
        self._retractions: list[EventRetracted] = []
        self.retracted: set[str] = set()
        self._renewed = time.monotonic()

    async def head(self) -> int:
        async with self.store.engine.connect() as connection, connection.begin():
            return await ms.log_head(connection, self.user_id)

    def counted(self, count: int) -> None:
        self.count += count
        self.on_events(count)

    def _add_retractions(self, bodies: Iterable[bytes]) -> None:
        for body in bodies:
            event = ms.read_body(body)
            if isinstance(event, EventRetracted):
                self._retractions.append(event)
        self.retracted = retracted_ids(self._retractions)

    async def read_retractions(self, upto: int) -> None:
        async with self.store.engine.connect() as connection, connection.begin():
            bodies = await ms.retraction_bodies(connection, self.user_id, upto)
        self._add_retractions(bodies)
        self.counted(len(bodies))

    async def fold_all(self, upto: int, sink: Callable[[str, ProjectModel | None], None]) -> None:
        """Fold every project of the log up to ``upto`` into ``sink``, one read of projects at a time."""
        async with self.store.engine.connect() as connection, connection.begin():
            self.sizes = dict(await ms.project_sizes(connection, self.user_id))
        for keys in plan(self.sizes.items()):
            self.counted(await self.fold(keys, upto, sink))
            await self.renew()

    async def fold(
        self,
        keys: list[str],
        upto: int,
        sink: Callable[[str, ProjectModel | None], None],
        connection: AsyncConnection | None = None,
    ) -> int:
        """Read these projects' events up to ``upto`` (in ``connection``, else in a read transaction of
        their own), fold them into ``sink``; the number of events read."""
        if connection is not None:
            rows = await ms.project_bodies(connection, self.user_id, keys, upto)
        elif self.store.direct is not None:
            # One hop to a reader thread for the whole read (SQLite); see server.eventlog.direct.
            rows = await self.store.direct.run(ms.project_bodies_direct, self.user_id, keys, upto)
        else:
            async with ms.snapshot(self.store.engine) as reading:
                rows = await ms.project_bodies(reading, self.user_id, keys, upto)
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
        connection: AsyncConnection | None = None,
    ) -> None:
        """Read the events ``after < seq <= upto`` and re-fold the projects they touch (the projector's
        rule: the project of each new event, and of the target of each new retraction or redaction, if it
        arrived: a redaction rewrote its target's body in the log)."""
        keys: set[str] = set()
        targets: list[str] = []
        while after < upto:
            async with _reading(self.store, connection) as reading:
                rows = await ms.events_after(reading, self.user_id, after, upto, PAGE)
            if not rows:
                break
            retractions = [body for _, kind, _, body in rows if kind == ms.RETRACTED]
            keys |= {ms.key_of(project_id) for _, kind, project_id, _ in rows if kind not in ms.TARGETING}
            targets += [
                target
                for _, kind, _, body in rows
                if kind in ms.TARGETING and (target := ms.retraction_target(ms.decode_event(body)))
            ]
            self._add_retractions(retractions)
            self.counted(len(rows))
            after = rows[-1][0]
            await self.renew(connection)
        if targets:
            async with _reading(self.store, connection) as reading:
                keys |= await ms.keys_of_targets(reading, self.user_id, targets, upto)
        for read in plan((key, self.sizes.get(key, 0)) for key in sorted(keys)):
            await self.fold(read, upto, sink, connection)
            await self.renew(connection)

    async def renew(self, connection: AsyncConnection | None = None) -> None:
        if connection is not None or time.monotonic() - self._renewed <= self.lease_s / 3:
            return  # a caller's write transaction checks the lease itself
        async with self.store.write() as writing:
            if not await ms.take_lease(writing, self.user_id, self.holder, self.lease_s):
                raise LeaseBusy(f"lost the lease of user {self.user_id} while reading its log")
        self._renewed = time.monotonic()


async def _now(function: Callable[[], None]) -> None:
    function()


@contextlib.asynccontextmanager
async def _reading(store: EventStore, connection: AsyncConnection | None) -> Any:
    if connection is not None:
        yield connection
    else:
        async with store.engine.connect() as reading, reading.begin():
            yield reading


_CATCH_UPS = 3
"""Catch-up passes before the swap; whatever arrives after them is folded inside the swap."""


async def rebuild_user(
    store: EventStore,
    user_id: int,
    holder: str,
    *,
    lease_s: float = DEFAULT_LEASE_S,
    lease_wait_s: float = 0.0,
    fold_in_thread: bool = False,
    on_events: Callable[[int], None] = lambda count: None,
) -> Outcome:
    """Rebuild one user's read models and swap them in with the checkpoint (see the module docstring)."""
    await acquire_lease(store, user_id, holder, lease_s, lease_wait_s)
    spool = Spool()
    try:
        log = _Log(store, user_id, holder, lease_s, on_events, fold_in_thread)
        head = await log.head()
        await log.read_retractions(head)
        await log.fold_all(head, spool.put)
        # Whatever arrived while folding, re-folded per project outside the swap transaction.
        for _ in range(_CATCH_UPS):
            newest = await log.head()
            if newest == head:
                break
            await log.catch_up(head, newest, spool.put)
            head = newest
        async with store.write() as connection:
            if not await ms.take_lease(connection, user_id, holder, lease_s):
                raise LeaseBusy(f"lost the lease of user {user_id} before the swap")
            newest = await ms.log_head(connection, user_id)
            await log.catch_up(head, newest, spool.put, connection)
            await ms.delete_models(connection, user_id)
            for rows in spool.rows():
                await ms.insert_rows(connection, user_id, rows)
            await ms.force_checkpoint(connection, user_id, ms.Checkpoint(newest, code_version()))
            await ms.release_lease(connection, user_id, holder)
        return Outcome(user_id, events=log.count, projects=spool.projects, seq=newest)
    except BaseException:
        with contextlib.suppress(Exception):  # else the lease expires on its own
            await release(store, user_id, holder)
        raise
    finally:
        spool.close()


async def verify_user(
    store: EventStore,
    user_id: int,
    holder: str,
    *,
    lease_s: float = DEFAULT_LEASE_S,
    lease_wait_s: float = 0.0,
    on_events: Callable[[int], None] = lambda count: None,
) -> Outcome:
    """Fold the user's log project by project and compare with the live models at the same checkpoint.

    Under the user's lease, the live models are first brought up to the log's
    head by the incremental projector, so both sides reflect the same seq; the
    lease, held to the end, keeps them there while they are read project by project.
    """
    await acquire_lease(store, user_id, holder, lease_s, lease_wait_s)
    try:
        differences: dict[str, list[str]] = {}
        while True:
            result = await project_batch(store, user_id, holder, lease_s=lease_s, keep_lease=True)
            if result.status != "more":
                break
        async with ms.snapshot(store.engine) as connection:
            checkpoint = await ms.read_checkpoint(connection, user_id)
            live_keys = set(await ms.model_keys(connection, user_id))
        seq = checkpoint.seq if checkpoint else 0
        log = _Log(store, user_id, holder, lease_s, on_events, fold_in_thread=False)
        await log.read_retractions(seq)
        rebuilt: dict[str, ProjectModel | None] = {}
        produced = 0
        async with store.engine.connect() as connection, connection.begin():
            log.sizes = dict(await ms.project_sizes(connection, user_id))
        for keys in plan(log.sizes.items()):
            log.counted(await log.fold(keys, seq, rebuilt.__setitem__))
            async with ms.snapshot(store.engine) as connection:
                live = await ms.load_models_of(
                    connection, user_id, [key for key in rebuilt if key in live_keys]
                )
            for key, model in rebuilt.items():
                produced += model is not None
                differences[key] = _compare_one(key, live.get(key), model)
            rebuilt.clear()
            await log.renew()
        for key in live_keys - set(log.sizes):
            differences[key] = [f"{_name(key)}: {_UNPRODUCED}"]
        async with ms.snapshot(store.engine) as connection:
            if await ms.read_checkpoint(connection, user_id) != checkpoint:
                raise LeaseBusy(f"the read models of user {user_id} changed while they were verified")
        lines: list[str] = []
        if checkpoint is not None and checkpoint.version != code_version():
            lines.append(
                f"the live models are projection version {checkpoint.version}, "
                f"this code's is {code_version()}"
            )
        for key in sorted(differences):
            lines += differences[key]
        return Outcome(user_id, events=log.count, projects=produced, seq=seq, differences=lines)
    finally:
        with contextlib.suppress(Exception):  # else the lease expires on its own
            await release(store, user_id, holder)


def compare(
    live: dict[str | None, ProjectModel], rebuilt: dict[str | None, ProjectModel], limit: int = 20
) -> list[str]:
    """Every difference between two sets of models, as ``project: $.path: live ... != rebuilt ...``."""
    differences: list[str] = []
    for key in sorted(set(live) | set(rebuilt), key=lambda k: k or ""):
        differences += _compare_one(ms.key_of(key), live.get(key), rebuilt.get(key), limit)
    return differences


def _compare_one(
    key: str, live: ProjectModel | None, rebuilt: ProjectModel | None, limit: int = 20
) -> list[str]:
    """The differences of one project; ``live`` is None when it has no live row."""
    name = _name(key)
    if live is None and rebuilt is None:
        return []
    if rebuilt is None:
        return [f"{name}: {_UNPRODUCED}"]
    if live is None:
        return [f"{name}: missing from the live models"]
    found: list[str] = []
    _diff(msgspec.to_builtins(live), msgspec.to_builtins(rebuilt), "$", found, limit)
    return [f"{name}: {line}" for line in found]


_UNPRODUCED = "a live model that the log does not produce"


def _name(key: str) -> str:
    return key or "(without a project)"


def _diff(live: Any, rebuilt: Any, path: str, found: list[str], limit: int) -> None:
    if len(found) >= limit:
        return
    if isinstance(live, dict) and isinstance(rebuilt, dict):
        for name in sorted(set(live) | set(rebuilt)):
            _diff(live.get(name, "<absent>"), rebuilt.get(name, "<absent>"), f"{path}.{name}", found, limit)
    elif isinstance(live, list) and isinstance(rebuilt, list) and len(live) == len(rebuilt):
        for index, (a, b) in enumerate(zip(live, rebuilt, strict=True)):
            _diff(a, b, f"{path}[{index}]", found, limit)
    elif not _same(live, rebuilt):
        found.append(f"{path}: live {_short(live)} != rebuilt {_short(rebuilt)}")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b and type(a) is type(b))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
