"""Group commit on SQLite: concurrent pushes share one durable commit, each is answered only after it,
and one request's failure never takes another's events with it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from tests.factories import Device, an_event
from tests.server.conftest import Api
from tests.support.faults import Faults


def test_concurrent_pushes_share_one_commit_and_a_failing_one_fails_alone(
    make_api: Callable[..., Api],
) -> None:
    api = make_api()
    server = api.server
    other = Api(server, server.create_user("grace"), "grace")
    api.push([an_event()])
    other.push([an_event()])
    counted = Faults(server.state)  # counts the commits of every connection that writes
    device, kept = Device(), an_event()
    api.push([kept])
    server.portal.call(server.state.projector.stop)  # its own transactions would be counted too
    counted.commits = 0

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as http:

            def post(who: Api, path: str, body: dict[str, Any]) -> asyncio.Task[httpx.Response]:
                return asyncio.create_task(http.post(path, json=body, headers=who.headers("json")))

            async with server.state.store.write():  # the writer is busy: the pushes below queue up
                tasks = [
                    post(api, "/v1/events", {"events": device.events(3)}),
                    post(api, "/v1/sync", {"events": device.events(2), "after": 999}),  # beyond the log
                    post(other, "/v1/events", {"events": [an_event(), an_event()]}),
                    post(api, "/v1/events", {"events": [kept, *device.events(1)]}),  # a duplicate, a new one
                ]
                while server.state.store.waiting < len(tasks):
                    await asyncio.sleep(0.01)
                assert not any(task.done() for task in tasks)  # nobody is answered before the commit
            return list(await asyncio.gather(*tasks))

    first, ahead, theirs, mixed = server.portal.call(scenario)
    assert counted.commits == 1  # one COMMIT for the four pushes (the writer issues it as a statement)
    # The requests reach the queue in the order their handlers get there, not the order above: each
    # request's events take consecutive seqs, and together they take 3 to 6.
    assert first.status_code == 200 and mixed.status_code == 200
    first_seqs = [r["seq"] for r in first.json()["results"]]
    assert first_seqs in ([3, 4, 5], [4, 5, 6])
    (duplicate, new) = [(r["status"], r["seq"]) for r in mixed.json()["results"]]
    assert duplicate == ("duplicate", 2) and new[0] == "accepted"
    assert sorted([*first_seqs, new[1]]) == [3, 4, 5, 6]
    assert ahead.status_code == 409 and ahead.json()["code"] == "cursor_ahead"
    assert theirs.status_code == 200 and [r["seq"] for r in theirs.json()["results"]] == [2, 3]
    # The refused sync stored nothing; everything acknowledged is there, once.
    events, last = api.pull_all()
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5, 6] and last["count"] == 6
    assert other.count() == 3
