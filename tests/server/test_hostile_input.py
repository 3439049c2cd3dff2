"""Hostile input through the protocol: server-owned fields, SQL metacharacters, NUL, huge numbers,
NaN and infinity in MessagePack. Each gets a clear answer; nothing is trusted or interpreted."""

from __future__ import annotations

import math
import struct
from typing import Any

import msgspec
import pytest

from schema import Rejection, decode_event
from tests.factories import FULL_DATA, Device, an_event, client_fields, with_data, without
from tests.server.conftest import Api, assert_problem, decode


def _accepts(event_type: str, field: str, value: Any) -> bool:
    event = with_data(an_event(event_type, full=True), **{field: value})
    return not isinstance(decode_event(msgspec.json.encode(event)), Rejection)


FREE_TEXT: list[tuple[str, str]] = [
    (event_type, field)
    for event_type, data in FULL_DATA.items()
    for field, value in data.items()
    if isinstance(value, list) or (isinstance(value, str) and _accepts(event_type, field, "it's; --"))
]
"""Every payload field that holds free text (tags included), found by asking the schema."""

SLUGS = [("metric.observed", "key"), ("metric.linked", "cause"), ("metric.linked", "effect")]

SQL = [
    "'; DROP TABLE events; --",
    '" OR "1"="1',
    "Robert'); DELETE FROM users WHERE ('1'='1",
    "x' UNION SELECT secret_hash FROM tokens --",
    "100% _match_ \\ \\' \\\"",
    "?, :name, $1, %s, %(x)s, {0}",
    "/* comment */ `backticks` ; COMMIT; BEGIN",
    "\x1a\x08\t\r\n trailing",
]


def test_the_free_text_fields_are_every_string_field_that_is_no_enum_slug_or_id() -> None:
    assert len(FREE_TEXT) == 20
    assert ("win.captured", "tags") in FREE_TEXT and ("metric.observed", "unit") in FREE_TEXT
    assert ("win.captured", "source") not in FREE_TEXT and ("metric.observed", "key") not in FREE_TEXT


def _with(event_type: str, field: str, text: str, **envelope: Any) -> dict[str, Any]:
    value: Any = [text[:50]] if field == "tags" else text
    return with_data(an_event(event_type, full=True, **envelope), **{field: value})


@pytest.mark.parametrize("fmt", ["json", "msgpack"])
def test_sql_metacharacters_in_every_string_field_are_stored_verbatim(api: Api, fmt: str) -> None:
    device = Device()
    events = [
        _with(event_type, field, text, device_id=device.device_id, device_seq=index)
        for index, (text, (event_type, field)) in enumerate(
            ((text, where) for text in SQL for where in FREE_TEXT), start=1
        )
    ]
    events += [with_data(an_event(t, full=True), **{f: "drop--users.x_y"}) for t, f in SLUGS]
    # A user name, too, goes through the store's parameters and comes back as it was.
    other_name = f"{api.name} x'); DROP TABLE users; --"
    other = Api(api.server, api.server.create_user(other_name), other_name)
    other.push([an_event()], fmt)

    body = api.push(events, fmt)
    assert [r["status"] for r in body["results"]] == ["accepted"] * len(events)
    pulled, last = api.pull_all()
    assert [client_fields(event)["data"] for event in pulled] == [
        {k: v for k, v in event["data"].items() if v is not None} for event in events
    ]
    assert last["count"] == len(events)
    # The other tables are intact: the other user still authenticates and sees their one event.
    assert other.count() == 1
    tokens = api.server.portal.call(api.server.state.accounts.list_tokens, other_name)
    assert [token.user for token in tokens] == [other_name]
    names = decode(api.http.get("/v1/projects", params={"min_seq": last["count"]}, headers=api.headers(None)))
    assert set(SQL[:4]) <= {project["name"] for project in names["projects"]}


def test_sql_metacharacters_in_parameters_and_paths_are_refused_or_not_found(api: Api) -> None:
    injected = "1 OR 1=1; DROP TABLE events --"
    for name in ("after", "limit", "min_seq"):
        path = "/v1/events" if name != "min_seq" else "/v1/projects"
        assert_problem(
            api.http.get(path, params={name: injected}, headers=api.headers(None)), 400, "invalid_parameter"
        )
    for value in ("' OR '1'='1", "x' UNION SELECT * FROM events --"):
        assert_problem(
            api.http.get(f"/v1/projects/{value}/timeline", headers=api.headers(None)), 404, "not_found"
        )
    params = {"from": "2026-01-01' OR '1'='1", "to": "2026-12-31"}
    assert_problem(
        api.http.get("/v1/review-draft", params=params, headers=api.headers(None)), 400, "invalid_parameter"
    )
    assert api.count() == 0


def _nul_json(event: dict[str, Any], marker: str) -> bytes:
    """The event as JSON with ``marker`` spelled as the escape ``\\u0000`` inside its string."""
    return msgspec.json.encode({"events": [event]}).replace(marker.encode(), b"before\\u0000after")


