"""GET /openapi.json: the API description covers every route, as served; schemathesis checks the rest
against a live server (tests/e2e/test_fuzz.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
from starlette.routing import Route

from schema import EVENT_TYPES
from schema.protocol.jsonschema import PROBLEM_CODES
from schema.validation import REJECTION_CODES
from server.http.openapi import BODIES
from tests.server.conftest import Api
from tests.server.test_isolation import OPERATOR, PUBLIC, ROUTES, SHARED_PAGES
from tests.server.test_web_isolation import WEB_ROUTES


def _document(api: Api) -> dict[str, Any]:
    response = api.http.get("/openapi.json")  # no token
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return msgspec.json.decode(response.content)  # type: ignore[no-any-return]


def test_it_is_openapi_3_1_and_describes_every_route_of_the_app(api: Api) -> None:
    document = _document(api)
    assert document["openapi"] == "3.1.0"
    described = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    routed = {
        (method, route.path)
        for route in api.server.app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    # The review pages are HTML for a browser and /metrics is Prometheus text for the operator, not
    # part of the API this document describes.
    assert described == routed - set(WEB_ROUTES) - SHARED_PAGES - OPERATOR == set(ROUTES) | PUBLIC


def test_every_v1_operation_needs_the_bearer_token_and_documents_its_problems(api: Api) -> None:
    document = _document(api)
    assert document["security"] == [{"bearer": []}]
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "wl_<16 hex digits>_<64 hex digits>",
    }
    for path, item in document["paths"].items():
        for operation in item.values():
            if not path.startswith("/v1"):
                assert operation["security"] == []
                continue
            assert "security" not in operation  # the document's default: the bearer token
            responses = operation["responses"]
            assert {"200", "401", "406", "429", "503"} <= set(responses)
            assert "WWW-Authenticate" in responses["401"]["headers"]
            assert (
                "Retry-After" in responses["429"]["headers"] and "Retry-After" in responses["503"]["headers"]
            )
            for response in responses.values():
                assert response["headers"]["Winledger-Epoch"]["required"] is True


def test_bodies_come_from_the_wire_types_and_limits_from_the_settings(make_api: Callable[..., Api]) -> None:
    document = _document(make_api(max_batch=7))
    schemas = document["components"]["schemas"]
    assert {struct.__name__ for struct in BODIES} <= set(schemas)
    assert schemas["PushRequest"]["properties"]["events"]["maxItems"] == 7
    assert schemas["PushRequest"]["properties"]["events"]["minItems"] == 1
    assert schemas["SyncRequest"]["properties"]["events"]["maxItems"] == 7
    # Every reference resolves.
    text = msgspec.json.encode(document).decode()
    for name in {part.split('"')[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in schemas, name


def test_pushed_events_may_be_any_version_the_server_knows(api: Api) -> None:
    """metric.observed is at version 2 and version 1 is still accepted: the document says both, as two
    members of one flat ``oneOf``, each pinned by ``type`` and ``v``."""
    schemas = _document(api)["components"]["schemas"]
    members = [
        {"$ref": f"#/components/schemas/{struct.__name__}"}
        for versions in EVENT_TYPES.values()
        for _, struct in sorted(versions.items())
    ]
    for body in ("PushRequest", "SyncRequest"):
        assert schemas[body]["properties"]["events"]["items"] == {"oneOf": members}
    assert len(members) == 11
    assert {"$ref": "#/components/schemas/MetricObservedV1Event"} in members
    assert {"$ref": "#/components/schemas/MetricObserved"} in members
    assert schemas["MetricObservedV1Event"]["properties"]["v"] == {"type": "integer", "enum": [1]}
    assert schemas["MetricObserved"]["properties"]["v"] == {"type": "integer", "enum": [2]}
    assert schemas["MetricObserved"]["properties"]["type"] == {"type": "string", "enum": ["metric.observed"]}
    assert schemas["MetricObserved"]["properties"]["data"] == {
        "$ref": "#/components/schemas/MetricObservedV2"
    }
    assert "measure" in schemas["MetricObservedV2"]["properties"]
    assert "measure" not in schemas["MetricObservedV1"]["properties"]
    assert schemas["WinCaptured"]["properties"]["v"] == {"type": "integer", "enum": [1]}


def test_pulled_events_are_the_same_union_plus_seq_and_received_at(api: Api) -> None:
    schemas = _document(api)["components"]["schemas"]
    assert schemas["PullResponse"]["properties"]["events"]["items"] == {
        "$ref": "#/components/schemas/StoredEvent"
    }
    members = [member["$ref"].rsplit("/", 1)[-1] for member in schemas["StoredEvent"]["oneOf"]]
    assert members == [
        f"Stored{struct.__name__}"
        for versions in EVENT_TYPES.values()
        for _, struct in sorted(versions.items())
    ]
    for name in members:
        stored, pushed = schemas[name], schemas[name.removeprefix("Stored")]
        assert set(stored["properties"]) == set(pushed["properties"]) | {"seq", "received_at"}
        assert set(stored["required"]) == set(stored["properties"])  # project_id too: null for none
        assert stored["properties"]["type"] == pushed["properties"]["type"]
        assert stored["properties"]["v"] == pushed["properties"]["v"]
        assert stored["properties"]["data"] == pushed["properties"]["data"]
        assert stored["properties"]["seq"]["format"] == "int64"


def test_result_and_problem_codes_are_enums_and_big_integers_are_int64(api: Api) -> None:
    document = _document(api)
    schemas = document["components"]["schemas"]
    code = schemas["EventResult"]["properties"]["code"]
    assert code["anyOf"] == [{"type": "string", "enum": list(REJECTION_CODES)}, {"type": "null"}]
    assert schemas["Problem"]["properties"]["code"]["enum"] == list(PROBLEM_CODES)
    int32 = []
    for path, node in _walk(document):
        if node.get("type") == "integer" and node.get("format") != "int64" and "enum" not in node:
            int32.append(path)
    assert int32 == []
    for path, node in _walk(document):
        assert node.get("default", 0) is not None, f"{path}: default null makes generators require it"


def _walk(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def test_the_problem_codes_are_those_the_server_raises_and_the_protocol_doc_lists() -> None:
    root = Path(__file__).parents[2]
    raised: set[str] = set()
    for source in (root / "server").rglob("*.py"):
        text = source.read_text(encoding="utf-8")
        raised |= set(re.findall(r'ProblemError\(\s*\d+,\s*"(\w+)"', text))
        raised |= set(re.findall(r'\d{3}: "(\w+)"', text)) & {"not_found", "method_not_allowed"}
    assert raised == set(PROBLEM_CODES)
    doc = (root / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = doc[doc.index("## 7. Whole-request errors") : doc.index("## 8. The digest")]
    assert set(re.findall(r"^\| \d{3} \| `(\w+)` \|", section, re.MULTILINE)) == set(PROBLEM_CODES)
