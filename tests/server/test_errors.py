"""Whole-request errors: problem+json with a stable code, and nothing changed by the request."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import msgspec
import pytest

from tests.factories import an_event, encode
from tests.server.conftest import MEDIA, Api, assert_problem, decode

ENDPOINTS = ["/v1/events", "/v1/sync"]


def _json_with_valid_event(rest: bytes) -> bytes:
    """A JSON body whose first element is a valid event, followed by ``rest`` inside the list."""
    return b'{"events":[' + msgspec.json.encode(an_event()) + rest


MALFORMED_JSON: dict[str, bytes] = {
    "truncated": _json_with_valid_event(b""),
    "not-json": b"events=1",
    "empty": b"",
    "invalid-utf8": _json_with_valid_event(b',{"id":"\xff\xfe"}]}'),
    "invalid-utf8-in-ignored-field": b'{"events":[],"note":"\xc3\x28"}',
    "lone-surrogate-escape": _json_with_valid_event(b',{"text":"\\ud800"}]}'),
    "lone-low-surrogate-escape": _json_with_valid_event(b',{"text":"a\\udc00b"}]}'),
    "nan-literal": _json_with_valid_event(b',{"value":NaN}]}'),
    "infinity-literal": _json_with_valid_event(b',{"value":Infinity}]}'),
    "trailing-garbage": _json_with_valid_event(b"]} x"),
    "trailing-comma": _json_with_valid_event(b",]}"),
    "body-is-a-list": b"[]",
    "body-is-a-string": b'"events"',
    "body-is-null": b"null",
    "events-missing": b'{"event":[]}',
    "events-null": b'{"events":null}',
    "events-object": b'{"events":{}}',
    "events-string": b'{"events":"[]"}',
    "element-number": _json_with_valid_event(b",1]}"),
    "element-list": _json_with_valid_event(b",[]]}"),
    "element-string": _json_with_valid_event(b',"{}"]}'),
    "element-null": _json_with_valid_event(b",null]}"),
    "element-bool": _json_with_valid_event(b",true]}"),
    "nested-too-deeply": _json_with_valid_event(b',{"data":' + b"[" * 100_000 + b"]" * 100_000 + b"}]}"),
}

_VALID_MSGPACK_EVENT = msgspec.msgpack.encode(an_event())
MALFORMED_MSGPACK: dict[str, bytes] = {
    "truncated": msgspec.msgpack.encode({"events": [an_event()]})[:-5],
    "empty": b"",
    "invalid-utf8-string": b"\x81\xa6events\x92" + _VALID_MSGPACK_EVENT + b"\x81\xa4text\xa2\xff\xfe",
    "surrogate-as-utf8": b"\x81\xa6events\x92" + _VALID_MSGPACK_EVENT + b"\x81\xa4text\xa3\xed\xa0\x80",
    "trailing-bytes": msgspec.msgpack.encode({"events": [an_event()]}) + b"\xc0",
    "reserved-byte": b"\xc1",
    "body-is-a-list": msgspec.msgpack.encode([]),
    "body-is-a-number": msgspec.msgpack.encode(7),
    "events-missing": msgspec.msgpack.encode({"evts": []}),
    "events-map": msgspec.msgpack.encode({"events": {}}),
    "element-number": b"\x81\xa6events\x92" + _VALID_MSGPACK_EVENT + b"\x01",
    "element-list": b"\x81\xa6events\x92" + _VALID_MSGPACK_EVENT + b"\x90",
    "element-nil": b"\x81\xa6events\x92" + _VALID_MSGPACK_EVENT + b"\xc0",
    "element-binary": b"\x81\xa6events\x92" + _VALID_MSGPACK_EVENT + b"\xc4\x01{",
    "nested-too-deeply": b"\x81\xa6events\x92"
    + _VALID_MSGPACK_EVENT
    + b"\x81\xa1a"
    + b"\x91" * 100_000
    + b"\x90",
}


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("body", MALFORMED_JSON.values(), ids=MALFORMED_JSON.keys())
def test_malformed_json_is_400_and_stores_nothing(api: Api, path: str, body: bytes) -> None:
    response = api.post(path, body, "json")
    problem = assert_problem(response, 400, "malformed_body")
    assert problem["epoch"] == api.server.epoch
    assert api.count() == 0


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("body", MALFORMED_MSGPACK.values(), ids=MALFORMED_MSGPACK.keys())
def test_malformed_msgpack_is_400_and_stores_nothing(api: Api, path: str, body: bytes) -> None:
    assert_problem(api.post(path, body, "msgpack"), 400, "malformed_body")
    assert api.count() == 0


def test_the_message_points_at_the_element_that_is_not_an_object(api: Api, fmt: str) -> None:
    body = encode({"events": [an_event(), an_event(), 5]}, fmt)
    problem = assert_problem(api.post("/v1/events", body, fmt), 400, "malformed_body")
    assert "$.events[2]" in problem["detail"]


def test_an_empty_batch_is_refused(api: Api, fmt: str) -> None:
    problem = assert_problem(api.push_response([], fmt), 400, "invalid_parameter")
    assert "$.events" in problem["detail"]


def test_a_batch_over_the_maximum_is_413_and_stores_nothing(make_api: Callable[..., Api], fmt: str) -> None:
    api = make_api(max_batch=3)
    assert api.push([an_event() for _ in range(3)], fmt)["cursor"] == 3
    for path in ENDPOINTS:
        response = api.post(path, {"events": [an_event() for _ in range(4)]}, fmt)
        problem = assert_problem(response, 413, "batch_too_large")
        assert "4" in problem["detail"] and "3" in problem["detail"]
    assert api.count() == 3


def test_the_default_maximum_batch_is_1000(api: Api) -> None:
    assert_problem(api.push_response([an_event() for _ in range(1001)]), 413, "batch_too_large")
    assert api.count() == 0


# -- media types ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8"],
)
def test_json_content_types_with_parameters_are_json(api: Api, content_type: str) -> None:
    response = api.post("/v1/events", {"events": [an_event()]}, "json", **{"Content-Type": content_type})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("content_type", ["application/msgpack", "application/x-msgpack"])
def test_both_msgpack_content_types_are_msgpack(api: Api, content_type: str) -> None:
    response = api.post("/v1/events", {"events": [an_event()]}, "msgpack", **{"Content-Type": content_type})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/msgpack"
    assert decode(response)["cursor"] == 1


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "application/json-seq", "multipart/form-data", "", None],
)
def test_other_or_missing_content_types_are_415(api: Api, path: str, content_type: str | None) -> None:
    headers = api.headers(None)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = api.http.post(path, content=encode({"events": [an_event()]}, "json"), headers=headers)
    assert_problem(response, 415, "unsupported_media_type")
    assert api.count() == 0


@pytest.mark.parametrize(
    ("body_format", "accept", "answer"),
    [
        ("json", None, "json"),
        ("msgpack", None, "msgpack"),
        ("json", "*/*", "json"),
        ("msgpack", "*/*", "msgpack"),
        ("json", "application/*", "json"),
        ("json", "application/msgpack", "msgpack"),
        ("json", "application/x-msgpack", "msgpack"),
        ("msgpack", "application/json", "json"),
        ("json", "application/json;q=0.5, application/msgpack", "msgpack"),
        ("msgpack", "text/html, application/json;q=0.9", "json"),
        ("msgpack", "text/html, */*;q=0.1", "msgpack"),
    ],
)
def test_the_response_follows_accept(api: Api, body_format: str, accept: str | None, answer: str) -> None:
    for path in ENDPOINTS:
        headers = {} if accept is None else {"Accept": accept}
        response = api.post(path, {"events": [an_event()]}, body_format, **headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == MEDIA[answer]
        assert decode(response)["results"][0]["status"] == "accepted"


@pytest.mark.parametrize(
    ("accept", "answer"), [(None, "json"), ("*/*", "json"), ("application/msgpack", "msgpack")]
)
@pytest.mark.parametrize("path", ["/v1/events", "/v1/info"])
def test_a_get_answers_json_unless_msgpack_is_asked_for(
    api: Api, path: str, accept: str | None, answer: str
) -> None:
    response = api.http.get(path, headers=api.headers(None, accept))
    assert response.status_code == 200
    assert response.headers["content-type"] == MEDIA[answer]
    assert decode(response)["epoch"] == api.server.epoch


@pytest.mark.parametrize("accept", ["text/html", "application/xml, text/plain", "application/json;q=0"])
def test_an_accept_naming_neither_format_is_406(api: Api, accept: str) -> None:
    for response in (
        api.http.get("/v1/events", headers=api.headers(None, accept)),
        api.http.get("/v1/info", headers=api.headers(None, accept)),
        api.post("/v1/events", {"events": [an_event()]}, "json", Accept=accept),
        api.post("/v1/sync", {"events": [an_event()]}, "msgpack", Accept=accept),
    ):
        assert_problem(response, 406, "not_acceptable")
    assert api.count() == 0


def test_problems_are_json_whatever_the_request_format_or_accept(api: Api) -> None:
    response = api.post("/v1/events", b"\xc1", "msgpack", Accept="application/msgpack")
    assert_problem(response, 400, "malformed_body")


# -- authentication -----------------------------------------------------------------------


def _bad_authorizations(api: Api) -> dict[str, dict[str, str]]:
    token_id, secret = api.token.removeprefix("wl_").split("_")
    wrong_secret = "0" * 64 if secret != "0" * 64 else "1" * 64
    return {
        "missing": {},
        "empty": {"Authorization": ""},
        "basic": {"Authorization": "Basic YWRhOnNlY3JldA=="},
        "bearer-without-token": {"Authorization": "Bearer "},
        "malformed": {"Authorization": "Bearer not-a-token"},
        "malformed-upper": {"Authorization": f"Bearer {api.token.upper()}"},
        "unknown-id": {"Authorization": f"Bearer wl_{'f' * 16}_{secret}"},
        "wrong-secret": {"Authorization": f"Bearer wl_{token_id}_{wrong_secret}"},
        "token-without-scheme": {"Authorization": api.token},
    }


REQUESTS = [
    ("GET", "/v1/events"),
    ("GET", "/v1/info"),
    ("POST", "/v1/events"),
    ("POST", "/v1/sync"),
]


def _assert_unauthorized(response: httpx.Response) -> None:
    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_every_v1_route_needs_a_valid_bearer_token(api: Api, method: str, path: str) -> None:
    body = encode({"events": [an_event()]}, "json")
    for name, auth in _bad_authorizations(api).items():
        headers = {"Content-Type": "application/json", **auth}
        response = api.http.request(method, path, content=body if method == "POST" else None, headers=headers)
        assert response.status_code == 401, name
        _assert_unauthorized(response)
    assert api.count() == 0


def test_a_revoked_token_is_refused_and_other_tokens_keep_working(api: Api) -> None:
    second = api.server.create_token(api.name, "phone")
    api.push([an_event()], "json")
    api.server.revoke_token(api.token.split("_")[1])
    _assert_unauthorized(api.push_response([an_event()]))
    _assert_unauthorized(api.pull_response())
    assert Api(api.server, second).count() == 1


def test_authentication_comes_before_the_body_is_read(api: Api) -> None:
    headers = {"Authorization": "Bearer nope", "Content-Type": "application/json"}
    for body in (b"{not json", b"\xff" * 10):
        _assert_unauthorized(api.http.post("/v1/events", content=body, headers=headers))
    # Even a body far over the limit (by its declared length) or of an unknown type gets the 401.
    big = {**headers, "Content-Length": str(10**9)}
    _assert_unauthorized(api.http.post("/v1/sync", content=b"{}", headers=big))
    _assert_unauthorized(
        api.http.post("/v1/sync", content=b"{}", headers={**headers, "Content-Type": "text/csv"})
    )
    _assert_unauthorized(api.http.get("/v1/events?after=-1", headers={"Authorization": "Bearer nope"}))


def test_the_bearer_scheme_is_case_insensitive(api: Api) -> None:
    response = api.http.get("/v1/events", headers={"Authorization": f"bearer {api.token}"})
    assert response.status_code == 200


def test_the_health_check_needs_no_token(api: Api) -> None:
    response = api.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# -- routes and the epoch -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/v1/nope", 404, "not_found"),
        ("GET", "/nope", 404, "not_found"),
        ("POST", "/", 405, "method_not_allowed"),  # "/" is the review pages' home
        ("POST", "/v2/events", 404, "not_found"),
        ("DELETE", "/v1/events", 405, "method_not_allowed"),
        ("PUT", "/v1/events", 405, "method_not_allowed"),
        ("GET", "/v1/sync", 405, "method_not_allowed"),
        ("POST", "/v1/info", 405, "method_not_allowed"),
    ],
)
def test_unknown_routes_and_methods_are_problems(
    api: Api, method: str, path: str, status: int, code: str
) -> None:
    response = api.http.request(method, path, headers=api.headers("json"))
    assert_problem(response, status, code)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/v1/events", {"GET", "POST"}), ("GET", "/v1/sync", {"POST"}), ("PUT", "/v1/info", {"GET"})],
)
def test_a_405_lists_the_allowed_methods(api: Api, method: str, path: str, allowed: set[str]) -> None:
    response = api.http.request(method, path, headers=api.headers("json"))
    assert_problem(response, 405, "method_not_allowed")
    assert allowed <= {m.strip() for m in response.headers["allow"].split(",")}


def test_every_v1_response_carries_the_epoch(api: Api, fmt: str) -> None:
    epoch = api.server.epoch
    assert len(epoch) >= 16
    responses = [
        api.push_response([an_event()], fmt),
        api.pull_response(fmt),
        api.sync_response({"events": []}, fmt),
        api.http.get("/v1/info", headers=api.headers(None)),
        api.pull_response(fmt, after=99),
        api.post("/v1/events", b"{", "json"),
        api.http.get("/v1/nope", headers=api.headers(None)),
        api.http.get("/v1/events"),
    ]
    for response in responses:
        assert response.headers["winledger-epoch"] == epoch, response.request.url
        assert decode(response)["epoch"] == epoch, response.request.url


def test_no_input_changes_the_epoch(api: Api) -> None:
    before = api.server.epoch
    api.push([an_event()], "json")
    api.post("/v1/events", b"[", "json")
    assert decode(api.pull_response())["epoch"] == before
