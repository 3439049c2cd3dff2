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
from datetime import date, datetime
from typing import Any, Protocol, TypeVar, get_args

from schema.canonical import parse_timestamp
from schema.events import (
    Envelope,
    EventRedacted,
    EventRetracted,
    FeedbackReceived,
    LearningNoted,
    MetricLinked,
    MetricObserved,
    MilestoneReached,
    ProjectStarted,
    ProjectUpdated,
    WinCaptured,
)
from schema.hlc import canonical_order
from schema.projections.chains import build_chains
from schema.projections.models import (
    DAYS_PER_MONTH,
    Feedback,
    Lags,
    Link,
    Note,
    Observation,
    ProductionPeriod,
    ProjectModel,
    ProjectSummary,
    Revision,
    Timeline,
    TimelineEntry,
)
from schema.redaction import apply_redactions
from schema.types import Stage
from schema.upcast import read_event


class _HasDate(Protocol):
    @property
    def occurred_at(self) -> str: ...


_Dated = TypeVar("_Dated", bound=_HasDate)

STAGE_ORDER: tuple[str, ...] = get_args(Stage)
_STAGE_RANK = {name: rank for rank, name in enumerate(STAGE_ORDER)}
_SUMMARY_CHARS = 140


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
    entries: list[tuple[str, tuple[Any, ...], TimelineEntry]] = []
    for event in events:
        order = canonical_order(_key_fields(event))
        match event:
            case ProjectStarted(data=data) | ProjectUpdated(data=data):
                revisions.append(
                    Revision(
                        id=event.id,
                        occurred_at=event.occurred_at,
                        started=isinstance(event, ProjectStarted),
                        name=data.name,
                        kind=data.kind,
                        summary=data.summary,
                        team=data.team,
                    )
                )
            case MetricObserved(data=data):
                observations.setdefault(data.key, []).append(
                    (
                        (event.occurred_at, order),
                        Observation(
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
                        ),
                    )
                )
            case MetricLinked(data=data):
                links.append(
                    (
                        (event.occurred_at, order),
                        Link(
                            id=event.id,
                            occurred_at=event.occurred_at,
                            cause=data.cause,
                            effect=data.effect,
                            evidence=data.evidence,
                            note=data.note,
                        ),
                    )
                )
            case FeedbackReceived(data=data):
                feedback.append(
                    Feedback(
                        id=event.id,
                        occurred_at=event.occurred_at,
                        quote=data.quote,
                        source_name=data.source_name,
                        source_team=data.source_team,
                        decision=data.decision,
                    )
                )
            case WinCaptured(data=data):
                notes.append(
                    Note(
                        id=event.id,
                        occurred_at=event.occurred_at,
                        type=event_type(event),
                        text=data.text,
                        kind=data.source,
                        tags=list(data.tags or ()),
                    )
                )
            case LearningNoted(data=data):
                notes.append(
                    Note(
                        id=event.id,
                        occurred_at=event.occurred_at,
                        type=event_type(event),
                        text=data.text,
                        kind=data.kind,
                    )
                )
        entries.append((event.occurred_at, order, _entry(event)))
    entries.sort(key=lambda item: (item[0], item[1]))
    links.sort(key=lambda item: item[0])
    history = {
        key: [o for _, o in sorted(items, key=lambda item: item[0])] for key, items in observations.items()
    }
    return derive(
        project_id,
        revisions=revisions,
        entries=[entry for _, _, entry in entries],
        history=history,
        links=[link for _, link in links],
        feedback=sorted(feedback, key=lambda f: (f.occurred_at, f.id)),
        notes=sorted(notes, key=lambda n: (n.occurred_at, n.id)),
    )


