"""Focused convergence properties, where a plain ``@given`` says it more clearly than the machine.

Each test drives a ``Fleet`` (the real client SDK against the real server app
in-process) and checks it with the same checkers as the state machine.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import time
from contextlib import closing
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client_sdk import SyncError, SyncReport
from schema.projections import build_models, review_draft
from tests.convergence import checks
from tests.convergence.fleet import Fleet
from tests.convergence.harness import Device
from tests.convergence.specs import (
    Capture,
    Feedback,
    Milestone,
    Restore,
    Start,
    appends,
    metrics,
    sizes,
    words,
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
FEW = {"ci": 6, "dev": 12}.get(PROFILE, 100)
"""Examples of the slower properties: each example starts a server for every request it cuts."""

CUTS = ("lost_before", "lost_after", "502_after", "down")


def everything_held(device: Device, project: str) -> bytes:
    """Every read model of ``device`` that can mention an event of ``project``, as one byte string."""
    client = device.client
    parts = [msgspec.json.encode(client.projects())]
    if project in {summary.id for summary in client.projects()}:
        parts.append(msgspec.json.encode(client.timeline(project, checks.AS_OF)))
        parts.append(msgspec.json.encode(client.metric_chains(project)))
    for start, end in checks.PERIODS:
        parts.append(msgspec.json.encode(client.review_draft(start, end)))
    return b"".join(parts)


@settings(max_examples=FEW)
@given(
    laptop=st.lists(appends, min_size=1, max_size=3),
    phone=st.lists(appends, min_size=1, max_size=3),
    page_size=sizes,
    batch_size=sizes,
    cut=st.sampled_from(CUTS),
)
def test_a_sync_cut_at_any_of_its_requests_then_resumed_loses_and_doubles_nothing(
    laptop: list[Any], phone: list[Any], page_size: int, batch_size: int, cut: str
) -> None:
    """The phone's sync is cut at its first request, then (from scratch) at its second, and so on
    until a cut falls past its last request: every point where a sync can stop is tried, and each
    time the next sync resumes and everything converges."""
    at = 0
    while True:
        with Fleet(users=("ada",)) as fleet:
            laptop_d = fleet.add_device("ada")
            phone_d = fleet.add_device("ada", page_size, batch_size, retries=0)
            for spec in laptop:
                fleet.append(laptop_d, spec)
            assert isinstance(fleet.sync(laptop_d), SyncReport)
            for spec in phone:
                fleet.append(phone_d, spec)
            outcome = fleet.sync(phone_d, [None] * at + [cut])  # type: ignore[list-item]
            fleet.check()
            if not phone_d.wire.injected:
                assert isinstance(outcome, SyncReport)
                return  # the cut fell past the last request: every request has been cut once
            assert isinstance(outcome, SyncError)
            assert isinstance(fleet.sync(phone_d), SyncReport)
            fleet.check()
            fleet.settle_and_compare_read_models()
        at += 1


hidden = st.one_of(
    st.builds(Capture, st.just(0), words, st.just(()), st.none()),
    st.builds(Milestone, st.just(0), st.sampled_from(["deployed", "trained", "abandoned"]), st.none()),
    metrics().map(lambda metric: dataclasses.replace(metric, project=0)),
    st.builds(Feedback, st.just(0), words, st.none() | words, st.none()),
)


@settings(max_examples=FEW)
@given(target=hidden, retraction_first=st.booleans(), page_size=sizes)
def test_a_retraction_of_an_id_not_yet_seen_hides_its_target_on_every_replica(
    target: Any, retraction_first: bool, page_size: int
) -> None:
    """The phone retracts an event of the laptop that it has never seen (the id came another way,
    say from a notebook), and the retraction reaches the server before or after its target."""
    with Fleet(users=("ada",)) as fleet:
        laptop = fleet.add_device("ada", page_size)
        phone = fleet.add_device("ada", page_size)
        fleet.append(laptop, Start("Churn model", "model", "2026-02-01T09:00:00Z"))
        fleet.sync(laptop)
        fleet.sync(phone)
        target_id = fleet.append(laptop, target)
        retraction = phone.client.retract(target_id)
        fleet.ledger.appended_by(phone, retraction)
        assert target_id not in {event.id for event in phone.client.events()}
        for device in (phone, laptop) if retraction_first else (laptop, phone):
            assert isinstance(fleet.sync(device), SyncReport)
            fleet.check()
        server = fleet.settle_and_compare_read_models()
        project = fleet.projects["ada"][0]
        for device in (laptop, phone):
            assert target_id.encode() not in everything_held(device, project)
        # Without the retraction the target shows: the assertion above is not vacuous.
        events = [e for e in server.events("ada") if e["id"] != retraction]
        shown = msgspec.json.encode(build_models(events)) + msgspec.json.encode(
            review_draft(build_models(events).values(), *checks.PERIODS[0])
        )
        assert target_id.encode() in shown


@pytest.mark.parametrize("pushed_past", [False, True], ids=["cursor_ahead", "digest"])
def test_a_store_restored_by_hand_without_a_new_epoch_is_caught(pushed_past: bool) -> None:
    """A backup copied back by hand keeps its epoch. A device whose cursor is past the restored log
    gets ``cursor_ahead``; once another device has pushed past that cursor, only the server's count
    and digest at the end of a complete pull can tell, and the sync recovers from that too."""
    with Fleet(users=("ada",)) as fleet:
        laptop, phone = fleet.add_device("ada"), fleet.add_device("ada")
        fleet.append(laptop, Start("Churn model", "model", None))
        fleet.sync(laptop)
        fleet.backup()
        for index in range(3):
            fleet.append(laptop, Capture(0, f"after the backup {index}", (), None))
        fleet.sync(laptop)
        fleet.sync(phone)
        assert fleet.server_trouble(Restore(which=1, new_epoch=False))
        if pushed_past:
            for index in range(5):
                fleet.append(phone, Capture(None, f"after the restore {index}", (), None))
            fleet.sync(phone)  # recovers itself: its cursor (4) was past the restored log (1)
        report = fleet.sync(laptop)
        assert isinstance(report, SyncReport) and report.epoch_changed
        fleet.check()
        server = fleet.settle_and_compare_read_models()
        assert len(server.logs["ada"]) == (9 if pushed_past else 4)
        assert laptop.client.verify() and phone.client.verify()


def test_after_a_restore_by_hand_a_device_may_keep_old_seqs_of_the_servers_set() -> None:
    """The limit of a restore without a new epoch, pinned: the laptop pushes back what the server lost
    in another order than it first arrived, and the phone, whose cursor is the restored log's end and
    whose set is the server's, has no way to tell that two of its seqs are now swapped. Its events and
    read models are right; only the seqs it shows are stale. A new epoch avoids this."""
    with Fleet(users=("ada",)) as fleet:
        laptop, phone = fleet.add_device("ada"), fleet.add_device("ada")
        fleet.append(laptop, Start("Churn model", "model", None))
        fleet.sync(laptop)
        fleet.sync(phone)
        fleet.backup()
        early = fleet.append(laptop, Capture(None, "written first, pushed second", (), None))
        late = fleet.append(phone, Capture(None, "written second, pushed first", (), None))
        for device in (phone, laptop, phone):
            fleet.sync(device)
        assert fleet.server_trouble(Restore(which=1, new_epoch=False))
        report = fleet.sync(laptop)  # cursor_ahead: it pushes both back, in canonical order
        assert isinstance(report, SyncReport) and report.epoch_changed
        report = fleet.sync(phone)
        assert isinstance(report, SyncReport) and not report.epoch_changed
        held = checks.read_server(fleet.admin.db_path).ids("ada")
        seqs = {event.id: event.seq for event in phone.client.events()}
        assert (held[early].seq, held[late].seq) == (2, 3) and (seqs[early], seqs[late]) == (3, 2)
        fleet.settle_and_compare_read_models()
        assert phone.client.verify()


def test_a_copied_store_is_told_apart_by_device_seq_conflict_and_loses_nothing() -> None:
    """A phone's backup restored on a new phone: two stores with one device id append, each its own
    events under the same device_seqs. The second to push is refused and takes a new device id,
    re-minting its pending events; a retraction follows its target to the target's new id."""
    with Fleet(users=("ada",)) as fleet:
        phone = fleet.add_device("ada")
        fleet.append(phone, Start("Churn model", "model", None))
        fleet.sync(phone)
        restored = fleet.add_device("ada", copy_of=phone)
        assert restored.client.device_id == phone.client.device_id
        mine = [fleet.append(phone, Capture(0, "from the old phone", (), None)) for _ in range(2)]
        theirs = [fleet.append(restored, Capture(0, "from the new phone", (), None)) for _ in range(2)]
        retraction = restored.client.retract(theirs[0])
        fleet.ledger.appended_by(restored, retraction)
        fleet.sync(phone)
        report = fleet.sync(restored)
        assert isinstance(report, SyncReport) and report.reminted == 3
        assert restored.client.device_id != phone.client.device_id
        server = fleet.settle_and_compare_read_models()
        held = server.ids("ada")
        # The retraction had no conflicting device_seq, so the server took it; it names an id that
        # never reaches the server, and the client repeated it under the new id, with the new target.
        assert set(mine) | {retraction} <= set(held) and not set(theirs) & set(held)
        texts = [e["data"]["text"] for e in server.events("ada") if e["type"] == "win.captured"]
        assert sorted(texts) == ["from the new phone"] * 2 + ["from the old phone"] * 2
        shown = [e.summary for e in phone.client.timeline(fleet.projects["ada"][0]).timeline.entries]
        assert sum("from the new phone" in line for line in shown) == 1


