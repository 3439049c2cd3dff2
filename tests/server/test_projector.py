"""The projector: read models follow the log incrementally, resume from their checkpoint, rebuild on a
new projection version, respect leases, and always equal a fold of the whole log."""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schema.projections
import server.projections.batches
import server.projections.rebuild
from schema.projections import build_models
from server.projections import leases
from server.projections import pool as server_pool
from server.projections import rebuild as server_rebuild
from server.projections.leases import new_holder
from server.projections.projector import project_batch
from server.projections.rebuild import rebuild_user
from server.projections.states import ForwardRead, fold_batch, refold
from server.projections.tracking import Checkpoint
from server.projections.verify import verify_user
from tests.factories import Device, an_event, client_fields, new_id
from tests.server.conftest import Api, decode
from tests.strategies import user_logs
from tests.support.inprocess import InProcessServer
from tests.support.readmodels import encoded, stored, user_id_of

FAST = {"projector_poll_s": 0.05}

pytestmark = pytest.mark.backends


def projects(api: Api, **params: Any) -> dict[str, Any]:
    response = api.http.get("/v1/projects", params=params, headers=api.headers(None))
    assert response.status_code == 200, response.text
    return decode(response)  # type: ignore[no-any-return]


def timeline(api: Api, project: str, **params: Any) -> dict[str, Any] | None:
    response = api.http.get(f"/v1/projects/{project}/timeline", params=params, headers=api.headers(None))
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return decode(response)  # type: ignore[no-any-return]


def expected_models(api: Api) -> dict[Any, bytes]:
    events, _ = api.pull_all()
    return encoded(build_models([client_fields(event) for event in events]))


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.02)


@pytest.fixture
def user(server_factory: Callable[..., InProcessServer]) -> Api:
    server = server_factory(**FAST)
    return Api(server, server.create_user("ada"))


def test_a_late_project_started_renames_the_placeholder(user: Api) -> None:
    device, project = Device(), new_id()
    cursor = user.push([device.event("milestone.reached", project_id=project)])["cursor"]
    before = timeline(user, project, min_seq=cursor)
    assert before is not None
    assert before["timeline"]["named"] is False
    assert before["timeline"]["name"] != "Churn model"
    started = device.event("project.started", project_id=project, clock=1)  # sorts first, arrives last
    cursor = user.push([started])["cursor"]
    after = timeline(user, project, min_seq=cursor)
    assert after is not None
    assert (after["timeline"]["named"], after["timeline"]["name"]) == (True, "Churn model")
    assert [s["name"] for s in projects(user)["projects"]] == ["Churn model"]


def test_a_retraction_that_arrives_before_its_target_hides_it(user: Api) -> None:
    device, project = Device(), new_id()
    win = device.event("win.captured", project_id=project)
    keep = device.event("win.captured", project_id=project)
    cursor = user.push([device.event("event.retracted", data={"target": win["id"]})])["cursor"]
    assert projects(user, min_seq=cursor)["projects"] == []
    cursor = user.push([win, keep])["cursor"]
    body = timeline(user, project, min_seq=cursor)
    assert body is not None
    assert [entry["id"] for entry in body["timeline"]["entries"]] == [keep["id"]]
    assert stored(user.server, user_id_of(user.server, user.token))[1] == expected_models(user)


def test_a_retraction_after_its_target_hides_it_and_an_emptied_project_disappears(user: Api) -> None:
    device, project = Device(), new_id()
    win = device.event("win.captured", project_id=project)
    cursor = user.push([win])["cursor"]
    assert timeline(user, project, min_seq=cursor) is not None
    retraction = device.event("event.retracted", data={"target": win["id"]})
    cursor = user.push([retraction])["cursor"]
    assert projects(user, min_seq=cursor)["projects"] == []
    assert timeline(user, project) is None
    # A retraction of the retraction changes nothing: retraction is for good.
    cursor = user.push([device.event("event.retracted", data={"target": retraction["id"]})])["cursor"]
    assert projects(user, min_seq=cursor)["projects"] == []
    assert stored(user.server, user_id_of(user.server, user.token))[1] == {}


def test_events_are_applied_in_bounded_batches(server_factory: Callable[..., InProcessServer]) -> None:
    server = server_factory(projector_batch=3, **FAST)
    api = Api(server, server.create_user("ada"))
    device, project = Device(), new_id()
    cursor = api.push([device.event("win.captured", project_id=project) for _ in range(10)])["cursor"]
    assert projects(api, min_seq=cursor)["as_of_seq"] == cursor
    checkpoint, models = stored(server, user_id_of(server, api.token))
    assert checkpoint == Checkpoint(10, schema.projections.PROJECTION_VERSION)
    assert models == expected_models(api)


