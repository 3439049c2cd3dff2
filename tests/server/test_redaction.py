"""``event.redacted`` on the server (ADR 0007): the push rewrites the target's body and hash in the same
transaction and keeps the digest in step, on both backends and on both push paths (the SQLite writer
thread's group commit, and the engine's, which PostgreSQL and an in-memory SQLite use)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy.exc import OperationalError

from schema.redaction import REDACTED
from server.eventlog.sqlalchemy import SQLAlchemyRecorder
from server.eventlog.sqlite import SQLiteRecorder
from server.projections.leases import new_holder
from server.projections.verify import verify_user
from tests.factories import Device, an_event, client_fields, new_id
from tests.server.conftest import Api, independent_digest
from tests.support.faults import Faults
from tests.support.inprocess import InProcessServer
from tests.support.readmodels import user_id_of

pytestmark = pytest.mark.backends

SECRET = "Dana from Acme said the churn list saved the renewal"


@pytest.fixture(scope="module", params=["writer", "engine"])
def redaction_server(
    request: pytest.FixtureRequest, db_backend: str, shared_server: InProcessServer
) -> Iterator[InProcessServer]:
    """The module's server, pushing through the writer thread or (its fallback) the engine."""
    choose_path(shared_server, request.param)
    yield shared_server


def choose_path(server: InProcessServer, path: str) -> None:
    store = server.state.store
    if path == "writer" and not isinstance(store.recorder, SQLiteRecorder):
        pytest.skip("this backend has no writer thread: every push takes its one path")
    if path == "engine" and isinstance(store.recorder, SQLiteRecorder):
        server.portal.call(asyncio.to_thread, store.recorder.writer.close)
        store.recorder = EngineWrites(store.recorder)


class EngineWrites(SQLAlchemyRecorder):
    """As on an in-memory SQLite: group commits through the engine's connection. Closing it closes the
    SQLite recorder it replaced (the reader threads that token lookups still use)."""

    def __init__(self, replaced: SQLiteRecorder) -> None:
        super().__init__(replaced.engine)
        self.replaced = replaced

    def close(self) -> None:
        self.replaced.close()


_names = iter(range(1, 1_000_000))


@pytest.fixture
def user(redaction_server: InProcessServer) -> Api:
    name = f"redacting-{next(_names)}"
    return Api(redaction_server, redaction_server.create_user(name), name)


def disk_error(message: str) -> Exception:
    return OperationalError("UPDATE events", None, Exception(message))


def a_journal(device: Device) -> tuple[str, list[dict[str, Any]]]:
    project = new_id()
    return project, [
        device.event(
            "project.started",
            project_id=project,
            data={"name": "Churn model", "kind": "model", "team": "Acme"},
        ),
        device.event(
            "win.captured",
            project_id=project,
            data={"text": SECRET, "source": "voice", "tags": ["acme", "dana"]},
        ),
        device.event(
            "metric.observed", project_id=project, data={"key": "auc", "layer": "model", "value": 0.91}
        ),
    ]


def redaction(device: Device, target: str, reason: str | None = "Named a customer") -> dict[str, Any]:
    data = {"target": target} | ({"reason": reason} if reason else {})
    return device.event("event.redacted", data=data)


