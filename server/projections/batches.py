"""A user's batch of the projector: read, fold forward, and write rows and checkpoint together.

Each user's batch (``project_batch`` for one user, ``project_round`` for the users of a round):

1. reads, in one read snapshot, the events after the checkpoint, the affected projects (the
   project of each new event; for a new retraction or redaction, the project of its target if
   it has arrived), and all events up to the batch's end of each affected project that the
   user's folded state (server/projections/states.py) does not hold;
2. folds them forward into that state, outside any transaction, and encodes the rows; where it
   cannot (an event lands before those folded, a retraction or redaction names a folded one),
   re-reads the batch in a new snapshot and re-folds its projects from all of their events
   (``build_project``);
3. in a write transaction of the tracking recorder (server/projections/tracking.py), the round's
   for all of its users: renews the lease, upserts or deletes the affected projects' rows and
   moves the checkpoint to the batch's end, compare-and-set against where step 1 found it (in a
   round, a user whose lease was lost or whose checkpoint moved is left out, and the others commit).

Rows and checkpoint commit together, so a restart resumes exactly where the
last commit left off, and no event is applied twice. Steps 1 and 2 need no
write lock because the log below its head never changes (but for a redaction's
rewrite of its target, which commits with the redaction, whose seq then
re-folds the target's project: ADR 0007); keeping them out of
the write transaction means a push never waits for a fold, however large the
projects it touches (measured in docs/decisions/0006-read-models.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from schema.projections import ProjectModel
from server.eventlog.store import EventStore
from server.projections.bodies import TARGETING, decode_event, retraction_target
from server.projections.leases import DEFAULT_LEASE_S
from server.projections.recorders import recorder_for
from server.projections.rows import Encoded, encode_rows, key_of
from server.projections.states import ForwardRead, States, fold_batch, read_forward, refold
from server.projections.tracking import (
    Checkpoint,
    CheckpointMoved,
    LogReads,
    TrackingRecorder,
    code_version,
)

DEFAULT_BATCH = 2000

ROUND_READERS = 8
"""Users of a round read and folded at once: their reads overlap, and a round never holds more than this
many of the pool's connections (12 a process on PostgreSQL), whatever the number of users behind."""


class BatchResult(NamedTuple):
    status: Literal["caught_up", "more", "busy", "rebuild"]
    """``busy``: someone else holds the user's lease, or asked for it and was handed it."""
    seq: int
    """The checkpoint after the batch."""
    events: int
    """Events applied by the batch."""


class _Batch(NamedTuple):
    """What a batch read in its snapshot: where it starts and ends, and the events to fold."""

    checkpoint: Checkpoint | None
    end: int
    events: int
    """Events after the checkpoint, up to ``end``."""
    projects: dict[str, list[dict[str, Any]]]
    """Every event up to ``end`` of each project the batch touches, by key."""
    retracted: list[dict[str, Any]]
    forward: ForwardRead | None = None
    """What folding forward needs, when the projector keeps folded states (``projects`` is then empty)."""


async def project_batch(
    store: EventStore | TrackingRecorder,
    user_id: int,
    holder: str,
    *,
    batch: int = DEFAULT_BATCH,
    lease_s: float = DEFAULT_LEASE_S,
    rebuild_gap: int | None = None,
    keep_lease: bool = False,
    leased: bool = False,
    states: States | None = None,
) -> BatchResult:
    """Apply the next batch of one user's events to their read models.

    Takes the user's lease first unless ``leased`` (the caller's previous batch
    renewed it); releases it once caught up unless ``keep_lease``. ``rebuild``
    when the stored version is not the code's, or when the user is more than
    ``rebuild_gap`` events behind: a full rebuild is cheaper than re-folding
    the same projects batch after batch. With ``states``, the batch folds forward from the user's
    folded state (server/projections/states.py), and keeps it there once its write commits.
    """
    recorder = recorder_for(store)
    version = code_version()
    if not leased:
        async with recorder.writing() as writes:
            if not await writes.take_lease(user_id, holder, lease_s):
                return BatchResult("busy", -1, 0)
    try:
        # Read and fold outside the write transaction, so that a push never waits for a fold: the
        # events up to the log's head never change, and the write below commits only if the lease
        # is still ours and the checkpoint is still where this read found it.
        read, models = await _read_and_fold(recorder, user_id, version, batch, rebuild_gap, states)
        if isinstance(read, int):
            if not keep_lease:
                await _release(recorder, user_id, holder)
            return BatchResult("rebuild", read, 0)
        async with recorder.writing() as writes:
            if not await writes.take_lease(user_id, holder, lease_s):
                raise CheckpointMoved(f"lost the lease of user {user_id} to another projector")
            await writes.record(user_id, models, Checkpoint(read.end, version), read.checkpoint)
            caught_up = read.end == await writes.log_head(user_id)
            handed = not keep_lease and await writes.hand_over(user_id, holder, lease_s)
            if caught_up and not keep_lease and not handed:
                await writes.release_lease(user_id, holder)
        if states is not None and read.forward is not None:
            states.keep(user_id, read.end, read.forward.last, read.forward.fold)  # committed
        if handed:
            return BatchResult("busy", read.end, read.events)  # a rebuild asked for the user
        return BatchResult("caught_up" if caught_up else "more", read.end, read.events)
    except BaseException:
        if not keep_lease:
            with contextlib.suppress(Exception):  # else the lease expires on its own
                await _release(recorder, user_id, holder)
        raise


