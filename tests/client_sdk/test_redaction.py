"""Redaction on devices (ADR 0007): ``Client.redact`` rewrites the local copy at once, a pending target is
rewritten before it is ever pushed, a pulled redaction rewrites what the device holds, and every
device's digest agrees with the server's afterwards."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from client_sdk import Client, ValidationError, _merge
from schema.redaction import REDACTED
from tests.client_sdk.conftest import FaultyTransport, MakeClient
from tests.client_sdk.test_sync import contents, server_events
from tests.support.inprocess import InProcessServer
from tests.support.servers import restore

SECRET = "Dana at Acme says the churn list saved the Q3 renewal"


def texts(client: Client) -> list[Any]:
    return [e.data.get("text") for e in client.events() if e.type == "win.captured"]


def held_anywhere(client: Client) -> str:
    """Everything the device's store holds as events, rejected ones included."""
    return repr([e.data for e in client.events(include_unreadable=True) + client.rejected()])


def test_a_pending_event_is_redacted_before_it_is_ever_pushed(
    make_client: MakeClient, server: InProcessServer, token: str
) -> None:
    transport = FaultyTransport(server.transport, lambda request, attempt: None)
    laptop = make_client("laptop", transport=transport)
    win = laptop.capture(SECRET, tags=["acme"])
    redaction = laptop.redact(win, "named a customer")
    assert texts(laptop) == [REDACTED]
    assert next(e for e in laptop.events() if e.id == win).data == {
        "text": REDACTED,
        "source": "text",
        "tags": [],
    }
    assert {e.status for e in laptop.events()} == {"pending"}
    report = laptop.sync()
    assert report.accepted == 2
    assert all(SECRET.encode() not in request.content for request in transport.requests)
    held = {event["id"]: event for event in server_events(server, token)}
    assert held[win]["data"]["text"] == REDACTED and held[redaction]["data"]["target"] == win
    assert laptop.verify()


def test_a_pulled_redaction_rewrites_the_copy_a_device_already_holds(make_client: MakeClient) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    project = laptop.start_project("Churn early warning", "model")
    win = laptop.capture(SECRET, project, tags=["acme"])
    laptop.sync()
    phone.sync()
    assert texts(phone) == [SECRET] and phone.verify()
    laptop.redact(win)
    assert texts(laptop) == [REDACTED]  # at once, here; still synced at its seq
    assert next(e for e in laptop.events() if e.id == win).status == "synced"
    laptop.sync()
    report = phone.sync()
    assert report.pulled == 1 and not report.epoch_changed  # no recovery needed: the digests agree
    assert texts(phone) == [REDACTED] and SECRET not in held_anywhere(phone)
    assert phone.verify() and laptop.verify()
    assert contents(phone) == contents(laptop)
    assert SECRET not in repr(phone.timeline(project))


def test_a_device_offline_since_before_the_redaction_pushes_its_text_and_gets_it_back_redacted(
    make_client: MakeClient, server: InProcessServer, token: str
) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    win = phone.capture(SECRET)
    phone.sync()
    laptop.sync()
    laptop.redact(win)
    laptop.sync()
    # The phone's answer to its push was lost, so it still holds the win as pending: it pushes the
    # original text again, which the server answers as a duplicate, and pulls the redaction.
    with sqlite3.connect(phone._store.path) as raw:
        raw.execute("UPDATE events SET state = 'pending', seq = NULL WHERE id = ?", (win,))
    report = phone.sync()
    assert report.duplicates == 1 and report.rejected == 0
    assert texts(phone) == [REDACTED] and phone.verify()
    assert [e["data"].get("text") for e in server_events(server, token) if e["id"] == win] == [REDACTED]


def test_after_a_restore_from_before_the_redaction_the_text_goes_again(
    make_client: MakeClient,
    server: InProcessServer,
    server_factory: Callable[..., InProcessServer],
    tmp_path: Path,
) -> None:
    """The restored store holds the text; a device that holds the redaction gives it back, and keeps
    its own copy redacted while it recovers."""
    laptop = make_client("laptop")
    win = laptop.capture(SECRET)
    laptop.sync()
    backup = tmp_path / "backup.db"
    with sqlite3.connect(server.db_path) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    laptop.redact(win)
    laptop.sync()
    laptop.close()

    target = tmp_path / "restored.db"
    restore(backup, target)  # what `winledger admin restore` does: the backup under a new epoch
    restored = server_factory(db_path=target)
    laptop = make_client("laptop", server=restored)
    report = laptop.sync()
    assert report.epoch_changed and report.requeued == 1  # the redaction, lost by the restore
    assert texts(laptop) == [REDACTED] and SECRET not in held_anywhere(laptop)
    events = server_events(restored, laptop._token or "")
    assert [e["data"].get("text") for e in events if e["id"] == win] == [REDACTED]
    assert laptop.verify()


