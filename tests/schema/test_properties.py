"""Properties of validation and normalization over generated valid events of every type."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given

from schema import (
    CLIENT_FIELDS,
    CURRENT_VERSIONS,
    ValidEvent,
    decode_event,
    event_hash,
    normalize_timestamp,
    read_event,
)
from tests import strategies


def _valid(raw: bytes, fmt: str) -> ValidEvent:
    result = decode_event(raw, fmt)  # type: ignore[arg-type]
    assert isinstance(result, ValidEvent), result
    return result


@given(strategies.events())
def test_a_valid_event_decodes_and_keeps_its_meaning(event: dict[str, Any]) -> None:
    result = _valid(msgspec.json.encode(event), "json")
    assert result.id == event["id"]
    assert tuple(result.fields) == CLIENT_FIELDS
    assert result.fields["occurred_at"] == normalize_timestamp(event["occurred_at"])
    assert result.fields["project_id"] == event.get("project_id")
    # Absent, null and a field's default (metric.observed v2's `measure` "level") are left out alike.
    sent = {
        key: value
        for key, value in event["data"].items()
        if value is not None and (key, value) != ("measure", "level")
    }
    assert result.fields["data"].keys() == sent.keys()
    for key, value in sent.items():
        assert result.fields["data"][key] == value  # ints sent for floats compare equal to their double
    assert result.hash == event_hash(result.fields)
    read = read_event(result.fields)
    assert read is not None and read.v == CURRENT_VERSIONS[event["type"]]
    if result.event.v == read.v:
        assert read == result.event
    else:  # an older version, upcast: every step so far carries the data over as it is
        assert msgspec.to_builtins(read) == {**result.fields, "v": read.v}


@given(strategies.events())
def test_normalization_is_idempotent(event: dict[str, Any]) -> None:
    first = _valid(msgspec.json.encode(event), "json")
    again = _valid(first.body, "json")
    assert again.body == first.body
    assert again.hash == first.hash
    assert again.fields == first.fields


@given(strategies.events())
def test_json_and_msgpack_agree(event: dict[str, Any]) -> None:
    as_json = _valid(msgspec.json.encode(event), "json")
    as_msgpack = _valid(msgspec.msgpack.encode(event), "msgpack")
    assert as_msgpack.body == as_json.body
    assert as_msgpack.hash == as_json.hash