NUL_FIELDS = [*FREE_TEXT, *SLUGS, ("event.retracted", "target")]


@pytest.mark.parametrize(("event_type", "field"), NUL_FIELDS, ids=[f"{t}.{f}" for t, f in NUL_FIELDS])
def test_nul_in_any_string_is_refused_in_json_and_msgpack(api: Api, event_type: str, field: str) -> None:
    marker = "MARKER"
    event = _with(event_type, field, marker)
    at = f"$.events[0].data.{field}" + ("[0]" if field == "tags" else "")
    for response in (
        api.post("/v1/events", _nul_json(event, marker), "json"),
        api.post(
            "/v1/events", msgspec.msgpack.encode({"events": [_with(event_type, field, "a\x00b")]}), "msgpack"
        ),
    ):
        (result,) = decode(response)["results"]
        assert result["code"] == "invalid_event", result
        assert at in result["message"], result["message"]
    assert api.count() == 0


@pytest.mark.parametrize("field", ["id", "device_id", "project_id", "occurred_at", "type"])
def test_nul_in_an_envelope_string_is_refused(api: Api, fmt: str, field: str) -> None:
    event = an_event("milestone.reached")
    event[field] = event[field][:5] + "\x00" + event[field][5:]
    (result,) = api.push([event], fmt)["results"]
    assert result["status"] == "rejected" and result["code"] in ("invalid_event", "unknown_type")
    assert api.count() == 0


def test_nul_elsewhere_in_a_request_is_no_500(api: Api) -> None:
    ignored = api.post(
        "/v1/events", b'{"events": [' + msgspec.json.encode(an_event()) + b'], "x": "\\u0000"}'
    )
    assert ignored.status_code == 200  # an ignored top-level field is not stored
    assert_problem(api.http.get("/v1/events?after=1%00", headers=api.headers(None)), 400, "invalid_parameter")
    assert_problem(api.http.get("/v1/projects/%00/timeline", headers=api.headers(None)), 404, "not_found")


SERVER_OWNED = {
    "seq": 7,
    "received_at": "2026-03-14T09:26:53.000000Z",
    "user_id": 1,
    "user": "root",
    "epoch": "x",
}


@pytest.mark.parametrize("field", SERVER_OWNED)
def test_server_owned_fields_in_a_pushed_event_are_refused_never_trusted(
    api: Api, fmt: str, field: str
) -> None:
    good, bad, later = an_event(), {**an_event(), field: SERVER_OWNED[field]}, an_event()
    inside_data = with_data(an_event(), **{field: SERVER_OWNED[field]})
    results = api.push([good, bad, inside_data, later], fmt)["results"]
    assert [(r["status"], r["seq"]) for r in results] == [
        ("accepted", 1),
        ("rejected", None),
        ("rejected", None),
        ("accepted", 2),
    ]
    assert results[1]["code"] == results[2]["code"] == "invalid_event"
    assert f"`{field}`" in results[1]["message"] and "$.events[1]" in results[1]["message"]
    pulled = api.pull()["events"]
    assert [(e["id"], e["seq"]) for e in pulled] == [(good["id"], 1), (later["id"], 2)]
    assert all(e["received_at"] != SERVER_OWNED["received_at"] for e in pulled)


def test_an_event_pulled_and_pushed_back_as_is_is_refused(api: Api, fmt: str) -> None:
    api.push([an_event()], fmt)
    (pulled,) = api.pull()["events"]
    (result,) = api.push([pulled], fmt)["results"]
    assert result["code"] == "invalid_event"
    assert api.push([without(pulled, "seq", "received_at")], fmt)["results"][0]["status"] == "duplicate"


HUGE = "9" * 400


@pytest.mark.parametrize("field", ["device_seq", "clock", "v"])
@pytest.mark.parametrize("literal", [HUGE, "-" + HUGE, str(2**64), str(2**53), "1e400"])
def test_huge_integers_in_json_are_invalid_events(api: Api, field: str, literal: str) -> None:
    event = an_event()
    raw = msgspec.json.encode({"events": [event, an_event()]})
    raw = raw.replace(f'"{field}":{event[field]}'.encode(), f'"{field}":{literal}'.encode(), 1)
    results = decode(api.post("/v1/events", raw, "json"))["results"]
    assert (results[0]["code"], results[1]["status"]) == ("invalid_event", "accepted")
    assert f"$.events[0].{field}" in results[0]["message"] or "$.events[0]" in results[0]["message"]


@pytest.mark.parametrize("literal", [HUGE, "1e400", "-1e400", "1.8e308"])
def test_huge_numbers_for_a_float_are_invalid_events_and_the_largest_double_is_fine(
    api: Api, literal: str
) -> None:
    event = with_data(an_event("metric.observed"), value=12345.5)
    raw = msgspec.json.encode({"events": [event]}).replace(b"12345.5", literal.encode())
    (result,) = decode(api.post("/v1/events", raw, "json"))["results"]
    assert result["code"] == "invalid_event" and "$.events[0].data.value" in result["message"]
    largest = with_data(an_event("metric.observed"), value=1.7976931348623157e308)
    assert api.push([largest])["results"][0]["status"] == "accepted"


