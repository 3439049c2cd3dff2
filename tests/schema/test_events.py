"""Validation of single events: what every type accepts, and every constraint's rejection."""

from __future__ import annotations

import typing
from typing import Any

import msgspec
import pytest

from schema import (
    CURRENT_VERSIONS,
    EVENT_TYPES,
    INVALID_EVENT,
    UNKNOWN_TYPE,
    UNSUPPORTED_VERSION,
    MetricObserved,
    MetricObservedV1Event,
    Rejection,
    ValidEvent,
    decode_event,
    validate_fields,
)
from schema.events import MetricObservedV1, MetricObservedV2
from tests.factories import (
    ALL_TYPES,
    FULL_DATA,
    PROJECT_OPTIONAL,
    REQUIRED_DATA,
    an_event,
    encode,
    with_data,
    without,
)

MAX_INT = 2**53 - 1
FORMATS = ("json", "msgpack")
PATH = "$.events[3]"
UUID = "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80"


def decode(event: Any, fmt: str = "json") -> ValidEvent | Rejection:
    return decode_event(encode(event, fmt), fmt, PATH)  # type: ignore[arg-type]


def assert_invalid(result: ValidEvent | Rejection, *, at: str, mentions: str = "") -> None:
    assert isinstance(result, Rejection), f"expected a rejection, got {result!r}"
    assert result.code == INVALID_EVENT, result.message
    assert f"`{PATH}{at}`" in result.message, result.message
    assert mentions in result.message, result.message


# -- what every type accepts -------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("full", [False, True], ids=["required-only", "all-fields"])
@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_every_type_validates(event_type: str, full: bool, fmt: str) -> None:
    event = an_event(event_type, full=full)
    result = decode(event, fmt)
    assert isinstance(result, ValidEvent), result
    assert result.id == event["id"]
    assert result.fields["data"] == event["data"]
    assert type(result.event) is EVENT_TYPES[event_type][1]


def test_the_factories_cover_every_type_and_optional_field() -> None:
    for event_type, versions in EVENT_TYPES.items():
        payload = typing.get_type_hints(versions[1])["data"]
        names = {field.name for field in msgspec.structs.fields(payload)}
        assert names == set(an_event(event_type, full=True)["data"]), event_type


@pytest.mark.parametrize("event_type", sorted(PROJECT_OPTIONAL))
def test_project_id_is_optional_for_captures_learnings_and_retractions(event_type: str) -> None:
    for event in (
        an_event(event_type, project_id=None),
        without(an_event(event_type), "project_id"),
        an_event(event_type, project_id=UUID),
    ):
        assert isinstance(decode(event), ValidEvent)


@pytest.mark.parametrize("event_type", sorted(set(ALL_TYPES) - PROJECT_OPTIONAL))
@pytest.mark.parametrize("fmt", FORMATS)
def test_project_id_is_required_for_every_other_type(event_type: str, fmt: str) -> None:
    assert_invalid(decode(an_event(event_type, project_id=None), fmt), at=".project_id")
    assert_invalid(decode(without(an_event(event_type), "project_id"), fmt), at=".project_id")


@pytest.mark.parametrize(
    ("event_type", "field", "value"),
    [
        ("project.started", "name", "n" * 200),
        ("project.started", "summary", "s" * 10_000),
        ("project.started", "team", "t" * 200),
        ("win.captured", "text", "w" * 10_000),
        ("win.captured", "tags", ["t" * 50] * 20),
        ("win.captured", "tags", []),
        ("feedback.received", "quote", "q" * 2_000),
        ("metric.observed", "key", "a" * 64),
        ("metric.observed", "key", "0.9-x_y"),
        ("metric.observed", "label", "l" * 100),
        ("metric.observed", "unit", "u" * 100),
        ("metric.observed", "value", -1e308),
        ("metric.observed", "value", 0),
        ("learning.noted", "text", "\u00e9\U0001f600 line\nbreak"),
    ],
)
def test_values_at_the_limits_are_accepted(event_type: str, field: str, value: Any) -> None:
    result = decode(with_data(an_event(event_type), **{field: value}))
    assert isinstance(result, ValidEvent), result


