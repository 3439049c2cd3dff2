"""Failures between the client and the server: nothing is lost, and sync() can always run again."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from client_sdk import AuthError, NetworkError, ProtocolError, RateLimitedError, ServerError
from client_sdk._transport import retry_after_seconds
from tests.client_sdk.conftest import FaultyTransport, MakeClient
from tests.client_sdk.test_sync import server_events
from tests.support.inprocess import InProcessServer

Plan = Callable[[httpx.Request, int], Any]


def on_sync(action: Any, *, times: int = 1) -> Plan:
    """``action`` for the first ``times`` requests to /v1/sync, then pass through."""
    seen = 0

    def plan(request: httpx.Request, attempt: int) -> Any:
        nonlocal seen
        if request.url.path != "/v1/sync" or seen >= times:
            return None
        seen += 1
        return action

    return plan


def problem(status: int, code: str, retry_after: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/problem+json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    body = {"type": "about:blank", "title": code, "status": status, "code": code, "detail": "injected"}
    return httpx.Response(status, headers=headers, content=json.dumps(body).encode())


@pytest.mark.parametrize("when", ["before", "after"])
def test_an_interrupted_sync_is_safe_to_run_again(
    make_client: MakeClient, server: InProcessServer, token: str, when: str
) -> None:
    faulty = FaultyTransport(server.transport, on_sync(when))
    laptop = make_client("laptop", transport=faulty, retries=0)
    ids = [laptop.capture(f"win {index}") for index in range(4)]
    with pytest.raises(NetworkError) as caught:
        laptop.sync()
    assert caught.value.attempts == 1
    assert laptop.status().pending == 4
    report = laptop.sync()
    assert report.pushed == 4
    assert (report.accepted, report.duplicates) == ((4, 0) if when == "before" else (0, 4))
    assert [event["id"] for event in server_events(server, token)] == ids
    assert laptop.verify()


def test_an_interrupted_pull_resumes_from_the_last_committed_page(
    make_client: MakeClient, server: InProcessServer
) -> None:
    laptop = make_client("laptop")
    for index in range(12):
        laptop.capture(f"win {index}")
    laptop.sync()

    def fail_third_page(request: httpx.Request, attempt: int) -> str | None:
        return "after" if request.url.path == "/v1/sync" and attempt == 4 else None

    faulty = FaultyTransport(server.transport, fail_third_page)
    phone = make_client("phone", transport=faulty, retries=0, page_size=4)
    with pytest.raises(NetworkError):
        phone.sync()
    assert phone.status().cursor == 8 and len(phone.events()) == 8
    report = phone.sync()
    assert report.pulled == 4
    assert [e.id for e in phone.events()] == [e.id for e in laptop.events()]


def test_transient_failures_are_retried_with_backoff(
    make_client: MakeClient, server: InProcessServer
) -> None:
    outcomes = iter(["before", problem(500, "internal"), problem(502, "bad_gateway"), "after"])
    faulty = FaultyTransport(server.transport, lambda request, attempt: next(outcomes, None))
    laptop = make_client("laptop", transport=faulty, retries=5, backoff=0.25, max_backoff=0.6)
    waits: list[float] = []
    laptop._transport().sleep = waits.append
    laptop.capture("made it through")
    assert laptop.sync().pushed == 1
    assert len(waits) == 4
    assert all(0.5 * cap <= wait <= cap for wait, cap in zip(waits, [0.25, 0.5, 0.6, 0.6], strict=True))
    assert laptop.status().pending == 0


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limited"), (503, "unavailable")])
def test_retry_after_is_honored(
    make_client: MakeClient, server: InProcessServer, status: int, code: str
) -> None:
    faulty = FaultyTransport(server.transport, on_sync(problem(status, code, retry_after="3"), times=2))
    laptop = make_client("laptop", transport=faulty)
    waits: list[float] = []
    laptop._transport().sleep = waits.append
    laptop.capture("patience")
    assert laptop.sync().accepted == 1
    assert waits == [3.0, 3.0]


def test_a_retry_after_too_long_to_wait_is_raised(make_client: MakeClient, server: InProcessServer) -> None:
    faulty = FaultyTransport(server.transport, on_sync(problem(429, "rate_limited", retry_after="3600")))
    laptop = make_client("laptop", transport=faulty, max_retry_after=60)
    laptop.capture("later")
    with pytest.raises(RateLimitedError) as caught:
        laptop.sync()
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (429, "rate_limited", 3600.0)
    assert "3600" in str(caught.value)
    assert laptop.status().pending == 1


def test_retry_after_accepts_an_http_date() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 3, 14, 9, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Sat, 14 Mar 2026 09:00:30 GMT", now) == 30.0
    assert retry_after_seconds("7", now) == 7.0
    assert retry_after_seconds("soon", now) is None


def test_a_server_that_stays_down_raises_after_the_retries(
    make_client: MakeClient, server: InProcessServer
) -> None:
    faulty = FaultyTransport(server.transport, lambda request, attempt: "before")
    laptop = make_client("laptop", transport=faulty, retries=3)
    laptop.capture("offline for now")
    with pytest.raises(NetworkError) as caught:
        laptop.sync()
    assert caught.value.attempts == 4 and len(faulty.requests) == 4
    assert laptop.status().pending == 1


def test_a_refused_token_raises_an_auth_error_and_keeps_everything(make_client: MakeClient) -> None:
    laptop = make_client("laptop", token="wl_1_not-the-secret")
    laptop.capture("still mine")
    with pytest.raises(AuthError) as caught:
        laptop.sync()
    assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    assert "token" in str(caught.value)
    assert laptop.status().pending == 1


def test_a_client_error_is_raised_not_retried(make_client: MakeClient, server: InProcessServer) -> None:
    faulty = FaultyTransport(server.transport, on_sync(problem(400, "malformed_body"), times=10))
    laptop = make_client("laptop", transport=faulty)
    laptop.capture("x")
    with pytest.raises(ServerError) as caught:
        laptop.sync()
    assert (caught.value.status, caught.value.code) == (400, "malformed_body")
    assert len([r for r in faulty.requests if r.url.path == "/v1/sync"]) == 1


class HideLimits(httpx.BaseTransport):
    """Reports the default limits in /v1/info whatever the server enforces (an old or misconfigured proxy)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.sizes: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        response = self.inner.handle_request(request)
        if request.url.path == "/v1/sync":
            self.sizes.append(len(json.loads(request.content)["events"]))
        if request.url.path != "/v1/info":
            return response
        body = response.json()
        body["limits"].update(max_batch=1000, max_body_bytes=4 * 1024 * 1024)
        return httpx.Response(200, json=body, request=request)