@pytest.mark.parametrize("name", ["after", "limit"])
@pytest.mark.parametrize("literal", [HUGE, "-" + HUGE, "1e400", str(2**64)])
def test_huge_numbers_at_the_top_of_a_sync_are_invalid_parameters(api: Api, name: str, literal: str) -> None:
    raw = b'{"events": [], "%s": %s}' % (name.encode(), literal.encode())
    assert_problem(api.post("/v1/sync", raw, "json"), 400, "invalid_parameter")


@pytest.mark.parametrize("field", ["device_seq", "clock", "v"])
@pytest.mark.parametrize("value", [2**64 - 1, 2**63, -(2**63)])
def test_huge_integers_in_msgpack_are_invalid_events(api: Api, field: str, value: int) -> None:
    (result,) = api.push([{**an_event(), field: value}], "msgpack")["results"]
    assert result["code"] == "invalid_event" and f"$.events[0].{field}" in result["message"]


def _float32(body: bytes, replace: float, value: float) -> bytes:
    double = b"\xcb" + struct.pack(">d", replace)
    assert body.count(double) == 1
    return body.replace(double, b"\xca" + struct.pack(">f", value))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("field", ["value", "baseline", "low", "high"])
def test_nan_and_infinity_in_msgpack_floats_are_invalid_events(api: Api, field: str, value: float) -> None:
    full = an_event("metric.observed", full=True)
    as_double = msgspec.msgpack.encode({"events": [with_data(full, **{field: value})]})
    as_single = _float32(msgspec.msgpack.encode({"events": [full]}), full["data"][field], value)
    for body in (as_double, as_single):
        (result,) = decode(api.post("/v1/events", body, "msgpack"))["results"]
        assert result["code"] == "invalid_event", result
        assert f"$.events[0].data.{field}" in result["message"] and "finite" in result["message"]
    assert api.count() == 0


PER_EVENT: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    # (case, type, envelope changes, data changes, the path the message names)
    ("name-over-200", "project.started", {}, {"name": "n" * 201}, ".data.name"),
    ("text-over-10000", "win.captured", {}, {"text": "t" * 10_001}, ".data.text"),
    ("quote-over-2000", "feedback.received", {}, {"quote": "q" * 2_001}, ".data.quote"),
    ("label-over-100", "metric.observed", {}, {"label": "l" * 101}, ".data.label"),
    ("21-tags", "win.captured", {}, {"tags": ["t"] * 21}, ".data.tags"),
    ("tag-over-50", "win.captured", {}, {"tags": ["t" * 51]}, ".data.tags[0]"),
    ("unknown-field-in-data", "win.captured", {}, {"mood": "great"}, ".data"),
    ("unknown-field-in-envelope", "win.captured", {"mood": "great"}, {}, "$.events[0]"),
    ("uuid-uppercase", "win.captured", {"id": "0190B4C2-7A1E-7C3D-9F2A-3B4C5D6E7F80"}, {}, ".id"),
    (
        "uuid-braces",
        "win.captured",
        {"device_id": "{0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80}"},
        {},
        ".device_id",
    ),
    ("project-id-not-a-uuid", "milestone.reached", {"project_id": "churn"}, {}, ".project_id"),
    ("no-timezone", "win.captured", {"occurred_at": "2026-03-14T09:26:53"}, {}, ".occurred_at"),
    ("before-1970", "win.captured", {"occurred_at": "1969-12-31T23:59:59Z"}, {}, ".occurred_at"),
    ("from-2100", "win.captured", {"occurred_at": "2100-01-01T00:00:00Z"}, {}, ".occurred_at"),
    ("year-9999", "win.captured", {"occurred_at": "9999-12-31T23:59:59Z"}, {}, ".occurred_at"),
    ("device-seq-0", "win.captured", {"device_seq": 0}, {}, ".device_seq"),
    ("device-seq-negative", "win.captured", {"device_seq": -5}, {}, ".device_seq"),
    ("clock-negative", "win.captured", {"clock": -1}, {}, ".clock"),
    ("v-negative", "win.captured", {"v": -1}, {}, ".v"),
]


@pytest.mark.parametrize(
    ("event_type", "envelope", "data", "at"),
    [case[1:] for case in PER_EVENT],
    ids=[case[0] for case in PER_EVENT],
)
def test_each_bad_event_is_rejected_alone_through_the_route(
    api: Api, fmt: str, event_type: str, envelope: dict[str, Any], data: dict[str, Any], at: str
) -> None:
    bad = with_data({**an_event(event_type), **envelope}, **data)
    good = an_event()
    results = api.push([bad, good], fmt)["results"]
    assert (results[0]["code"], results[0]["seq"]) == ("invalid_event", None)
    assert at in results[0]["message"], results[0]["message"]
    assert (results[1]["status"], results[1]["seq"]) == ("accepted", 1)
    assert [event["id"] for event in api.pull()["events"]] == [good["id"]]
