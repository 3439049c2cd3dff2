"""The projector's folded states: each user's projects kept in memory between batches, folded forward.

``schema.projections.forward.UserFold`` holds a user's projects as states that new events are applied
to, so that a batch costs what its events cost, not what the projects they touch hold. Between batches
``States`` keeps each user's state beside the checkpoint it reflects; a batch (server/projections/
projector.py) uses it only if the checkpoint it reads is that one (another process, a rebuild or an
erasure moved it otherwise), and keeps it again only once its write has committed.

Within a batch, read in the batch's snapshot (a state is used only if the event at the checkpoint is
still the one it ended with):

- a user without a state starts from their retractions up to the batch's end;
- the projects the batch touches that the state does not hold, and those holding the target of a new
  retraction or redaction, are read whole (up to the batch's end), as a re-fold reads them, and folded;
- the new events are applied forward.

Where that cannot be done (an event lands before those folded), ``fold_batch`` gives ``None``: the
state is dropped and the batch re-folds its projects from the log as before (a second snapshot, the
same write). Memory is bounded by ``STATE_EVENTS`` events of
folded state across users, the least recently projected users dropped first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, NamedTuple

from schema.events import Envelope, EventRedacted, EventRetracted
from schema.projections import ProjectModel, build_project
from schema.projections.forward import UserFold
from server.projections.bodies import read_body
from server.projections.rows import key_of, project_of
from server.projections.tracking import LogReads, LogRow

STATE_EVENTS = 150_000
"""Events of folded state kept across users: about 500 bytes an event (measured: 45 MiB for the state of
100,000 of the benchmarks' events), so at most about 70 MiB beside the projector's own 70 MiB, within
the server's memory target with room for the requests. A user whose state alone is larger is folded
as before, each batch re-folding the projects it touches."""


class States:
    """Users' folded states, each at the checkpoint seq it reflects; least recently used dropped first."""

    def __init__(self, limit: int = STATE_EVENTS) -> None:
        self.limit = limit
        self._users: OrderedDict[int, tuple[int, bytes | None, int, UserFold]] = OrderedDict()
        """User id -> (checkpoint seq, body of the event at that seq, events held, state)."""

    def take(self, user_id: int, seq: int | None) -> tuple[UserFold, bytes | None] | None:
        """The user's state, and the body of its last event, if it reflects checkpoint ``seq``; it is the
        caller's until ``keep``."""
        held = self._users.pop(user_id, None)
        if held is None or seq is None or held[0] != seq:
            return None
        return held[3], held[1]

    def keep(self, user_id: int, seq: int, last: bytes | None, fold: UserFold) -> None:
        self._users[user_id] = (seq, last, fold.events(), fold)
        total = sum(events for _, _, events, _ in self._users.values())
        while total > self.limit and self._users:
            _, (_, _, events, _) = self._users.popitem(last=False)
            total -= events

    def drop(self, user_id: int) -> None:
        self._users.pop(user_id, None)

    def __contains__(self, user_id: int) -> bool:
        return user_id in self._users


class ForwardRead(NamedTuple):
    """What a batch read for folding forward, in its snapshot."""

    fold: UserFold
    retractions: list[bytes] | None
    """The user's retraction bodies up to the batch's end, for a state started afresh."""
    bodies: list[bytes]
    """The new events' bodies, in seq order."""
    whole: list[tuple[str, bytes]]
    """``(key, body)`` of every event of the touched projects the state does not hold."""
    keys: set[str]
    """The projects the batch touches (their rows are written)."""
    missing: set[str]
    """Those the state does not hold, and those holding a new retraction's or redaction's target:
    ``whole`` holds their events."""
    last: bytes | None
    """The body of the event at the batch's end: the state is taken again only beside the same."""


async def read_forward(
    reading: LogReads,
    user_id: int,
    held: tuple[UserFold, bytes | None] | None,
    rows: list[LogRow],
    keys: set[str],
    targeted: set[str],
    start: int,
    end: int,
) -> ForwardRead:
    """What the batch of ``rows`` (``start < seq <= end``) needs to fold forward from ``held``."""
    fold, last = held if held is not None else (None, None)
    if fold is not None and start > 0:
        # The same seq is the same log only if it ends with the same event (a user erased, and their id
        # given to a new user, could reach it again); a body rewritten by a redaction starts afresh too.
        at = await reading.events_after(user_id, start - 1, start)
        if not at or at[0][3] != last:
            fold = None
    retractions = None
    if fold is None:
        fold = UserFold()
        retractions = await reading.retraction_bodies(user_id, end)
    held_keys = {key_of(project_id) for project_id in fold.projects}
    missing = (keys - held_keys) | targeted
    whole = await reading.project_bodies(user_id, missing, end) if missing else []
    bodies = [body for _, _, _, body in rows]
    last = bodies[-1] if bodies else last
    return ForwardRead(fold, retractions, bodies, whole, keys, missing, last)


def fold_batch(read: ForwardRead) -> dict[str, ProjectModel | None] | None:
    """The touched projects' models, folded forward; ``None`` where a project must be re-folded."""
    fold = read.fold
    if read.retractions is not None:
        fold.apply(_typed(read.retractions))
    events = _typed(read.bodies)
    targeting = [event for event in events if isinstance(event, EventRetracted | EventRedacted)]
    fold.apply(targeting)
    if {key_of(project_id) for project_id in fold.stale} - read.missing:
        return None  # not read whole (the log's rows named another project than the state holds)
    grouped: dict[str, list[Envelope]] = {}
    for key, body in read.whole:
        event = read_body(body)
        if event is not None:
            grouped.setdefault(key, []).append(event)
    for key in read.missing:
        fold.refold(project_of(key), grouped.get(key, []))
    fold.apply(event for event in events if not isinstance(event, EventRetracted | EventRedacted))
    if fold.stale:
        return None
    return {key: fold.model(project_of(key)) for key in read.keys}


def refold(
    events: dict[str, list[dict[str, Any]]], retracted: list[dict[str, Any]]
) -> dict[str, ProjectModel | None]:
    """Each project's model re-folded from all of its events (decoded) and the user's retractions."""
    return {
        key: build_project(project_of(key), [*items, *retracted]) if items else None
        for key, items in events.items()
    }


def _typed(bodies: Iterable[bytes]) -> list[Envelope]:
    return [event for event in map(read_body, bodies) if event is not None]
