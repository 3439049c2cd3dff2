"""Hardening against a real ``winledger serve`` process: deep bodies, tokens in logs, a burst of devices."""

from __future__ import annotations

import asyncio
import base64
import random
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from client_sdk import Client
from tests.factories import Device, an_event
from tests.server.test_depth import CRASH_DEPTH, deep_json, deep_msgpack
from tests.support.process import ServerProcess, run_cli

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def test_a_body_deep_enough_to_crash_a_decoder_is_refused_and_the_server_lives(
    live_server: ServerProcess,
) -> None:
    (token,) = live_server.create_users("deep")
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        for media, body in (
            ("application/json", deep_json(CRASH_DEPTH)),
            ("application/msgpack", deep_msgpack(CRASH_DEPTH)),
        ):
            response = http.post("/v1/sync", content=body, headers={"Content-Type": media})
            assert response.status_code == 400, response.text
            assert response.json()["code"] == "malformed_body"
            assert live_server.process is not None and live_server.process.poll() is None
        assert http.post("/v1/events", json={"events": [an_event()]}).status_code == 200
        assert http.get("/v1/events").json()["count"] == 1


def test_no_token_or_secret_reaches_the_log_even_at_debug_level(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "logs.db", log_level="debug")
    token, other = server.create_users("ada", "grace")
    revoked = run_cli("admin", "create-token", "ada", "--db", server.db_url).stdout.strip().splitlines()[-1]
    run_cli("admin", "revoke-token", revoked.split("_")[1], "--db", server.db_url)
    token_id, secret = token.removeprefix("wl_").split("_")
    wrong = f"wl_{token_id}_{'0' * 64}"
    server.start()
    try:
        with httpx.Client(base_url=server.url) as http:
            for value in (token, other, revoked, wrong, token.upper(), token[:-1]):
                for authorization in (
                    f"Bearer {value}",
                    value,
                    f"Basic {base64.b64encode(f'ada:{value}'.encode()).decode()}",
                ):
                    headers = {"Authorization": authorization, "Content-Type": "application/json"}
                    http.get("/v1/events", headers=headers)
                    http.post("/v1/sync", content=b'{"events": [', headers=headers)
            bearer = {"Authorization": f"Bearer {token}"}
            http.post("/v1/events", json={"events": [an_event()]}, headers=bearer)
            http.get("/v1/info", headers=bearer)
            http.get("/v1/projects", headers=bearer)
            # A client that puts its token where logs look: the query string, the path.
            http.get("/v1/events", params={"access_token": token, "after": "x"}, headers=bearer)
            http.get("/v1/events", params={"token": token.upper()}, headers=bearer)
            http.get(f"/v1/projects/{token}/timeline", headers=bearer)
            http.get(f"/{token}")
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert '"GET /v1/events' in log and '"POST /v1/sync' in log, "the access log was not on"
    assert f"wl_{token_id}_[redacted]" in log and f"WL_{token_id.upper()}_[redacted]" in log
    for value in (token, other, revoked, wrong):
        for piece in (value, value.split("_")[2], value.upper()):
            assert piece not in log
    assert secret.upper() not in log and base64.b64encode(f"ada:{token}".encode()).decode() not in log


class RecordingTransport(httpx.BaseTransport):
    """A real HTTP transport that notes when each request went out and what came back."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.log: list[tuple[float, float, int, str | None]] = []  # (sent, answered, status, Retry-After)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        sent = time.monotonic()
        response = self.inner.handle_request(request)
        response.read()
        self.log.append((sent, time.monotonic(), response.status_code, response.headers.get("Retry-After")))
        return response

    def close(self) -> None:
        self.inner.close()


async def _device(
    http: httpx.AsyncClient, token: str, body: dict[str, Any], shed: threading.Event, rng: random.Random
) -> list[httpx.Response]:
    """One device's sync, sent again after each 429 or 503 once Retry-After (plus jitter) has passed."""
    answers: list[httpx.Response] = []
    for _ in range(30):
        response = await http.post("/v1/sync", json=body, headers={"Authorization": f"Bearer {token}"})
        answers.append(response)
        if response.status_code not in (429, 503) or "Retry-After" not in response.headers:
            break
        shed.set()
        await asyncio.sleep(int(response.headers["Retry-After"]) + rng.uniform(0, 0.25))
    return answers


async def _burst(
    url: str, requests: list[tuple[str, dict[str, Any]]], shed: threading.Event
) -> list[list[httpx.Response]]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    rng = random.Random(5)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        return await asyncio.gather(*(_device(http, token, body, shed, rng) for token, body in requests))


