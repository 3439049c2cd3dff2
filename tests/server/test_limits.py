"""Limits: body bytes (counted on what arrives), body time, request rate; and /v1/info that lists them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from schema import EVENT_TYPES, parse_timestamp
from server.eventlog.store import EventStore
from tests.factories import an_event, encode
from tests.server.conftest import MEDIA, Api, assert_problem, decode, stream

MAX_BYTES = 2000


def _body_over(limit: int, fmt: str) -> bytes:
    events: list[dict[str, Any]] = []
    while len(encode({"events": events}, fmt)) <= limit:
        events.append(an_event(full=True))
    return encode({"events": events}, fmt)


@pytest.fixture
def small(make_api: Callable[..., Api]) -> Api:
    return make_api(max_body_bytes=MAX_BYTES)


@pytest.mark.parametrize("path", ["/v1/events", "/v1/sync"])
def test_a_body_over_the_byte_limit_is_413(small: Api, fmt: str, path: str) -> None:
    body = _body_over(MAX_BYTES, fmt)
    problem = assert_problem(small.post(path, body, fmt), 413, "body_too_large")
    assert str(MAX_BYTES) in problem["detail"]
    assert small.count() == 0


def test_a_body_at_the_byte_limit_is_fine(small: Api) -> None:
    events = [an_event()]
    while len(encode({"events": [*events, an_event()]}, "json")) <= MAX_BYTES:
        events.append(an_event())
    body = encode({"events": events}, "json")
    body += b" " * (MAX_BYTES - len(body))
    assert len(body) == MAX_BYTES
    assert small.post("/v1/events", body, "json").status_code == 200


def test_the_byte_limit_counts_received_bytes_when_content_length_lies(small: Api, fmt: str) -> None:
    body = _body_over(MAX_BYTES, fmt)
    headers = {**small.headers(fmt), "Content-Length": "100"}
    assert_problem(stream(small.server, "/v1/events", body, headers), 413, "body_too_large")
    assert small.count() == 0


def test_the_byte_limit_counts_received_bytes_of_a_streamed_body(small: Api, fmt: str) -> None:
    body = _body_over(MAX_BYTES, fmt)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 256):
            yield body[start : start + 256]

    response = stream(small.server, "/v1/events", chunks, small.headers(fmt))
    assert response.request.headers.get("content-length") is None
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, 413, "body_too_large")
    assert small.count() == 0


def test_a_streamed_body_within_the_limit_is_accepted(small: Api) -> None:
    body = encode({"events": [an_event()]}, "json")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    response = stream(small.server, "/v1/events", chunks, small.headers("json"))
    assert response.status_code == 200 and decode(response)["cursor"] == 1


def test_a_body_that_arrives_too_slowly_is_408(make_api: Callable[..., Api]) -> None:
    api = make_api(body_timeout_s=0.2)
    body = encode({"events": [an_event()]}, "json")

    async def slow() -> AsyncIterator[bytes]:
        yield body[:10]
        await asyncio.sleep(2)
        yield body[10:]

    started = time.monotonic()
    response = stream(api.server, "/v1/events", slow, api.headers("json"))
    assert_problem(response, 408, "body_timeout")
    assert time.monotonic() - started < 1.5  # answered at the limit, not when the body ended
    assert api.count() == 0


def test_a_slow_but_timely_body_is_fine(make_api: Callable[..., Api]) -> None:
    api = make_api(body_timeout_s=1.0)
    body = encode({"events": [an_event()]}, "json")

    async def slow() -> AsyncIterator[bytes]:
        yield body[:10]
        await asyncio.sleep(0.05)
        yield body[10:]

    assert stream(api.server, "/v1/events", slow, api.headers("json")).status_code == 200


def test_the_third_quick_request_is_rate_limited(make_api: Callable[..., Api]) -> None:
    api = make_api(rate_limit_per_s=1, rate_limit_burst=2)
    assert api.pull_response().status_code == 200
    assert api.push_response([an_event()]).status_code == 200
    response = api.pull_response()
    problem = assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 2
    assert problem["epoch"] == api.server.epoch
    assert_problem(api.push_response([an_event()]), 429, "rate_limited")
    assert api.server.http.get("/healthz").status_code == 200
    other = Api(api.server, api.server.create_user("grace"), "grace")
    assert other.pull_response().status_code == 200


def test_a_busy_database_is_503_with_retry_after(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def busy(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(EventStore, "pull", busy)
    response = api.pull_response()
    assert_problem(response, 503, "unavailable")
    assert int(response.headers["retry-after"]) >= 1


# -- /v1/info ---------------------------------------------------------------------------------


def test_info_lists_limits_event_types_epoch_and_time(api: Api, fmt: str) -> None:
    response = api.http.get("/v1/info", headers=api.headers(None, MEDIA[fmt]))
    assert response.status_code == 200
    info = decode(response)
    assert info["epoch"] == api.server.epoch == response.headers["winledger-epoch"]
    assert info["protocol"] == 1
    assert info["event_types"] == {name: sorted(versions) for name, versions in EVENT_TYPES.items()}
    assert info["limits"] == {
        "max_batch": 1000,
        "max_body_bytes": 4 * 1024 * 1024,
        "body_timeout_seconds": 30.0,
        "default_page": 500,
        "max_page": 5000,
        "max_name": 200,
        "max_label": 100,
        "max_text": 10_000,
        "max_quote": 2_000,
        "max_tags": 20,
        "max_tag": 50,
        "max_integer": 2**53 - 1,
        "max_depth": 64,
    }
    server_time = parse_timestamp(info["server_time"])
    assert abs((server_time - datetime.now(UTC)).total_seconds()) < 60
    assert info["server_time"].endswith("Z") and len(info["server_time"]) == 27


def test_info_reports_configured_limits(make_api: Callable[..., Api]) -> None:
    api = make_api(max_batch=3, max_body_bytes=2000, default_page=2, max_page=4, body_timeout_s=5)
    limits = decode(api.http.get("/v1/info", headers=api.headers(None)))["limits"]
    assert (limits["max_batch"], limits["max_body_bytes"]) == (3, 2000)
    assert (limits["default_page"], limits["max_page"], limits["body_timeout_seconds"]) == (2, 4, 5)