@pytest.mark.parametrize(
    "envelope",
    [
        {"device_seq": 1},
        {"device_seq": MAX_INT},
        {"clock": 0},
        {"clock": MAX_INT},
    ],
)
def test_integers_at_their_bounds_are_accepted(envelope: dict[str, Any]) -> None:
    assert isinstance(decode(an_event(**envelope)), ValidEvent)


def test_an_interval_may_be_a_single_point() -> None:
    event = an_event("metric.observed", data={"key": "k", "layer": "model", "value": 2, "low": 2, "high": 2})
    assert isinstance(decode(event), ValidEvent)


# -- every constraint rejects with invalid_event and the field's path ---------------

LONG_NAME, LONG_LABEL, LONG_TEXT, LONG_QUOTE = "n" * 201, "l" * 101, "t" * 10_001, "q" * 2_001

ENVELOPE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("id-uppercase", {"id": UUID.upper()}, ".id"),
    ("id-braces", {"id": "{" + UUID + "}"}, ".id"),
    ("id-no-hyphens", {"id": UUID.replace("-", "")}, ".id"),
    ("id-urn", {"id": "urn:uuid:" + UUID}, ".id"),
    ("id-trailing-newline", {"id": UUID + "\n"}, ".id"),
    ("id-short", {"id": UUID[:-1]}, ".id"),
    ("id-number", {"id": 12}, ".id"),
    ("device-id-uppercase", {"device_id": UUID.upper()}, ".device_id"),
    ("device-id-null", {"device_id": None}, ".device_id"),
    ("device-seq-zero", {"device_seq": 0}, ".device_seq"),
    ("device-seq-negative", {"device_seq": -1}, ".device_seq"),
    ("device-seq-2^53", {"device_seq": MAX_INT + 1}, ".device_seq"),
    ("device-seq-bool", {"device_seq": True}, ".device_seq"),
    ("device-seq-float", {"device_seq": 1.0}, ".device_seq"),
    ("device-seq-string", {"device_seq": "1"}, ".device_seq"),
    ("clock-negative", {"clock": -1}, ".clock"),
    ("clock-2^53", {"clock": MAX_INT + 1}, ".clock"),
    ("clock-bool", {"clock": False}, ".clock"),
    ("clock-float", {"clock": 12.5}, ".clock"),
    ("v-bool", {"v": True}, ".v"),
    ("v-negative", {"v": -1}, ".v"),
    ("v-2^53", {"v": MAX_INT + 1}, ".v"),
    ("v-string", {"v": "1"}, ".v"),
    ("v-float", {"v": 1.0}, ".v"),
    ("occurred-at-no-timezone", {"occurred_at": "2026-03-14T09:26:53"}, ".occurred_at"),
    ("occurred-at-date-only", {"occurred_at": "2026-03-14"}, ".occurred_at"),
    ("occurred-at-number", {"occurred_at": 1_773_480_413}, ".occurred_at"),
    ("occurred-at-too-early", {"occurred_at": "1969-12-31T23:59:59.999999Z"}, ".occurred_at"),
    ("occurred-at-too-late", {"occurred_at": "2100-01-01T00:00:00Z"}, ".occurred_at"),
    ("occurred-at-bad-day", {"occurred_at": "2026-02-30T00:00:00Z"}, ".occurred_at"),
    ("occurred-at-bad-offset", {"occurred_at": "2026-03-14T09:26:53+24:00"}, ".occurred_at"),
    ("occurred-at-trailing-newline", {"occurred_at": "2026-03-14T09:26:53Z\n"}, ".occurred_at"),
    ("project-id-uppercase", {"project_id": UUID.upper()}, ".project_id"),
    ("data-list", {"data": []}, ".data"),
    ("data-null", {"data": None}, ".data"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("changes", "at"), [c[1:] for c in ENVELOPE_CASES], ids=[c[0] for c in ENVELOPE_CASES]
)
def test_envelope_constraints(changes: dict[str, Any], at: str, fmt: str) -> None:
    assert_invalid(decode({**an_event("milestone.reached"), **changes}, fmt), at=at)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("field", ["id", "device_id", "device_seq", "clock", "occurred_at", "v", "data"])
