"""Verifying a user's live read models: fold the log again, project by project, and compare.

Under the user's lease (held to the end), the live models are first brought up to the log's head by
the incremental projector, so both sides reflect the same checkpoint; then the log is folded the way
a rebuild folds it (``server.projections.rebuild``), one read of projects at a time, each compared
with its live row. Nothing is written but the lease and the projector's own batches.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

import msgspec

from schema.projections import ProjectModel
from server.eventlog.store import EventStore
from server.projections.leases import DEFAULT_LEASE_S
from server.projections.projector import project_batch
from server.projections.rebuild import LeaseBusy, Outcome, UserLog, acquire_lease, plan, release
from server.projections.recorders import recorder_for
from server.projections.rows import NO_PROJECT_KEY, key_of
from server.projections.tracking import TrackingRecorder, code_version


async def verify_user(
    store: EventStore | TrackingRecorder,
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
    recorder = recorder_for(store)
    await acquire_lease(recorder, user_id, holder, lease_s, lease_wait_s)
    try:
        differences: dict[str, list[str]] = {}
        while True:
            result = await project_batch(recorder, user_id, holder, lease_s=lease_s, keep_lease=True)
            if result.status != "more":
                break
        async with recorder.reading() as reading:
            checkpoint = await reading.read_checkpoint(user_id)
            live_keys = set(await reading.model_keys(user_id))
        seq = checkpoint.seq if checkpoint else 0
        log = UserLog(recorder, user_id, holder, lease_s, on_events, fold_in_thread=False)
        await log.read_retractions(seq)
        rebuilt: dict[str, ProjectModel | None] = {}
        produced = 0
        await log.read_sizes()
        for keys in plan(log.sizes.items()):
            log.counted(await log.fold(keys, seq, rebuilt.__setitem__))
            async with recorder.reading() as reading:
                live = await reading.load_models_of(user_id, [key for key in rebuilt if key in live_keys])
            for key, model in rebuilt.items():
                produced += model is not None and key != NO_PROJECT_KEY  # the no-project bucket is none
                differences[key] = _compare_one(key, live.get(key), model)
            rebuilt.clear()
            await log.renew()
        for key in live_keys - set(log.sizes):
            differences[key] = [f"{_name(key)}: {_UNPRODUCED}"]
        async with recorder.reading() as reading:
            if await reading.read_checkpoint(user_id) != checkpoint:
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
            await release(recorder, user_id, holder)


def compare(
    live: dict[str | None, ProjectModel], rebuilt: dict[str | None, ProjectModel], limit: int = 20
) -> list[str]:
    """Every difference between two sets of models, as ``project: $.path: live ... != rebuilt ...``."""
    differences: list[str] = []
    for key in sorted(set(live) | set(rebuilt), key=lambda k: k or ""):
        differences += _compare_one(key_of(key), live.get(key), rebuilt.get(key), limit)
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