def test_a_burst_of_devices_is_answered_or_shed_never_500_and_the_sdk_waits_as_told(tmp_path: Path) -> None:
    # Small limits, so that 200 devices syncing at once are a burst: 184 speak HTTP directly (each
    # retries after Retry-After), 16 are client SDK stores that start syncing once shedding has begun.
    env = {
        "WINLEDGER_MAX_INFLIGHT": "96",
        "WINLEDGER_MAX_WRITE_QUEUE": "32",
        "WINLEDGER_RATE_LIMIT_PER_S": "20",
        "WINLEDGER_RATE_LIMIT_BURST": "5",
    }
    server = ServerProcess(tmp_path / "burst.db", env=env)
    tokens = server.create_users(*(f"user-{index}" for index in range(20)))
    server.start()
    try:
        raw: list[tuple[str, dict[str, Any]]] = []
        for index in range(184):
            device = Device()
            raw.append((tokens[index % 20], {"events": [device.event(), device.event()], "after": 0}))
        sdk: list[tuple[Client, RecordingTransport, list[str]]] = []
        sdk_tokens: list[str] = []
        for index in range(16):
            transport = RecordingTransport()
            # One token for the 16 stores, whose rate limit (a burst of 5) they reach together: each is told
            # to wait by the limit if not by the burst, however soon the burst has drained.
            sdk_tokens.append(tokens[0])
            client = Client(
                tmp_path / f"sdk-{index}.db", server.url, sdk_tokens[-1], transport=transport, retries=8
            )
            sdk.append((client, transport, [client.capture(f"win {index}.{n}") for n in range(3)]))
        shed = threading.Event()
        failures: list[BaseException] = []

        def sync(client: Client) -> None:
            shed.wait(30)
            try:
                client.sync()
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=sync, args=(client,)) for client, _, _ in sdk]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        answers = asyncio.run(_burst(server.url, raw, shed))
        for thread in threads:
            thread.join(60)
        elapsed = time.monotonic() - started

        responses = [response for device in answers for response in device]
        statuses = [response.status_code for response in responses]
        for response in responses:
            assert response.status_code in (200, 429, 503), response.text
            if response.status_code != 200:
                assert response.headers["content-type"] == PROBLEM
                assert (
                    response.json()["code"] == {429: "rate_limited", 503: "unavailable"}[response.status_code]
                )
                assert int(response.headers["Retry-After"]) >= 1
        assert all(device[-1].status_code == 200 for device in answers), "a device never got in"
        sdk_statuses = [status for _, transport, _ in sdk for _, _, status, _ in transport.log]
        assert set(sdk_statuses) <= {200, 429, 503}
        print(
            f"burst: {len(raw)} devices over HTTP and {len(sdk)} SDK stores, all in after {elapsed:.1f} s; "
            f"HTTP answers {_tally(statuses)}, SDK answers {_tally(sdk_statuses)}"
        )
        assert not failures, failures

        # The SDK waited at least Retry-After before asking again, and every client got everything in.
        waited = 0
        for client, transport, ids in sdk:
            for (_, answered, status, retry_after), (sent_next, *_) in zip(
                transport.log, transport.log[1:], strict=False
            ):
                if status in (429, 503):
                    assert retry_after is not None
                    assert sent_next - answered >= int(retry_after) - 0.01
                    waited += 1
            assert {event.id for event in client.events()} >= set(ids)
            assert client.status().pending == 0 and client.verify()
            client.close()
        assert waited, "no SDK client was told to wait: the burst did not reach the SDK"

        # Exactly what was acknowledged is stored: a shed request stored nothing.
        acknowledged: dict[str, set[str]] = {}
        for token, body in raw:
            acknowledged.setdefault(token, set()).update(event["id"] for event in body["events"])
        for token, (_, _, ids) in zip(sdk_tokens, sdk, strict=True):
            acknowledged.setdefault(token, set()).update(ids)
        with httpx.Client(base_url=server.url) as http:
            for token in tokens:
                page = http.get(
                    "/v1/events", params={"limit": 5000}, headers={"Authorization": f"Bearer {token}"}
                )
                pulled = [event["id"] for event in msgspec.json.decode(page.content)["events"]]
                assert len(pulled) == len(set(pulled)) == page.json()["count"]
                assert set(pulled) == acknowledged[token]
        assert server.process is not None and server.process.poll() is None
    finally:
        server.stop()
    assert "Traceback" not in server.log_path.read_text()


def _tally(statuses: list[int]) -> dict[int, int]:
    return {status: statuses.count(status) for status in sorted(set(statuses))}
