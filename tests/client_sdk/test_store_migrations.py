"""The local store migrates itself on open: a store written by an earlier SDK keeps every event."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from client_sdk import Client, StoreError
from client_sdk import _store_schema as store_module
from tests.support.inprocess import InProcessServer

FIXTURE = Path(__file__).parent / "fixtures" / "store_v1.sql"


def v1_store(path: Path) -> Path:
    """The committed store of SDK store version 1: 3 synced events and 2 pending."""
    with sqlite3.connect(path) as conn:
        conn.executescript(FIXTURE.read_text())
    conn.close()
    return path


def test_a_version_1_store_opens_with_every_event_and_syncs(tmp_path: Path, server: InProcessServer) -> None:
    path = v1_store(tmp_path / "old.db")
    token = server.create_user("dora")
    with Client(path, server.url, token, transport=server.transport, backoff=0.0) as journal:
        status = journal.status()
        assert (status.pending, status.synced, status.rejected) == (2, 3, 0)
        assert journal.account is None  # version 1 did not record it: the next sync does
        before = {event.id for event in journal.events()}
        texts = {event.data.get("text") for event in journal.events() if event.status == "pending"}
        assert texts == {
            "Customer success works the churn list every Monday",
            "Ruled out the graph approach after six weeks",
        }
        [churn] = [project.id for project in journal.projects()]
        journal.capture("Churn model saved 34% more flagged accounts", churn)

        report = journal.sync()  # a new server: its epoch differs, so the old synced events go back too
        assert report.epoch_changed and report.accepted == 6
        assert {event.id for event in journal.events()} >= before and journal.status().synced == 6
        assert journal.verify()
        assert journal.account is not None and (journal.account.server, journal.account.user) == (
            server.url,
            "dora",
        )
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION
    conn.close()


def test_migration_steps_run_in_order_from_the_stores_version(tmp_path: Path) -> None:
    path = v1_store(tmp_path / "old.db")
    conn = sqlite3.connect(path, isolation_level=None)
    ran: list[str] = []

    def add_notes(c: sqlite3.Connection) -> None:
        ran.append("2")
        c.execute("CREATE TABLE notes (id TEXT PRIMARY KEY)")

    def add_index(c: sqlite3.Connection) -> None:
        ran.append("3")
        c.execute("CREATE INDEX notes_id ON notes (id)")

    conn.execute("BEGIN IMMEDIATE")
    assert store_module.migrate(conn, 1, (add_notes, add_index)) == 3
    conn.execute("COMMIT")
    assert ran == ["2", "3"] and conn.execute("PRAGMA user_version").fetchone()[0] == 3
    assert conn.execute("SELECT count(*) FROM events WHERE state = 'pending'").fetchone()[0] == 2
    ran.clear()
    assert store_module.migrate(conn, 3, (add_notes, add_index)) == 3 and ran == []
    conn.close()


def test_a_store_from_a_newer_sdk_is_refused_untouched(tmp_path: Path) -> None:
    path = v1_store(tmp_path / "newer.db")
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {store_module.SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer winledger"):
        Client(path)
