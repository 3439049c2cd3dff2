"""Hypothesis strategies for valid events of every type, as plain data a client would push.

Every version of a type is drawn (``metric.observed`` 1 and 2). Optional payload fields are absent,
null or set; timestamps carry any offset
and up to nine fractional digits; float fields may be given as integers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from schema import EVENT_TYPES
from schema.types import MAX_INT, MAX_LABEL, MAX_NAME, MAX_QUOTE, MAX_TAG, MAX_TAGS
from tests.factories import PROJECT_OPTIONAL

_CHARACTERS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def text(min_size: int = 1, max_size: int = 40) -> st.SearchStrategy[str]:
    """Strings without NUL or lone surrogates (kept short: limits are tested on their own)."""
    return st.text(_CHARACTERS, min_size=min_size, max_size=max_size)


uuids = st.uuids().map(str)
slugs = st.from_regex(r"\A[a-z0-9][a-z0-9_.-]{0,20}\Z")
finite = st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53)
names = text(1, min(MAX_NAME, 40))
labels = text(1, min(MAX_LABEL, 30))
long_text = text(1, 60)
quotes = text(1, min(MAX_QUOTE, 60))
event_types = st.sampled_from(sorted(EVENT_TYPES))
tags = st.lists(text(1, min(MAX_TAG, 12)), max_size=MAX_TAGS)


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """An RFC 3339 date-time between 1970 and 2100 with any offset and 0-9 fractional digits."""
    moment = draw(
        st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC))
    )
    minutes = draw(st.integers(-23 * 60 - 59, 23 * 60 + 59))
    local = moment.astimezone(timezone(timedelta(minutes=minutes)))
    digits = draw(st.integers(0, 9))
    fraction = f"{local.microsecond:06d}{draw(st.integers(0, 999)):03d}"[:digits]
    if minutes == 0 and draw(st.booleans()):
        zone = "Z"
    else:
        sign = "-" if minutes < 0 else "+"
        zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + zone


def _payload(
    required: dict[str, st.SearchStrategy[Any]], optional: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        data = {key: draw(strategy) for key, strategy in required.items()}
        for key, strategy in optional.items():
            choice = draw(st.sampled_from(("absent", "null", "set")))
            if choice == "null":
                data[key] = None
            elif choice == "set":
                data[key] = draw(strategy)
        return data

    return build()


_KINDS = st.sampled_from(["model", "experiment", "analysis", "infrastructure", "research", "other"])
_PROJECT_FIELDS = {"name": names, "kind": _KINDS, "summary": long_text, "team": names}


@st.composite
def _project_updated(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = draw(_payload({}, _PROJECT_FIELDS))
    if all(value is None for value in data.values()):
        key = draw(st.sampled_from(sorted(_PROJECT_FIELDS)))
        data[key] = draw(_PROJECT_FIELDS[key])
    return data


def _metric_observed(version: int) -> st.SearchStrategy[dict[str, Any]]:
    """Version 1, or version 2 with ``measure`` (absent, ``level`` or ``change``; never null) and the
    ``direction`` ``none``."""
    directions = ["higher_is_better", "lower_is_better"] + (["none"] if version >= 2 else [])

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        data: dict[str, Any] = draw(
            _payload(
                {
                    "key": slugs,
                    "layer": st.sampled_from(["model", "production", "business"]),
                    "value": finite,
                },
                {
                    "label": labels,
                    "unit": st.sampled_from(["%", "pp", "ms", "$", "hours/week", "count"]) | labels,
                    "baseline": finite,
                    "direction": st.sampled_from(directions),
                    "note": long_text,
                },
            )
        )
        if version >= 2 and draw(st.booleans()):
            data["measure"] = draw(st.sampled_from(["level", "change"]))
        if draw(st.booleans()):
            value = float(data["value"])
            data["low"] = draw(st.floats(max_value=value, allow_nan=False, allow_infinity=False))
            data["high"] = draw(st.floats(min_value=value, allow_nan=False, allow_infinity=False))
        return data

    return build()


_PAYLOADS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "project.started": _payload({"name": names, "kind": _KINDS}, {"summary": long_text, "team": names}),
    "project.updated": _project_updated(),
    "win.captured": _payload(
        {"text": long_text, "source": st.sampled_from(["text", "voice"])}, {"tags": tags}
    ),
    "milestone.reached": _payload(
        {
            "milestone": st.sampled_from(
                [
                    "trained",
                    "evaluated",
                    "experiment_launched",
                    "experiment_concluded",
                    "shadow_deployed",
                    "deployed",
                    "adopted",
                    "rolled_back",
                    "retired",
                    "abandoned",
                ]
            )
        },
        {"note": long_text},
    ),
    "metric.observed": _metric_observed(1),
    "metric.linked": _payload(
        {
            "cause": slugs,
            "effect": slugs,
            "evidence": st.sampled_from(
                ["ab_test", "shadow", "counterfactual", "before_after", "stakeholder_report", "estimate"]
            ),
        },
        {"note": long_text},
    ),
    "feedback.received": _payload(
        {"quote": quotes}, {"source_name": names, "source_team": names, "decision": long_text}
    ),
    "learning.noted": _payload({"text": long_text, "kind": st.sampled_from(["learned", "next"])}, {}),
    "event.retracted": _payload({"target": uuids}, {"reason": long_text}),
    "event.redacted": _payload({"target": uuids}, {"reason": long_text}),
}
PAYLOADS: dict[tuple[str, int], st.SearchStrategy[dict[str, Any]]] = {
    **{(name, 1): payload for name, payload in _PAYLOADS.items()},
    ("metric.observed", 2): _metric_observed(2),
}
"""A valid ``data`` of every known (type, version)."""
assert set(PAYLOADS) == {(t, v) for t, versions in EVENT_TYPES.items() for v in versions}, (
    "a strategy is missing for an event type or version"
)


@st.composite
def events(draw: st.DrawFn, types: st.SearchStrategy[str] = event_types) -> dict[str, Any]:
    """A valid event of any type (or of a type drawn from ``types``), at any version this code knows."""
    event_type = draw(types)
    version = draw(st.sampled_from(sorted(EVENT_TYPES[event_type])))
    project_id = draw(st.none() | uuids) if event_type in PROJECT_OPTIONAL else draw(uuids)
    event: dict[str, Any] = {
        "id": draw(uuids),
        "device_id": draw(uuids),
        "device_seq": draw(st.integers(1, MAX_INT)),
        "clock": draw(st.integers(0, MAX_INT)),
        "occurred_at": draw(timestamps()),
        "type": event_type,
        "v": version,
        "data": draw(PAYLOADS[(event_type, version)]),
    }
    if project_id is not None or draw(st.booleans()):
        event["project_id"] = project_id
    if event_type == "event.redacted" and event["data"]["target"] == event["id"]:
        event["data"]["target"] = draw(uuids.filter(lambda target: target != event["id"]))
    return event


@st.composite
def user_logs(draw: st.DrawFn, max_events: int = 20) -> list[dict[str, Any]]:
    """One user's log: events of a few projects from a few devices, with colliding clocks, and
    retractions and redactions of events of the log (before or after them), of retractions or
    redactions, or of unknown ids."""
    projects = draw(st.lists(uuids, min_size=1, max_size=3, unique=True))
    devices = draw(st.lists(uuids, min_size=1, max_size=3, unique=True))
    count = draw(st.integers(1, max_events))
    ids = draw(st.lists(uuids, min_size=count, max_size=count, unique=True))
    device_seqs = dict.fromkeys(devices, 0)
    log: list[dict[str, Any]] = []
    for event_id in ids:
        event = draw(events())
        device = draw(st.sampled_from(devices))
        device_seqs[device] += 1
        project = st.sampled_from(projects)
        event.update(
            id=event_id,
            device_id=device,
            device_seq=device_seqs[device],
            clock=draw(st.integers(0, 40)),
            project_id=draw(st.none() | project if event["type"] in PROJECT_OPTIONAL else project),
        )
        if event["type"] == "event.retracted":
            event["data"]["target"] = draw(st.sampled_from(ids) | uuids)
        elif event["type"] == "event.redacted":  # anything but itself (refused as invalid)
            others = [other for other in ids if other != event_id]
            target = st.sampled_from(others) | uuids if others else uuids
            event["data"]["target"] = draw(target.filter(event_id.__ne__))
        log.append(event)
    return log