async def project_round(
    store: EventStore | TrackingRecorder,
    user_ids: list[int],
    holder: str,
    *,
    batch: int = DEFAULT_BATCH,
    lease_s: float = DEFAULT_LEASE_S,
    rebuild_gap: int | None = None,
    leased: frozenset[int] | set[int] = frozenset(),
    states: States | None = None,
) -> dict[int, BatchResult | Exception]:
    """``project_batch`` for several users at once, in two write transactions for all of them.

    The leases not yet held (not in ``leased``) are taken in one write transaction; each user's batch
    is read and folded outside any transaction, as ``project_batch`` does, ``ROUND_READERS`` users at a
    time (their reads wait on reader threads meanwhile, their folds take turns); then one write
    transaction renews every lease, checks every checkpoint, writes every user's rows and checkpoint
    and releases the leases of those caught up. A user whose read or fold fails, whose lease was lost
    or whose checkpoint moved gets that exception as its result, and the others commit; a failure of
    the write transaction itself leaves nothing written, releases the leases and is raised (the caller
    projects the users one by one to tell which failed).

    Each write transaction ends in a commit, and on SQLite in an fsync: a round of twenty users behind
    costs two of them instead of forty, and the pushes waiting for the write lock queue behind two
    transactions instead of forty; reading the users concurrently halved what remained of a round
    (docs/performance.md, projector_lag).
    """
    recorder = recorder_for(store)
    version = code_version()
    results: dict[int, BatchResult | Exception] = {}
    held = [user_id for user_id in user_ids if user_id in leased]
    taking = [user_id for user_id in user_ids if user_id not in leased]
    if taking:
        async with recorder.writing() as writes:
            taken = await writes.take_leases(taking, holder, lease_s)
        for user_id, took in zip(taking, taken, strict=True):
            if took:
                held.append(user_id)
            else:
                results[user_id] = BatchResult("busy", -1, 0)
    reads: dict[int, tuple[_Batch, dict[str, Encoded | None]]] = {}
    letting_go: list[int] = []
    turns = asyncio.Semaphore(ROUND_READERS)

    async def read_and_fold(user_id: int) -> tuple[_Batch | int, dict[str, Encoded | None]]:
        async with turns:
            return await _read_and_fold(recorder, user_id, version, batch, rebuild_gap, states)

    found = await asyncio.gather(*(read_and_fold(user_id) for user_id in held), return_exceptions=True)
    for user_id, outcome in zip(held, found, strict=True):
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, Exception):
                raise outcome
            results[user_id] = outcome
            letting_go.append(user_id)
            continue
        read, models = outcome
        if isinstance(read, int):
            results[user_id] = BatchResult("rebuild", read, 0)
            letting_go.append(user_id)
        else:
            reads[user_id] = (read, models)
    try:
        await _write_round(recorder, reads, letting_go, holder, lease_s, version, results)
    except BaseException:
        with contextlib.suppress(Exception):  # else the leases expire on their own
            async with recorder.writing() as writes:
                await writes.release_all(holder, held)
        raise
    if states is not None:
        for user_id, (read, _) in reads.items():
            if isinstance(results[user_id], BatchResult) and read.forward is not None:
                states.keep(user_id, read.end, read.forward.last, read.forward.fold)  # committed
    return results


