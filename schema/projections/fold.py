"""Folding a user's events into per-project models.

A model is a pure function of the *set* of events: duplicates are dropped,
events are put in the canonical order ``(clock, device_id, device_seq)`` and a
project is always re-folded from all of its events, so an event that arrives
late (an offline device) lands where it belongs. Retractions hide their target
whether they arrive before or after it; a retraction of a retraction, or of an
id this user does not hold, does nothing. Redactions erase their target's free
text (``schema.redaction``) whether or not the copy folded is already redacted;
neither kind shows in a model itself.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
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
from schema.hlc import canonical_order
from schema.projections.chains import metric_label
from schema.projections.derive import derive
from schema.projections.journal import entry, event_type
from schema.projections.models import (
    Feedback,
    Link,
    Note,
    Observation,
    ProjectModel,
    ProjectSummary,
    Revision,
)
from schema.redaction import apply_redactions
from schema.upcast import read_event

__all__ = [
    "build_models",
    "build_project",
    "feedback_of",
    "fold_project",
    "fold_read",
    "link_of",
    "note_of",
    "observation_of",
    "readable_events",
    "retracted_ids",
    "revision_of",
    "summary_of",
]


def readable_events(events: Iterable[Mapping[str, Any]]) -> list[Envelope]:
    """Known events of the set, once each, in canonical order, with retracted ones removed.

    Events of unknown types or versions (from a newer replica) are skipped.
    """
    unique: dict[str, Mapping[str, Any]] = {}
    for fields in sorted(events, key=_sort_key):
        unique.setdefault(fields["id"], fields)
    # A redacted target's text is gone even where an unredacted copy arrived (ADR 0007).
    readable = apply_redactions(unique.values())
    typed = [event for event in map(_read, readable) if event is not None]
    return _visible(typed, retracted_ids(typed))


def retracted_ids(events: Iterable[Envelope]) -> set[str]:
    """The ids hidden by the retractions among these events (a retraction of a retraction hides nothing)."""
    retractions = [event for event in events if isinstance(event, EventRetracted)]
    retraction_ids = {event.id for event in retractions}
    return {event.data.target for event in retractions if event.data.target not in retraction_ids}


def _visible(events: Iterable[Envelope], retracted: Container[str]) -> list[Envelope]:
    return [
        event
        for event in events
        if not isinstance(event, EventRetracted | EventRedacted) and event.id not in retracted
    ]


def fold_read(
    project_id: str | None, events: Iterable[Envelope], retracted: Container[str]
) -> ProjectModel | None:
    """``build_project`` for events already read into their current types (``schema.upcast``), given
    the ids the user's retractions hide (``retracted_ids`` of all of them); others are ignored.

    For a reader that decodes straight into the typed events, one project at a time.
    """
    unique: dict[str, Envelope] = {}
    for event in sorted(events, key=_typed_sort_key):
        unique.setdefault(event.id, event)
    items = [event for event in _visible(unique.values(), retracted) if event.project_id == project_id]
    return fold_project(project_id, items) if items else None


def _typed_sort_key(event: Envelope) -> tuple[Any, ...]:
    return (event.clock, event.device_id, event.device_seq, event.id)


def _sort_key(fields: Mapping[str, Any]) -> tuple[Any, ...]:
    # The canonical key, then the id: a deterministic order even for malformed duplicates.
    return (fields["clock"], fields["device_id"], fields["device_seq"], fields["id"])


def _read(fields: Mapping[str, Any]) -> Envelope | None:
    try:
        return read_event(dict(fields))
    except Exception:  # a stored event this code cannot read is skipped, never a crash
        return None


def build_models(events: Iterable[Mapping[str, Any]]) -> dict[str | None, ProjectModel]:
    """Every project model of a user from all of their events; key ``None`` holds project-less notes."""
    grouped: dict[str | None, list[Envelope]] = {}
    for event in readable_events(events):
        grouped.setdefault(event.project_id, []).append(event)
    return {project_id: fold_project(project_id, items) for project_id, items in grouped.items()}


def build_project(project_id: str | None, events: Iterable[Mapping[str, Any]]) -> ProjectModel | None:
    """One project's model from its events plus the user's retractions (others are ignored).

    ``None`` when nothing of the project remains (everything retracted).
    """
    items = [event for event in readable_events(events) if event.project_id == project_id]
    return fold_project(project_id, items) if items else None


def fold_project(project_id: str | None, events: list[Envelope]) -> ProjectModel:
    """Fold the visible events of one project, given in canonical order."""
    revisions: list[Revision] = []
    observations: dict[str, list[tuple[tuple[Any, ...], Observation]]] = {}
    links: list[tuple[tuple[Any, ...], Link]] = []
    feedback: list[Feedback] = []
    notes: list[Note] = []
    entries: list[tuple[str, tuple[Any, ...], Envelope]] = []
    for event in events:
        order = canonical_order(_key_fields(event))
        match event:
            case ProjectStarted() | ProjectUpdated():
                revisions.append(revision_of(event))
            case MetricObserved(data=data):
                observations.setdefault(data.key, []).append(
                    ((event.occurred_at, order), observation_of(event))
                )
            case MetricLinked():
                links.append(((event.occurred_at, order), link_of(event)))
            case FeedbackReceived():
                feedback.append(feedback_of(event))
            case WinCaptured() | LearningNoted():
                notes.append(note_of(event))
        entries.append((event.occurred_at, order, event))
    entries.sort(key=lambda item: (item[0], item[1]))
    links.sort(key=lambda item: item[0])
    history = {
        key: [o for _, o in sorted(items, key=lambda item: item[0])] for key, items in observations.items()
    }
    labels = {key: metric_label(key, observed) for key, observed in history.items()}
    return derive(
        project_id,
        revisions=revisions,
        entries=[entry(event, labels) for _, _, event in entries],
        history=history,
        links=[link for _, link in links],
        feedback=sorted(feedback, key=lambda f: (f.occurred_at, f.id)),
        notes=sorted(notes, key=lambda n: (n.occurred_at, n.id)),
    )


def revision_of(event: ProjectStarted | ProjectUpdated) -> Revision:
    data = event.data
    return Revision(
        id=event.id,
        occurred_at=event.occurred_at,
        started=isinstance(event, ProjectStarted),
        name=data.name,
        kind=data.kind,
        summary=data.summary,
        team=data.team,
    )


def observation_of(event: MetricObserved) -> Observation:
    data = event.data
    return Observation(
        id=event.id,
        occurred_at=event.occurred_at,
        value=data.value,
        baseline=data.baseline,
        low=data.low,
        high=data.high,
        note=data.note,
        measure=data.measure,
        label=data.label,
        unit=data.unit,
        direction=data.direction,
        layer=data.layer,
    )


def link_of(event: MetricLinked) -> Link:
    data = event.data
    return Link(
        id=event.id,
        occurred_at=event.occurred_at,
        cause=data.cause,
        effect=data.effect,
        evidence=data.evidence,
        note=data.note,
    )


def feedback_of(event: FeedbackReceived) -> Feedback:
    data = event.data
    return Feedback(
        id=event.id,
        occurred_at=event.occurred_at,
        quote=data.quote,
        source_name=data.source_name,
        source_team=data.source_team,
        decision=data.decision,
    )


def note_of(event: WinCaptured | LearningNoted) -> Note:
    if isinstance(event, WinCaptured):
        data = event.data
        return Note(
            id=event.id,
            occurred_at=event.occurred_at,
            type=event_type(event),
            text=data.text,
            kind=data.source,
            tags=list(data.tags or ()),
        )
    return Note(
        id=event.id,
        occurred_at=event.occurred_at,
        type=event_type(event),
        text=event.data.text,
        kind=event.data.kind,
    )


def _key_fields(event: Envelope) -> dict[str, Any]:
    return {"clock": event.clock, "device_id": event.device_id, "device_seq": event.device_seq}


def summary_of(model: ProjectModel) -> ProjectSummary:
    timeline = model.timeline
    return ProjectSummary(
        id=str(model.project_id),
        name=timeline.name,
        named=timeline.named,
        kind=timeline.kind,
        stage=timeline.stage,
        shipped=timeline.shipped,
        last_activity=timeline.last_activity,
        in_production=timeline.in_production,
    )
