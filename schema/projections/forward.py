"""Folding forward: a project's model kept as a state to which new events are applied.

``build_project`` (``schema.projections.fold``) is the reference: a model is a function of the *set*
of events, re-folded from all of them. Most events arrive in canonical order ``(clock, device_id,
device_seq)`` after those already folded: those are applied to a ``ProjectFold`` one at a time, and
the model is drawn from the state. The others change what is already folded, and the state says so
(it is *stale*) instead of guessing; the caller then re-folds that project from all of its events:

- an event that lands before the last one folded, in canonical order (an offline device);
- a retraction of an event already folded (its target leaves the model), a redaction of one (its
  text is erased: ``schema.redaction``), and an event a redaction seen earlier names (the server's log
  stores it redacted; a set of events is redacted by the fold).

``UserFold`` keeps a user's projects this way, with their retractions; property tests
(tests/schema/test_forward.py) hold its models equal to ``build_project`` for every order and split
of the events into batches. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from schema.events import (
    Envelope,
    EventRedacted,
    EventRetracted,
    FeedbackReceived,
    LearningNoted,
    MetricLinked,
    MetricObserved,
    ProjectStarted,
    ProjectUpdated,
    WinCaptured,
)
from schema.projections.chains import build_chains, metric_label
from schema.projections.derive import derive
from schema.projections.fold import feedback_of, link_of, note_of, observation_of, revision_of
from schema.projections.journal import entry
from schema.projections.models import (
    Feedback,
    Link,
    MetricChains,
    Note,
    Observation,
    ProjectModel,
    Revision,
    TimelineEntry,
)

__all__ = ["ProjectFold", "UserFold"]

Key = tuple[int, str, int, str]
"""The canonical order of an event, then its id: ``(clock, device_id, device_seq, id)``."""

_REVISION, _OBSERVED, _LINK, _FEEDBACK, _NOTE = "revision", "observed", "link", "feedback", "note"
_KINDS: dict[type[Envelope], str] = {
    ProjectStarted: _REVISION,
    ProjectUpdated: _REVISION,
    MetricObserved: _OBSERVED,
    MetricLinked: _LINK,
    FeedbackReceived: _FEEDBACK,
    WinCaptured: _NOTE,
    LearningNoted: _NOTE,
}
"""What each type of event adds to the state besides its timeline line (a dispatch on the exact type:
the event Structs are final)."""
_first = itemgetter(0)
_dated = itemgetter(0, 1)


class ProjectFold:
    """One project's folded state: what ``fold_project`` records of its events, in canonical order."""

    __slots__ = (
        "chains",
        "entries",
        "feedback",
        "ids",
        "last",
        "links",
        "notes",
        "observations",
        "project_id",
        "revisions",
    )

    def __init__(self, project_id: str | None) -> None:
        self.project_id = project_id
        self.last: Key | None = None
        self.ids: dict[str, Key] = {}
        self.revisions: list[Revision] = []
        self.observations: dict[str, list[tuple[tuple[Any, ...], Observation]]] = {}
        self.links: list[tuple[tuple[Any, ...], Link]] = []
        self.feedback: list[Feedback] = []
        self.notes: list[Note] = []
        self.entries: list[tuple[str, tuple[Any, ...], TimelineEntry | MetricObserved]] = []
        """Each event's timeline line; an observation without a label keeps its event, as its line names
        the metric by its latest label, which a later observation may change."""
        self.chains: MetricChains | None = None
        """The project's metric chains as the last ``model`` built them; ``None`` once an observation or a
        link is added (they are all that chains are built from), so a batch of wins and milestones
        builds none."""

    @classmethod
    def of(
        cls, project_id: str | None, events: Iterable[Envelope], retracted: Iterable[str] = ()
    ) -> ProjectFold:
        """The state of the project from all of its events (any order, duplicates dropped), but those
        ``retracted`` hides and retractions and redactions; events of other projects are ignored."""
        hidden = set(retracted)
        fold = cls(project_id)
        for event in sorted(events, key=key_of):
            if (
                event.project_id == project_id
                and event.id not in hidden
                and not isinstance(event, EventRetracted | EventRedacted)
            ):
                fold.add(event)
        return fold

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, event: Envelope) -> bool:
        """Apply one visible event of the project; ``False``, and nothing applied, when it lands before
        an event already folded (the caller re-folds the project: ``of``). A copy of an event already
        folded changes nothing."""
        key = (event.clock, event.device_id, event.device_seq, event.id)
        seen = self.ids.get(event.id)
        if seen is not None:
            return key >= seen  # the reference keeps the first copy in canonical order
        if self.last is not None and key < self.last:
            return False
        self.ids[event.id] = self.last = key
        order = key[:3]
        occurred_at = event.occurred_at
        kind = _KINDS.get(type(event))
        line: TimelineEntry | MetricObserved
        if kind is _OBSERVED:
            data = event.data  # type: ignore[attr-defined]
            observed = self.observations.get(data.key)
            if observed is None:
                observed = self.observations[data.key] = []
            observed.append(((occurred_at, order), observation_of(event)))  # type: ignore[arg-type]
            self.chains = None
            line = event if not data.label else entry(event)  # type: ignore[assignment]
            self.entries.append((occurred_at, order, line))
            return True
        if kind is _NOTE:
            self.notes.append(note_of(event))  # type: ignore[arg-type]
        elif kind is _FEEDBACK:
            self.feedback.append(feedback_of(event))  # type: ignore[arg-type]
        elif kind is _REVISION:
            self.revisions.append(revision_of(event))  # type: ignore[arg-type]
        elif kind is _LINK:
            self.links.append(((occurred_at, order), link_of(event)))  # type: ignore[arg-type]
            self.chains = None
        line = entry(event)
        self.entries.append((occurred_at, order, line))
        return True

    def model(self) -> ProjectModel | None:
        """The project's model, as ``fold_project`` gives it; ``None`` when no event is folded."""
        if not self.entries:
            return None
        history = {
            key: [observation for _, observation in sorted(items, key=_first)]
            for key, items in self.observations.items()
        }
        labels = {key: metric_label(key, observed) for key, observed in history.items()}
        links = [link for _, link in sorted(self.links, key=_first)]
        if self.chains is None:
            self.chains = build_chains(self.project_id, history, links)
        return derive(
            self.project_id,
            revisions=list(self.revisions),
            entries=[
                line if isinstance(line, TimelineEntry) else entry(line, labels)
                for _, _, line in sorted(self.entries, key=_dated)
            ],
            history=history,
            links=links,
            feedback=sorted(self.feedback, key=lambda f: (f.occurred_at, f.id)),
            notes=sorted(self.notes, key=lambda n: (n.occurred_at, n.id)),
            chains=self.chains,
        )


