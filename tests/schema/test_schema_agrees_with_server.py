"""The published schemas and the server agree on single events.

Every event is judged three ways: by the server's validation (``schema.validation.decode_event``, and
its reference path), by the JSON Schema documents ``winledger schema export`` writes (the union in
``PushRequest.json`` and the per-type ``event.<type>.v<n>.json``), and by /openapi.json's components,
with the ``jsonschema`` library (draft 2020-12). What the server accepts, every schema accepts; what
the server refuses, every schema refuses, except for the rules in ``schema.jsonschema.UNSAYABLE``,
and a case here is refused by the server but accepted by the schemas only when it names such a rule.
docs/protocol.md (section 5.8) lists exactly those rules.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from schema import EVENT_TYPES
from schema.jsonschema import UNSAYABLE
from schema.protocol.jsonschema import schemas
from schema.types import MAX_INT
from schema.validation import Rejection, decode_event, decode_event_reference
from server.http.openapi import build
from server.settings import Settings
from tests.factories import FULL_DATA, an_event, with_data, without
from tests.strategies import events

DOCUMENTS = schemas()
PUSH = Draft202012Validator(DOCUMENTS["PushRequest.json"])
PER_VERSION = {
    (event_type, version): Draft202012Validator(DOCUMENTS[f"event.{event_type}.v{version}.json"])
    for event_type, versions in EVENT_TYPES.items()
    for version in versions
}
_OPENAPI = build(Settings())
OPENAPI_PUSH = Draft202012Validator(
    {"$ref": "#/components/schemas/PushRequest", "components": _OPENAPI["components"]}
)
DOC = Path(__file__).parents[2] / "docs" / "protocol.md"


def server_verdict(raw: bytes) -> Rejection | None:
    """None when the server takes the event; both of its paths must say the same."""
    fast, reference = decode_event(raw), decode_event_reference(raw)
    assert isinstance(fast, Rejection) == isinstance(reference, Rejection), (fast, reference)
    return fast if isinstance(fast, Rejection) else None


def schema_verdict(raw: bytes) -> bool:
    """True when the schemas accept the event; the exported union, the per-type document and
    /openapi.json must say the same."""
    event = json.loads(raw)  # what a client's validator sees: `1.0` stays a float
    accepted = PUSH.is_valid({"events": [event]})
    assert OPENAPI_PUSH.is_valid({"events": [event]}) == accepted, "/openapi.json and the export disagree"
    if isinstance(event, dict):
        versions = EVENT_TYPES.get(event.get("type"), {})  # type: ignore[arg-type]
        if event.get("v") in versions:  # 1.0 and True too: the document is the one they claim
            own = PER_VERSION[(event["type"], event["v"])].is_valid(event)
            assert own == accepted, "the per-type document and the union disagree"
        else:  # no document of this type has this version: each of them refuses it
            for version in versions:
                assert not PER_VERSION[(event["type"], version)].is_valid(event)
    return accepted


_RULE_MESSAGES = {
    "integer_spelling": re.compile(r"Expected `int`, got `float`|`v` must be an integer .* got \d+\.\d"),
    "occurred_at_range": re.compile(r"is outside 1970-01-01 to 2100-01-01"),
    "interval_order": re.compile(r"Interval must satisfy low <= value <= high"),
    "redaction_of_itself": re.compile(r"An event cannot redact itself"),
}
"""How each rule of ``UNSAYABLE`` reads in the server's rejection."""


def unsayable_rule(rejection: Rejection) -> str | None:
    found = [rule for rule, pattern in _RULE_MESSAGES.items() if pattern.search(rejection.message)]
    assert len(found) <= 1, rejection
    return found[0] if found else None


def _encode(event: Any) -> bytes:
    return msgspec.json.encode(event)


SELF = an_event("event.redacted")
METRIC = an_event("metric.observed", full=True)