def test_redacting_a_project_start_erases_its_name_only_when_asked(make_client: MakeClient) -> None:
    laptop = make_client("laptop")
    project = laptop.start_project("Acme renewal model", "model", team="Acme")
    start = next(e.id for e in laptop.events() if e.type == "project.started")
    with pytest.raises(ValidationError) as refused:
        laptop.redact(start)
    assert "Acme renewal model" in str(refused.value) and refused.value.field == "erase_project_name"
    assert len(laptop.events()) == 1  # nothing appended
    laptop.redact(start, erase_project_name=True)
    assert laptop.timeline(project).timeline.name == REDACTED
    laptop.sync()
    assert laptop.verify()


def test_a_redaction_of_an_event_not_held_here_applies_when_it_arrives(make_client: MakeClient) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    win = phone.capture(SECRET)
    phone.sync()
    laptop.redact(win)  # the id came by other means; the laptop has not pulled it yet
    laptop.sync()
    assert texts(laptop) == [REDACTED] and laptop.verify()
    phone.sync()
    assert texts(phone) == [REDACTED] and phone.verify()


def test_a_redaction_is_an_ordinary_event_in_the_log(make_client: MakeClient) -> None:
    laptop = make_client("laptop")
    win = laptop.capture("fine")
    redaction = laptop.redact(win, "named a customer")
    (held,) = [e for e in laptop.events() if e.id == redaction]
    assert (held.type, held.data, held.project_id) == (
        "event.redacted",
        {"target": win, "reason": "named a customer"},
        None,
    )
    # A redaction of a redaction erases only its reason.
    laptop.redact(redaction)
    (held,) = [e for e in laptop.events() if e.id == redaction]
    assert held.data == {"target": win, "reason": REDACTED}


def test_a_recovering_device_takes_the_servers_redacted_copy_without_calling_it_a_conflict(
    make_client: MakeClient,
    server: InProcessServer,
    server_factory: Callable[..., InProcessServer],
    tmp_path: Path,
) -> None:
    """The phone holds the text; the store is restored (new epoch) from a backup taken after the
    redaction; the phone re-pulls from 0, meets the redacted target before the redaction (pages of
    one event) and replaces its copy, keeping no unredacted copy aside."""
    laptop, phone = make_client("laptop"), make_client("phone", page_size=1)
    win = laptop.capture(SECRET)
    laptop.sync()
    phone.sync()
    laptop.redact(win)
    laptop.sync()
    laptop.close()
    phone.close()
    backup, target = tmp_path / "after.db", tmp_path / "restored.db"
    with sqlite3.connect(server.db_path) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    restore(backup, target)
    restored = server_factory(db_path=target)
    phone = make_client("phone", server=restored, page_size=1)
    report = phone.sync()
    assert report.epoch_changed and (report.rejected, report.requeued) == (0, 0)
    assert texts(phone) == [REDACTED] and SECRET not in held_anywhere(phone)
    assert phone.verify()


def test_an_older_client_recovers_once_and_then_agrees_with_the_server(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADR 0007's decision on old clients, checked: a client that does not apply redactions (this SDK
    with its two redaction steps taken out, as before them) recovers once, ends up with the server's
    redacted copy and an agreeing digest, keeps its own copy aside as an id_conflict, and stops."""
    laptop, old = make_client("laptop"), make_client("old")
    win = laptop.capture(SECRET)
    laptop.sync()
    old.sync()
    monkeypatch.setattr(_merge, "settle_redactions", lambda conn, written: 0)
    monkeypatch.setattr(_merge, "_redacted", lambda held, event: False)
    laptop.redact(win)  # the laptop's append goes through the store, which still applies it
    laptop.sync()
    report = old.sync()
    assert report.epoch_changed  # the digests differed: one recovery
    assert texts(old) == [REDACTED] and old.verify()
    assert [(e.code, e.data["text"]) for e in old.rejected()] == [("id_conflict", SECRET)]
    assert not old.sync().epoch_changed  # no loop
