"""Syncing devices through the real server app: convergence, isolation, idempotence, rejections."""

from __future__ import annotations

from typing import Any

import pytest

from client_sdk import Client, Event
from tests.client_sdk.conftest import MakeClient
from tests.factories import an_event
from tests.support.inprocess import InProcessServer


def contents(client: Client) -> list[tuple[Any, ...]]:
    return [
        (e.id, e.device_id, e.device_seq, e.clock, e.occurred_at, e.type, e.data, e.seq)
        for e in client.events()
    ]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def server_events(server: InProcessServer, token: str) -> list[dict[str, Any]]:
    response = server.http.get("/v1/events?limit=5000", headers=bearer(token))
    response.raise_for_status()
    return response.json()["events"]  # type: ignore[no-any-return]


def capture_offline(laptop: Client, phone: Client) -> None:
    churn = laptop.start_project("Churn early warning", "model", summary="Flags accounts 30 days ahead")
    laptop.milestone(churn, "deployed")
    laptop.metric(churn, "saved_accounts", 34.0, layer="business", unit="%", baseline=0.0)
    phone.capture("Customer success now works the churn list every Monday", tags=["adoption"])
    phone.learning("Ship to shadow before anything else", "next")


@pytest.mark.parametrize("laptop_first", [True, False])
def test_two_devices_converge_whichever_syncs_first(make_client: MakeClient, laptop_first: bool) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    capture_offline(laptop, phone)
    first, second = (laptop, phone) if laptop_first else (phone, laptop)
    first.sync()
    second.sync()
    first.sync()
    assert contents(laptop) == contents(phone)
    assert len(contents(laptop)) == 5
    assert {event.status for event in laptop.events() + phone.events()} == {"synced"}
    assert laptop.verify() and phone.verify()
    # Both hold the server's seqs, and the same canonical order.
    assert [e.seq for e in laptop.events()] == [e.seq for e in phone.events()]


def test_the_report_counts_what_happened(make_client: MakeClient) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    capture_offline(laptop, phone)
    report = laptop.sync()
    assert (report.pushed, report.accepted, report.duplicates, report.pulled) == (3, 3, 0, 0)
    report = phone.sync()
    assert (report.pushed, report.accepted, report.pulled, report.cursor) == (2, 2, 3, 5)
    assert not report.epoch_changed
    status = phone.status()
    assert (status.pending, status.synced, status.cursor) == (0, 5, 5)
    assert status.last_sync is not None and status.epoch


def test_another_user_sees_nothing(make_client: MakeClient, server: InProcessServer) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    capture_offline(laptop, phone)
    laptop.sync()
    bob = make_client("bob", token=server.create_user("bob"))
    bob.capture("Bob's own win")
    report = bob.sync()
    assert report.pulled == 0 and report.cursor == 1
    assert [event.data["text"] for event in bob.events()] == ["Bob's own win"]
    assert bob.verify()
    assert phone.sync().pulled == 3


def test_running_sync_again_changes_nothing(make_client: MakeClient) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    capture_offline(laptop, phone)
    laptop.sync()
    phone.sync()
    laptop.sync()
    before = contents(laptop)
    report = laptop.sync()
    assert (report.pushed, report.accepted, report.pulled, report.requeued) == (0, 0, 0, 0)
    assert contents(laptop) == before


def test_a_push_repeated_after_a_lost_answer_is_a_duplicate(
    make_client: MakeClient, server: InProcessServer, token: str
) -> None:
    from tests.client_sdk.conftest import FaultyTransport

    def lose_first_sync_answer(request: Any, attempt: int) -> str | None:
        return "after" if request.url.path == "/v1/sync" and attempt == 2 else None

    faulty = FaultyTransport(server.transport, lose_first_sync_answer)
    laptop = make_client("laptop", transport=faulty)
    for index in range(3):
        laptop.capture(f"win {index}")
    report = laptop.sync()
    assert (report.pushed, report.accepted, report.duplicates) == (3, 0, 3)
    assert len(server_events(server, token)) == 3
    assert laptop.verify()


def test_events_include_pending_and_synced_in_canonical_order(make_client: MakeClient) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    phone.capture("phone, early")
    phone.sync()
    laptop.sync()
    laptop.capture("laptop, later, pending")
    events = laptop.events()
    assert [e.status for e in events] == ["synced", "pending"]
    assert [e.seq for e in events] == [1, None]
    keys = [(e.clock, e.device_id, e.device_seq) for e in events]
    assert keys == sorted(keys)
    # The laptop's clock moved past what it pulled, so its new event sorts after it.
    assert events[1].clock > events[0].clock


def test_a_permanent_rejection_is_kept_with_code_and_message(
    make_client: MakeClient, server: InProcessServer, token: str
) -> None:
    laptop = make_client("laptop")
    mine = laptop.capture("my version")
    laptop.capture("an innocent bystander")
    # Someone else got an event with the same id to the server first (a broken client, say).
    theirs = an_event("win.captured", id=mine, data={"text": "their version", "source": "text"})
    response = server.http.post("/v1/events", json={"events": [theirs]}, headers=bearer(token))
    assert response.json()["results"][0]["status"] == "accepted"

    report = laptop.sync()
    assert (report.accepted, report.rejected) == (1, 1)
    [rejected] = laptop.rejected()
    assert (rejected.id, rejected.status, rejected.code) == (mine, "rejected", "id_conflict")
    assert rejected.data["text"] == "my version" and rejected.message
    # The server's event under that id is part of the log, so the store holds it too.
    assert {e.data["text"] for e in laptop.events()} == {"their version", "an innocent bystander"}
    assert laptop.status().rejected == 1
    again = laptop.sync()
    assert (again.pushed, again.rejected) == (0, 0)
    assert laptop.verify()


def test_the_digest_check_notices_a_store_that_lost_an_event_and_pulls_it_back(
    make_client: MakeClient,
) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    capture_offline(laptop, phone)
    laptop.sync()
    phone.sync()
    assert phone.verify()
    victim: Event = phone.events()[0]
    phone._store.conn.execute("DELETE FROM events WHERE id = ?", (victim.id,))
    # Its cursor is past the lost event, so paging cannot bring it back: only the digest notices, and the
    # complete pull then recovers as from a new epoch.
    report = phone.sync()
    assert report.epoch_changed and not report.new_epoch  # checked again, though the epoch is the same
    assert victim.id in [e.id for e in phone.events()]
    assert phone.verify()


def test_pulls_page_until_the_server_has_nothing_more(make_client: MakeClient) -> None:
    laptop = make_client("laptop")
    for index in range(23):
        laptop.capture(f"win {index}")
    laptop.sync()
    phone = make_client("phone", page_size=5)
    report = phone.sync()
    assert report.pulled == 23 and report.cursor == 23
    assert contents(phone) == contents(laptop)
    assert phone.verify()


def test_the_outbox_goes_in_batches(make_client: MakeClient, server: InProcessServer, token: str) -> None:
    from tests.client_sdk.conftest import FaultyTransport

    faulty = FaultyTransport(server.transport, lambda request, attempt: None)
    laptop = make_client("laptop", transport=faulty, batch_size=4)
    for index in range(10):
        laptop.capture(f"win {index}")
    report = laptop.sync()
    assert report.accepted == 10
    pushes = [r for r in faulty.requests if r.url.path == "/v1/sync"]
    assert len(pushes) == 3
    assert len(server_events(server, token)) == 10
