"""Backup of a live store and restore of an older backup under live devices, with the real commands."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from client_sdk import Client
from tests.support.process import ServerProcess, run_cli

pytestmark = pytest.mark.e2e


def _server_ids(server: ServerProcess, token: str) -> set[str]:
    ids: set[str] = set()
    after = 0
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        while True:
            page = http.get("/v1/events", params={"after": after}).raise_for_status().json()
            ids |= {event["id"] for event in page["events"]}
            after = page["cursor"]
            if not page["more"]:
                return ids


def _epoch(server: ServerProcess, token: str) -> str:
    answer = httpx.get(f"{server.url}/v1/info", headers={"Authorization": f"Bearer {token}"})
    return str(answer.raise_for_status().json()["epoch"])


def test_restoring_an_older_backup_loses_nothing_any_device_held(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server.db").start()
    token = server.create_user("ada")
    laptop = Client(tmp_path / "laptop.db", server.url, token)
    phone = Client(tmp_path / "phone.db", server.url, token)
    backup = tmp_path / "before-the-disk-failed.db"
    try:
        project = laptop.start_project("Ticket intent classifier", kind="model")
        laptop.capture("Classifier routes 91% of tickets right, up from 73%", project=project)
        laptop.sync()
        phone.capture("Support ops dropped the Monday re-routing shift")
        phone.sync()
        laptop.sync()

        taken = run_cli("admin", "backup", str(backup), "--db", server.db_url)  # the server keeps serving
        assert "1 user and 3 events" in taken.stdout
        old_epoch = _epoch(server, token)

        # Acknowledged after the backup: the restore loses them on the server, not on the devices.
        laptop.metric(project, "tickets.misrouted", 38, layer="production", unit="%", baseline=100)
        laptop.sync()
        phone.learning("Send low-confidence tickets to a human triage queue", kind="next")
        phone.sync()
        # Never pushed at all: pending on the phone through the whole restore.
        phone.capture("About 14 hours a week of re-routing saved", project=project)
        held = {event.id for client in (laptop, phone) for event in client.events()}
        assert len(held) == 6

        refused = run_cli("admin", "restore", str(backup), "--db", server.db_url, check=False)
        assert refused.returncode == 1
        assert "stop it" in refused.stderr
        assert len(_server_ids(server, token)) == 5  # the refusal changed nothing

        server.stop()
        restored = run_cli("admin", "restore", str(backup), "--db", server.db_url)
        assert "Restored 1 user and 3 events" in restored.stdout
        server.start(same_port=True)
        new_epoch = _epoch(server, token)
        assert new_epoch != old_epoch and new_epoch in restored.stdout
        assert len(_server_ids(server, token)) == 3

        for client in (laptop, phone, laptop):  # the laptop again, to pull what the phone pushed back
            client.sync()

        assert _server_ids(server, token) == held
        for client in (laptop, phone):
            assert {event.id for event in client.events()} == held
            assert all(event.status == "synced" for event in client.events())
            assert client.verify()
        answer = httpx.get(
            f"{server.url}/v1/projects/{project}/timeline",
            params={"min_seq": 6},
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()
        on_server = [entry["summary"] for entry in answer.json()["timeline"]["entries"]]
        assert on_server == [entry.summary for entry in laptop.timeline(project).timeline.entries]
        assert "Win: About 14 hours a week of re-routing saved" in on_server
    finally:
        laptop.close()
        phone.close()
        server.stop()


def test_backup_and_restore_say_what_is_wrong(tmp_path: Path) -> None:
    store = f"sqlite+aiosqlite:///{tmp_path / 'server.db'}"
    run_cli("admin", "create-user", "ada", "--db", store, "--create")
    run_cli("admin", "backup", str(tmp_path / "one.db"), "--db", store)

    again = run_cli("admin", "backup", str(tmp_path / "one.db"), "--db", store, check=False)
    assert again.returncode == 1 and "exists already" in again.stderr
    missing = run_cli("admin", "restore", str(tmp_path / "nope.db"), "--db", store, check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    (tmp_path / "notes.txt").write_text("not a database")
    junk = run_cli("admin", "restore", str(tmp_path / "notes.txt"), "--db", store, check=False)
    assert junk.returncode == 1 and "not a SQLite database" in junk.stderr
    postgres = "postgresql+asyncpg://winledger@db.invalid:5432/winledger"
    dump = run_cli("admin", "backup", str(tmp_path / "pg.db"), "--db", postgres, check=False)
    assert dump.returncode == 1 and "pg_dump" in dump.stderr
    pg_restore = run_cli("admin", "restore", str(tmp_path / "one.db"), "--db", postgres, check=False)
    assert pg_restore.returncode == 1 and "--new-epoch-only" in pg_restore.stderr


def test_new_epoch_only_changes_the_epoch_and_keeps_the_log(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server.db").start()
    token = server.create_user("ada")
    try:
        with Client(tmp_path / "laptop.db", server.url, token) as laptop:
            laptop.capture("Shadow run beat the pricing heuristics by 11 points")
            laptop.sync()
            before = _epoch(server, token)
            busy = run_cli("admin", "restore", "--new-epoch-only", "--db", server.db_url, check=False)
            assert busy.returncode == 1 and "stop it" in busy.stderr
            server.stop()
            done = run_cli("admin", "restore", "--new-epoch-only", "--db", server.db_url)
            assert "1 user, 1 event" in done.stdout
            server.start(same_port=True)
            assert _epoch(server, token) != before
            laptop.sync()
            assert laptop.verify()
            assert len(_server_ids(server, token)) == 1
    finally:
        server.stop()