def test_a_deleted_store_loses_its_unsynced_events_and_nothing_else() -> None:
    """Not a guarantee but its limit, pinned: what only a store held dies with its file."""
    with Fleet(users=("ada",)) as fleet:
        laptop, phone = fleet.add_device("ada"), fleet.add_device("ada")
        synced = fleet.append(laptop, Capture(None, "synced", (), None))
        fleet.sync(laptop)
        unsynced = fleet.append(laptop, Capture(None, "never synced", (), None))
        laptop.client.close()
        for suffix in ("", "-wal", "-shm"):
            laptop.path.with_name(laptop.path.name + suffix).unlink(missing_ok=True)
        laptop.client = laptop.open()  # a new, empty store at the same place: a new device id
        # The test knows that event is gone, and that this is a new store.
        fleet.ledger.owner.pop(unsynced)
        fleet.ledger.appended.pop(unsynced)
        fleet.ledger.devices.remove(laptop)
        fleet.ledger.add_device(laptop)
        server = fleet.settle_and_compare_read_models()
        assert set(server.ids("ada")) == {synced}
        assert [e.id for e in phone.client.events()] == [synced]


def test_a_restore_gives_a_new_epoch_and_drops_the_leases_the_backup_caught() -> None:
    """A backup taken while a projector held a user's lease: restored by ``winledger admin restore``, the
    restored server's projector does not wait for that lease of a process that is gone."""
    with Fleet(users=("ada",)) as fleet:
        laptop = fleet.add_device("ada")
        fleet.append(laptop, Start("Churn model", "model", None))
        fleet.sync(laptop)
        epoch = fleet.check().epoch
        with closing(sqlite3.connect(fleet.admin.db_path)) as db, db:
            db.execute(
                # A released lease stays as an expired row: replace it by one held by a process now gone.
                "INSERT OR REPLACE INTO projection_leases (user_id, holder, expires_at_ms) "
                "VALUES (1, 'gone', ?)",
                (int(time.time() * 1000) + 600_000,),
            )
        fleet.backup()
        fleet.append(laptop, Capture(0, "after the backup", (), None))
        fleet.sync(laptop)
        assert fleet.server_trouble(Restore(which=1))
        assert fleet.check().epoch != epoch
        with closing(sqlite3.connect(fleet.admin.db_path)) as db:
            assert db.execute("SELECT count(*) FROM projection_leases").fetchone() == (0,)
        report = fleet.sync(laptop)
        assert isinstance(report, SyncReport) and (report.epoch_changed, report.requeued) == (True, 1)
        fleet.settle_and_compare_read_models()  # the read models reach the head within 5 s
