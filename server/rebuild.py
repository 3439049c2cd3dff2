"""Rebuilding a user's read models from their event log, beside the live ones.

While a server keeps serving and taking pushes:

1. take the user's lease (the projector of any process then leaves the user alone);
2. read the log in pages, each in a short read transaction, into memory;
3. fold every project in memory (``build_models``), outside any transaction;
4. read what arrived meanwhile, and re-fold only the projects it touches;
5. in one short write transaction: read the last events that arrived, re-fold
   the projects they touch, then replace the user's model rows and set the
   checkpoint, and release the lease. Readers see the old models or the new
   ones, never a mix; a push waits at most for that one transaction.

``verify_user`` folds into memory only and compares with the live rows at the
same checkpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from schema.projections import ProjectModel, build_models, build_project
from server import modelstore as ms
from server.projector import DEFAULT_LEASE_S, code_version, project_batch
from server.store import EventStore

PAGE = 5000
_RETRACTION = object()


class LeaseBusy(Exception):
    """Another projector or rebuild holds the user's lease."""


class UserLog:
    """One user's events in memory, grouped the way the projector reads them."""

    def __init__(self) -> None:
        self.by_key: dict[str | None, list[dict[str, Any]]] = {}
        self.retractions: list[dict[str, Any]] = []
        self._where: dict[str, object] = {}
        self.count = 0

    def add(self, bodies: Iterable[bytes]) -> set[str | None]:
        """Add events (stored bodies, in seq order); return the projects they touch."""
        touched: set[str | None] = set()
        for body in bodies:
            event = ms.decode_event(body)
            self.count += 1
            if event.get("type") == ms.RETRACTED:
                self.retractions.append(event)
                self._where[event["id"]] = _RETRACTION
                target = ms.retraction_target(event)
                where = self._where.get(target) if target is not None else _RETRACTION
                if where is not _RETRACTION and target in self._where:
                    touched.add(where)  # type: ignore[arg-type]
            else:
                project_id = event.get("project_id")
                self.by_key.setdefault(project_id, []).append(event)
                self._where[event["id"]] = project_id
                touched.add(project_id)
        return touched

    def events(self) -> list[dict[str, Any]]:
        return [event for items in self.by_key.values() for event in items] + self.retractions

    def fold_all(self) -> dict[str | None, ProjectModel]:
        return build_models(self.events())

    def fold(self, keys: Iterable[str | None]) -> dict[str | None, ProjectModel | None]:
        return {key: build_project(key, [*self.by_key.get(key, []), *self.retractions]) for key in keys}


@dataclass
class Outcome:
    user_id: int
    events: int = 0
    projects: int = 0
    seq: int = 0
    differences: list[str] = field(default_factory=list)


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


class _Reader:
    """Pages of one user's log in short read transactions, renewing the lease as it goes."""

    def __init__(
        self, store: EventStore, user_id: int, holder: str, lease_s: float, on_events: Callable[[int], None]
    ) -> None:
        self.store, self.user_id, self.holder, self.lease_s = store, user_id, holder, lease_s
        self.on_events = on_events
        self.after = 0
        self._renewed = time.monotonic()

    async def head(self) -> int:
        async with self.store.engine.connect() as connection, connection.begin():
            return await ms.log_head(connection, self.user_id)

    async def read_to(self, upto: int, into: UserLog) -> set[str | None]:
        touched: set[str | None] = set()
        while self.after < upto:
            async with self.store.engine.connect() as connection, connection.begin():
                rows = await ms.events_after(connection, self.user_id, self.after, upto, PAGE)
            if not rows:
                break
            touched |= into.add(body for *_, body in rows)
            self.after = rows[-1][0]
            self.on_events(len(rows))
            await self.renew()
        return touched

    async def renew(self) -> None:
        if time.monotonic() - self._renewed > self.lease_s / 3:
            async with self.store.write() as connection:
                if not await ms.take_lease(connection, self.user_id, self.holder, self.lease_s):
                    raise LeaseBusy(f"lost the lease of user {self.user_id} while reading its log")
            self._renewed = time.monotonic()


