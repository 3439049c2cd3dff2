"""JSON Schema for code generation: the envelope, every event type and version, every wire message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from schema import CLIENT_FIELDS, EVENT_TYPES
from schema.protocol.jsonschema import READ_MODEL_RESPONSES, WIRE_MESSAGES, schemas
from tests.factories import ALL_TYPES, FULL_DATA, an_event, with_data, without
from tests.schema.jsonschema_check import problems

DOCUMENTS = schemas()
WIRE_NAMES = {
    "PushRequest",
    "PushResponse",
    "SyncRequest",
    "SyncResponse",
    "PullResponse",
    "EventResult",
    "StoredEvent",
    "InfoResponse",
    "MeResponse",
    "Problem",
}
READ_MODEL_NAMES = {"ProjectsResponse", "TimelineResponse", "MetricChainsResponse", "ReviewDraftResponse"}


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_there_is_a_document_for_the_envelope_every_event_version_wire_message_and_read_model() -> None:
    expected = {"envelope.json"}
    expected |= {f"event.{t}.v{v}.json" for t, versions in EVENT_TYPES.items() for v in versions}
    expected |= {f"{name}.json" for name in WIRE_NAMES | READ_MODEL_NAMES}
    assert set(DOCUMENTS) == expected
    assert {m.__name__ for m in WIRE_MESSAGES} == WIRE_NAMES
    assert {m.__name__ for m in READ_MODEL_RESPONSES} == READ_MODEL_NAMES


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_is_self_contained_json_schema(name: str) -> None:
    document = DOCUMENTS[name]
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert document["title"] == name.removesuffix(".json")
    assert document["$ref"].startswith("#/$defs/")
    for ref in _refs(document):
        assert ref.removeprefix("#/$defs/") in document["$defs"], f"{name}: unresolved {ref}"
    json.dumps(document)  # plain JSON, writable to a file


def _root(name: str) -> dict[str, Any]:
    document = DOCUMENTS[name]
    return document["$defs"][document["$ref"].removeprefix("#/$defs/")]  # type: ignore[no-any-return]


def test_the_envelope_has_the_nine_client_fields() -> None:
    envelope = _root("envelope.json")
    assert set(envelope["properties"]) == set(CLIENT_FIELDS)
    assert set(envelope["required"]) == set(CLIENT_FIELDS) - {"project_id"}
    assert envelope["additionalProperties"] is False
    assert envelope["properties"]["type"]["enum"] == sorted(EVENT_TYPES)
    assert envelope["properties"]["device_seq"]["minimum"] == 1
    assert envelope["properties"]["clock"]["maximum"] == 2**53 - 1


VERSIONS = [(t, v) for t, versions in EVENT_TYPES.items() for v in versions]
FULL_METRIC_V2 = {**FULL_DATA["metric.observed"], "measure": "change", "direction": "none"}


def _full_data(event_type: str, version: int) -> dict[str, Any]:
    return FULL_METRIC_V2 if (event_type, version) == ("metric.observed", 2) else FULL_DATA[event_type]


@pytest.mark.parametrize(("event_type", "version"), VERSIONS, ids=[f"{t}.v{v}" for t, v in VERSIONS])
def test_each_event_schema_pins_its_type_and_version_and_describes_its_payload(
    event_type: str, version: int
) -> None:
    name = f"event.{event_type}.v{version}.json"
    event = _root(name)
    assert event["properties"]["type"] == {"type": "string", "enum": [event_type]}
    assert event["properties"]["v"] == {"type": "integer", "enum": [version]}
    assert {"id", "device_id", "device_seq", "clock", "occurred_at", "v", "data"} <= set(event["required"])
    payload = DOCUMENTS[name]["$defs"][event["properties"]["data"]["$ref"].removeprefix("#/$defs/")]
    assert payload["additionalProperties"] is False
    assert set(payload["properties"]) == set(_full_data(event_type, version))


def test_metric_observed_has_a_document_per_version() -> None:
    v1, v2 = DOCUMENTS["event.metric.observed.v1.json"], DOCUMENTS["event.metric.observed.v2.json"]
    assert v1["$ref"] == "#/$defs/MetricObservedV1Event" and v2["$ref"] == "#/$defs/MetricObserved"
    assert v1["$defs"]["MetricObservedV1"]["properties"]["direction"]["anyOf"][0] == {
        "type": "string",
        "enum": ["higher_is_better", "lower_is_better"],
    }
    payload = v2["$defs"]["MetricObservedV2"]
    assert set(payload["required"]) == {"key", "layer", "value"}
    assert payload["properties"]["measure"]["enum"] == ["change", "level"]
    assert "default" not in payload["properties"]["measure"]  # in words: generators would require it
    assert payload["properties"]["measure"]["description"].endswith('Default: `"level"`.')
    assert "lift or a saving" in payload["properties"]["measure"]["description"]
    assert payload["properties"]["direction"]["anyOf"][0] == {
        "type": "string",
        "enum": ["higher_is_better", "lower_is_better", "none"],
    }


def test_each_version_of_a_metric_validates_against_its_own_document_only() -> None:
    v1 = an_event("metric.observed", full=True)
    v2 = an_event("metric.observed", v=2, data=FULL_METRIC_V2)
    level = an_event("metric.observed", v=2, full=True)  # v1's fields at v2: a level
    for event, version in ((v1, 1), (v2, 2), (level, 2)):
        assert problems(DOCUMENTS["envelope.json"], event) == []
        assert problems(DOCUMENTS[f"event.metric.observed.v{version}.json"], event) == []
        assert problems(DOCUMENTS[f"event.metric.observed.v{3 - version}.json"], event) != []
    assert problems(DOCUMENTS["event.metric.observed.v1.json"], v2 | {"v": 1}) != []  # measure, none


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_a_real_event_validates_against_the_envelope_and_its_own_schema(event_type: str, full: bool) -> None:
    event = an_event(event_type, full=full)
    assert problems(DOCUMENTS["envelope.json"], event) == []
    assert problems(DOCUMENTS[f"event.{event_type}.v1.json"], event) == []
    other = next(t for t in ALL_TYPES if t != event_type)
    assert problems(DOCUMENTS[f"event.{other}.v1.json"], event) != []


@pytest.mark.parametrize(
    "bad",
    [
        an_event(id="0190B4C2-7A1E-7C3D-9F2A-3B4C5D6E7F80"),
        an_event(device_seq=0),
        an_event(clock=2**53),
        {**an_event(), "seq": 1},
        without(an_event(), "data"),
        with_data(an_event(), source="audio"),
        with_data(an_event(), tags=["t"] * 21),
    ],
    ids=[
        "uppercase-id",
        "device-seq-0",
        "clock-2^53",
        "unknown-field",
        "no-data",
        "bad-enum",
        "too-many-tags",
    ],
)
def test_the_event_schemas_refuse_what_the_server_refuses(bad: dict[str, Any]) -> None:
    assert problems(DOCUMENTS["event.win.captured.v1.json"], bad) != []


def test_wire_request_examples_validate() -> None:
    events = [an_event(t, full=True) for t in ALL_TYPES]
    assert problems(DOCUMENTS["PushRequest.json"], {"events": events}) == []
    both = [an_event("metric.observed", full=True), an_event("metric.observed", v=2, data=FULL_METRIC_V2)]
    for request in ("PushRequest.json", "SyncRequest.json"):
        assert problems(DOCUMENTS[request], {"events": both}) == []
        assert problems(DOCUMENTS[request], {"events": [both[1] | {"v": 1}]}) != []
        assert problems(DOCUMENTS[request], {"events": [both[1] | {"v": 3}]}) != []
    assert problems(DOCUMENTS["SyncRequest.json"], {"events": events[:2], "after": 0, "limit": 500}) == []
    assert problems(DOCUMENTS["SyncRequest.json"], {"events": []}) == []
    assert problems(DOCUMENTS["PushRequest.json"], {"events": [{"type": "nope"}]}) != []


def test_wire_response_examples_validate() -> None:
    accepted = {"id": an_event()["id"], "status": "accepted", "seq": 1, "code": None, "message": None}
    rejected = {"id": None, "status": "rejected", "seq": None, "code": "invalid_event", "message": "m"}
    assert problems(DOCUMENTS["EventResult.json"], accepted) == []
    assert problems(DOCUMENTS["EventResult.json"], without(accepted, "code")) != []
    assert problems(DOCUMENTS["EventResult.json"], {**accepted, "status": "ok"}) != []
    push = {"results": [accepted, rejected], "cursor": 1, "epoch": "e"}
    assert problems(DOCUMENTS["PushResponse.json"], push) == []
    stored = {**an_event(), "seq": 1, "received_at": "2026-03-14T09:26:53.000000Z"}
    pull = {"events": [stored], "cursor": 1, "more": False, "epoch": "e", "count": 1, "digest": "0" * 32}
    assert problems(DOCUMENTS["PullResponse.json"], pull) == []
    assert problems(DOCUMENTS["PullResponse.json"], without(pull, "count", "digest") | {"more": True}) == []
    assert problems(DOCUMENTS["SyncResponse.json"], {**pull, "results": [accepted]}) == []
    problem = {
        "type": "urn:x",
        "title": "Bad Request",
        "status": 400,
        "code": "malformed_body",
        "detail": "d",
    }
    assert problems(DOCUMENTS["Problem.json"], problem) == []
    assert problems(DOCUMENTS["Problem.json"], without(problem, "code")) != []


def _nodes(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _nodes(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _nodes(value, f"{path}/{index}")


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_is_shaped_for_code_generators(name: str) -> None:
    """int64 integers (a 32-bit Int overflows on a clock), no `default: null` (generators then require
    the field), unions as oneOf, and `anyOf` only to say that a field may be null."""
    for path, node in _nodes(DOCUMENTS[name], name):
        if node.get("type") == "integer" and "enum" not in node:
            assert node.get("format") == "int64", path
        assert node.get("default", 0) is not None, path
        if "anyOf" in node and not path.endswith("/not"):
            assert len(node["anyOf"]) == 2 and {"type": "null"} in node["anyOf"], path


def test_events_are_a_oneof_pinned_by_type_and_version_pushed_and_pulled() -> None:
    pushed = _root("PushRequest.json")["properties"]["events"]["items"]["oneOf"]
    pulled = DOCUMENTS["PullResponse.json"]["$defs"]["StoredEvent"]["oneOf"]
    structs = [struct for versions in EVENT_TYPES.values() for _, struct in sorted(versions.items())]
    assert pushed == [{"$ref": f"#/$defs/{struct.__name__}"} for struct in structs]
    assert pulled == [{"$ref": f"#/$defs/Stored{struct.__name__}"} for struct in structs]
    stored = {**an_event("milestone.reached"), "seq": 2**40, "received_at": "2026-03-14T09:26:53.000000Z"}
    page = {"events": [stored], "cursor": 2**40, "more": True, "epoch": "e"}
    assert problems(DOCUMENTS["PullResponse.json"], page) == []
    stored["occurred_at"] = "2026-03-14T09:26:53.589793Z"
    assert problems(DOCUMENTS["PullResponse.json"], page) == []
    for broken in (
        without(stored, "project_id"),  # the normalized form always has it
        without(stored, "seq"),
        stored | {"occurred_at": "2026-03-14T10:26:53+01:00"},  # not normalized
        stored | {"v": 2},
        stored | {"data": {"milestone": "launched"}},
    ):
        assert problems(DOCUMENTS["PullResponse.json"], page | {"events": [broken]}) != [], broken
    assert problems(DOCUMENTS["PullResponse.json"], page | {"more": False, "count": 1, "digest": "x"}) != []