def by_id(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {event["id"]: event for event in events}


def consistent(user: Api) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every event of the user, after checking the stored digest against a fresh recomputation."""
    events, last = user.pull_all()
    assert last["count"] == len(events)
    assert last["digest"] == independent_digest(events)
    return events, last


def export_text(user: Api) -> str:
    response = user.http.get("/v1/export", headers=user.headers(None))
    assert response.status_code == 200, response.text
    return response.text


def test_a_redaction_rewrites_its_target_in_pulls_exports_and_read_models(user: Api) -> None:
    device = Device()
    project, journal = a_journal(device)
    start, win, metric = journal
    user.push(journal)
    _, before = consistent(user)
    body = user.push([redaction(device, win["id"]), redaction(device, start["id"], None)])
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted"]

    events, last = consistent(user)
    assert last["digest"] != before["digest"]
    held = by_id(events)
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]  # the target keeps its place
    assert held[win["id"]]["data"] == {"text": REDACTED, "source": "voice", "tags": []}
    assert held[start["id"]]["data"] == {"name": REDACTED, "kind": "model", "team": REDACTED}
    assert client_fields(held[metric["id"]]) == metric  # untouched
    assert {k: v for k, v in client_fields(held[win["id"]]).items() if k != "data"} == {
        k: v for k, v in win.items() if k != "data"
    }

    timeline = user.http.get(
        f"/v1/projects/{project}/timeline", params={"min_seq": 5}, headers=user.headers(None)
    ).json()
    assert timeline["as_of_seq"] == 5
    assert timeline["timeline"]["name"] == REDACTED and timeline["timeline"]["team"] == REDACTED
    assert SECRET not in msgspec.json.encode(timeline).decode()
    text = export_text(user)
    assert SECRET not in text and "Acme" not in text and "dana" not in text
    assert text.count(REDACTED) >= 3


def test_read_models_rebuilt_from_the_log_agree_with_the_live_ones(user: Api) -> None:
    device = Device()
    project, journal = a_journal(device)
    user.push(journal)
    projects = user.http.get("/v1/projects", params={"min_seq": 3}, headers=user.headers(None)).json()
    assert projects["as_of_seq"] == 3  # folded once with the text ...
    user.push([redaction(device, journal[1]["id"])])  # ... then re-folded by the redaction's seq
    server = user.server
    user_id = user_id_of(server, user.token)
    verified = server.portal.call(
        lambda: verify_user(server.state.store, user_id, new_holder("test"), lease_wait_s=5)
    )
    assert verified.differences == []
    timeline = user.http.get(
        f"/v1/projects/{project}/timeline", params={"min_seq": 4}, headers=user.headers(None)
    ).json()
    assert SECRET not in msgspec.json.encode(timeline).decode()


def test_a_target_that_arrives_after_its_redaction_is_redacted_on_insert(user: Api) -> None:
    phone, laptop = Device(), Device()
    _, journal = a_journal(laptop)
    win = journal[1]
    user.push([redaction(phone, win["id"])])  # the phone pulled it elsewhere; the laptop was offline
    body = user.push(journal)
    assert [r["status"] for r in body["results"]] == ["accepted"] * 3
    events, _ = consistent(user)
    assert by_id(events)[win["id"]]["data"]["text"] == REDACTED
    assert SECRET not in export_text(user)


def test_in_one_batch_either_order_stores_the_target_redacted(user: Api) -> None:
    device = Device()
    _, journal = a_journal(device)
    first, second = journal[1], journal[2]
    body = user.push([first, redaction(device, first["id"]), redaction(device, second["id"]), second])
    assert [r["status"] for r in body["results"]] == ["accepted"] * 4
    events, _ = consistent(user)
    assert by_id(events)[first["id"]]["data"]["text"] == REDACTED
    assert by_id(events)[second["id"]]["data"] == second["data"]  # a metric has no free text


def test_the_original_text_pushed_again_is_a_duplicate_and_other_text_a_conflict(user: Api) -> None:
    device = Device()
    _, journal = a_journal(device)
    win = journal[1]
    user.push(journal)
    user.push([redaction(device, win["id"])])
    _, before = consistent(user)
    # A retry from before the redaction, and an epoch recovery re-pushing everything, in one batch.
    body = user.push([win, *journal, win])
    assert [(r["status"], r["seq"]) for r in body["results"]] == [
        ("duplicate", 2),
        ("duplicate", 1),
        ("duplicate", 2),
        ("duplicate", 3),
        ("duplicate", 2),
    ]
    # Its text is gone, so any text compares equal once redacted; what a redaction keeps still counts.
    other_text = dict(win, data={**win["data"], "text": "Something else"})
    assert user.push([other_text])["results"][0]["status"] == "duplicate"
    changed = dict(win, data={**win["data"], "source": "text"})
    (result,) = user.push([changed])["results"]
    assert result["code"] == "id_conflict" and "`$.events[0].id`" in result["message"]
    events, last = consistent(user)
    assert last["digest"] == before["digest"] and SECRET not in msgspec.json.encode(events).decode()


def test_redacting_twice_or_a_redaction_changes_only_what_the_table_says(user: Api) -> None:
    device = Device()
    _, journal = a_journal(device)
    win = journal[1]
    user.push(journal)
    first = redaction(device, win["id"], "Named a customer: Acme")
    again = redaction(device, win["id"])
    of_redaction = redaction(device, first["id"], None)
    retraction = device.event("event.retracted", data={"target": first["id"]})
    assert [r["status"] for r in user.push([first, again, of_redaction, retraction])["results"]] == [
        "accepted"
    ] * 4
    events, _ = consistent(user)
    held = by_id(events)
    assert held[win["id"]]["data"]["text"] == REDACTED  # a retraction does not bring it back
    assert held[first["id"]]["data"] == {"target": win["id"], "reason": REDACTED}
    assert held[again["id"]]["data"] == again["data"]


def test_a_redaction_naming_another_users_event_changes_nothing_of_theirs(user: Api) -> None:
    server = user.server
    name = f"{user.name}-other"
    other = Api(server, server.create_user(name), name)
    _, journal = a_journal(Device())
    other.push(journal)
    theirs_before, last_before = consistent(other)
    # Same id in this user's log, redacted here: their copy stays as it was.
    assert user.push([redaction(Device(), journal[1]["id"])])["results"][0]["status"] == "accepted"
    theirs, last = consistent(other)
    assert theirs == theirs_before and last["digest"] == last_before["digest"]
    assert SECRET in export_text(other)
    # And the same event pushed by this user (their own copy of the id) is stored redacted here only.
    user.push([journal[1]])
    mine, _ = consistent(user)
    assert by_id(mine)[journal[1]["id"]]["data"]["text"] == REDACTED
    assert consistent(other)[0] == theirs_before


def test_a_redaction_of_itself_is_refused_naming_the_field_and_stores_nothing(user: Api) -> None:
    event = an_event("event.redacted")
    event["data"]["target"] = event["id"]
    (result,) = user.push([event])["results"]
    assert result["code"] == "invalid_event" and "`$.events[0].data.target`" in result["message"]
    assert user.count() == 0


@pytest.mark.parametrize("path", ["writer", "engine"])
def test_a_failing_redaction_rolls_back_alone_in_its_group_commit(
    server_factory: Callable[..., InProcessServer], db_backend: str, path: str
) -> None:
    """The rewrite fails (a disk error on the UPDATE): that push stores nothing, its target keeps its
    body and the digest its value, and a push committed in the same group keeps its events."""
    server = server_factory()
    choose_path(server, path)
    ada = Api(server, server.create_user("ada"), "ada")
    grace = Api(server, server.create_user("grace"), "grace")
    device = Device()
    _, journal = a_journal(device)
    ada.push(journal)
    before, ada_last = consistent(ada)
    # The error each backend's driver would raise for a failing disk (on PostgreSQL, as SQLAlchemy wraps it).
    error = sqlite3.OperationalError if db_backend == "sqlite" else disk_error
    faults = Faults(server.state, error)
    faults.fail("disk I/O error", "UPDATE events")

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as http:

            def post(who: Api, events: list[dict[str, Any]]) -> asyncio.Task[httpx.Response]:
                body = {"events": events}
                return asyncio.create_task(http.post("/v1/events", json=body, headers=who.headers("json")))

            async with server.state.store.write():  # the writer is busy: both pushes queue for one group
                tasks = [
                    post(ada, [redaction(device, journal[1]["id"])]),
                    post(grace, [an_event(), an_event()]),
                ]
                if db_backend == "sqlite":
                    while server.state.store.waiting < len(tasks):
                        await asyncio.sleep(0.01)
            return list(await asyncio.gather(*tasks))

    failed, kept = server.portal.call(scenario)
    assert faults.raised >= 1
    faults.clear()
    assert failed.status_code == 503, failed.text
    assert kept.status_code == 200 and [r["status"] for r in kept.json()["results"]] == ["accepted"] * 2
    after, last = consistent(ada)
    assert after == before and last["digest"] == ada_last["digest"]
    assert grace.count() == 2
