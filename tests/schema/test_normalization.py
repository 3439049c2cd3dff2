"""The normalized form: equal in meaning means byte-identical body and equal hash."""

from __future__ import annotations

import json

import msgspec
import pytest

from schema import CLIENT_FIELDS, ValidEvent, decode_event, event_hash, validate_fields
from tests.factories import ALL_TYPES, an_event, encode, with_data, without


def valid(raw: bytes, fmt: str = "json") -> ValidEvent:
    result = decode_event(raw, fmt)  # type: ignore[arg-type]
    assert isinstance(result, ValidEvent), result
    return result


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_json_and_msgpack_give_the_same_body_and_hash(event_type: str, full: bool) -> None:
    event = an_event(event_type, full=full, occurred_at="2026-03-14T11:26:53.123+02:00")
    as_json, as_msgpack = valid(encode(event, "json")), valid(encode(event, "msgpack"), "msgpack")
    assert as_json.body == as_msgpack.body
    assert as_json.hash == as_msgpack.hash
    assert as_json.fields == as_msgpack.fields


@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_the_body_has_the_nine_client_fields_in_order_with_project_id_always_present(event_type: str) -> None:
    result = validate_fields(an_event(event_type))
    assert isinstance(result, ValidEvent)
    assert list(json.loads(result.body)) == list(CLIENT_FIELDS)
    assert tuple(result.fields) == CLIENT_FIELDS


@pytest.mark.parametrize("event_type", ["win.captured", "learning.noted", "event.retracted"])
def test_an_absent_project_id_is_written_as_null(event_type: str) -> None:
    result = valid(encode(without(an_event(event_type), "project_id"), "json"))
    assert json.loads(result.body)["project_id"] is None
    assert b'"project_id":null' in result.body


def test_absent_and_null_optional_fields_are_the_same_event() -> None:
    absent = an_event("metric.observed")
    nulls = with_data(absent, label=None, unit=None, baseline=None, low=None, high=None, direction=None)
    nulls = with_data(nulls, note=None)
    a, b = valid(encode(absent, "json")), valid(encode(nulls, "msgpack"), "msgpack")
    assert a.body == b.body and a.hash == b.hash
    assert set(json.loads(b.body)["data"]) == {"key", "layer", "value"}


def test_no_defaults_are_filled_in() -> None:
    result = valid(encode(an_event("metric.observed"), "json"))
    assert "direction" not in result.fields["data"]
    assert "tags" not in valid(encode(an_event("win.captured"), "json")).fields["data"]


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
def test_integers_given_for_float_fields_become_doubles(fmt: str) -> None:
    as_int = an_event("metric.observed", data={"key": "k", "layer": "model", "value": 3, "low": 1, "high": 5})
    as_float = {**as_int, "data": {"key": "k", "layer": "model", "value": 3.0, "low": 1.0, "high": 5.0}}
    a, b = valid(encode(as_int, fmt), fmt), valid(encode(as_float, "json"))
    assert a.body == b.body and a.hash == b.hash
    for name in ("value", "low", "high"):
        assert type(a.fields["data"][name]) is float
    assert b'"value":3.0' in a.body


def test_data_fields_are_written_in_schema_order_whatever_order_they_came_in() -> None:
    event = an_event("project.started", full=True)
    shuffled = {**event, "data": dict(reversed(list(event["data"].items())))}
    reordered = dict(reversed(list(event.items())))
    bodies = {valid(encode(e, "json")).body for e in (event, shuffled, reordered)}
    assert len(bodies) == 1


def test_strings_and_lists_are_kept_exactly_as_sent() -> None:
    tags = ["b", "a", "b", " spaced ", "\u00c9t\u00e9"]
    text = "  Tabs\tand\nnewlines, \u2028 and emoji \U0001f389  "
    result = valid(encode(with_data(an_event("win.captured"), text=text, tags=tags), "msgpack"), "msgpack")
    assert result.fields["data"]["tags"] == tags
    assert result.fields["data"]["text"] == text
    assert json.loads(result.body)["data"] == {"text": text, "source": "text", "tags": tags}


def test_different_meaning_gives_a_different_body_and_hash() -> None:
    event = an_event("win.captured", full=True)
    other = with_data(event, tags=list(reversed(event["data"]["tags"])))
    a, b = valid(encode(event, "json")), valid(encode(other, "json"))
    assert a.body != b.body and a.hash != b.hash


def test_the_hash_is_the_event_hash_of_the_normalized_fields() -> None:
    result = valid(encode(an_event("feedback.received", full=True), "json"))
    assert result.hash == event_hash(result.fields)
    assert msgspec.json.decode(result.body) == result.fields


def test_the_normalized_body_decodes_to_itself() -> None:
    event = an_event("metric.observed", full=True, occurred_at="2026-03-14T11:26:53.1234567+02:00")
    first = valid(encode(event, "json"))
    again = valid(first.body)
    assert again.body == first.body and again.hash == first.hash
