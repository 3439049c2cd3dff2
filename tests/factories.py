"""Test factories: valid events of every type as plain data, as a client would push them.

``an_event(type, **overrides)`` gives a valid event with fresh ids (a new
device per event, so that events made independently never share a
``(device_id, device_seq)``); ``full=True`` fills every optional field.
A ``Device`` makes a run of events with consecutive ``device_seq`` and
increasing clocks, the way one replica does.
"""

from __future__ import annotations

import copy
import itertools
import os
import time
import uuid
from typing import Any

import msgspec

from schema import CLIENT_FIELDS, EVENT_TYPES

PROJECT_OPTIONAL = frozenset({"win.captured", "learning.noted", "event.retracted", "event.redacted"})

REQUIRED_DATA: dict[str, dict[str, Any]] = {
    "project.started": {"name": "Churn model", "kind": "model"},
    "project.updated": {"summary": "Now predicts churn 30 days ahead."},
    "win.captured": {"text": "Shadow deploy matched offline AUC.", "source": "text"},
    "milestone.reached": {"milestone": "deployed"},
    "metric.observed": {"key": "auc", "layer": "model", "value": 0.91},
    "metric.linked": {"cause": "auc", "effect": "churn_rate", "evidence": "ab_test"},
    "feedback.received": {"quote": "We now call the top 200 every Monday."},
    "learning.noted": {"text": "Calibrate before thresholding.", "kind": "learned"},
    "event.retracted": {"target": "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80"},
    "event.redacted": {"target": "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80"},
}
"""The required payload fields of every type (``project.updated`` needs one of its optional ones)."""

FULL_DATA: dict[str, dict[str, Any]] = {
    "project.started": {
        "name": "Churn model",
        "kind": "model",
        "summary": "Predict churn 30 days ahead.",
        "team": "Retention",
    },
    "project.updated": {
        "name": "Churn model v2",
        "kind": "experiment",
        "summary": "Wider.",
        "team": "Growth",
    },
    "win.captured": {
        "text": "Said on the call: this changed how we plan the week.",
        "source": "voice",
        "tags": ["stakeholder", "retention"],
    },
    "milestone.reached": {"milestone": "shadow_deployed", "note": "One week in shadow."},
    "metric.observed": {
        "key": "churn_rate",
        "label": "Monthly churn",
        "layer": "business",
        "value": 4.25,
        "unit": "%",
        "baseline": 5.5,
        "low": 4.0,
        "high": 4.5,
        "direction": "lower_is_better",
        "note": "Four-week A/B test.",
    },
    "metric.linked": {
        "cause": "auc",
        "effect": "churn_rate",
        "evidence": "counterfactual",
        "note": "Holdout of 5%.",
    },
    "feedback.received": {
        "quote": "We stopped the manual list.",
        "source_name": "Dana",
        "source_team": "Customer success",
        "decision": "Retired the spreadsheet.",
    },
    "learning.noted": {"text": "Ship the shadow first next time.", "kind": "next"},
    "event.retracted": {"target": "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80", "reason": "Wrong project."},
    "event.redacted": {"target": "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80", "reason": "Named a customer."},
}
"""Every payload field of every type."""

assert set(REQUIRED_DATA) == set(FULL_DATA) == set(EVENT_TYPES), "a factory is missing for an event type"

ALL_TYPES = tuple(EVENT_TYPES)

_CLOCK_BASE = 1_767_225_600_000 << 10  # 2026-01-01T00:00:00Z in ms, as a hybrid logical clock
_clock_counter = itertools.count(1)


def new_id() -> str:
    """A fresh UUIDv7-shaped id in canonical lowercase form (time-ordered, like the client mints)."""
    unix_ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = unix_ms << 80 | 0x7 << 76 | (rand >> 62 & 0xFFF) << 64 | 0b10 << 62 | (rand & (1 << 62) - 1)
    return str(uuid.UUID(int=value))


def an_event(
    type: str = "win.captured",
    *,
    full: bool = False,
    data: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A valid event of ``type`` with fresh ids; ``overrides`` replace envelope fields.

    ``data`` replaces the payload; a project id is set exactly where the type
    requires one (pass ``project_id=...`` to choose it).
    """
    event: dict[str, Any] = {
        "id": new_id(),
        "device_id": str(uuid.uuid4()),
        "device_seq": 1,
        "clock": _CLOCK_BASE + next(_clock_counter),
        "occurred_at": "2026-03-14T09:26:53.589793Z",
        "type": type,
        "v": 1,
        "project_id": None if type in PROJECT_OPTIONAL else new_id(),
        "data": copy.deepcopy(data if data is not None else (FULL_DATA if full else REQUIRED_DATA)[type]),
    }
    event.update(overrides)
    return event


def with_data(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of ``event`` with payload fields changed (a value of ``...`` removes the field)."""
    copied = copy.deepcopy(event)
    for key, value in changes.items():
        if value is ...:
            copied["data"].pop(key, None)
        else:
            copied["data"][key] = value
    return copied


def without(event: dict[str, Any], *names: str) -> dict[str, Any]:
    """A copy of ``event`` without the given envelope fields."""
    return {key: value for key, value in copy.deepcopy(event).items() if key not in names}


class Device:
    """One replica: consecutive ``device_seq`` from 1 and strictly increasing clocks."""

    def __init__(self, device_id: str | None = None) -> None:
        self.device_id = device_id or new_id()
        self.device_seq = 0

    def event(self, type: str = "win.captured", **overrides: Any) -> dict[str, Any]:
        self.device_seq += 1
        fields: dict[str, Any] = {"device_id": self.device_id, "device_seq": self.device_seq}
        return an_event(type, **{**fields, **overrides})

    def events(self, count: int, type: str = "win.captured") -> list[dict[str, Any]]:
        return [self.event(type) for _ in range(count)]


def client_fields(event: dict[str, Any]) -> dict[str, Any]:
    """The nine client fields of a pulled event (drops ``seq`` and ``received_at``)."""
    return {name: event[name] for name in CLIENT_FIELDS}


def encode(value: Any, fmt: str) -> bytes:
    """``value`` as a request body in ``fmt`` (``json`` or ``msgpack``)."""
    return msgspec.json.encode(value) if fmt == "json" else msgspec.msgpack.encode(value)
