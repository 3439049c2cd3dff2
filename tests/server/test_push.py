"""POST /v1/events: per-event outcomes, seq assignment, duplicates and conflicts."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from schema import CLIENT_FIELDS
from tests.factories import ALL_TYPES, FULL_DATA, Device, an_event, client_fields, with_data, without
from tests.server.conftest import Api, assert_problem, decode

RESULT_KEYS = ["id", "status", "seq", "code", "message"]

pytestmark = pytest.mark.backends


def accepted(event_id: str, seq: int) -> dict[str, object]:
    return {"id": event_id, "status": "accepted", "seq": seq, "code": None, "message": None}


def duplicate(event_id: str, seq: int) -> dict[str, object]:
    return {"id": event_id, "status": "duplicate", "seq": seq, "code": None, "message": None}


def test_events_are_accepted_with_seq_1_to_n_in_request_order(api: Api, fmt: str) -> None:
    events = [an_event(t, full=True) for t in ALL_TYPES]
    body = api.push(events, fmt)
    assert body["results"] == [accepted(e["id"], i) for i, e in enumerate(events, 1)]
    assert all(list(result) == RESULT_KEYS for result in body["results"])
    assert body["cursor"] == len(events)
    assert body["epoch"] == api.server.epoch


def test_pulled_events_are_what_was_pushed_in_normalized_form(api: Api, fmt: str) -> None:
    event = an_event("metric.observed", occurred_at="2026-03-14T11:26:53.1234567+02:00")
    event["data"] |= {"value": 3, "note": None}
    api.push([event], fmt)
    (pulled,) = api.pull(fmt)["events"]
    assert list(pulled) == [*CLIENT_FIELDS, "seq", "received_at"]
    assert pulled["occurred_at"] == "2026-03-14T09:26:53.123456Z"
    assert pulled["data"] == {"key": "auc", "layer": "model", "value": 3.0}
    assert type(pulled["data"]["value"]) is float
    assert pulled["seq"] == 1
    assert pulled["received_at"].endswith("Z") and len(pulled["received_at"]) == 27
    assert client_fields(pulled) == {**event, "occurred_at": pulled["occurred_at"], "data": pulled["data"]}


def test_a_repeated_event_is_a_duplicate_with_the_stored_seq(api: Api, fmt: str) -> None:
    first, second = an_event(), an_event()
    api.push([first, second], fmt)
    body = api.push([second, an_event(), first], fmt)
    assert body["results"][0] == duplicate(second["id"], 2)
    assert body["results"][1]["status"] == "accepted" and body["results"][1]["seq"] == 3
    assert body["results"][2] == duplicate(first["id"], 1)
    assert body["cursor"] == 3
    assert api.count() == 3


def test_duplicates_are_judged_on_meaning_not_bytes(api: Api) -> None:
    event = an_event("metric.observed", full=True, occurred_at="2026-03-14T09:26:53.5Z")
    api.push([event], "json")
    same = dict(reversed(list(event.items())))
    same["occurred_at"] = "2026-03-14T10:26:53.500000999+01:00"
    same["data"] = {**event["data"], "value": 4.25, "low": 4, "high": 4.5}
    absent_vs_null = with_data(an_event("win.captured"), tags=None)
    api.push([absent_vs_null], "json")
    body = api.push([same, with_data(absent_vs_null, tags=...)], "msgpack")
    assert [r["status"] for r in body["results"]] == ["duplicate", "duplicate"]
    assert api.count() == 2


def test_the_same_event_as_json_then_msgpack_is_a_duplicate(api: Api) -> None:
    events = [an_event(t, full=True) for t in ALL_TYPES]
    api.push(events[:5], "json")
    api.push(events[5:], "msgpack")
    body = api.push(events, "msgpack")
    assert [r["status"] for r in body["results"]] == ["duplicate"] * len(events)
    body = api.push(events, "json")
    assert [r["seq"] for r in body["results"]] == list(range(1, len(events) + 1))


def test_same_id_with_other_content_is_an_id_conflict(api: Api, fmt: str) -> None:
    event = an_event()
    api.push([event], fmt)
    body = api.push([with_data(event, text="Another text")], fmt)
    (result,) = body["results"]
    assert result["status"] == "rejected" and result["code"] == "id_conflict"
    assert result["id"] == event["id"] and result["seq"] is None
    assert "$.events[0].id" in result["message"]
    assert body["cursor"] == 1
    (stored,) = api.pull()["events"]
    assert stored["data"]["text"] == event["data"]["text"]


def test_same_device_and_device_seq_with_another_id_is_a_device_seq_conflict(api: Api, fmt: str) -> None:
    device = Device()
    first = device.event()
    api.push([first], fmt)
    clash = an_event(device_id=device.device_id, device_seq=1)
    body = api.push([clash], fmt)
    (result,) = body["results"]
    assert result["status"] == "rejected" and result["code"] == "device_seq_conflict"
    assert result["seq"] is None and result["id"] == clash["id"]
    assert "$.events[0].device_seq" in result["message"] and first["id"] in result["message"]
    assert api.count() == 1


def test_the_first_applicable_code_wins(api: Api) -> None:
    device = Device()
    stored = device.event()
    api.push([stored], "json")
    # Same id, other content, and a (device_id, device_seq) already taken: id_conflict first.
    both = with_data(stored, text="changed")
    # An invalid event that reuses a stored id: invalid_event first.
    invalid_reuse = with_data(stored, source="audio")
    # An unknown type and an unsupported version that also reuse the id.
    unknown = {**stored, "type": "win.celebrated"}
    newer = {**stored, "v": 2}
    body = api.push([both, invalid_reuse, unknown, newer], "json")
    assert [r["code"] for r in body["results"]] == [
        "id_conflict",
        "invalid_event",
        "unknown_type",
        "unsupported_version",
    ]


def test_repeats_within_one_batch_are_judged_against_earlier_items(api: Api, fmt: str) -> None:
    event = an_event()
    other_content = with_data(event, text="Other")
    device = Device()
    seq_one = device.event()
    seq_one_again = an_event(device_id=device.device_id, device_seq=1)
    body = api.push([event, event, other_content, seq_one, seq_one_again, event], fmt)
    results = body["results"]
    assert results[0] == accepted(event["id"], 1)
    assert results[1] == duplicate(event["id"], 1)
    assert results[2]["code"] == "id_conflict" and "$.events[2].id" in results[2]["message"]
    assert results[3] == accepted(seq_one["id"], 2)
    assert results[4]["code"] == "device_seq_conflict" and "$.events[4]" in results[4]["message"]
    assert results[5] == duplicate(event["id"], 1)
    assert body["cursor"] == 2
    assert [e["id"] for e in api.pull()["events"]] == [event["id"], seq_one["id"]]


def test_a_rejected_event_leaves_no_hole_in_seq(api: Api, fmt: str) -> None:
    good, bad, later = an_event(), an_event(device_seq=0), an_event()
    body = api.push([good, bad, later], fmt)
    assert [r["seq"] for r in body["results"]] == [1, None, 2]
    assert body["cursor"] == 2
    assert [e["seq"] for e in api.pull()["events"]] == [1, 2]
    assert api.push([an_event()], fmt)["results"][0]["seq"] == 3


def test_per_event_problems_reject_only_that_event(api: Api, fmt: str) -> None:
    events = [
        an_event(),
        {**an_event(), "type": "win.celebrated"},
        {**an_event(), "v": 7},
        an_event(id="0190B4C2-7A1E-7C3D-9F2A-3B4C5D6E7F80"),
        {**an_event(), "id": 12},
        without(an_event(), "id"),
        {},
        {**an_event(), "seq": 5},
        with_data(an_event("metric.observed"), low=1.0, high=0.0),
        an_event("milestone.reached", project_id=None),
        an_event(),
    ]
    body = api.push(events, fmt)
    results = body["results"]
    assert len(results) == len(events)
    assert [r["code"] for r in results] == [
        None,
        "unknown_type",
        "unsupported_version",
        "invalid_event",
        "invalid_event",
        "invalid_event",
        "invalid_event",
        "invalid_event",
        "invalid_event",
        "invalid_event",
        None,
    ]
    assert [r["seq"] for r in results] == [1, *[None] * 9, 2]
    assert [r["id"] for r in results] == [
        events[0]["id"],
        events[1]["id"],
        events[2]["id"],
        "0190B4C2-7A1E-7C3D-9F2A-3B4C5D6E7F80",
        None,
        None,
        None,
        events[7]["id"],
        events[8]["id"],
        events[9]["id"],
        events[10]["id"],
    ]
    for index, result in enumerate(results[1:-1], 1):
        assert result["status"] == "rejected"
        assert f"$.events[{index}]" in result["message"], result["message"]
    assert "$.events[3].id" in results[3]["message"]
    assert "$.events[9].project_id" in results[9]["message"]
    assert api.count() == 2


def test_a_batch_of_only_rejections_stores_nothing_and_reports_the_cursor(api: Api, fmt: str) -> None:
    api.push([an_event(), an_event()], fmt)
    body = api.push([an_event(clock=-1), {**an_event(), "type": "x"}], fmt)
    assert [r["status"] for r in body["results"]] == ["rejected", "rejected"]
    assert body["cursor"] == 2


def test_the_push_cursor_is_the_newest_seq_after_the_request(api: Api, fmt: str) -> None:
    first = api.push([an_event(), an_event(), an_event()], fmt)
    assert first["cursor"] == 3
    assert api.push([an_event()], fmt)["cursor"] == 4
    assert api.push([an_event(device_seq=0)], fmt)["cursor"] == 4


def test_unknown_top_level_fields_are_ignored(api: Api, fmt: str) -> None:
    event = an_event()
    response = api.post("/v1/events", {"events": [event], "client": {"name": "ios"}, "after": "x"}, fmt)
    assert response.status_code == 200
    assert decode(response)["results"] == [accepted(event["id"], 1)]
    assert api.count() == 1


def test_references_between_events_are_not_checked(api: Api) -> None:
    retraction = an_event("event.retracted", data={"target": an_event()["id"]})
    milestone = an_event("milestone.reached")  # its project was never started
    body = api.push([retraction, milestone], "json")
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted"]


def test_device_seqs_need_not_be_contiguous(api: Api) -> None:
    device = Device()
    body = api.push([device.event(device_seq=5), device.event(device_seq=2)], "json")
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted"]


def test_json_escapes_are_meaning_not_bytes(api: Api) -> None:
    event = with_data(an_event(), text="Caf\u00e9 \U0001f389 / done")
    api.push([event], "json")
    escaped = msgspec.json.encode({"events": [event]}).replace("\u00e9".encode(), b"\\u00e9")
    escaped = escaped.replace("\U0001f389".encode(), b"\\ud83c\\udf89").replace(b"/ done", b"\\/ done")
    assert b"\\u00e9" in escaped and b"\\ud83c\\udf89" in escaped
    body = decode(api.post("/v1/events", escaped, "json"))
    assert body["results"][0]["status"] == "duplicate"


def test_both_versions_of_metric_observed_are_accepted_and_stored_as_pushed(api: Api, fmt: str) -> None:
    """Version 2 (``measure``, ``direction`` none) and version 1 side by side, by push and by sync; each
    stored and pulled at the version it was pushed with, never rewritten."""
    device, project = Device(), an_event("metric.observed")["project_id"]
    started = device.event("project.started", project_id=project, data={"name": "Pricing", "kind": "model"})
    v1 = device.event("metric.observed", project_id=project, data=FULL_DATA["metric.observed"])
    change = device.event(
        "metric.observed",
        project_id=project,
        v=2,
        data={"key": "conversion_lift", "layer": "business", "value": 3.1, "unit": "pp", "low": 1, "high": 5,
              "measure": "change", "direction": "none"},
    )  # fmt: skip
    level = device.event(
        "metric.observed",
        project_id=project,
        v=2,
        data={"key": "margin", "layer": "business", "value": 31, "measure": "level", "direction": "none"},
    )
    body = api.push([started, v1, change], fmt)
    assert body["results"] == [accepted(e["id"], i) for i, e in enumerate([started, v1, change], 1)]
    synced = api.sync([level], fmt, after=0)
    assert synced["results"] == [accepted(level["id"], 4)]
    pulled = {e["id"]: e for e in api.pull(fmt)["events"]}
    assert (pulled[v1["id"]]["v"], pulled[v1["id"]]["data"]) == (1, FULL_DATA["metric.observed"])
    assert pulled[change["id"]]["v"] == 2
    assert pulled[change["id"]]["data"] == {**change["data"], "low": 1.0, "high": 5.0}
    # `measure` at its default is left out of the normalized form, as an absent optional field is.
    assert (pulled[level["id"]]["v"], pulled[level["id"]]["data"]) == (
        2,
        {"key": "margin", "layer": "business", "value": 31.0, "direction": "none"},
    )
    # So the level pushed again without `measure` is the same event; each version's rules still hold.
    again = api.push(
        [with_data(level, measure=...), v1, with_data(change, low=3.2), with_data(v1, measure="change")], fmt
    )
    assert [(r["status"], r["code"]) for r in again["results"]] == [
        ("duplicate", None),
        ("duplicate", None),
        ("rejected", "invalid_event"),
        ("rejected", "invalid_event"),
    ]
    assert "low <= value <= high" in again["results"][2]["message"]
    assert "unknown field `measure`" in again["results"][3]["message"]
    # The read models fold both versions (a v1 metric reads as a v2 level).
    chains = api.http.get(
        f"/v1/projects/{project}/metric-chains", params={"min_seq": 4}, headers=api.headers(None)
    )
    assert chains.status_code == 200, chains.text
    assert {m["key"] for m in decode(chains)["metrics"]} == {"churn_rate", "conversion_lift", "margin"}


@pytest.mark.parametrize("at", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
@pytest.mark.parametrize("route", ["/v1/events", "/v1/sync"])
def test_a_timestamp_with_no_utc_datetime_is_an_invalid_event_not_a_500(
    api: Api, fmt: str, route: str, at: str
) -> None:
    # Converting either to UTC overflows Python's datetime (years 1 to 9999).
    bad, good = an_event(occurred_at=at), an_event()
    response = api.post(route, {"events": [bad, good]}, fmt)
    assert response.status_code == 200, response.text
    results = decode(response)["results"]
    assert (results[0]["id"], results[0]["code"]) == (bad["id"], "invalid_event")
    assert "outside 1970-01-01 to 2100-01-01 - at `$.events[0].occurred_at`" in results[0]["message"]
    assert results[1] == accepted(good["id"], 1)


def _msgpack_map(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """A MessagePack map from encoded keys and values (msgspec encodes only str keys of a Struct)."""
    assert len(pairs) < 16
    return bytes([0x80 | len(pairs)]) + b"".join(key + value for key, value in pairs)


def _packed(value: dict[str, Any], extra: tuple[bytes, bytes] | None = None) -> bytes:
    pairs = [(msgspec.msgpack.encode(key), msgspec.msgpack.encode(item)) for key, item in value.items()]
    return _msgpack_map([*pairs, extra] if extra else pairs)


NON_STRING_KEYS = {
    # (the key's bytes, the kind the message names)
    "int": (msgspec.msgpack.encode(1), "`int`"),
    "negative-int": (msgspec.msgpack.encode(-7), "`int`"),
    "float": (msgspec.msgpack.encode(1.5), "`float`"),
    "bool": (msgspec.msgpack.encode(True), "`bool`"),
    "nil": (msgspec.msgpack.encode(None), "`nil`"),
    "bin": (msgspec.msgpack.encode(b"id"), "`bin`"),
    "array": (msgspec.msgpack.encode(["id"]), "`array`"),
    "timestamp": (b"\xd6\xff" + (1_700_000_000).to_bytes(4, "big"), "`timestamp`"),
    "ext": (b"\xd4\x05\x00", "a map or an extension value"),
    "map": (msgspec.msgpack.encode({"id": 1}), "a map or an extension value"),
}


def _with_key_at(where: str, key: bytes) -> bytes:
    """A push body of two good events, with a map that has ``key`` (not a string) at ``where``."""
    first, second = an_event(), an_event()
    other = (key, msgspec.msgpack.encode("x"))
    if where == "$.events[1].data":
        second_bytes = _packed({**second, "data": None})
        second_bytes = second_bytes.replace(b"\xa4data\xc0", b"\xa4data" + _packed(second["data"], other))
    else:
        second_bytes = _packed(second, other if where == "$.events[1]" else None)
    top = [(b"\xa6events", b"\x92" + msgspec.msgpack.encode(first) + second_bytes)]
    if where == "$.client":  # inside a top-level field the server ignores
        top.append((b"\xa6client", _msgpack_map([other])))
    return _msgpack_map([*top, other] if where == "$" else top)


@pytest.mark.parametrize(("key", "kind"), NON_STRING_KEYS.values(), ids=NON_STRING_KEYS.keys())
def test_a_msgpack_map_with_a_key_that_is_not_a_string_is_a_malformed_body(
    api: Api, key: bytes, kind: str
) -> None:
    """docs/protocol.md 1.3: such a map is no object; the whole request is refused wherever it is,
    as invalid UTF-8 is (an event's `id` cannot be echoed from a body that is not the protocol's)."""
    for where in ("$", "$.events[1]", "$.events[1].data", "$.client"):
        for route in ("/v1/events", "/v1/sync"):
            problem = assert_problem(
                api.post(route, _with_key_at(where, key), "msgpack"), 400, "malformed_body"
            )
            detail = problem["detail"]
            assert detail.startswith("Map keys must be strings, got " + kind), (where, route, detail)
            assert kind.startswith("a map") or detail.endswith(f" - at `{where}`"), (where, route, detail)
    assert api.count() == 0
