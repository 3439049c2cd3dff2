"""The fast validation path gives the reference's verdict, message, body and hash on every event.

``decode_event`` is what the server runs on each pushed event; ``decode_event_reference`` does every
check and the canonical form the plain way. The events are generated valid (every type and version),
then broken one way or another: a field removed, replaced by a value of another kind, an unknown field,
NUL in a text, an out-of-range number, a bad timestamp, a duplicate key, or bytes that are not JSON.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema import canonical_json
from schema.canonical import canonical_event
from schema.validation import ValidEvent, decode_event, decode_event_reference
from tests import strategies

_ODD_VALUES = st.sampled_from(
    [
        None,
        0,
        -1,
        2**53,
        1.0,
        1e-7,
        1e21,
        -0.0,
        "",
        "x\x00y",
        "2026-02-30T00:00:00Z",
        "2026-03-14T09:26:53",
        "yesterday",
        [],
        {},
        [1, 2],
        {"a": 1},
        True,
    ]
)


@st.composite
def _broken(draw: st.DrawFn) -> bytes:
    """An event, valid or broken in one place, as the bytes a client would send."""
    event: dict[str, Any] = draw(strategies.events())
    where = draw(st.sampled_from(["valid", "envelope", "data", "extra", "text", "duplicate", "bytes"]))
    if where == "envelope":
        key = draw(st.sampled_from(sorted(event)))
        if draw(st.booleans()):
            del event[key]
        else:
            event[key] = draw(_ODD_VALUES | strategies.text())
    elif where == "data" and event["data"]:
        key = draw(st.sampled_from(sorted(event["data"])))
        event["data"][key] = draw(_ODD_VALUES | strategies.text() | strategies.finite)
    elif where == "extra":
        event[draw(st.sampled_from(["extra", "seq"]))] = 1
    elif where == "text":
        texts = [key for key, value in event["data"].items() if isinstance(value, str)]
        if texts:
            key = draw(st.sampled_from(texts))
            event["data"][key] = event["data"][key] + "\x00"
    raw = msgspec.json.encode(event)
    if where == "duplicate":
        key = draw(st.sampled_from(["type", "v", "id"]))
        raw = raw[:-1] + b',"' + key.encode() + b'":' + msgspec.json.encode(draw(_ODD_VALUES)) + b"}"
    elif where == "bytes":
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    return raw


@given(_broken())
def test_fast_and_reference_paths_give_the_same_verdict_and_bytes(raw: bytes) -> None:
    fast = decode_event(msgspec.Raw(raw), "json", "$.events[3]")
    reference = decode_event_reference(raw, "json", "$.events[3]")
    assert fast == reference
    if isinstance(fast, ValidEvent):
        assert fast.body == reference.body  # type: ignore[union-attr]
        assert fast.hash == reference.hash  # type: ignore[union-attr]


@given(strategies.events())
def test_an_events_canonical_bytes_are_its_jcs_form(event: dict[str, Any]) -> None:
    valid = decode_event(msgspec.json.encode(event))
    assert isinstance(valid, ValidEvent), valid
    assert canonical_event(valid.fields) == canonical_json(valid.fields)


@pytest.mark.parametrize(
    "value",
    [0.0, -0.0, 1.0, -3.0, 2.0**53, 2.0**53 + 2, 1e16, 1e20, 1e21, 1.5e300, 1e-4, 9.9e-5, 1e-7, 5e-324, 0.61],
)
def test_floats_that_msgspec_writes_otherwise_are_laid_out_as_jcs(value: float) -> None:
    fields = {"type": "metric.observed", "data": {"value": value, "baseline": value, "tags": ["a"]}}
    assert canonical_event(fields) == canonical_json(fields)


def test_a_nul_in_a_text_is_refused_by_the_fast_path_as_by_the_reference() -> None:
    event: dict[str, Any] = {
        "id": "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80",
        "device_id": "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f81",
        "device_seq": 1,
        "clock": 0,
        "occurred_at": "2026-03-14T09:26:53Z",
        "type": "win.captured",
        "v": 1,
        "data": {"text": "shipped\x00", "source": "text"},
    }
    result = decode_event(msgspec.json.encode(event))
    assert not isinstance(result, ValidEvent)
    assert result.message == "Contains a NUL character - at `$.data.text`"