def test_every_required_envelope_field(field: str, fmt: str) -> None:
    result = decode(without(an_event(), field), fmt)
    assert isinstance(result, Rejection) and result.code == INVALID_EVENT
    assert f"`{field}`" in result.message and PATH in result.message, result.message


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("field", ["seq", "received_at", "extra", "Type"])
def test_unknown_envelope_fields_are_rejected(field: str, fmt: str) -> None:
    assert_invalid(decode({**an_event(), field: 1}, fmt), at="", mentions=f"`{field}`")


DATA_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("project.started", "name-empty", {"name": ""}, ".data.name"),
    ("project.started", "name-long", {"name": LONG_NAME}, ".data.name"),
    ("project.started", "name-missing", {"name": ...}, ".data"),
    ("project.started", "name-null", {"name": None}, ".data.name"),
    ("project.started", "kind-enum", {"kind": "Model"}, ".data.kind"),
    ("project.started", "summary-long", {"summary": LONG_TEXT}, ".data.summary"),
    ("project.started", "team-long", {"team": LONG_NAME}, ".data.team"),
    ("project.started", "unknown", {"owner": "me"}, ".data"),
    ("project.updated", "name-empty", {"name": ""}, ".data.name"),
    ("project.updated", "kind-enum", {"kind": "model-ish"}, ".data.kind"),
    ("win.captured", "text-empty", {"text": ""}, ".data.text"),
    ("win.captured", "text-long", {"text": LONG_TEXT}, ".data.text"),
    ("win.captured", "text-nul", {"text": "before\x00after"}, ".data.text"),
    ("win.captured", "source-enum", {"source": "audio"}, ".data.source"),
    ("win.captured", "tags-21", {"tags": ["t"] * 21}, ".data.tags"),
    ("win.captured", "tag-51", {"tags": ["ok", "t" * 51]}, ".data.tags[1]"),
    ("win.captured", "tag-empty", {"tags": [""]}, ".data.tags[0]"),
    ("win.captured", "tag-number", {"tags": [1]}, ".data.tags[0]"),
    ("win.captured", "tag-nul", {"tags": ["a", "b\x00"]}, ".data.tags[1]"),
    ("win.captured", "tags-string", {"tags": "a,b"}, ".data.tags"),
    ("win.captured", "unknown-null", {"mood": None}, ".data"),
    ("milestone.reached", "milestone-enum", {"milestone": "shipped"}, ".data.milestone"),
    ("milestone.reached", "note-long", {"note": LONG_TEXT}, ".data.note"),
    ("milestone.reached", "note-nul", {"note": "\x00"}, ".data.note"),
    ("metric.observed", "key-upper", {"key": "AUC"}, ".data.key"),
    ("metric.observed", "key-leading-dash", {"key": "-auc"}, ".data.key"),
    ("metric.observed", "key-space", {"key": "a uc"}, ".data.key"),
    ("metric.observed", "key-65", {"key": "k" * 65}, ".data.key"),
    ("metric.observed", "key-empty", {"key": ""}, ".data.key"),
    ("metric.observed", "key-trailing-newline", {"key": "auc\n"}, ".data.key"),
    ("metric.observed", "layer-enum", {"layer": "offline"}, ".data.layer"),
    ("metric.observed", "value-string", {"value": "0.9"}, ".data.value"),
    ("metric.observed", "value-bool", {"value": True}, ".data.value"),
    ("metric.observed", "value-null", {"value": None}, ".data.value"),
    ("metric.observed", "label-long", {"label": LONG_LABEL}, ".data.label"),
    ("metric.observed", "unit-long", {"unit": LONG_LABEL}, ".data.unit"),
    ("metric.observed", "unit-empty", {"unit": ""}, ".data.unit"),
    ("metric.observed", "baseline-bool", {"baseline": False}, ".data.baseline"),
    ("metric.observed", "direction-enum", {"direction": "up"}, ".data.direction"),
    ("metric.observed", "low-above-value", {"low": 4.3, "high": 5}, ".data"),
    ("metric.observed", "high-below-value", {"low": 4, "high": 4.2}, ".data"),
    ("metric.observed", "low-only", {"high": ...}, ".data.high"),
    ("metric.observed", "high-only", {"low": ...}, ".data.low"),
    ("metric.observed", "low-only-null-high", {"high": None}, ".data.high"),
    ("metric.observed", "note-long", {"note": LONG_TEXT}, ".data.note"),
    ("metric.linked", "cause-slug", {"cause": "Auc"}, ".data.cause"),
    ("metric.linked", "effect-slug", {"effect": "churn rate"}, ".data.effect"),
    ("metric.linked", "evidence-enum", {"evidence": "vibes"}, ".data.evidence"),
    ("feedback.received", "quote-empty", {"quote": ""}, ".data.quote"),
    ("feedback.received", "quote-long", {"quote": LONG_QUOTE}, ".data.quote"),
    ("feedback.received", "source-name-long", {"source_name": LONG_NAME}, ".data.source_name"),
    ("feedback.received", "source-team-long", {"source_team": LONG_NAME}, ".data.source_team"),
    ("feedback.received", "decision-long", {"decision": LONG_TEXT}, ".data.decision"),
    ("learning.noted", "text-empty", {"text": ""}, ".data.text"),
    ("learning.noted", "kind-enum", {"kind": "todo"}, ".data.kind"),
    ("event.retracted", "target-upper", {"target": UUID.upper()}, ".data.target"),
    ("event.retracted", "target-braces", {"target": "{" + UUID + "}"}, ".data.target"),
    ("event.retracted", "target-missing", {"target": ...}, ".data"),
    ("event.retracted", "reason-long", {"reason": LONG_TEXT}, ".data.reason"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("event_type", "changes", "at"),
    [(t, c, a) for t, _, c, a in DATA_CASES],
    ids=[f"{t}-{name}" for t, name, _, _ in DATA_CASES],
)
def test_payload_constraints(event_type: str, changes: dict[str, Any], at: str, fmt: str) -> None:
    assert_invalid(decode(with_data(an_event(event_type, full=True), **changes), fmt), at=at)


