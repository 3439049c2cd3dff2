"""A store copied to a second device (a restored phone backup): both claim one device id."""

from __future__ import annotations

import shutil
from pathlib import Path

from client_sdk import Client
from tests.client_sdk.conftest import MakeClient
from tests.client_sdk.test_sync import server_events
from tests.support.inprocess import InProcessServer


def copy_store(client: Client, tmp_path: Path, name: str) -> None:
    """Copy the file as a backup tool would, with the client closed (so the WAL is checkpointed)."""
    source = client.path
    client.close()
    shutil.copy(source, tmp_path / f"{name}.db")


def test_a_copied_store_remints_its_pending_events_and_loses_nothing(
    make_client: MakeClient, server: InProcessServer, token: str, tmp_path: Path
) -> None:
    original = make_client("original")
    project = original.start_project("Pricing model", "model")
    original.sync()
    copy_store(original, tmp_path, "restored")
    original, restored = make_client("original"), make_client("restored")
    assert original.device_id == restored.device_id
    shared_device = original.device_id

    original.capture("original: shadow run beat the heuristic by 11pp", project)
    original.capture("original: went live", project)
    mistaken = restored.capture("restored: typo'd win", project)
    kept = restored.capture("restored: merchandising adopted it", project)
    retraction = restored.retract(mistaken, "typo")
    assert original.sync().accepted == 2

    report = restored.sync()
    # device_seq 2 and 3 collided; the retraction at device_seq 4 got through, still naming the old id,
    # so it is repeated under the new device with the new target.
    assert (report.accepted, report.reminted) == (1 + 3, 3)
    assert restored.device_id != shared_device
    assert restored.status().pending == 0 and restored.rejected() == []
    mine = [e for e in restored.events() if e.device_id == restored.device_id]
    [stale] = [e for e in restored.events() if e.type == "event.retracted" and e.device_id == shared_device]
    assert stale.id == retraction and stale.data["target"] == mistaken
    assert [e.device_seq for e in mine] == [1, 2, 3]
    texts = [e.data.get("text") for e in mine]
    assert texts == ["restored: typo'd win", "restored: merchandising adopted it", None]
    assert {e.id for e in mine}.isdisjoint({mistaken, kept, retraction})
    # The retraction follows its target to the target's new id.
    assert mine[2].data == {"target": mine[0].id, "reason": "typo"}
    # Ids handed out before the move still work for retractions.
    late = restored.retract(kept, "changed my mind")
    assert restored.events()[-1].data["target"] == mine[1].id and late == restored.events()[-1].id

    restored.sync()
    original.sync()
    assert [e.id for e in original.events()] == [e.id for e in restored.events()]
    on_server = {event["data"].get("text") for event in server_events(server, token)}
    assert {"original: went live", "restored: typo'd win", "restored: merchandising adopted it"} <= on_server
    assert original.verify() and restored.verify()


def test_a_conflict_in_the_middle_of_a_batch_keeps_what_was_accepted(
    make_client: MakeClient, tmp_path: Path
) -> None:
    original = make_client("original")
    copy_store(original, tmp_path, "restored")
    original, restored = make_client("original"), make_client("restored")
    original.capture("original 1")
    restored.capture("restored 1")
    restored.capture("restored 2")
    original.sync()
    # restored 1 collides with original 1 at device_seq 1; restored 2 takes device_seq 2 untroubled.
    report = restored.sync()
    assert (report.accepted, report.reminted) == (2, 1)
    assert sorted(e.data["text"] for e in restored.events()) == ["original 1", "restored 1", "restored 2"]
    assert restored.verify()