ACCEPTED: dict[str, Any] = {
    **{f"{t}-required": an_event(t) for t in EVENT_TYPES},
    **{f"{t}-full": an_event(t, full=True) for t in EVENT_TYPES},
    "metric.observed-v2-full": an_event(
        "metric.observed",
        v=2,
        data={**FULL_DATA["metric.observed"], "measure": "change", "direction": "none"},
    ),
    "metric.observed-v2-without-measure": an_event("metric.observed", v=2),
    "win.captured-no-project_id": without(an_event("win.captured"), "project_id"),
    "win.captured-project_id-null": an_event("win.captured", project_id=None),
    "optional-fields-null": with_data(
        an_event("metric.observed"), label=None, low=None, high=None, note=None
    ),
    "interval-low-null-high-absent": with_data(an_event("metric.observed"), low=None),
    "project.updated-one-field-and-nulls": an_event("project.updated", data={"name": None, "team": "Growth"}),
    "occurred_at-space-lowercase-z": an_event(occurred_at="2026-03-14 09:26:53z"),
    "occurred_at-leap-second": an_event(occurred_at="2016-12-31T23:59:60Z"),
    "occurred_at-29-february-2024": an_event(occurred_at="2024-02-29T12:00:00+05:30"),
    "occurred_at-29-february-2000": an_event(occurred_at="2000-02-29T00:00:00Z"),
    "occurred_at-nine-digits": an_event(occurred_at="2026-03-14T09:26:53.123456789-00:00"),
    "occurred_at-first-moment": an_event(occurred_at="1970-01-01T00:00:00Z"),
    "occurred_at-last-moment": an_event(occurred_at="2099-12-31T23:59:59.9999999Z"),
    "occurred_at-1969-local-1970-utc": an_event(occurred_at="1969-12-31T23:30:00-01:00"),
    "occurred_at-2100-local-2099-utc": an_event(occurred_at="2100-01-01T00:30:00+01:00"),
    "text-10000-emoji": with_data(an_event(), text="😀" * 10_000),
    "value-minus-zero": with_data(an_event("metric.observed"), value=-0.0),
    "value-integer": with_data(an_event("metric.observed"), value=91),
    "clock-2^53-1": an_event(clock=MAX_INT),
    "clock-0": an_event(clock=0),
    "tags-20": with_data(an_event(), tags=["t"] * 20),
}

