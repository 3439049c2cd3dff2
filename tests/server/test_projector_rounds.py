"""The projector's rounds: the users behind are projected together, two write transactions a round, and
one user's trouble (a lease held elsewhere, a failing fold) never holds back or spoils the others'."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from schema.projections import build_models
from server.projections import batches, leases
from server.projections import projector as projector_module
from server.projections.projector import BatchResult, project_round
from server.projections.states import States
from server.projections.tracking import Checkpoint
from tests.factories import Device, client_fields, new_id
from tests.server.conftest import Api
from tests.support.inprocess import InProcessServer
from tests.support.readmodels import encoded, stored, user_id_of

pytestmark = pytest.mark.backends


def _expected(api: Api) -> dict[Any, bytes]:
    events, _ = api.pull_all()
    return encoded(build_models([client_fields(event) for event in events]))


def _push_a_project(api: Api, events: int) -> int:
    device, project = Device(), new_id()
    batch = [device.event("project.started", project_id=project)]
    batch += [device.event("win.captured", project_id=project) for _ in range(events - 1)]
    return int(api.push(batch)["cursor"])


@pytest.fixture
def three(server_factory: Callable[..., InProcessServer]) -> tuple[InProcessServer, list[Api]]:
    server = server_factory(projector_poll_s=0.05)
    server.portal.call(server.state.projector.stop)  # the test projects by hand
    return server, [Api(server, server.create_user(name), name) for name in ("ada", "grace", "edsger")]


def test_a_round_commits_the_users_it_can_and_leaves_a_busy_and_a_failing_one_as_they_were(
    three: tuple[InProcessServer, list[Api]], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, (ada, grace, edsger) = three
    heads = [_push_a_project(api, 5) for api in (ada, grace, edsger)]
    ids = [user_id_of(server, api.token) for api in (ada, grace, edsger)]
    store = server.state.store

    async def lease(user_id: int, take: bool) -> bool:
        async with store.write() as connection:
            if take:
                return await leases.take_lease(connection, user_id, "someone-else", 60)
            await leases.release_lease(connection, user_id, "someone-else")
            return True

    assert server.portal.call(lease, ids[1], True)
    read_and_fold = batches._read_and_fold

    async def failing_for_edsger(recorder: Any, user_id: int, *args: Any) -> Any:
        if user_id == ids[2]:
            raise RuntimeError("the fold of edsger's batch failed")
        return await read_and_fold(recorder, user_id, *args)

    monkeypatch.setattr(batches, "_read_and_fold", failing_for_edsger)
    states = States()

    async def round_() -> dict[int, BatchResult | Exception]:
        return await project_round(store, ids, "projector-x", states=states)

    results = server.portal.call(round_)
    assert results[ids[0]] == BatchResult("caught_up", heads[0], 5)
    assert results[ids[1]] == BatchResult("busy", -1, 0)
    failed = results[ids[2]]
    assert isinstance(failed, RuntimeError) and "edsger" in str(failed)
    # Ada's rows and checkpoint committed and equal a fold of her log; the others' did not move.
    checkpoint, models = stored(server, ids[0])
    assert checkpoint is not None and checkpoint.seq == heads[0]
    assert models == _expected(ada)
    assert stored(server, ids[1]) == (None, {})
    assert stored(server, ids[2]) == (None, {})
    assert ids[0] in states, "a committed user's folded state is kept for the next round"

    # Edsger's lease was let go (another holder takes it at once), ada's too: she is caught up.
    async def free(user_id: int) -> bool:
        async with store.write() as connection:
            taken = await leases.take_lease(connection, user_id, "checker", 60)
            await leases.release_lease(connection, user_id, "checker")
            return taken

    assert server.portal.call(free, ids[2]) and server.portal.call(free, ids[0])

    monkeypatch.setattr(batches, "_read_and_fold", read_and_fold)
    server.portal.call(lease, ids[1], False)
    heads[0] = _push_a_project(ada, 3)
    results = server.portal.call(round_)
    assert results == {
        ids[0]: BatchResult("caught_up", heads[0], 3),
        ids[1]: BatchResult("caught_up", heads[1], 5),
        ids[2]: BatchResult("caught_up", heads[2], 5),
    }
    for user_id, api in zip(ids, (ada, grace, edsger), strict=True):
        checkpoint, models = stored(server, user_id)
        assert checkpoint is not None and checkpoint.seq == results[user_id].seq  # type: ignore[union-attr]
        assert models == _expected(api)


def test_a_user_with_more_than_a_batch_goes_on_in_the_next_round_holding_the_lease(
    three: tuple[InProcessServer, list[Api]],
) -> None:
    server, (ada, grace, _) = three
    big = _push_a_project(ada, 7)
    small = _push_a_project(grace, 2)
    ids = [user_id_of(server, api.token) for api in (ada, grace)]
    store = server.state.store

    async def rounds() -> list[dict[int, BatchResult | Exception]]:
        done, users, leased = [], list(ids), set[int]()
        while users:
            results = await project_round(store, users, "projector-x", batch=3, leased=leased)
            done.append(results)
            users = [u for u, r in results.items() if isinstance(r, BatchResult) and r.status == "more"]
            leased = set(users)
        return done

    done = server.portal.call(rounds)
    assert [sorted((u, r.status) for u, r in results.items()) for results in done] == [  # type: ignore[union-attr]
        sorted([(ids[0], "more"), (ids[1], "caught_up")]),
        [(ids[0], "more")],
        [(ids[0], "caught_up")],
    ]
    assert stored(server, ids[0])[0] == Checkpoint(big, stored(server, ids[0])[0].version)  # type: ignore[union-attr]
    assert stored(server, ids[0])[1] == _expected(ada)
    assert stored(server, ids[1])[0] is not None and stored(server, ids[1])[0].seq == small  # type: ignore[union-attr]


def test_when_a_rounds_write_fails_the_projector_projects_its_users_one_by_one(
    server_factory: Callable[..., InProcessServer],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    failures = [RuntimeError("the round's write failed")]
    round_ = projector_module.project_round

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await round_(*args, **kwargs)

    monkeypatch.setattr(projector_module, "project_round", flaky)
    monkeypatch.setattr(projector_module.Projector, "_in_rounds", lambda self: True)  # PostgreSQL too
    served = server_factory(projector_poll_s=0.05)
    apis = [Api(served, served.create_user(name), name) for name in ("ada", "grace")]
    cursors = [_push_a_project(api, 3) for api in apis]
    for api, cursor in zip(apis, cursors, strict=True):
        response = api.http.get("/v1/projects", params={"min_seq": cursor}, headers=api.headers(None))
        assert response.status_code == 200 and response.json()["as_of_seq"] == cursor
        assert stored(served, user_id_of(served, api.token))[1] == _expected(api)
    assert not failures and "projecting them one by one" in caplog.text


def test_the_projector_works_in_rounds_on_sqlite_and_user_by_user_on_postgresql(
    server_factory: Callable[..., InProcessServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds: list[list[int]] = []
    round_ = projector_module.project_round

    async def counted(store: Any, user_ids: list[int], *args: Any, **kwargs: Any) -> Any:
        rounds.append(list(user_ids))
        return await round_(store, user_ids, *args, **kwargs)

    monkeypatch.setattr(projector_module, "project_round", counted)
    served = server_factory(projector_poll_s=0.05)
    api = Api(served, served.create_user("ada"), "ada")
    cursor = _push_a_project(api, 3)
    response = api.http.get("/v1/projects", params={"min_seq": cursor}, headers=api.headers(None))
    assert response.status_code == 200 and response.json()["as_of_seq"] == cursor
    assert bool(rounds) == (served.state.store.engine.dialect.name == "sqlite")
