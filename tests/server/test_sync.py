"""POST /v1/sync: push, then pull in the same round trip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import Device, an_event
from tests.server.conftest import Api, assert_problem, independent_digest

MAX_INT = 2**53 - 1

pytestmark = pytest.mark.backends


def test_sync_pushes_then_pulls_what_it_just_pushed(api: Api, fmt: str) -> None:
    events = Device().events(3)
    body = api.sync(events, fmt, after=0)
    assert [r["status"] for r in body["results"]] == ["accepted"] * 3
    assert [r["seq"] for r in body["results"]] == [1, 2, 3]
    assert all(list(r) == ["id", "status", "seq", "code", "message"] for r in body["results"])
    assert [e["id"] for e in body["events"]] == [e["id"] for e in events]
    assert body["cursor"] == 3 and body["more"] is False
    assert body["count"] == 3 and body["digest"] == independent_digest(body["events"])
    assert body["epoch"] == api.server.epoch


def test_sync_pulls_from_after_including_others_events_and_its_own(api: Api, fmt: str) -> None:
    device_a, device_b = Device(), Device()
    api.push(device_a.events(2), fmt)
    mine = device_b.events(2)
    body = api.sync(mine, fmt, after=1)
    assert [e["seq"] for e in body["events"]] == [2, 3, 4]
    assert [e["id"] for e in body["events"][1:]] == [e["id"] for e in mine]
    assert body["cursor"] == 4


def test_sync_defaults_after_to_0(api: Api) -> None:
    api.push([an_event()], "json")
    body = api.sync([an_event()])
    assert [e["seq"] for e in body["events"]] == [1, 2]


def test_sync_returns_the_pull_cursor_and_pages_with_limit(api: Api, fmt: str) -> None:
    body = api.sync(Device().events(5), fmt, after=0, limit=2)
    assert [r["seq"] for r in body["results"]] == [1, 2, 3, 4, 5]
    assert [e["seq"] for e in body["events"]] == [1, 2]
    assert body["cursor"] == 2 and body["more"] is True
    assert "count" not in body and "digest" not in body


def test_a_sync_with_no_events_is_a_pull(api: Api, fmt: str) -> None:
    api.push(Device().events(3), "json")
    body = api.sync([], fmt, after=1)
    assert body["results"] == []
    assert [e["seq"] for e in body["events"]] == [2, 3]
    pulled = api.pull(fmt, after=1)
    assert {k: v for k, v in body.items() if k != "results"} == pulled


def test_sync_reports_duplicates_and_rejections_like_a_push(api: Api, fmt: str) -> None:
    stored = an_event()
    api.push([stored], fmt)
    body = api.sync([stored, an_event(device_seq=0), an_event()], fmt, after=0)
    assert [(r["status"], r["seq"], r["code"]) for r in body["results"]] == [
        ("duplicate", 1, None),
        ("rejected", None, "invalid_event"),
        ("accepted", 2, None),
    ]
    assert [e["seq"] for e in body["events"]] == [1, 2]


@pytest.mark.parametrize(
    "fields",
    [
        {"after": -1},
        {"after": MAX_INT + 1},
        {"after": "0"},
        {"after": 1.5},
        {"after": True},
        {"after": None},
        {"limit": 0},
        {"limit": -5},
        {"limit": MAX_INT + 1},
        {"limit": "10"},
        {"limit": 2.0},
        {"limit": False},
    ],
    ids=lambda fields: "-".join(f"{k}={v!r}" for k, v in fields.items()),
)
def test_bad_after_or_limit_in_the_body_is_400_and_stores_nothing(
    api: Api, fmt: str, fields: dict[str, Any]
) -> None:
    response = api.sync_response({"events": [an_event()], **fields}, fmt)
    body = assert_problem(response, 400, "invalid_parameter")
    (name,) = fields
    assert f"`$.{name}`" in body["detail"]
    assert api.count() == 0


def test_a_huge_limit_in_the_body_is_treated_as_the_maximum(make_api: Callable[..., Api]) -> None:
    api = make_api(max_page=2, default_page=2)
    body = api.sync(Device().events(3), "json", after=0, limit=MAX_INT)
    assert [e["seq"] for e in body["events"]] == [1, 2] and body["more"] is True


def test_sync_after_beyond_the_newest_seq_is_409_and_stores_nothing(api: Api, fmt: str) -> None:
    api.push([an_event()], fmt)
    # Pushing two events would make seq 3 exist, but the position is judged before storing anything.
    response = api.sync_response({"events": [an_event(), an_event()], "after": 3}, fmt)
    body = assert_problem(response, 409, "cursor_ahead")
    assert body["epoch"] == api.server.epoch
    assert api.count() == 1
    assert_problem(api.sync_response({"events": [], "after": 2}, fmt), 409, "cursor_ahead")


def test_sync_at_the_newest_seq_is_fine(api: Api) -> None:
    api.push([an_event()], "json")
    body = api.sync([an_event()], after=1)
    assert [e["seq"] for e in body["events"]] == [2]
