"""GET /v1/events: after/limit rules, cursor and more, count and digest, cursor_ahead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from schema import EMPTY_DIGEST, ValidEvent, validate_fields
from tests.factories import ALL_TYPES, Device, an_event, client_fields
from tests.server.conftest import Api, assert_problem, independent_digest

MAX_INT = 2**53 - 1

pytestmark = pytest.mark.backends


def test_an_empty_log_pulls_nothing_with_count_0_and_the_empty_digest(api: Api, fmt: str) -> None:
    page = api.pull(fmt)
    assert page == {
        "events": [],
        "cursor": 0,
        "more": False,
        "epoch": api.server.epoch,
        "count": 0,
        "digest": EMPTY_DIGEST,
    }


def test_a_full_pull_carries_count_and_a_digest_of_what_was_pulled(api: Api, fmt: str) -> None:
    events = [an_event(t, full=full) for t in ALL_TYPES for full in (False, True)]
    api.push(events, fmt)
    page = api.pull(fmt)
    assert page["more"] is False
    assert page["count"] == len(events) == len(page["events"])
    assert page["digest"] == independent_digest(page["events"])
    assert [e["id"] for e in page["events"]] == [e["id"] for e in events]
    assert [e["seq"] for e in page["events"]] == list(range(1, len(events) + 1))


def test_json_and_msgpack_pulls_hold_the_same_events(api: Api) -> None:
    api.push([an_event(t, full=True) for t in ALL_TYPES], "json")
    as_json, as_msgpack = api.pull("json"), api.pull("msgpack")
    assert as_msgpack == as_json
    value = next(e for e in as_msgpack["events"] if e["type"] == "metric.observed")["data"]["value"]
    assert type(value) is float


def test_paging_sets_cursor_and_more_and_only_the_last_page_has_count_and_digest(api: Api) -> None:
    api.push(Device().events(5), "json")
    first = api.pull(after=0, limit=2)
    assert [e["seq"] for e in first["events"]] == [1, 2]
    assert first["cursor"] == 2 and first["more"] is True
    assert "count" not in first and "digest" not in first
    second = api.pull(after=first["cursor"], limit=2)
    assert [e["seq"] for e in second["events"]] == [3, 4]
    assert second["cursor"] == 4 and second["more"] is True
    last = api.pull(after=second["cursor"], limit=2)
    assert [e["seq"] for e in last["events"]] == [5]
    assert last["cursor"] == 5 and last["more"] is False
    assert last["count"] == 5
    assert last["digest"] == independent_digest(first["events"] + second["events"] + last["events"])


def test_a_page_that_ends_exactly_at_the_newest_seq_has_more_false(api: Api) -> None:
    api.push(Device().events(4), "json")
    page = api.pull(after=2, limit=2)
    assert page["more"] is False and page["cursor"] == 4 and page["count"] == 4


def test_pulling_at_the_newest_seq_returns_nothing_and_keeps_the_cursor(api: Api) -> None:
    events = Device().events(3)
    api.push(events, "json")
    page = api.pull(after=3)
    assert page["events"] == [] and page["cursor"] == 3 and page["more"] is False
    assert page["count"] == 3
    assert page["digest"] == independent_digest(api.pull()["events"])


def test_after_beyond_the_newest_seq_is_cursor_ahead(api: Api, fmt: str) -> None:
    api.push([an_event()], "json")
    for after in (2, MAX_INT):
        body = assert_problem(api.pull_response(fmt, after=after), 409, "cursor_ahead")
        assert body["epoch"] == api.server.epoch
    assert api.pull_response(after=1).status_code == 200


def test_a_log_pages_without_skipping_or_repeating(api: Api) -> None:
    devices = [Device(), Device()]
    pushed = []
    for batch in range(5):
        events = [devices[(batch + i) % 2].event(ALL_TYPES[i % len(ALL_TYPES)]) for i in range(batch + 3)]
        api.push(events, "msgpack" if batch % 2 else "json")
        pushed += events
    seen: list[dict[str, Any]] = []
    after = 0
    while True:
        page = api.pull(after=after, limit=4)
        seen += page["events"]
        assert page["cursor"] == (page["events"][-1]["seq"] if page["events"] else after)
        after = page["cursor"]
        if not page["more"]:
            break
    assert [e["seq"] for e in seen] == list(range(1, len(pushed) + 1))
    assert [e["id"] for e in seen] == [e["id"] for e in pushed]
    assert page["count"] == len(pushed)
    assert page["digest"] == independent_digest(seen)
    by_id = {e["id"]: e for e in pushed}
    for event in seen:
        assert client_fields(event)["data"] == by_id[event["id"]]["data"]


def test_limit_defaults_to_500(api: Api) -> None:
    api.push(Device().events(501), "json")
    page = api.pull()
    assert len(page["events"]) == 500 and page["more"] is True and page["cursor"] == 500
    rest = api.pull(after=500)
    assert [e["seq"] for e in rest["events"]] == [501] and rest["more"] is False


@pytest.mark.parametrize("limit", [5001, 10**9, MAX_INT])
def test_a_limit_above_the_maximum_is_treated_as_the_maximum(
    make_api: Callable[..., Api], limit: int
) -> None:
    api = make_api(max_page=3, default_page=2)
    api.push(Device().events(5), "json")
    page = api.pull(limit=limit)
    assert [e["seq"] for e in page["events"]] == [1, 2, 3] and page["more"] is True
    assert len(api.pull()["events"]) == 2


def test_the_default_maximum_page_is_5000(api: Api) -> None:
    device = Device()
    for _ in range(5):
        api.push(device.events(1000), "json")
    api.push(device.events(1), "json")
    for limit in (5001, MAX_INT):
        page = api.pull(limit=limit)
        assert len(page["events"]) == 5000 and page["cursor"] == 5000 and page["more"] is True
    assert api.pull(after=5000, limit=5000)["events"][0]["seq"] == 5001


def test_the_largest_after_is_accepted_as_a_number(api: Api) -> None:
    # 2^53 - 1 is a valid position: the answer is about the log (cursor_ahead), not the syntax.
    assert_problem(api.pull_response(after=MAX_INT), 409, "cursor_ahead")


BAD_VALUES = [
    "-1",
    str(MAX_INT + 1),
    "99999999999999999999",
    "abc",
    "",
    "1.5",
    "+1",
    " 1",
    "1e3",
    "0x10",
    "1_0",
]


@pytest.mark.parametrize("value", BAD_VALUES)
@pytest.mark.parametrize("name", ["after", "limit"])
def test_bad_after_and_limit_are_invalid_parameter(api: Api, name: str, value: str) -> None:
    body = assert_problem(api.pull_response(**{name: value}), 400, "invalid_parameter")
    assert f"`{name}`" in body["detail"]


def test_limit_zero_is_invalid_parameter(api: Api) -> None:
    assert_problem(api.pull_response(limit=0), 400, "invalid_parameter")


def test_a_trailing_newline_is_not_a_number(api: Api) -> None:
    response = api.http.get("/v1/events?after=0%0A", headers=api.headers(None))
    assert_problem(response, 400, "invalid_parameter")


def test_each_event_is_served_as_its_stored_bytes_with_seq_and_received_at_added(api: Api) -> None:
    # SQLite splices seq and received_at into the stored body in SQL; the bytes must be those of the
    # stored body whatever the text holds (non-ASCII, escapes, quotes), as PostgreSQL's path serves them.
    texts = ["Zoë's “churn” model ✅ shipped 🚀", 'a "quoted" \\ backslash\tand\nnewline', "日本語のメモ"]
    events = [an_event(data={"text": text, "source": "text"}) for text in texts]
    stored = [validate_fields(client_fields(event)) for event in events]
    api.push(events)
    raw = api.pull_response().content
    page = msgspec.json.decode(raw)
    for seq, (valid, served) in enumerate(zip(stored, page["events"], strict=True), start=1):
        assert isinstance(valid, ValidEvent)
        spliced = valid.body[:-1] + b',"seq":%d,"received_at":"%s"}' % (seq, served["received_at"].encode())
        assert spliced in raw
        assert served["data"]["text"] == texts[seq - 1]
