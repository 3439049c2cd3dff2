"""Each event as a line of the project's journal: its timeline entry and one-line summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schema.events import (
    Envelope,
    FeedbackReceived,
    LearningNoted,
    MetricLinked,
    MetricObserved,
    MilestoneReached,
    ProjectStarted,
    ProjectUpdated,
    WinCaptured,
)
from schema.projections.chains import format_number, signed
from schema.projections.models import TimelineEntry

__all__ = ["entry", "event_type", "summarize"]

_SUMMARY_CHARS = 140


def event_type(event: Envelope) -> str:
    return str(type(event).__struct_config__.tag)


def entry(event: Envelope, labels: Mapping[str, str] | None = None) -> TimelineEntry:
    """The timeline's line for ``event``; ``labels`` names each metric as the chains do (its latest
    label, else its key made readable), so an observation recorded without a label reads the same."""
    return TimelineEntry(
        id=event.id,
        type=event_type(event),
        occurred_at=event.occurred_at,
        summary=_clip(summarize(event, labels)),
        milestone=event.data.milestone if isinstance(event, MilestoneReached) else None,
        note=event.data.note if isinstance(event, MilestoneReached | MetricObserved) else None,
    )


def summarize(event: Envelope, labels: Mapping[str, str] | None = None) -> str:
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
            label = data.label or (labels or {}).get(data.key) or data.key
            return f"{label} ({data.layer}) measured {what}{level}{base}{span}"
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
    """The text on one line, its whitespace runs one space, cut to ``_SUMMARY_CHARS`` with an ellipsis."""
    head = text[: _SUMMARY_CHARS + 1]
    # Fast path: a text already on one line (no whitespace but single spaces, none at its start) is its
    # own normalized form up to where it is cut (``isprintable`` is false for every other whitespace).
    if head.isprintable() and "  " not in head and head[:1] != " ":
        if len(text) <= _SUMMARY_CHARS and text[-1:] != " ":
            return text
        if len(head) > _SUMMARY_CHARS and head[-1] != " ":
            return head[: _SUMMARY_CHARS - 1].rstrip() + "…"
    line = " ".join(text.split())
    return line if len(line) <= _SUMMARY_CHARS else line[: _SUMMARY_CHARS - 1].rstrip() + "…"


def _builtin_data(event: Any) -> dict[str, Any]:
    data = event.data
    return {name: getattr(data, name) for name in data.__struct_fields__}
