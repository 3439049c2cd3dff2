"""Redaction as a person does it from the terminal, with a real `winledger serve` and two devices: the text
of one capture is gone from the server's pulls, export and review, and from the other device after its
next sync, while the log keeps the event and both devices still agree with the server's digest."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_capture_flow import Person
from tests.support.process import ServerProcess, run_cli

pytestmark = pytest.mark.e2e

SECRET = "Acme Corp renewed for 4.2M after the churn model flagged them"
KEPT = "Shipped the churn model to production"


def _export(person: Person) -> list[dict[str, object]]:
    return [json.loads(line) for line in person.run("export").stdout.splitlines() if line.strip()]


def test_a_redacted_capture_disappears_from_the_server_and_the_other_device(tmp_path: Path) -> None:
    laptop, phone = Person(tmp_path / "laptop"), Person(tmp_path / "phone")
    server = ServerProcess(tmp_path / "server.db").start()
    try:
        laptop_token = server.create_user("dana", label="laptop")
        phone_token = (
            run_cli("admin", "create-token", "dana", "--label", "phone", "--db", server.db_url)
            .stdout.strip()
            .splitlines()[-1]
        )
        laptop.run("login", "--server", server.url, stdin=laptop_token + "\n")
        phone.run("login", "--server", server.url, stdin=phone_token + "\n")

        secret_id = laptop.run("win", SECRET).stdout.split()[-1]
        laptop.run("win", KEPT)
        laptop.run("sync")
        phone.run("sync")
        assert SECRET in json.dumps(_export(phone))  # the phone holds the text before the redaction

        out = laptop.run("redact", secret_id, "--reason", "named a customer").stdout
        assert out.startswith("Redacted win.captured") and "pending sync" in out
        assert SECRET not in json.dumps(_export(laptop))  # gone from this device at once
        laptop.run("sync")

        # The server: the event is still in the log, with its text replaced, in pulls and the export.
        headers = {"Authorization": f"Bearer {laptop_token}"}
        pulled = httpx.get(f"{server.url}/v1/events", params={"after": 0}, headers=headers).json()
        by_id = {event["id"]: event for event in pulled["events"]}
        assert by_id[secret_id]["data"]["text"] == "[redacted]"
        assert [e["type"] for e in pulled["events"]].count("event.redacted") == 1
        assert KEPT in json.dumps(pulled)
        exported = httpx.get(f"{server.url}/v1/export", headers=headers)
        assert exported.status_code == 200 and SECRET not in exported.text and "[redacted]" in exported.text
        today, seq = datetime.now(UTC).date(), {"min_seq": pulled["count"]}
        review = httpx.get(
            f"{server.url}/v1/review-draft",
            params={
                "format": "markdown",
                "from": str(today - timedelta(days=30)),
                "to": str(today + timedelta(days=1)),
                **seq,
            },
            headers=headers,
        )
        assert review.status_code == 200, review.text
        assert SECRET not in review.text and KEPT in review.text

        # The phone: its next sync pulls the redaction and rewrites its copy; it agrees with the server.
        synced = phone.run("sync").stdout
        assert "error" not in synced.lower()
        held = _export(phone)
        assert SECRET not in json.dumps(held)
        kept = [line["event"] for line in held if isinstance(line.get("event"), dict)]
        assert any(event["id"] == secret_id for event in kept)  # the event is kept, its text is not
        for person in (laptop, phone):
            status = person.run("status").stdout
            assert "0 pending" in status and "0 rejected" in status
    finally:
        server.stop()
