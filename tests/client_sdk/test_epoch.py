"""The server's store is recreated or restored from a backup: clients give back what it lost."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from client_sdk import NetworkError
from tests.client_sdk.conftest import FaultyTransport, MakeClient
from tests.client_sdk.test_sync import contents, server_events
from tests.support.inprocess import InProcessServer


def test_a_recreated_server_gets_back_every_event_it_lacks(
    make_client: MakeClient, server: InProcessServer, server_factory: Callable[..., InProcessServer]
) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    project = laptop.start_project("Demand forecast", "model")
    laptop.milestone(project, "deployed")
    phone.capture("Merchandising adopted the forecast")
    laptop.sync()
    phone.sync()
    laptop.sync()
    laptop.close()
    phone.close()

    fresh = server_factory()
    assert fresh.epoch != server.epoch
    token = fresh.create_user("alice")
    laptop = make_client("laptop", server=fresh, token=token)
    laptop.capture("written while the server was being rebuilt")
    report = laptop.sync()
    assert report.epoch_changed and report.new_epoch
    # All three events the server lost, including the phone's, plus the new one.
    assert (report.requeued, report.accepted) == (3, 4)
    assert laptop.status().epoch == fresh.epoch
    held = {event["id"]: event for event in server_events(fresh, token)}
    assert set(held) == {event.id for event in laptop.events()}
    phone_event = next(event for event in laptop.events() if event.data.get("text", "").startswith("Merch"))
    # Another device's event goes back under its own device id and device_seq, exactly as it was.
    assert (held[phone_event.id]["device_id"], held[phone_event.id]["device_seq"]) == (
        phone_event.device_id,
        phone_event.device_seq,
    )
    assert laptop.verify()

    phone = make_client("phone", server=fresh, token=token)
    report = phone.sync()
    assert report.epoch_changed and report.requeued == 0 and report.pulled == 1
    assert contents(phone) == contents(laptop)
    assert phone.verify()
    assert laptop.sync().epoch_changed is False


def test_a_restore_without_a_new_epoch_is_caught_by_cursor_ahead(
    make_client: MakeClient,
    server: InProcessServer,
    server_factory: Callable[..., InProcessServer],
    tmp_path: Path,
) -> None:
    laptop = make_client("laptop")
    laptop.capture("before the backup")
    laptop.sync()
    backup = tmp_path / "backup.db"
    with sqlite3.connect(server.db_path) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    for index in range(3):
        laptop.capture(f"after the backup {index}")
    laptop.sync()
    laptop.close()

    restored = server_factory(db_path=backup)
    assert restored.epoch == server.epoch  # restored by hand: the epoch did not change
    laptop = make_client("laptop", server=restored)
    report = laptop.sync()
    # Recovered from cursor_ahead, though the epoch is the same: not reported as a new epoch.
    assert report.epoch_changed and not report.new_epoch and report.requeued == 3
    assert [event["data"]["text"] for event in server_events(restored, laptop._token or "")] == [
        "before the backup",
        "after the backup 0",
        "after the backup 1",
        "after the backup 2",
    ]
    assert laptop.verify()
    assert laptop.status().unconfirmed == 0


def test_a_recovery_interrupted_midway_finishes_on_the_next_sync(
    make_client: MakeClient, server_factory: Callable[..., InProcessServer]
) -> None:
    laptop = make_client("laptop")
    for index in range(6):
        laptop.capture(f"win {index}")
    laptop.sync()
    laptop.close()

    fresh = server_factory()
    token = fresh.create_user("alice")
    # /v1/info reveals the new epoch (committed at once); then the first pull is cut off.
    fails = FaultyTransport(fresh.transport, lambda request, attempt: "before" if attempt == 2 else None)
    laptop = make_client("laptop", server=fresh, token=token, transport=fails, retries=0, page_size=2)
    with pytest.raises(NetworkError):
        laptop.sync()
    assert laptop.status().unconfirmed == 6 and laptop.status().epoch == fresh.epoch
    report = laptop.sync()
    assert report.requeued == 6 and not report.epoch_changed
    assert laptop.status().synced == 6 and laptop.verify()