REFUSED: dict[str, tuple[Any, str | None]] = {
    # The 13 of issue 18: each accepted by the old schemas and refused by the server.
    "occurred_at-without-zone": (an_event(occurred_at="2026-03-14T09:26:53"), None),
    "occurred_at-30-february": (an_event(occurred_at="2026-02-30T00:00:00Z"), None),
    "occurred_at-year-2100": (an_event(occurred_at="2100-01-01T00:00:00Z"), None),
    "occurred_at-yesterday": (an_event(occurred_at="yesterday"), None),
    "v-0": (an_event(v=0), None),
    "v-2-of-a-v1-only-type": (an_event(v=2), None),
    "nul-in-text": (with_data(an_event(), text="a\x00b"), None),
    "clock-1.0": (an_event(clock=1.0), "integer_spelling"),
    "milestone-without-project_id": (without(an_event("milestone.reached"), "project_id"), None),
    "low-above-high": (with_data(METRIC, low=5.0, value=4.5, high=4.0), "interval_order"),
    "project.updated-empty": (an_event("project.updated", data={}), None),
    "redaction-of-itself": (with_data(SELF, target=SELF["id"]), "redaction_of_itself"),
    "v-3-of-metric.observed": (an_event("metric.observed", v=3), None),
    # More.
    "milestone-project_id-null": (an_event("milestone.reached", project_id=None), None),
    "project.updated-only-nulls": (an_event("project.updated", data={"name": None, "kind": None}), None),
    "low-without-high": (with_data(METRIC, high=...), None),
    "high-without-low": (with_data(METRIC, low=...), None),
    "low-with-high-null": (with_data(METRIC, high=None), None),
    "value-below-low": (with_data(METRIC, value=3.0), "interval_order"),
    "occurred_at-29-february-2026": (an_event(occurred_at="2026-02-29T00:00:00Z"), None),
    "occurred_at-29-february-2100": (an_event(occurred_at="2100-02-29T00:00:00Z"), None),
    "occurred_at-31-april": (an_event(occurred_at="2026-04-31T00:00:00Z"), None),
    "occurred_at-date-only": (an_event(occurred_at="2026-03-14"), None),
    "occurred_at-hour-24": (an_event(occurred_at="2026-03-14T24:00:00Z"), None),
    "occurred_at-second-61": (an_event(occurred_at="2026-03-14T09:26:61Z"), None),
    "occurred_at-offset-24": (an_event(occurred_at="2026-03-14T09:26:53+24:00"), None),
    "occurred_at-offset-minutes-60": (an_event(occurred_at="2026-03-14T09:26:53+01:60"), None),
    "occurred_at-offset-without-colon": (an_event(occurred_at="2026-03-14T09:26:53+0100"), None),
    "occurred_at-trailing-newline": (an_event(occurred_at="2026-03-14T09:26:53Z\n"), None),
    "occurred_at-1969-ahead-of-utc": (an_event(occurred_at="1969-12-31T23:30:00+01:00"), None),
    "occurred_at-2100-behind-utc": (an_event(occurred_at="2100-01-01T00:30:00-01:00"), None),
    "occurred_at-1969": (an_event(occurred_at="1969-12-31T23:59:59.999999Z"), None),
    "occurred_at-year-1": (an_event(occurred_at="0001-01-01T00:30:00+01:00"), None),
    "occurred_at-1969-local-1969-utc": (
        an_event(occurred_at="1969-12-31T23:30:00-00:15"),
        "occurred_at_range",
    ),
    "occurred_at-2100-local-2100-utc": (
        an_event(occurred_at="2100-01-01T00:30:00+00:15"),
        "occurred_at_range",
    ),
    "occurred_at-fullwidth-digits": (an_event(occurred_at="\uff12026-03-14T09:26:53Z"), None),
    "occurred_at-65-characters": (an_event(occurred_at="2026-03-14T09:26:53." + "1" * 44 + "Z"), None),
    "device_seq-1e3": (an_event(device_seq=1000.0), "integer_spelling"),
    "v-1.0": (an_event(v=1.0), "integer_spelling"),
    "nul-in-tag": (with_data(an_event(), tags=["ok", "a\x00"]), None),
    "nul-in-unit": (with_data(METRIC, unit="\x00"), None),
    "nul-in-project-name": (an_event("project.started", data={"name": "\x00", "kind": "model"}), None),
    "uppercase-id": (an_event(id="0190B4C2-7A1E-7C3D-9F2A-3B4C5D6E7F80"), None),
    "device_seq-0": (an_event(device_seq=0), None),
    "clock-2^53": (an_event(clock=2**53), None),
    "clock-negative": (an_event(clock=-1), None),
    "clock-string": (an_event(clock="1"), None),
    "clock-true": (an_event(clock=True), None),
    "seq-sent-back": ({**an_event(), "seq": 1}, None),
    "received_at-sent-back": ({**an_event(), "received_at": "2026-03-14T09:26:53.000000Z"}, None),
    "unknown-data-field": (with_data(an_event(), mood="great"), None),
    "no-data": (without(an_event(), "data"), None),
    "no-occurred_at": (without(an_event(), "occurred_at"), None),
    "unknown-type": ({**an_event(), "type": "win.lost"}, None),
    "enum-case": (with_data(an_event(), source="Voice"), None),
    "empty-text": (with_data(an_event(), text=""), None),
    "text-10001": (with_data(an_event(), text="a" * 10_001), None),
    "tags-21": (with_data(an_event(), tags=["t"] * 21), None),
    "tag-empty": (with_data(an_event(), tags=[""]), None),
    "slug-trailing-newline": (with_data(METRIC, key="auc\n"), None),
    "slug-uppercase": (with_data(METRIC, key="AUC"), None),
    "value-bool": (with_data(METRIC, value=True), None),
    "value-string": (with_data(METRIC, value="4.2"), None),
    "metric-v1-direction-none": (with_data(METRIC, direction="none"), None),
    "metric-v1-with-measure": (with_data(METRIC, measure="change"), None),
    "metric-v2-measure-null": (
        an_event("metric.observed", v=2, data={"key": "a", "layer": "model", "value": 1.0, "measure": None}),
        None,
    ),
    "project_id-uppercase": (
        an_event("win.captured", project_id="0190B4C2-7A1E-7C3D-9F2A-3B4C5D6E7F80"),
        None,
    ),
    "target-not-uuid": (with_data(SELF, target="x"), None),
    "not-an-object": ([1, 2], None),
}


