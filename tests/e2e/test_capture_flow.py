"""The terminal path of the README, with real processes: capture while the server is down, sign in and sync
when it is up, and read the review draft, offline and from the server, the same."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest

from client_sdk import Client
from tests.support.process import ServerProcess, free_port, winledger_command

pytestmark = pytest.mark.e2e

WINS = [
    "Churn model reached 0.81 recall at 30 days on the holdout",
    "Customer success now works the flagged accounts every Monday",
    "Ran the team's first model design review",
    "Power analysis stopped two underpowered experiments",
]


class Person:
    """Someone at a terminal: their own XDG directories, no WINLEDGER_* variable, the real command."""

    def __init__(self, home: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WINLEDGER_")}
        self.env.update(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
        self.journal = home / "data" / "winledger" / "journal.db"

    def run(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*winledger_command(), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"winledger {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result


def test_capture_offline_then_sync_and_review(tmp_path: Path) -> None:
    person = Person(tmp_path)
    today = datetime.now(UTC).date()
    period = ["--from", str(today - timedelta(days=60)), "--to", str(today + timedelta(days=1))]

    # The server is down: nothing listens on its port yet.
    server = ServerProcess(tmp_path / "server.db")
    person.run("project", "start", "Churn early warning", "--kind", "model", "--team", "Customer success")
    person.run("milestone", "churn early warning", "deployed", "--at", str(today - timedelta(days=3)))
    person.run("metric", "Churn early warning", "saved_rate", "34", "--layer", "business", "--unit", "%",
               "--baseline", "25", "--low", "30", "--high", "38")  # fmt: skip
    for index, text in enumerate(WINS):
        project = ["--project", "CHURN EARLY WARNING"] if index < 2 else []
        out = person.run("win", text, *project).stdout
        assert out.startswith("Recorded win") and "pending sync" in out

    status = person.run("status").stdout
    assert "7 pending, 0 synced, 0 rejected" in status and "Last sync:  never" in status
    offline = person.run("sync", check=False)
    assert offline.returncode == 1 and "winledger login" in offline.stderr

    server.start()
    try:
        token = server.create_user("dana", label="laptop")
        login = person.run("login", "--server", server.url, stdin=token + "\n")
        assert f"Signed in to {server.url}" in login.stdout and token not in login.stdout
        token_file = tmp_path / "config" / "winledger" / "token"
        assert token_file.stat().st_mode & 0o777 == 0o600

        synced = person.run("sync").stdout
        assert "pushed 7 (7 new)" in synced and "nothing pending" in synced
        status = person.run("status").stdout
        assert "0 pending, 7 synced, 0 rejected" in status and f"Server:     {server.url}" in status

        draft = person.run("review", *period).stdout
        for text in WINS:
            assert text in draft
        assert "Churn early warning" in draft and "shipped it on" in draft
        # The period ends tomorrow: the draft is drawn as of today, never a day to come.
        drawn = msgspec.json.decode(person.run("review", *period, "--format", "json").stdout)
        assert (drawn["period_to"], drawn["as_of"]) == (str(today), str(today))

        with Client(person.journal) as journal:
            cursor = journal.status().cursor
        query = {"from": period[1], "to": period[3], "format": "markdown", "min_seq": cursor}
        answer = httpx.get(
            f"{server.url}/v1/review-draft", params=query, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
        assert int(answer.headers["Winledger-As-Of-Seq"]) >= cursor
        assert answer.text.rstrip("\n") == draft.rstrip("\n")

        person.run("logout")
        assert not token_file.exists()
    finally:
        server.stop()


def test_login_while_the_server_is_down_is_kept_for_later(tmp_path: Path) -> None:
    person = Person(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"
    login = person.run("login", "--server", url, stdin="wl_" + "a" * 16 + "_" + "b" * 64)
    assert "Could not reach" in login.stdout and "saved it anyway" in login.stdout
    person.run("win", "Captured after signing in, still offline")
    failed = person.run("sync", check=False)
    assert failed.returncode == 1 and "1 pending event kept" in failed.stderr
