"""Load shedding: past the in-flight cap or the write queue, a request gets 503 at once, with Retry-After.

(The burst against a real server, and the client SDK waiting as told, is tests/e2e/test_hardening.py.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout

from server.eventlog.store import EventStore
from server.settings import Settings, SettingsError
from tests.factories import an_event
from tests.server.conftest import Api, assert_problem


def _shed(response: httpx.Response, epoch: str) -> None:
    assert_problem(response, 503, "unavailable")
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Winledger-Epoch"] == epoch


def test_past_the_write_queue_a_push_is_shed_and_the_queued_one_goes_through(
    make_api: Callable[..., Api],
) -> None:
    api = make_api(max_write_queue=1)
    api.push([an_event()])  # the token's use is recorded: the requests below only push
    server = api.server
    headers = api.headers("json")

    async def scenario() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as http:

            def push() -> asyncio.Task[httpx.Response]:
                return asyncio.create_task(
                    http.post("/v1/events", json={"events": [an_event()]}, headers=headers)
                )

            async with server.state.store.write():  # a long write holds the lock
                queued = push()
                while server.state.store.waiting < 1:
                    await asyncio.sleep(0.01)
                shed = await push()
                pull = await http.get("/v1/events", headers=headers)  # reads never queue
            return await queued, shed, pull

    queued, shed, pull = server.portal.call(scenario)
    _shed(shed, server.epoch)
    assert queued.status_code == 200 and queued.json()["cursor"] == 2, queued.text
    assert pull.status_code == 200
    assert api.count() == 2


def test_past_the_in_flight_cap_a_request_is_shed_before_anything_else(make_api: Callable[..., Api]) -> None:
    api = make_api(max_inflight=2)
    api.push([an_event()])
    server = api.server
    headers = api.headers("json")

    async def scenario() -> tuple[list[httpx.Response], list[httpx.Response]]:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as http:
            async with server.state.store.write():
                held = [
                    asyncio.create_task(
                        http.post("/v1/events", json={"events": [an_event()]}, headers=headers)
                    )
                    for _ in range(2)
                ]
                while server.state.store.waiting < 2:
                    await asyncio.sleep(0.01)
                others = [
                    await http.get("/v1/info", headers=headers),
                    await http.get("/v1/events"),  # no token: shed before authentication
                    await http.post("/v1/sync", content=b"{", headers=headers),  # body never read
                    await http.get("/healthz"),  # not a /v1 route: never shed
                ]
            return list(await asyncio.gather(*held)), others

    held, others = server.portal.call(scenario)
    assert [response.status_code for response in held] == [200, 200]
    for response in others[:3]:
        _shed(response, server.epoch)
    assert others[3].status_code == 200
    assert api.http.get("/v1/info", headers=headers).status_code == 200  # free again


def test_no_pooled_connection_in_time_is_503_not_500(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def exhausted(*args: object, **kwargs: object) -> None:
        raise PoolTimeout("QueuePool limit of size 5 overflow 10 reached, connection timed out")

    monkeypatch.setattr(EventStore, "pull", exhausted)
    response = api.pull_response()
    assert_problem(response, 503, "unavailable")
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("name", ["MAX_INFLIGHT", "MAX_WRITE_QUEUE"])
def test_the_shedding_settings_come_from_the_environment_and_0_turns_them_off(name: str) -> None:
    field = name.lower()
    assert getattr(Settings.from_env({f"WINLEDGER_{name}": "7"}), field) == 7
    assert getattr(Settings.from_env({f"WINLEDGER_{name}": "0"}), field) == 0
    with pytest.raises(SettingsError, match=f"WINLEDGER_{name}"):
        Settings.from_env({f"WINLEDGER_{name}": "many"})
    with pytest.raises(SettingsError, match=field):
        Settings.from_env({f"WINLEDGER_{name}": "-1"})