async def _write_round(
    recorder: TrackingRecorder,
    reads: dict[int, tuple[_Batch, dict[str, Encoded | None]]],
    letting_go: list[int],
    holder: str,
    lease_s: float,
    version: int,
    results: dict[int, BatchResult | Exception],
) -> None:
    """A round's one write transaction: the leases of ``letting_go`` released, and each read user's
    rows and checkpoint written where its lease and checkpoint still hold (its result set either way)."""
    async with recorder.writing() as writes:
        for user_id in letting_go:
            await writes.release_lease(user_id, holder)
        for user_id, (read, models) in reads.items():
            outcome = await writes.commit_batch(
                user_id, holder, lease_s, models, Checkpoint(read.end, version), read.checkpoint
            )
            if outcome == "lost":
                results[user_id] = CheckpointMoved(f"lost the lease of user {user_id} to another projector")
            elif outcome == "moved":
                results[user_id] = CheckpointMoved(
                    f"the checkpoint of user {user_id} moved under the projector"
                )
            else:
                results[user_id] = BatchResult(outcome, read.end, read.events)


async def _read_and_fold(
    recorder: TrackingRecorder,
    user_id: int,
    version: int,
    batch: int,
    rebuild_gap: int | None,
    states: States | None,
) -> tuple[_Batch | int, dict[str, Encoded | None]]:
    """The batch read in one snapshot and its projects' models (folded outside any transaction):
    forward from the user's folded state where it can, else re-folded from the log."""
    async with recorder.reading() as reading:
        read = await _read_batch(reading, user_id, version, batch, rebuild_gap, states)
    if isinstance(read, int):
        return read, {}
    if read.forward is not None:
        models = await asyncio.to_thread(_encoded, fold_batch, read.forward)
        if models is not None:
            return read, models
        # An event landed before those folded, or a retraction or redaction names one: re-fold.
        async with recorder.reading() as reading:
            read = await _read_batch(reading, user_id, version, batch, rebuild_gap, None)
        if isinstance(read, int):
            return read, {}
    models = await asyncio.to_thread(_encoded, refold, read.projects, read.retracted) if read.projects else {}
    return read, models or {}


def _encoded(
    fold: Callable[..., dict[str, ProjectModel | None] | None], *args: Any
) -> dict[str, Encoded | None] | None:
    """The fold's models encoded as rows, in the fold's thread: the write transaction, which holds the
    store's write lock that pushes wait for, then only writes bytes."""
    models = fold(*args)
    return None if models is None else encode_rows(models)


async def _read_batch(
    reading: LogReads,
    user_id: int,
    version: int,
    batch: int,
    rebuild_gap: int | None,
    states: States | None = None,
) -> _Batch | int:
    """The batch's events, in one snapshot; or the checkpoint's seq, when the user needs a rebuild."""
    head, checkpoint = await reading.standing(user_id)
    start = checkpoint or Checkpoint(0, version)
    too_far = rebuild_gap is not None and head - start.seq > rebuild_gap
    if start.version != version or too_far:
        return start.seq
    end = min(head, start.seq + batch)
    rows = await reading.events_after(user_id, start.seq, end) if end > start.seq else []
    keys = {key_of(project_id) for _, kind, project_id, _ in rows if kind not in TARGETING}
    targets = [
        target
        for _, kind, _, body in rows
        if kind in TARGETING and (target := retraction_target(decode_event(body)))
    ]
    targeted = await reading.keys_of_targets(user_id, targets, end)
    keys |= targeted
    if states is not None:
        held = states.take(user_id, None if checkpoint is None else checkpoint.seq)
        forward = await read_forward(reading, user_id, held, rows, keys, targeted, start.seq, end)
        return _Batch(checkpoint, end, len(rows), {}, [], forward)
    if not keys:
        return _Batch(checkpoint, end, len(rows), {}, [])
    retracted = await reading.retractions(user_id, end)
    return _Batch(checkpoint, end, len(rows), await reading.project_events(user_id, keys, end), retracted)


async def _release(recorder: TrackingRecorder, user_id: int, holder: str) -> None:
    async with recorder.writing() as writes:
        await writes.release_lease(user_id, holder)