def test_the_corpus_covers_every_rule_a_schema_cannot_say() -> None:
    assert {rule for _, rule in REFUSED.values() if rule} == set(UNSAYABLE)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_what_the_server_accepts_the_schemas_accept(name: str) -> None:
    raw = _encode(ACCEPTED[name])
    assert server_verdict(raw) is None
    assert schema_verdict(raw), name


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_what_the_server_refuses_the_schemas_refuse_unless_no_schema_can_say_it(name: str) -> None:
    event, rule = REFUSED[name]
    raw = _encode(event)
    rejection = server_verdict(raw)
    assert rejection is not None, f"{name}: the server took it"
    if rule is None:
        assert not schema_verdict(raw), f"{name}: the schemas take what the server refuses ({rejection})"
    else:  # when a schema learns to say the rule, it leaves UNSAYABLE (and the doc's list)
        assert unsayable_rule(rejection) == rule, rejection
        assert schema_verdict(raw), f"{name}: the schemas now refuse it; {rule} is no longer unsayable"


_EDGE_TIMES = st.sampled_from(
    [
        "1969-12-31T23:59:59Z",
        "1969-12-31T23:30:00-01:00",
        "1969-12-31T23:30:00+01:00",
        "2100-01-01T00:00:00Z",
        "2100-01-01T00:30:00+01:00",
        "2026-02-29T00:00:00Z",
        "2026-03-14T09:26:53",
        "2026-03-14T09:26:60Z",
        "2026-03-14T25:00:00Z",
    ]
) | st.from_regex(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)
_ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.sampled_from([1.0, 2**53, -0.0, 0.5, 1e308]),
    st.sampled_from(["", "a\x00", "x" * 201, "auc", "AUC", "voice", "none", "change", "level"]),
    st.lists(st.sampled_from(["t", "", "\x00"]), max_size=3),
    st.just({}),
)


@st.composite
def mutated_events(draw: st.DrawFn) -> Any:
    """A valid event, or one with a field or two changed, dropped or added: many are refused."""
    event: dict[str, Any] = draw(events())
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.sampled_from(["envelope", "data", "time", "interval", "redaction"]))
        if where == "time":
            event["occurred_at"] = draw(_EDGE_TIMES)
        elif where == "interval" and event["type"] == "metric.observed":
            for bound in ("low", "high"):
                event["data"][bound] = draw(st.none() | st.just(...) | st.floats(-10, 10))
                if event["data"][bound] is ...:
                    del event["data"][bound]
        elif where == "redaction" and isinstance(event.get("data"), dict) and "target" in event["data"]:
            event["data"]["target"] = event.get("id")
        else:
            target = event if where == "envelope" else event.get("data")
            if not isinstance(target, dict):
                continue
            key = draw(st.sampled_from([*sorted(target), "extra", "low", "measure", "project_id"]))
            if draw(st.booleans()) and key in target:
                del target[key]
            else:
                target[key] = draw(_ODD)
    return event


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_events())
def test_every_event_the_server_accepts_the_schemas_accept_and_refusals_only_for_unsayable_rules(
    event: Any,
) -> None:
    raw = _encode(event)
    rejection = server_verdict(raw)
    accepted = schema_verdict(raw)
    if rejection is None:
        assert accepted, "the schemas refuse an event the server accepts"
    elif accepted:
        assert unsayable_rule(rejection) is not None, f"the schemas take what the server refuses: {rejection}"


@settings(max_examples=300, deadline=None)
@given(events())
def test_every_valid_event_of_every_type_and_version_passes_the_schemas(event: dict[str, Any]) -> None:
    raw = _encode(event)
    assert server_verdict(raw) is None
    assert schema_verdict(raw)


def _doc_section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"### {title}")
    end = text.index("\n### ", start + 1)
    return text[start:end]


def test_the_protocol_doc_lists_exactly_the_rules_a_schema_cannot_say() -> None:
    """The section's first list is the rules: exactly those of ``UNSAYABLE``, word for word."""
    lines = _doc_section("5.8 What the JSON Schemas cannot say").splitlines()
    first = next(index for index, line in enumerate(lines) if line.startswith("- "))
    bullets = list(itertools.takewhile(lambda line: line.startswith("- "), lines[first:]))
    assert sorted(bullet.removeprefix("- ") for bullet in bullets) == sorted(UNSAYABLE.values())
