"""Each invariant is shown to bite: the checker the state machine runs, run against a deliberately
broken variant of the code, catches it.

A checker that never fails proves nothing. Each test below breaks one thing on
purpose (the server, the client, the wire or a projection), drives a few steps
a device could take, and asserts that the checker names the invariant that
broke. ``docs/convergence.md`` shows a failure found by the state machine, shrunk.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from typing import Any

import httpx
import msgspec
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import schema
import schema.projections
from client_sdk import _merge, _sync
from schema.events import EventRetracted
from schema.projections import fold
from schema.projections import forward as forward_fold
from schema.projections.forward import ProjectFold
from server.eventlog import sqlalchemy as sqlalchemy_recorder
from server.eventlog import sqlite as sqlite_recorder
from server.eventlog.rules import Existing
from tests import strategies
from tests.convergence import checks
from tests.convergence.checks import Violation
from tests.convergence.fleet import Fleet
from tests.convergence.harness import Device
from tests.convergence.specs import Capture, CopyStore, Retract, Skew, Start, Update
from tests.schema import test_projections
from tests.support.wire import forward


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    with Fleet(users=("ada", "bo")) as made:
        yield made


def caught(action: Callable[[], Any]) -> str:
    """The invariant that ``action`` violates."""
    with pytest.raises(Violation) as violation:
        action()
    return violation.value.invariant


class Rewriting(httpx.BaseTransport):
    """A wire that changes requests on their way to the server, or pages on their way back."""

    def __init__(
        self,
        inner: Callable[[], httpx.BaseTransport],
        request: Callable[[bytes], bytes] = lambda body: body,
        page: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] = lambda sent, page: page,
    ) -> None:
        self.inner, self.request, self.page = inner, request, page

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = self.request(request.read())
            request = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = forward(self.inner(), request)
        if request.url.path != "/v1/sync" or response.status_code != 200:
            return response
        page = self.page(json.loads(request.content), json.loads(response.content))
        return httpx.Response(200, json=page, request=request)


def rewire(device: Device, **changes: Any) -> None:
    route = device.wire.route
    device.wire.route = lambda: Rewriting(route, **changes)


def wait_for_projector(fleet: Fleet, user: str) -> None:
    head = len(checks.read_server(fleet.admin.db_path).logs[user])
    headers = {"Authorization": f"Bearer {fleet.tokens[user]}"}
    answer = fleet.admin.http().get("/v1/projects", params={"min_seq": head}, headers=headers)
    assert answer.json()["as_of_seq"] == head


def two_renames_out_of_order(fleet: Fleet) -> tuple[Device, Device]:
    """The laptop renames a project offline, the phone renames it later but syncs first: the
    arrival order is not the canonical order, and the later rename must win."""
    laptop, phone = fleet.add_device("ada"), fleet.add_device("ada")
    fleet.append(laptop, Start("Churn model", "model", None))
    fleet.sync(laptop)
    fleet.sync(phone)
    fleet.append(laptop, Update(0, "Churn v1", None))
    fleet.append(phone, Update(0, "Churn v2", None))
    fleet.sync(phone)
    fleet.sync(laptop)
    return laptop, phone


def arrival_order_models(events: Any) -> dict[str | None, Any]:
    """A broken ``build_models``: folds in the order it is given, keeps duplicates, ignores retractions."""
    grouped: dict[str | None, list[Any]] = {}
    for fields in events:
        event = schema.read_event(dict(fields))
        if event is not None and not isinstance(event, EventRetracted):
            grouped.setdefault(event.project_id, []).append(event)
    return {key: fold.fold_project(key, items) for key, items in grouped.items()}


# -- after every step ---------------------------------------------------------------------------


def test_once_bites_a_server_that_stores_a_retried_push_twice(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def forgetful(*args: Any) -> Existing:
        return Existing()

    monkeypatch.setattr(sqlalchemy_recorder, "_existing", forgetful)
    monkeypatch.setattr(sqlite_recorder, "_existing", lambda *args: Existing())  # SQLite's writer
    with closing(sqlite3.connect(fleet.admin.db_path)) as db:
        db.executescript("DROP INDEX ix_events_user_event; DROP INDEX ix_events_user_device;")
    laptop = fleet.add_device("ada")
    fleet.append(laptop, Capture(None, "a win", (), None))
    fleet.sync(laptop, [None, "lost_after"])  # after /v1/info, the push: its answer is lost, it is retried
    assert caught(fleet.check) == checks.ONCE


def test_appended_bites_a_proxy_that_rewrites_an_event_in_flight(fleet: Fleet) -> None:
    laptop = fleet.add_device("ada")
    rewire(laptop, request=lambda body: body.replace(b'"a win"', b'"a big win"'))
    fleet.append(laptop, Capture(None, "a win", (), None))
    fleet.sync(laptop)
    assert caught(fleet.check) == checks.APPENDED


def test_acked_bites_a_server_that_loses_an_acknowledged_event(fleet: Fleet) -> None:
    laptop = fleet.add_device("ada")
    for text in ("first", "second"):
        fleet.append(laptop, Capture(None, text, (), None))
    fleet.sync(laptop)
    fleet.check()
    # The last commit is lost (say, a disk that lied about fsync), and the log is consistent again.
    with closing(sqlite3.connect(fleet.admin.db_path)) as db, db:
        db.execute("DELETE FROM events WHERE seq = 2")
        (digest,) = db.execute("SELECT hash FROM events").fetchone()
        db.execute("UPDATE users SET last_seq = 1, digest = ? WHERE name = 'ada'", (digest,))
        db.execute("UPDATE projection_checkpoints SET seq = 0")
        db.execute("DELETE FROM project_models")
    assert caught(fleet.check) == checks.ACKED


def test_pull_bites_a_server_whose_pages_skip_a_seq(fleet: Fleet) -> None:
    laptop, phone = fleet.add_device("ada"), fleet.add_device("ada")
    for text in ("first", "second", "third"):
        fleet.append(laptop, Capture(None, text, (), None))
    fleet.sync(laptop)
    rewire(phone, page=lambda sent, page: {**page, "events": page["events"][1:]})
    assert caught(lambda: fleet.sync(phone)) == checks.PULL


def test_cursor_bites_a_client_whose_sync_skips_the_last_page(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    apply_page = _merge.apply_page

    def skipping(conn: Any, page: Any, *args: Any) -> bool:
        if not page.more:
            page = msgspec.structs.replace(page, events=[])
        return apply_page(conn, page, *args)

    monkeypatch.setattr(_merge, "apply_page", skipping)
    laptop, phone = fleet.add_device("ada"), fleet.add_device("ada", page_size=2)
    for index in range(5):
        fleet.append(laptop, Capture(None, f"win {index}", (), None))
    fleet.sync(laptop)
    fleet.sync(phone)
    assert caught(fleet.check) == checks.CURSOR


def test_isolation_bites_a_wire_that_leaks_another_users_event(fleet: Fleet) -> None:
    ada, bo = fleet.add_device("ada"), fleet.add_device("bo")
    fleet.append(ada, Capture(None, "ada's win", (), None))
    fleet.sync(ada)
    (leaked,) = checks.read_server(fleet.admin.db_path).events("ada")

    def leak(sent: dict[str, Any], page: dict[str, Any]) -> dict[str, Any]:
        seq = page["cursor"] + 1
        return {**page, "events": [*page["events"], {**leaked, "seq": seq}], "cursor": seq}

    rewire(bo, page=leak)
    fleet.append(bo, Capture(None, "bo's win", (), None))
    assert caught(lambda: fleet.sync(bo)) == checks.ISOLATION


def test_hlc_bites_a_clock_that_ignores_what_it_pulled(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema, "next_clock", lambda now_ms, last_clock: now_ms << 10)
    laptop, phone = fleet.add_device("ada"), fleet.add_device("ada")
    fleet.trouble(laptop, Skew(30 * 24))  # a month ahead
    fleet.append(laptop, Capture(None, "from the future", (), None))
    fleet.sync(laptop)
    fleet.sync(phone)
    assert caught(lambda: fleet.append(phone, Capture(None, "after the pull", (), None))) == checks.HLC


def test_hlc_bites_a_clock_that_follows_the_wall_clock_back(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema, "next_clock", lambda now_ms, last_clock: now_ms << 10)
    laptop = fleet.add_device("ada")
    fleet.append(laptop, Capture(None, "before", (), None))
    fleet.trouble(laptop, Skew(-3))
    assert caught(lambda: fleet.append(laptop, Capture(None, "after the jump", (), None))) == checks.HLC


def test_models_bite_a_projector_that_folds_in_arrival_order(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    add = ProjectFold.add

    def arrival_order(state: ProjectFold, event: Any) -> bool:
        state.last = None  # a late event is appended where it arrives, not re-folded where it lands
        return add(state, event)

    monkeypatch.setattr(ProjectFold, "add", arrival_order)
    monkeypatch.setattr(forward_fold, "key_of", lambda event: 0)  # and a re-fold keeps the log's order
    two_renames_out_of_order(fleet)
    wait_for_projector(fleet, "ada")
    assert caught(fleet.check) == checks.MODELS


# -- at quiescence ------------------------------------------------------------------------------


def test_quiescence_bites_a_client_that_never_pushes_retractions(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    next_batch = _sync.next_batch

    def without_retractions(*args: Any) -> Any:
        return [row for row in next_batch(*args) if b'"event.retracted"' not in row[2]]

    monkeypatch.setattr(_sync, "next_batch", without_retractions)
    laptop, phone = fleet.add_device("ada"), fleet.add_device("ada")
    fleet.append(laptop, Capture(None, "a typo", (), None))
    fleet.append(laptop, Retract(0, "user"))
    fleet.check()  # a pending event breaks no invariant of a single step
    assert caught(fleet.settle) == checks.QUIESCENT
    assert phone  # it too synced, and agrees with the server


def test_lost_bites_a_client_that_drops_its_events_on_a_device_seq_conflict(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dropping(conn: Any, now: Any = None) -> int:
        conn.execute("DELETE FROM events WHERE state = 'pending'")
        _merge.set_meta(conn, device_id="00000000-0000-4000-8000-000000000000", device_seq=0)
        return 0

    monkeypatch.setattr(_merge, "remint", dropping)
    phone = fleet.add_device("ada")
    fleet.trouble(phone, CopyStore())
    restored = fleet.devices[-1]
    fleet.append(phone, Capture(None, "old phone", (), None))
    fleet.append(restored, Capture(None, "new phone", (), None))
    fleet.sync(phone)
    fleet.sync(restored)  # device_seq_conflict: the broken client drops its pending event
    assert caught(fleet.settle) == checks.LOST


def test_read_models_bite_a_client_that_folds_in_arrival_order(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema.projections, "build_models", arrival_order_models)
    two_renames_out_of_order(fleet)
    assert caught(fleet.settle_and_compare_read_models) == checks.READ_MODELS


# -- the pure property --------------------------------------------------------------------------


@pytest.mark.parametrize("rendered", [test_projections._rendered, test_projections._every_read_model])
def test_the_permutation_property_bites_a_fold_in_arrival_order(
    rendered: Callable[[list[dict[str, Any]]], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker of ``tests/schema/test_projections.py``: the read models of a shuffled set with
    duplicates are those of the set. (Generation only: this test wants the failure, not its shrink.)"""

    @settings(phases=[Phase.generate], max_examples=400, database=None)
    @given(strategies.user_logs(max_events=10), st.randoms(use_true_random=False))
    def shuffled_is_the_same(log: list[dict[str, Any]], rng: random.Random) -> None:
        events = [schema.validate_fields(event).fields for event in log]  # type: ignore[union-attr]
        shuffled = [*events, *events[:2]]
        rng.shuffle(shuffled)
        assert rendered(shuffled) == rendered(events)

    shuffled_is_the_same()  # holds for the real fold
    monkeypatch.setattr(fold, "_sort_key", lambda fields: 0)  # sorted() then keeps the arrival order
    with pytest.raises(AssertionError):
        shuffled_is_the_same()