def derive(
    project_id: str | None,
    *,
    revisions: list[Revision],
    entries: list[TimelineEntry],
    history: dict[str, list[Observation]],
    links: list[Link],
    feedback: list[Feedback],
    notes: list[Note],
) -> ProjectModel:
    """A project's model from its recorded facts, each list in fold order.

    The facts are what a model keeps of its events, so that ``model_as_of`` can draw the model again
    from those recorded by a given day, without the events.
    """
    header: dict[str, Any] = {"name": None, "kind": None, "summary": None, "team": None}
    started_at: str | None = None
    for revision in revisions:
        if revision.started:
            if started_at is not None:
                continue  # the first start in canonical order counts; a second one does not
            started_at = revision.occurred_at
            header.update(
                name=revision.name, kind=revision.kind, summary=revision.summary, team=revision.team
            )
    for revision in revisions:
        if not revision.started:
            fields = {
                "name": revision.name,
                "kind": revision.kind,
                "summary": revision.summary,
                "team": revision.team,
            }
            header.update({name: value for name, value in fields.items() if value is not None})
    timeline = _timeline(project_id, header, started_at, entries, history)
    return ProjectModel(
        project_id=project_id,
        timeline=timeline,
        chains=build_chains(project_id, history, links),
        feedback=feedback,
        notes=notes,
        revisions=revisions,
    )


def model_as_of(model: ProjectModel, as_of: date) -> ProjectModel | None:
    """The model drawn from what was recorded by the end of ``as_of`` (UTC); ``None`` if nothing was.

    Equal to folding only the events that occurred by then (retractions and redactions apply whatever
    their date: they correct the record; ``schema.projections.period``).
    """
    day = as_of.isoformat()

    def by(items: list[_Dated]) -> list[_Dated]:
        return [item for item in items if item.occurred_at[:10] <= day]

    entries = by(model.timeline.entries)
    if not entries:
        return None
    if len(entries) == len(model.timeline.entries):
        return model
    history = {metric.key: kept for metric in model.chains.metrics if (kept := by(metric.history))}
    return derive(
        model.project_id,
        revisions=by(model.revisions),
        entries=entries,
        history=history,
        links=by(model.chains.links),
        feedback=by(model.feedback),
        notes=by(model.notes),
    )


def event_type(event: Envelope) -> str:
    return str(type(event).__struct_config__.tag)


def _key_fields(event: Envelope) -> dict[str, Any]:
    return {"clock": event.clock, "device_id": event.device_id, "device_seq": event.device_seq}


def _builtin_data(event: Any) -> dict[str, Any]:
    data = event.data
    return {name: getattr(data, name) for name in data.__struct_fields__}


def placeholder_name(project_id: str | None) -> str:
    if project_id is None:
        return "Without a project"
    return f"Unnamed project {project_id[:8]}"


def _timeline(
    project_id: str | None,
    header: dict[str, Any],
    started_at: str | None,
    entries: list[TimelineEntry],
    history: dict[str, list[Observation]],
) -> Timeline:
    stage: str | None = None
    production: list[ProductionPeriod] = []
    ended: str | None = None
    first: dict[str, str] = {}
    for entry in entries:  # in time order
        name = entry.milestone
        if name is None:
            continue
        first.setdefault(name, entry.occurred_at)
        if name in _STAGE_RANK and (stage is None or _STAGE_RANK[name] > _STAGE_RANK[stage]):
            stage = name
        if name == "deployed":
            ended = None
            if not production or production[-1].end is not None:
                production.append(ProductionPeriod(start=entry.occurred_at, start_id=entry.id))
        elif name in ("rolled_back", "retired"):
            ended = name
            if production and production[-1].end is None:
                last = production[-1]
                production[-1] = ProductionPeriod(
                    start=last.start,
                    start_id=last.start_id,
                    end=entry.occurred_at,
                    end_id=entry.id,
                    ended_by="rolled_back" if name == "rolled_back" else "retired",
                )
        elif name == "abandoned":
            ended = name
    first_metric: dict[str, str] = {}
    for observed in history.values():
        for observation in observed:
            layer = observation.layer
            if layer not in first_metric or observation.occurred_at < first_metric[layer]:
                first_metric[layer] = observation.occurred_at
    trained_at, deployed_at = first.get("trained"), first.get("deployed")
    to_deploy = _days(trained_at, deployed_at)
    to_business = _days(deployed_at, first_metric.get("business"))
    to_outcome = _days(trained_at, first_metric.get("business"))
    lags = Lags(
        trained_to_deployed_days=to_deploy,
        deployed_to_first_production_metric_days=_days(deployed_at, first_metric.get("production")),
        deployed_to_first_business_metric_days=to_business,
        trained_to_first_business_metric_days=to_outcome,
        trained_to_deployed_months=_months(to_deploy),
        deployed_to_first_business_metric_months=_months(to_business),
        trained_to_first_business_metric_months=_months(to_outcome),
    )
    return Timeline(
        project_id=project_id,
        name=header["name"] or placeholder_name(project_id),
        named=header["name"] is not None,
        kind=header["kind"],
        summary=header["summary"],
        team=header["team"],
        started_at=started_at,
        stage=ended or stage,
        shipped="deployed" in first,
        in_production=bool(production) and production[-1].end is None,
        abandoned=ended == "abandoned",
        trained_at=trained_at,
        deployed_at=deployed_at,
        first_production_metric_at=first_metric.get("production"),
        first_business_metric_at=first_metric.get("business"),
        production=production,
        lags=lags,
        entries=entries,
        last_activity=max((entry.occurred_at for entry in entries), default=None),
    )


