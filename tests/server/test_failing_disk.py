"""A failing disk: an I/O error or a full disk in the store makes the request a clean 503 with
Retry-After, leaves nothing half visible, and the store works again once the fault clears."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event

from server.eventlog.sqlite import SQLiteRecorder
from tests.factories import Device, an_event
from tests.server.conftest import Api, assert_problem, decode, independent_digest
from tests.support.faults import Faults


@pytest.fixture
def disk(make_api: Callable[..., Api]) -> Iterator[tuple[Api, Faults]]:
    api = make_api(projector_poll_s=0.05)
    faults = Faults(api.server.state)
    yield api, faults
    faults.clear()


def _standing(api: Api) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    events, last = api.pull_all()
    return events, {"count": last["count"], "digest": last["digest"], "cursor": last["cursor"]}


def _assert_unavailable(response: Any) -> None:
    assert_problem(response, 503, "unavailable")
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("message", "statement"),
    [
        ("disk I/O error", "INSERT INTO events"),
        ("database or disk is full", "INSERT INTO events"),
        # After the events are written, inside the same transaction: the rollback must take them back.
        ("disk I/O error", "UPDATE users"),
    ],
)
def test_a_push_on_a_failing_disk_is_503_stores_nothing_and_works_once_it_clears(
    disk: tuple[Api, Faults], fmt: str, message: str, statement: str
) -> None:
    api, faults = disk
    device = Device()
    api.push(device.events(3), fmt)
    before_events, before = _standing(api)
    batch = device.events(5)

    faults.fail(message, statement)
    _assert_unavailable(api.push_response(batch, fmt))
    _assert_unavailable(api.sync_response({"events": batch, "after": 0}, fmt))
    assert faults.raised == 2
    # Reads still work, and see exactly what was there before: nothing of the failed batch.
    assert _standing(api) == (before_events, before)
    assert decode(api.sync_response({"events": [], "after": 3}, fmt))["events"] == []

    faults.clear()
    body = api.push(batch, fmt)
    assert [(r["status"], r["seq"]) for r in body["results"]] == [("accepted", seq) for seq in range(4, 9)]
    events, after = _standing(api)
    assert [event["seq"] for event in events] == list(range(1, 9))
    assert after["count"] == 8 and after["digest"] == independent_digest(events)
    projects = decode(api.http.get("/v1/projects", params={"min_seq": 8}, headers=api.headers(None)))
    assert projects["as_of_seq"] == 8


def test_a_really_full_disk_is_503_and_the_store_takes_writes_again_when_space_returns(
    disk: tuple[Api, Faults],
) -> None:
    """No injected exception: SQLite itself refuses to grow the file past ``max_page_count``."""
    api, _ = disk
    state = api.server.state
    api.push([an_event()])
    before_events, before = _standing(api)
    no_cap = 2**32 - 2  # SQLite clamps it to its own maximum
    pages = {"cap": no_cap}

    def cap(dbapi_connection: Any, *_: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count = {pages['cap']}")
        cursor.close()

    # On every checkout, so that whichever pooled connection the push gets has the cap of the moment.
    event.listen(state.engine.sync_engine, "checkout", cap)

    async def page_count() -> int:
        async with state.engine.connect() as connection:
            return int((await connection.exec_driver_sql("PRAGMA page_count")).scalar())

    async def cap_the_writer() -> None:
        # The push writer's own connection (SQLite), which the engine's checkout never sees.
        recorder = state.store.recorder
        if isinstance(recorder, SQLiteRecorder):
            await recorder.writer.run(lambda c: c.execute(f"PRAGMA max_page_count = {pages['cap']}"))

    big = [an_event(data={"text": "x" * 8000, "source": "text"}) for _ in range(40)]
    pages["cap"] = api.server.portal.call(page_count)
    api.server.portal.call(cap_the_writer)
    response = api.push_response(big)
    _assert_unavailable(response)
    assert "full" not in response.text  # the problem says "unavailable", not SQLite's words
    assert _standing(api) == (before_events, before)

    pages["cap"] = no_cap
    api.server.portal.call(cap_the_writer)
    assert [r["status"] for r in api.push(big)["results"]] == ["accepted"] * 40
    events, after = _standing(api)
    assert after["count"] == 41 and after["digest"] == independent_digest(events)


def test_a_failing_disk_under_the_projector_never_reaches_a_push_and_the_models_catch_up(
    disk: tuple[Api, Faults],
) -> None:
    api, faults = disk
    faults.fail("disk I/O error", "INSERT INTO project_models")
    device, project = Device(), an_event("project.started")["project_id"]
    started = device.event("project.started", project_id=project, data={"name": "Churn", "kind": "model"})
    assert api.push([started])["cursor"] == 1
    deadline = time.monotonic() + 5
    while not faults.raised and time.monotonic() < deadline:
        time.sleep(0.01)
    assert faults.raised, "the projector never tried to write"
    assert api.push([device.event("milestone.reached", project_id=project)])["cursor"] == 2
    behind = decode(api.http.get("/v1/projects", headers=api.headers(None)))
    assert (behind["projects"], behind["as_of_seq"]) == ([], 0)

    faults.clear()
    projects = decode(api.http.get("/v1/projects", params={"min_seq": 2}, headers=api.headers(None)))
    assert projects["as_of_seq"] == 2
    assert [(p["id"], p["stage"]) for p in projects["projects"]] == [(project, "deployed")]