def key_of(event: Envelope) -> Key:
    return (event.clock, event.device_id, event.device_seq, event.id)


class UserFold:
    """A user's projects folded forward, with the retractions and redactions seen so far.

    ``apply`` takes events as they arrive, in batches, in any order, and notes in ``stale`` each
    project whose state it cannot bring forward (see the module docstring); ``refold`` replaces such a
    project's state from all of its events. A project that is not stale gives ``build_project``'s model.
    """

    def __init__(self) -> None:
        self.projects: dict[str | None, ProjectFold] = {}
        self.stale: set[str | None] = set()
        self.retracted: set[str] = set()
        """The ids hidden by the retractions seen (``retracted_ids`` of them)."""
        self._retractions: set[str] = set()
        self.redacted: set[str] = set()
        """The targets of the redactions seen."""

    def events(self) -> int:
        return sum(len(fold) for fold in self.projects.values())

    def holder(self, event_id: str) -> str | bool | None:
        """The project whose state holds this event; ``False`` if none does."""
        for project_id, fold in self.projects.items():
            if event_id in fold.ids:
                return project_id
        return False

    def apply(self, events: Iterable[Envelope]) -> set[str | None]:
        """Apply events of the user (read into their current types); the projects they touch."""
        touched: set[str | None] = set()
        for event in events:
            if isinstance(event, EventRetracted | EventRedacted):
                target = event.data.target
                if isinstance(event, EventRetracted):
                    self._retractions.add(event.id)
                    self.retracted.discard(event.id)
                    if target not in self._retractions:
                        self.retracted.add(target)
                else:
                    self.redacted.add(target)
                holder = self.holder(target)
                if holder is not False:
                    self.stale.add(holder)  # type: ignore[arg-type]
                    touched.add(holder)  # type: ignore[arg-type]
                continue
            project_id = event.project_id
            touched.add(project_id)
            if event.id in self.retracted or project_id in self.stale:
                continue
            fold = self.projects.get(project_id)
            if fold is None:
                fold = self.projects[project_id] = ProjectFold(project_id)
            if (event.id in self.redacted and event.id not in fold.ids) or not fold.add(event):
                self.stale.add(project_id)  # a copy already folded was folded as the log holds it
        return touched

    def refold(self, project_id: str | None, events: Iterable[Envelope]) -> None:
        """Replace the project's state by a fold of all of its events (as the log now holds them)."""
        self.projects[project_id] = ProjectFold.of(project_id, events, self.retracted)
        self.stale.discard(project_id)

    def model(self, project_id: str | None) -> ProjectModel | None:
        if project_id in self.stale:
            raise ValueError(f"project {project_id!r} is stale: refold it first")
        fold = self.projects.get(project_id)
        return None if fold is None else fold.model()