def test_body_too_large_splits_the_batch(
    make_client: MakeClient, server_factory: Callable[..., InProcessServer]
) -> None:
    small = server_factory(max_body_bytes=1500)
    hidden = HideLimits(small.transport)
    laptop = make_client("laptop", server=small, token=small.create_user("alice"), transport=hidden)
    for index in range(12):
        laptop.capture(f"win number {index}")
    report = laptop.sync()
    assert report.accepted == 12 and report.rejected == 0
    assert hidden.sizes[0] == 12 and max(hidden.sizes[1:]) < 12
    assert laptop.verify()


def test_known_limits_shape_the_batches_before_any_413(
    make_client: MakeClient, server_factory: Callable[..., InProcessServer]
) -> None:
    small = server_factory(max_body_bytes=1500, max_batch=3)
    faulty = FaultyTransport(small.transport, lambda request, attempt: None)
    laptop = make_client("laptop", server=small, token=small.create_user("alice"), transport=faulty)
    for index in range(12):
        laptop.capture(f"win number {index}")
    assert laptop.sync().accepted == 12
    sizes = [len(json.loads(r.content)["events"]) for r in faulty.requests if r.url.path == "/v1/sync"]
    assert max(sizes) <= 3 and all(len(r.content) <= 1500 for r in faulty.requests)


def test_batch_too_large_uses_smaller_batches(
    make_client: MakeClient, server_factory: Callable[..., InProcessServer]
) -> None:
    small = server_factory(max_batch=3)
    hidden = HideLimits(small.transport)
    laptop = make_client("laptop", server=small, token=small.create_user("alice"), transport=hidden)
    for index in range(10):
        laptop.capture(f"win {index}")
    assert laptop.sync().accepted == 10
    assert hidden.sizes[:3] == [10, 5, 2]
    assert laptop.verify()


def test_an_event_too_large_for_any_request_is_set_aside(
    make_client: MakeClient, server_factory: Callable[..., InProcessServer]
) -> None:
    small = server_factory(max_body_bytes=1000)
    laptop = make_client("laptop", server=small, token=small.create_user("alice"), transport=small.transport)
    laptop.capture("short")
    big = laptop.capture("long " * 300)
    laptop.capture("short again")
    report = laptop.sync()
    assert (report.accepted, report.rejected) == (2, 1)
    [rejected] = laptop.rejected()
    assert (rejected.id, rejected.code) == (big, "body_too_large")
    assert laptop.verify()


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, content=b"<html>a captive portal</html>"),
        httpx.Response(200, json={"results": [], "events": [], "cursor": 0, "more": False, "epoch": "e"}),
    ],
    ids=["not-json", "results-missing"],
)
def test_an_answer_outside_the_protocol_is_a_protocol_error(
    make_client: MakeClient, server: InProcessServer, answer: httpx.Response
) -> None:
    faulty = FaultyTransport(server.transport, on_sync(answer))
    laptop = make_client("laptop", transport=faulty)
    laptop.capture("kept")
    with pytest.raises(ProtocolError):
        laptop.sync()
    assert laptop.status().pending == 1
    assert laptop.sync().accepted == 1