def _days(start: str | None, end: str | None) -> int | None:
    if start is None or end is None:
        return None
    return (parse_timestamp(end) - parse_timestamp(start)).days


def _months(days: int | None) -> int | None:
    return None if days is None else int(days // DAYS_PER_MONTH)


def when(timestamp: str) -> datetime:
    return parse_timestamp(timestamp)


def _entry(event: Envelope) -> TimelineEntry:
    return TimelineEntry(
        id=event.id,
        type=event_type(event),
        occurred_at=event.occurred_at,
        summary=_clip(summarize(event)),
        milestone=event.data.milestone if isinstance(event, MilestoneReached) else None,
        note=event.data.note if isinstance(event, MilestoneReached) else None,
    )


def summarize(event: Envelope) -> str:
    """A one-line summary of an event, in the journal's words."""
    match event:
        case ProjectStarted(data=data):
            return f"Started the {data.kind} project “{data.name}”"
        case ProjectUpdated():
            changes = ", ".join(f"{k} → {v}" for k, v in _builtin_data(event).items() if v is not None)
            return f"Updated the project: {changes}"
        case WinCaptured(data=data):
            spoken = " (voice note)" if data.source == "voice" else ""
            return f"Win{spoken}: {data.text}"
        case MilestoneReached(data=data):
            note = f": {data.note}" if data.note else ""
            return f"Milestone {data.milestone.replace('_', ' ')}{note}"
        case MetricObserved(data=data):
            from schema.projections.chains import format_number, signed

            change = data.measure == "change"
            level = signed(data.value, data.unit) if change else format_number(data.value, data.unit)
            base = (
                f" against a baseline of {format_number(data.baseline, data.unit)}"
                if data.baseline is not None
                else ""
            )
            span = ""
            if data.low is not None and data.high is not None:
                ends = signed if change else format_number
                span = f", interval {ends(data.low, data.unit)} to {ends(data.high, data.unit)}"
            what = "a change of " if change else ""
            return f"{data.label or data.key} ({data.layer}) measured {what}{level}{base}{span}"
        case MetricLinked(data=data):
            return f"Linked {data.cause} to {data.effect} ({data.evidence.replace('_', ' ')})"
        case FeedbackReceived(data=data):
            who = " ".join(
                part
                for part in (data.source_name, f"({data.source_team})" if data.source_team else None)
                if part
            )
            decision = f"; decided: {data.decision}" if data.decision else ""
            return f"Feedback{' from ' + who if who else ''}: “{data.quote}”{decision}"
        case LearningNoted(data=data):
            return f"{'Learned' if data.kind == 'learned' else 'Next'}: {data.text}"
    return event_type(event)


def _clip(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _SUMMARY_CHARS else line[: _SUMMARY_CHARS - 1].rstrip() + "…"


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