def test_messages_name_the_field_and_quote_the_problem() -> None:
    result = decode(with_data(an_event("win.captured"), source="audio"))
    assert isinstance(result, Rejection)
    assert "'audio'" in result.message and "`$.events[3].data.source`" in result.message
    result = decode(with_data(an_event("metric.observed"), low=0.95, high=0.99))
    assert isinstance(result, Rejection)
    assert "low=0.95" in result.message and "high=0.99" in result.message


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("data", [{}, {"name": None, "kind": None, "summary": None, "team": None}])
def test_project_updated_needs_at_least_one_field(data: dict[str, Any], fmt: str) -> None:
    assert_invalid(decode(an_event("project.updated", data=data), fmt), at=".data", mentions="at least one")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("field", ["value", "baseline", "low", "high"])
def test_floats_must_be_finite_in_msgpack(field: str, value: float) -> None:
    event = with_data(an_event("metric.observed", full=True), **{field: value})
    assert_invalid(decode(event, "msgpack"), at=f".data.{field}", mentions="finite")


@pytest.mark.parametrize("literal", [b"1e400", b"-1e400"])
def test_floats_must_be_finite_in_json(literal: bytes) -> None:
    text = encode(with_data(an_event("metric.observed"), value=12345.5), "json")
    raw = text.replace(b"12345.5", literal)
    assert_invalid(decode_event(raw, "json", PATH), at=".data.value")


