"""What the store guarantees through the protocol: isolation per user, durability, atomic pushes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.factories import ALL_TYPES, Device, an_event
from tests.server.conftest import Api, independent_digest
from tests.support.faults import Faults
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.backends


def test_a_second_user_sees_none_of_the_first_users_events(api: Api) -> None:
    other = Api(api.server, api.server.create_user(f"{api.name}-other"), f"{api.name}-other")
    api.push(Device().events(3), "json")
    page = other.pull()
    assert page["events"] == [] and page["count"] == 0 and page["cursor"] == 0
    assert other.pull_response(after=1).status_code == 409
    body = other.sync([], after=0)
    assert body["events"] == []


def test_each_user_has_its_own_seq_from_1(api: Api, fmt: str) -> None:
    other = Api(api.server, api.server.create_user(f"{api.name}-other"), f"{api.name}-other")
    api.push(Device().events(4), fmt)
    body = other.push(Device().events(2), fmt)
    assert [r["seq"] for r in body["results"]] == [1, 2] and body["cursor"] == 2
    assert api.push([an_event()], fmt)["cursor"] == 5


def test_the_same_event_pushed_by_two_users_is_stored_for_each(api: Api) -> None:
    other = Api(api.server, api.server.create_user(f"{api.name}-other"), f"{api.name}-other")
    api.push([an_event()], "json")
    shared = an_event()
    assert api.push([shared], "json")["results"][0]["seq"] == 2
    assert other.push([shared], "msgpack")["results"][0] == {
        "id": shared["id"],
        "status": "accepted",
        "seq": 1,
        "code": None,
        "message": None,
    }
    # Same id with other content is no conflict across users either.
    mine = an_event()
    api.push([mine], "json")
    theirs = {**mine, "data": {"text": "Theirs", "source": "voice"}}
    assert other.push([theirs], "json")["results"][0]["status"] == "accepted"
    assert [e["id"] for e in other.pull()["events"]] == [shared["id"], mine["id"]]
    assert api.count() == 3 and other.count() == 2


def test_a_new_app_on_the_same_database_serves_the_same_events_and_digest(
    server_factory: Callable[..., InProcessServer],
) -> None:
    first = server_factory()
    api = Api(first, first.create_user("ada"))
    events = [an_event(t, full=True) for t in ALL_TYPES]
    api.push(events, "json")
    before, last_before = api.pull_all()
    restarted = server_factory(db_path=first.db_path)
    again = Api(restarted, api.token)
    after, last_after = again.pull_all()
    assert after == before
    assert (last_after["count"], last_after["digest"]) == (len(events), independent_digest(before))
    assert last_after["digest"] == last_before["digest"]
    assert restarted.epoch == first.epoch
    # The restarted app continues the log where it was.
    assert again.push([an_event()], "json")["results"][0]["seq"] == len(events) + 1
    assert again.push([events[0]], "msgpack")["results"][0]["status"] == "duplicate"


def test_a_push_that_fails_mid_way_leaves_none_of_its_events_visible(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = an_event()
    api.push([kept], "json")

    # The user's row is updated inside the push transaction once the event rows are inserted.
    faults = Faults(api.server.state, RuntimeError)
    faults.fail("simulated crash after the inserts", "UPDATE users")
    lost = Device().events(3)
    try:
        response = api.push_response(lost)
    except RuntimeError as exc:  # the in-process transport re-raises what the app raised
        assert "simulated crash" in str(exc)
    else:
        assert response.status_code == 500
    assert faults.raised == 1
    faults.clear()

    events, last = api.pull_all()
    assert [e["id"] for e in events] == [kept["id"]]
    assert last["count"] == 1 and last["digest"] == independent_digest(events)
    # Nothing of the failed request is held against a retry: same events, no conflicts, no hole.
    body = api.push(lost, "json")
    assert [(r["status"], r["seq"]) for r in body["results"]] == [
        ("accepted", 2),
        ("accepted", 3),
        ("accepted", 4),
    ]


def test_the_digest_follows_every_accepted_event(api: Api) -> None:
    device = Device()
    for size in (1, 4, 2):
        api.push(device.events(size), "json")
        events, last = api.pull_all(limit=3)
        assert last["digest"] == independent_digest(events)
        assert last["count"] == len(events)


def test_concurrent_pushes_through_two_apps_get_gap_free_seqs_and_pulls_never_skip(
    server_factory: Callable[..., InProcessServer],
) -> None:
    first = server_factory()
    token = first.create_user("ada")
    # A second app on the same database file: a writer in another process, as far as SQLite knows.
    apis = [Api(first, token), Api(server_factory(db_path=first.db_path), token)]
    writers, batches, size = 6, 4, 5
    skipped: list[str] = []
    done = threading.Event()

    def write(index: int) -> None:
        device = Device()
        for _ in range(batches):
            body = apis[index % 2].push(device.events(size), "msgpack" if index % 3 else "json")
            assert [r["status"] for r in body["results"]] == ["accepted"] * size

    def read() -> None:
        after = 0
        while not done.is_set() or after < writers * batches * size:
            page = apis[0].pull(after=after, limit=7)
            seqs = [event["seq"] for event in page["events"]]
            if seqs != list(range(after + 1, after + 1 + len(seqs))):
                skipped.append(f"after {after}: {seqs}")
            after = page["cursor"]

    with ThreadPoolExecutor(max_workers=writers + 1) as pool:
        reader = pool.submit(read)
        for future in [pool.submit(write, index) for index in range(writers)]:
            future.result()
        done.set()
        reader.result()
    assert skipped == []
    events, last = apis[1].pull_all()
    assert [e["seq"] for e in events] == list(range(1, writers * batches * size + 1))
    assert last["count"] == len(events) and last["digest"] == independent_digest(events)
