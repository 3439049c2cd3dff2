"""Accounts and databases (issue 15), through the real ``winledger`` command and a real ``winledger serve``.

- A journal belongs to one account: signing in as another account on a journal that has synced, then
  syncing, used to push every event of the first account into the second, with the message "The
  server's data was restored or recreated". Now both are refused, naming the two accounts.
- Admin commands name the database they open, and create none unasked: run from another directory,
  ``admin create-user`` used to create a new ``./winledger.db`` there and print a token the running
  server refused.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from client_sdk import Client
from tests.support.process import ServerProcess, winledger_command

pytestmark = pytest.mark.e2e

ADA_WINS = [
    "Churn model reached 0.81 recall at 30 days on the holdout",
    "Customer success now works the flagged accounts every Monday",
    "Ran the team's first model design review",
]
README = Path(__file__).parents[2] / "README.md"


class Person:
    """Someone at a terminal: their own XDG directories, no WINLEDGER_* variable, the real command."""

    def __init__(self, home: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("WINLEDGER_")}
        self.env.update(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))
        self.journal = home / "data" / "winledger" / "journal.db"
        self.token_file = home / "config" / "winledger" / "token"

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*winledger_command(), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env={**self.env, **(env or {})},
            cwd=cwd,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"winledger {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result


def texts_on_the_server(server: ServerProcess, token: str) -> list[str]:
    answer = httpx.get(f"{server.url}/v1/events", headers={"Authorization": f"Bearer {token}"})
    answer.raise_for_status()
    return [event["data"]["text"] for event in answer.json()["events"]]


def user_id(server: ServerProcess, name: str) -> int:
    with sqlite3.connect(server.db_path) as db:
        (found,) = db.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
    db.close()
    return int(found)


def test_a_journal_that_synced_as_ada_is_never_copied_into_bobs_account(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server.db").start()
    try:
        ada, bob = server.create_user("ada"), server.create_user("bob")
        ada_account = f"ada (user {user_id(server, 'ada')}) at {server.url}"
        bob_account = f"bob (user {user_id(server, 'bob')}) at {server.url}"
        bobs_laptop = Person(tmp_path / "bob")
        bobs_laptop.run("win", "Bob's own win")
        bobs_laptop.run("login", "--server", server.url, stdin=bob)
        bobs_laptop.run("sync")

        person = Person(tmp_path / "ada")
        for text in ADA_WINS:
            person.run("win", text)
        login = person.run("login", "--server", server.url, stdin=ada)
        assert f"Signed in to {server.url} as ada" in login.stdout
        assert "pushed 3 (3 new)" in person.run("sync").stdout
        assert f"Account:    {ada_account}" in person.run("status").stdout
        person.run("win", "Captured after the first sync")

        # Signing in as bob on ada's journal: refused, naming both accounts and the ways forward.
        refused = person.run("login", "--server", server.url, stdin=bob, check=False)
        assert refused.returncode == 1, refused.stdout
        assert "winledger login: error: the journal" in refused.stderr  # --store was not given: not named
        assert ada_account in refused.stderr and bob_account in refused.stderr
        assert "Nothing was saved" in refused.stderr and "--store NEW.db" in refused.stderr
        assert person.token_file.read_text().strip() == ada

        # Bob's token in the environment, then `winledger sync`: refused too, and nothing moves.
        synced = person.run("sync", env={"WINLEDGER_TOKEN": bob}, check=False)
        assert synced.returncode == 1
        assert ada_account in synced.stderr and bob_account in synced.stderr
        assert "Nothing was synced" in synced.stderr and "--store NEW.db" in synced.stderr
        assert "restored or recreated" not in synced.stdout + synced.stderr
        assert texts_on_the_server(server, bob) == ["Bob's own win"]
        assert texts_on_the_server(server, ada) == ADA_WINS
        status = person.run("status").stdout
        assert "1 pending, 3 synced" in status and "Sync failed: " in status
        with Client(person.journal) as journal:
            assert "Bob's own win" not in [event.data.get("text") for event in journal.events()]

        # The way forward for bob: a journal of his own, which pulls his events.
        bobs = str(tmp_path / "bob.db")
        moved = person.run("login", "--server", server.url, "--store", bobs, stdin=bob)
        assert "as bob" in moved.stdout
        assert "pulled 1" in person.run("sync", "--store", bobs).stdout
        assert "Bob's own win" in person.run("review", "--store", bobs).stdout
        assert person.run("sync", check=False).returncode == 1  # ada's journal, with bob signed in

        # Signed in as ada again, her journal syncs as before.
        person.run("login", "--server", server.url, stdin=ada)
        assert "pushed 1 (1 new)" in person.run("sync").stdout
        assert texts_on_the_server(server, bob) == ["Bob's own win"]
        assert "Sync failed" not in person.run("status").stdout
    finally:
        server.stop()


def test_the_restored_or_recreated_message_appears_only_when_the_epoch_changed(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "first.db").start()
    person = Person(tmp_path / "ada")
    try:
        token = first.create_user("ada")
        for text in ADA_WINS:
            person.run("win", text)
        person.run("login", "--server", first.url, stdin=token)
        person.run("sync")

        # The journal loses a synced event (damaged by hand): only the digest notices. The epoch is the
        # same, so this is not reported as a restored server.
        with sqlite3.connect(person.journal) as db:
            db.execute("DELETE FROM events WHERE seq = 1")
        db.close()
        checked = person.run("sync").stdout
        assert "restored or recreated" not in checked
        assert "checked again" in checked
    finally:
        first.stop()

    # The server's database is recreated at the same address, with ada created again: her journal
    # is her account there, and gives the new server back everything it lost.
    fresh = ServerProcess(tmp_path / "fresh.db")
    fresh.port = first.port
    fresh.start(same_port=True)
    try:
        token = fresh.create_user("ada")
        person.run("login", "--server", fresh.url, stdin=token)
        recovered = person.run("sync").stdout
        assert "The server's data was restored or recreated; 3 events it had lost went back." in recovered
        assert sorted(texts_on_the_server(fresh, token)) == sorted(ADA_WINS)
    finally:
        fresh.stop()


def test_admin_commands_name_their_database_and_create_none_unasked(tmp_path: Path) -> None:
    served = tmp_path / "server"
    elsewhere = tmp_path / "elsewhere"
    served.mkdir()
    elsewhere.mkdir()
    server = ServerProcess(served / "winledger.db").start()  # `winledger serve` run in `served`
    person = Person(tmp_path / "admin")
    try:
        log = server.log_path.read_text()
        assert f"serving sqlite+aiosqlite:///{served / 'winledger.db'} on" in log

        # From another directory, without --db: the default ./winledger.db is not the server's.
        for args in (
            ["create-user", "bob"],
            ["create-token", "bob"],
            ["list-tokens", "bob"],
            ["revoke-token", "0123456789abcdef"],
            ["delete-user", "bob"],
            ["stats"],
            ["rebuild"],
            ["migrate"],
            ["backup", str(tmp_path / "copy.db")],
            ["restore", str(tmp_path / "copy.db")],
        ):
            refused = person.run("admin", *args, cwd=elsewhere, check=False)
            assert refused.returncode == 1, (args, refused.stdout)
            assert "argument --db" in refused.stderr and str(elsewhere / "winledger.db") in refused.stderr
            assert "nothing was created" in refused.stderr and refused.stdout == ""
            assert ("--create" in refused.stderr) == (args[0] in ("create-user", "migrate", "restore"))
            assert sorted(p.name for p in elsewhere.iterdir()) == [], args
        assert not (tmp_path / "copy.db").exists()

        # With the server's database, from anywhere: named, and the token works on the running server.
        created = person.run("admin", "create-user", "bob", "--db", server.db_url, cwd=elsewhere)
        assert f"Database: sqlite+aiosqlite:///{served / 'winledger.db'}\n" == created.stderr
        token = created.stdout.strip().splitlines()[-1]
        assert httpx.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {token}"}).json()[
            "user"
        ] == ("bob")
        # In the server's directory, the default is the server's database.
        listed = person.run("admin", "list-tokens", "bob", cwd=served)
        assert listed.stderr == f"Database: sqlite+aiosqlite:///{served / 'winledger.db'}\n"
        assert "STATE" in listed.stdout

        # --create makes a new one, and says so.
        new = person.run("admin", "create-user", "carol", "--create", cwd=elsewhere)
        assert f"Database: sqlite+aiosqlite:///{elsewhere / 'winledger.db'} (new)" in new.stderr
        assert (elsewhere / "winledger.db").exists()
    finally:
        server.stop()


def test_the_sign_in_page_names_the_command_the_readme_names(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server.db").start()
    try:
        page = httpx.get(f"{server.url}/", follow_redirects=True).text
    finally:
        server.stop()
    command = "winledger admin create-user NAME"
    assert f"<code>{command}</code> printed" in page
    browser_section = (
        README.read_text().split("## Read your review in the browser", 1)[1].split("\n## ", 1)[0]
    )
    assert f"`{command}` printed" in browser_section