# -- which code wins -----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_type_comes_before_unsupported_version_and_invalid_event(fmt: str) -> None:
    event = {**an_event(), "type": "win.celebrated", "v": 99, "device_seq": 0, "data": {"x": 1}}
    result = decode(event, fmt)
    assert isinstance(result, Rejection) and result.code == UNKNOWN_TYPE
    assert "'win.celebrated'" in result.message and f"`{PATH}.type`" in result.message
    assert result.id == event["id"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("version", [0, 2, MAX_INT])
def test_unsupported_version_comes_before_invalid_event(version: int, fmt: str) -> None:
    event = {**an_event(), "v": version, "device_seq": 0, "data": {"x": 1}}
    result = decode(event, fmt)
    assert isinstance(result, Rejection) and result.code == UNSUPPORTED_VERSION
    assert f"`{PATH}.v`" in result.message


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("changes", [{"type": ...}, {"type": 7}, {"type": None}])
def test_a_missing_or_non_string_type_is_invalid(changes: dict[str, Any], fmt: str) -> None:
    event = an_event()
    event = without(event, "type") if changes["type"] is ... else {**event, **changes}
    result = decode(event, fmt)
    assert isinstance(result, Rejection) and result.code == INVALID_EVENT
    assert "type" in result.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_rejection_echoes_the_id_when_it_is_a_string(fmt: str) -> None:
    bad = decode(an_event(id="not-a-uuid", device_seq=0), fmt)
    assert isinstance(bad, Rejection) and bad.id == "not-a-uuid"
    unknown = decode({**an_event(id=42), "type": "nope"}, fmt)
    assert isinstance(unknown, Rejection) and unknown.id is None


# -- validate_fields (how the client SDK validates what it builds) -------------------


def test_validate_fields_accepts_and_normalizes_plain_data() -> None:
    event = an_event(occurred_at="2026-03-14T10:26:53+01:00")
    result = validate_fields(event)
    assert isinstance(result, ValidEvent)
    assert result.fields["occurred_at"] == "2026-03-14T09:26:53.000000Z"


@pytest.mark.parametrize(
    ("where", "value"),
    [("text", "lone \ud800 surrogate"), ("tags", ["ok", "\udfff"])],
)
def test_validate_fields_rejects_lone_surrogates_instead_of_raising(where: str, value: Any) -> None:
    result = validate_fields(with_data(an_event("win.captured"), **{where: value}))
    assert isinstance(result, Rejection) and result.code == INVALID_EVENT
    assert f"$.data.{where}" in result.message and "surrogate" in result.message


def test_validate_fields_rejects_values_that_cannot_be_encoded() -> None:
    result = validate_fields(an_event(clock=2**70))
    assert isinstance(result, Rejection) and result.code == INVALID_EVENT


# -- metric.observed version 2: `measure`, and `direction` none ----------------------

METRIC_V2 = {
    **REQUIRED_DATA["metric.observed"],
    "key": "conversion_lift",
    "layer": "business",
    "value": 3.1,
    "unit": "pp",
    "low": 1.2,
    "high": 5.0,
    "measure": "change",
    "direction": "none",
}


def metric_v2(**changes: Any) -> dict[str, Any]:
    return with_data(an_event("metric.observed", v=2, data=METRIC_V2), **changes)


def test_metric_observed_is_at_version_2_and_version_1_is_still_known() -> None:
    assert CURRENT_VERSIONS["metric.observed"] == 2
    assert EVENT_TYPES["metric.observed"] == {1: MetricObservedV1Event, 2: MetricObserved}
    assert typing.get_type_hints(MetricObserved)["data"] is MetricObservedV2
    assert typing.get_type_hints(MetricObservedV1Event)["data"] is MetricObservedV1
    v1 = {field.name for field in msgspec.structs.fields(MetricObservedV1)}
    assert {field.name for field in msgspec.structs.fields(MetricObservedV2)} == v1 | {"measure"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("full", [False, True], ids=["required-only", "all-fields"])
def test_a_version_2_metric_validates(full: bool, fmt: str) -> None:
    data = {**FULL_DATA["metric.observed"], **METRIC_V2} if full else REQUIRED_DATA["metric.observed"]
    event = an_event("metric.observed", v=2, data=data)
    result = decode(event, fmt)
    assert isinstance(result, ValidEvent), result
    assert type(result.event) is MetricObserved and result.fields["v"] == 2
    assert result.fields["data"] == data
    assert isinstance(result.event, MetricObserved)
    assert result.event.data.measure == ("change" if full else "level")


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("measure", ["level", "change"])
@pytest.mark.parametrize("direction", ["higher_is_better", "lower_is_better", "none", None])
def test_version_2_takes_each_measure_and_each_direction(
    measure: str, direction: str | None, fmt: str
) -> None:
    result = decode(metric_v2(measure=measure, direction=direction), fmt)
    assert isinstance(result, ValidEvent), result
    assert isinstance(result.event, MetricObserved)
    assert (result.event.data.measure, result.event.data.direction) == (measure, direction)


def test_measure_level_is_the_default_and_left_out_of_the_normalized_form() -> None:
    """Level sent or not, the event is the same: same body, same hash (a duplicate, not a conflict)."""
    event = metric_v2(measure="level")
    sent, absent = decode(event), decode(with_data(event, measure=...))
    assert isinstance(sent, ValidEvent) and isinstance(absent, ValidEvent)
    assert "measure" not in sent.fields["data"]
    assert (sent.body, sent.hash) == (absent.body, absent.hash)
    change = decode(metric_v2())
    assert isinstance(change, ValidEvent) and change.fields["data"]["measure"] == "change"


V2_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("measure-enum", {"measure": "delta"}, ".data.measure"),
    ("measure-case", {"measure": "Change"}, ".data.measure"),
    ("measure-null", {"measure": None}, ".data.measure"),
    ("measure-bool", {"measure": True}, ".data.measure"),
    ("direction-enum", {"direction": "neutral"}, ".data.direction"),
    ("direction-empty", {"direction": ""}, ".data.direction"),
    ("unknown-field", {"kind": "lift"}, ".data"),
    # The rules version 1 has hold in version 2, a change as much as a level.
    *[(name, changes, at) for t, name, changes, at in DATA_CASES if t == "metric.observed"],
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("changes", "at"), [(c, a) for _, c, a in V2_CASES], ids=[n for n, _, _ in V2_CASES])
def test_version_2_payload_constraints(changes: dict[str, Any], at: str, fmt: str) -> None:
    event = with_data(an_event("metric.observed", v=2, full=True), **{"measure": "change", **changes})
    assert_invalid(decode(event, fmt), at=at)


@pytest.mark.parametrize("fmt", FORMATS)
def test_version_1_stays_as_it_was(fmt: str) -> None:
    """Valid as before, typed as version 1; it cannot carry what only version 2 has."""
    for full in (False, True):
        result = decode(an_event("metric.observed", full=full), fmt)
        assert isinstance(result, ValidEvent) and type(result.event) is MetricObservedV1Event
        assert result.fields["v"] == 1
    assert_invalid(decode(with_data(an_event("metric.observed"), measure="change"), fmt), at=".data")
    assert_invalid(decode(with_data(an_event("metric.observed"), measure="level"), fmt), at=".data")
    assert_invalid(
        decode(with_data(an_event("metric.observed"), direction="none"), fmt), at=".data.direction"
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_metric_version_this_code_does_not_know_is_unsupported(fmt: str) -> None:
    result = decode(metric_v2() | {"v": 3}, fmt)
    assert isinstance(result, Rejection) and result.code == UNSUPPORTED_VERSION
    assert "known: 1, 2" in result.message and f"`{PATH}.v`" in result.message


def test_validate_fields_takes_both_versions() -> None:
    """The client's local validation is the server's: both versions, the same rules."""
    for event in (an_event("metric.observed", full=True), metric_v2()):
        assert isinstance(validate_fields(event), ValidEvent)
    bad = validate_fields(metric_v2(low=3.2))
    assert isinstance(bad, Rejection) and bad.code == INVALID_EVENT and "low <= value <= high" in bad.message
    bad = validate_fields(metric_v2(measure="delta"))
    assert isinstance(bad, Rejection) and "$.data.measure" in bad.message