def test_a_restart_resumes_from_the_checkpoint_without_reapplying_events(
    tmp_path: Path, server_factory: Callable[..., InProcessServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = server_factory(**FAST)
    path = first.db_path
    token = first.create_user("ada")
    api = Api(first, token)
    device, project, other = Device(), new_id(), new_id()
    cursor = api.push([device.event("win.captured", project_id=project) for _ in range(3)])["cursor"]
    assert projects(api, min_seq=cursor)["as_of_seq"] == cursor
    user_id = user_id_of(first, token)
    before = stored(first, user_id)
    first.close()

    folded: list[list[str]] = []

    def spy(events: dict[str, list[dict[str, Any]]], retracted: list[dict[str, Any]]) -> Any:
        folded.append(sorted(events))
        return refold(events, retracted)

    def forward_spy(read: ForwardRead) -> Any:
        folded.append(sorted(read.keys))
        return fold_batch(read)

    monkeypatch.setattr(server.projections.batches, "refold", spy)
    monkeypatch.setattr(server.projections.batches, "fold_batch", forward_spy)
    second = server_factory(path, **FAST)
    api = Api(second, token)
    time.sleep(0.3)  # several polls of the projector
    assert stored(second, user_id) == before
    assert folded == []
    cursor = api.push([device.event("win.captured", project_id=other)])["cursor"]
    assert projects(api, min_seq=cursor)["as_of_seq"] == cursor
    assert folded == [[other]]
    assert stored(second, user_id)[1] == expected_models(api)


def test_a_new_projection_version_is_rebuilt_in_the_background_serving_the_old_models_meanwhile(
    tmp_path: Path, server_factory: Callable[..., InProcessServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = server_factory(**FAST)
    path = first.db_path
    token = first.create_user("ada")
    api = Api(first, token)
    device, project = Device(), new_id()
    cursor = api.push([device.event("project.started", project_id=project)])["cursor"]
    old = projects(api, min_seq=cursor)
    assert old["projection_version"] == schema.projections.PROJECTION_VERSION
    first.close()

    release = threading.Event()
    fold_projects = server.projections.rebuild.fold_projects

    def held(*args: Any) -> Any:
        assert release.wait(10), "the test never released the rebuild"
        return fold_projects(*args)

    new_version = schema.projections.PROJECTION_VERSION + 1
    monkeypatch.setattr(schema.projections, "PROJECTION_VERSION", new_version)
    monkeypatch.setattr(server.projections.rebuild, "fold_projects", held)
    second = server_factory(path, **FAST)
    api = Api(second, token)
    try:
        time.sleep(0.2)
        # The rebuild runs (held at its fold); the old models are served, pushes are taken.
        assert projects(api) == {**old, "epoch": second.epoch}
        cursor = api.push([device.event("win.captured", project_id=project)])["cursor"]
    finally:
        release.set()
    eventually(lambda: projects(api)["projection_version"] == new_version)
    body = projects(api, min_seq=cursor)
    assert body["as_of_seq"] == cursor
    checkpoint, models = stored(second, user_id_of(second, token))
    assert checkpoint == Checkpoint(cursor, new_version)
    assert models == expected_models(api)


def test_a_user_leased_by_someone_else_waits_until_the_lease_is_released(user: Api) -> None:
    server = user.server
    user_id = user_id_of(server, user.token)

    async def lease(take: bool) -> bool:
        async with server.state.store.write() as connection:
            if take:
                return await leases.take_lease(connection, user_id, "someone-else", 60)
            await leases.release_lease(connection, user_id, "someone-else")
            return True

    assert server.portal.call(lease, True)
    cursor = user.push([an_event()])["cursor"]
    time.sleep(0.2)
    assert stored(server, user_id)[0] is None
    server.portal.call(lease, False)
    assert projects(user, min_seq=cursor)["as_of_seq"] == cursor


def test_a_projector_hands_the_lease_over_to_a_rebuild_that_asked_for_it(user: Api) -> None:
    server = user.server
    user_id = user_id_of(server, user.token)
    store = server.state.store

    async def scenario() -> tuple[bool, str]:
        async with store.write() as connection:
            assert await leases.take_lease(connection, user_id, "projector-x", 60)
        async with store.write() as connection:
            refused = not await leases.take_lease(connection, user_id, "rebuild-y", 60, request=True)
        result = await project_batch(store, user_id, "projector-x", leased=True)
        async with store.write() as connection:
            assert await leases.take_lease(connection, user_id, "rebuild-y", 60), "handed over"
            await leases.release_lease(connection, user_id, "rebuild-y")
        return refused, result.status

    server.portal.call(server.state.projector.stop)
    user.push([an_event()])
    refused, status = server.portal.call(scenario)
    assert refused and status == "busy"


def test_a_failing_projection_is_retried_and_never_fails_a_push(
    user: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fold = fold_batch
    failures = [RuntimeError("boom")]

    def flaky(read: ForwardRead) -> Any:
        if failures:
            raise failures.pop()
        return fold(read)

    monkeypatch.setattr(server.projections.batches, "fold_batch", flaky)
    result = user.push([an_event()])
    assert result["results"][0]["status"] == "accepted"
    assert projects(user, min_seq=result["cursor"])["as_of_seq"] == result["cursor"]
    assert "projecting user" in caplog.text and "boom" in caplog.text


def test_admin_rebuild_and_verify_in_process(user: Api) -> None:
    server = user.server
    user_id = user_id_of(server, user.token)
    device, project = Device(), new_id()
    wins = [device.event("win.captured", project_id=project) for _ in range(5)]
    # Two wins of no project: their bucket is folded and stored, and counted as no project.
    loose = [device.event("win.captured", project_id=None) for _ in range(2)]
    cursor = user.push(wins + loose)["cursor"]
    assert projects(user, min_seq=cursor)["as_of_seq"] == cursor
    before = stored(server, user_id)
    holder = new_holder("test")
    outcome = server.portal.call(lambda: rebuild_user(server.state.store, user_id, holder, lease_wait_s=5))
    assert (outcome.events, outcome.projects, outcome.seq) == (7, 1, cursor)
    assert stored(server, user_id) == before
    verified = server.portal.call(lambda: verify_user(server.state.store, user_id, holder, lease_wait_s=5))
    assert (verified.differences, verified.projects) == ([], 1)

    async def corrupt() -> None:
        async with server.state.projector.recorder.writing() as writes:
            model = (await writes.load_models_of(user_id, [project]))[project]
            changed = msgspec.structs.replace(model.timeline, name="Tampered")
            checkpoint = await writes.read_checkpoint(user_id)
            assert checkpoint is not None
            tampered = {project: msgspec.structs.replace(model, timeline=changed)}
            await writes.record(user_id, tampered, checkpoint, checkpoint)

    server.portal.call(corrupt)
    verified = server.portal.call(lambda: verify_user(server.state.store, user_id, holder, lease_wait_s=5))
    assert verified.differences == [
        f"{project}: $.timeline.name: live 'Tampered' != rebuilt 'Unnamed project {project[:8]}'"
    ]


def test_a_rebuild_folded_by_worker_processes_writes_the_rows_of_one_folded_in_process(
    user: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = user.server
    user_id = user_id_of(server, user.token)
    devices, projects_ = [Device(), Device()], [new_id() for _ in range(5)]
    events = [
        devices[index % 2].event("win.captured", project_id=projects_[index % 5]) for index in range(60)
    ]
    events.append(devices[0].event("event.retracted", data={"target": events[3]["id"]}))
    events += [devices[1].event("win.captured", project_id=None) for _ in range(3)]
    cursor = user.push(events)["cursor"]
    assert projects(user, min_seq=cursor)["as_of_seq"] == cursor
    before = stored(server, user_id)
    monkeypatch.setattr(server_pool, "POOL_EVENTS", 1)
    monkeypatch.setattr(server_rebuild, "READ_EVENTS", 20)  # several reads, folded side by side

    async def rebuild() -> Any:
        with server_pool.fold_pool(len(events), workers=2) as pool:
            assert pool is not None
            return await rebuild_user(
                server.state.store, user_id, new_holder("test"), lease_wait_s=5, pool=pool
            )

    outcome = server.portal.call(rebuild)
    assert (outcome.events, outcome.projects, outcome.seq) == (len(events), 5, cursor)
    assert stored(server, user_id) == before


def test_a_rebuilds_memory_is_one_read_of_projects_not_the_whole_log(
    user: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Peak memory (Python allocations, tracemalloc) stays flat when the log grows 4x in projects of the
    same size: a rebuild holds one read of whole projects, never the log."""
    # The bounds, made small enough to show at this size: events per read, model bytes per insert.
    monkeypatch.setattr(server.projections.rebuild, "READ_EVENTS", 300)
    monkeypatch.setattr(server.projections.rebuild, "SWAP_BYTES", 100_000)
    server_, device = user.server, Device()
    user_id = user_id_of(server_, user.token)
    text = "Caught churners thirty days ahead of the renewal, with a recall the team trusted. " * 3

    def grow(count: int, per_project: int = 300) -> None:
        events = [
            device.event("win.captured", project_id=project, data={"text": text, "source": "text"})
            for project in [new_id() for _ in range(count)]
            for _ in range(per_project)
        ]
        for start in range(0, len(events), 1000):
            cursor = user.push(events[start : start + 1000])["cursor"]
        projects(user, min_seq=cursor)  # the projector is done: only the rebuild runs while measured

    def peak() -> int:
        tracemalloc.start()
        try:
            outcome = server_.portal.call(
                lambda: rebuild_user(server_.state.store, user_id, new_holder("test"), lease_wait_s=5)
            )
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            assert outcome.events > 0

    grow(4)
    peak()  # first-use allocations (caches, compiled statements) out of the way
    small = peak()
    grow(12)
    large = peak()  # 16 projects of 300 events: 4x the log
    assert large < 2 * small, f"peak {large:,} bytes for 4x the log, against {small:,}"


def test_the_demo_year_pushed_device_by_device_equals_a_fold_and_a_rebuild(
    server_factory: Callable[..., InProcessServer],
) -> None:
    from client_sdk.demo_year import demo_year

    server = server_factory(projector_batch=50, **FAST)
    api = Api(server, server.create_user("dana"))
    events = demo_year(2026)
    cursor = 0
    for device in sorted({event["device_id"] for event in events}):
        cursor = api.push([event for event in events if event["device_id"] == device])["cursor"]
    assert projects(api, min_seq=cursor)["as_of_seq"] == cursor == len(events)
    user_id = user_id_of(server, api.token)
    checkpoint, incremental = stored(server, user_id)
    assert incremental == encoded(build_models(events)) == expected_models(api)
    holder = new_holder("test")
    verified = server.portal.call(lambda: verify_user(server.state.store, user_id, holder, lease_wait_s=5))
    assert (verified.differences, verified.seq) == ([], cursor)
    server.portal.call(lambda: rebuild_user(server.state.store, user_id, holder, lease_wait_s=5))
    assert stored(server, user_id) == (checkpoint, incremental)


# The property: incremental == fold of the whole set == rebuild --------------------------------


@pytest.fixture(scope="module")
def property_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """Small projector batches, so that batches and pushes interleave in every way."""
    with start_blocking_portal() as portal:
        server = InProcessServer(
            tmp_path_factory.mktemp("projector") / "server.db", portal, projector_batch=6, **FAST
        )
        try:
            yield server
        finally:
            server.close()


_names = iter(range(1, 10**9))


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(log=user_logs(), data=st.data())
def test_incremental_models_equal_a_fold_of_the_whole_log_and_a_rebuild(
    property_server: InProcessServer, log: list[dict[str, Any]], data: st.DataObject
) -> None:
    server = property_server
    token = server.create_user(f"prop-{next(_names)}")
    api = Api(server, token)
    order = data.draw(st.permutations(log))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(order) - 1)), max_size=3)))
    batches = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(order)], strict=True) if order[a:b]]
    cursor = 0
    user_id = user_id_of(server, token)
    for batch in batches:
        results = api.push(batch)
        assert {r["status"] for r in results["results"]} == {"accepted"}
        cursor = results["cursor"]
        # After each batch, folded forward from the models of the batches before it (or re-folded).
        assert projects(api, min_seq=cursor)["as_of_seq"] == cursor
        assert stored(server, user_id)[1] == encoded(build_models(log_as_stored(api)))
    again = data.draw(st.sampled_from(batches))
    assert {r["status"] for r in api.push(again)["results"]} == {"duplicate"}
    assert projects(api, min_seq=cursor)["as_of_seq"] == cursor == len(log)

    checkpoint, incremental = stored(server, user_id)
    assert checkpoint is not None and checkpoint.seq == cursor
    whole = encoded(build_models(log_as_stored(api)))
    assert incremental == whole

    holder = new_holder("property")
    server.portal.call(lambda: rebuild_user(server.state.store, user_id, holder, lease_wait_s=5))
    assert stored(server, user_id) == (checkpoint, whole)


def log_as_stored(api: Api) -> list[dict[str, Any]]:
    events, _ = api.pull_all()
    return [client_fields(event) for event in events]