async def _call(fold_in_thread: bool, function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(function, *args) if fold_in_thread else function(*args)


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
    try:
        log = UserLog()
        reader = _Reader(store, user_id, holder, lease_s, on_events)
        head = await reader.head()
        while head - reader.after > PAGE:
            await reader.read_to(head, log)
            head = await reader.head()
        await reader.read_to(head, log)
        models: dict[str | None, ProjectModel | None] = dict(await _call(fold_in_thread, log.fold_all))
        # Whatever arrived while folding, re-folded per project outside the swap transaction.
        touched = await reader.read_to(await reader.head(), log)
        models.update(await _call(fold_in_thread, log.fold, touched))
        async with store.write() as connection:
            if not await ms.take_lease(connection, user_id, holder, lease_s):
                raise LeaseBusy(f"lost the lease of user {user_id} before the swap")
            head = await ms.log_head(connection, user_id)
            rows = await ms.events_after(connection, user_id, reader.after, head)
            touched = log.add(body for *_, body in rows)
            on_events(len(rows))
            models.update(log.fold(touched))
            kept = {key: model for key, model in models.items() if model is not None}
            await ms.replace_models(connection, user_id, kept)
            await ms.force_checkpoint(connection, user_id, ms.Checkpoint(head, code_version()))
            await ms.release_lease(connection, user_id, holder)
        return Outcome(user_id, events=log.count, projects=len(kept), seq=head)
    except BaseException:
        with contextlib.suppress(Exception):  # else the lease expires on its own
            await release(store, user_id, holder)
        raise


async def verify_user(
    store: EventStore,
    user_id: int,
    holder: str,
    *,
    lease_s: float = DEFAULT_LEASE_S,
    lease_wait_s: float = 0.0,
    on_events: Callable[[int], None] = lambda count: None,
) -> Outcome:
    """Fold the user's log into memory and compare with the live models at the same checkpoint.

    Under the user's lease, the live models are first brought up to the log's
    head by the incremental projector, so both sides reflect the same seq.
    """
    await acquire_lease(store, user_id, holder, lease_s, lease_wait_s)
    try:
        differences: list[str] = []
        while True:
            result = await project_batch(store, user_id, holder, lease_s=lease_s, keep_lease=True)
            if result.status != "more":
                break
        async with ms.snapshot(store.engine) as connection:
            checkpoint = await ms.read_checkpoint(connection, user_id)
            live = await ms.load_models(connection, user_id)
        seq = checkpoint.seq if checkpoint else 0
        if checkpoint is not None and checkpoint.version != code_version():
            differences.append(
                f"the live models are projection version {checkpoint.version}, "
                f"this code's is {code_version()}"
            )
        log = UserLog()
        reader = _Reader(store, user_id, holder, lease_s, on_events)
        await reader.read_to(seq, log)
        rebuilt = log.fold_all()
        differences += compare(live, rebuilt)
        return Outcome(user_id, events=log.count, projects=len(rebuilt), seq=seq, differences=differences)
    finally:
        with contextlib.suppress(Exception):  # else the lease expires on its own
            await release(store, user_id, holder)


def compare(
    live: dict[str | None, ProjectModel], rebuilt: dict[str | None, ProjectModel], limit: int = 20
) -> list[str]:
    """Every difference between two sets of models, as ``project: $.path: live ... != rebuilt ...``."""
    differences: list[str] = []
    for key in sorted(set(live) | set(rebuilt), key=lambda k: k or ""):
        name = key or "(without a project)"
        if key not in rebuilt:
            differences.append(f"{name}: a live model that the log does not produce")
        elif key not in live:
            differences.append(f"{name}: missing from the live models")
        else:
            found: list[str] = []
            _diff(msgspec.to_builtins(live[key]), msgspec.to_builtins(rebuilt[key]), "$", found, limit)
            differences += [f"{name}: {line}" for line in found]
    return differences


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
