"""``winledger share`` at a terminal against a real ``winledger serve``: make a link to this year's draft of
one project, open it as a manager would (no account), list it with its view count, revoke it; every
mistake is refused naming its option, and changes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_capture_flow import Person
from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e


def _refused(person: Person, *args: str) -> str:
    result = person.run(*args, check=False)
    assert result.returncode == 1, result
    return result.stderr


def test_make_open_list_and_revoke_a_link_from_the_terminal(tmp_path: Path) -> None:
    person = Person(tmp_path / "home")
    this_year = str(datetime.now(UTC).year)
    person.run("project", "start", "Churn early warning", "--kind", "model")
    person.run("milestone", "churn early warning", "deployed")
    person.run("metric", "Churn early warning", "saved_rate", "34", "--layer", "business", "--unit", "%",
               "--baseline", "25")  # fmt: skip
    person.run("project", "start", "Pricing elasticity", "--kind", "analysis")
    person.run("win", "Pricing team adopted the elasticity curves", "--project", "Pricing elasticity")

    server = ServerProcess(tmp_path / "server.db", log_level="info").start()  # with its access log
    try:
        assert "not signed in" in _refused(person, "share", "create", "--review", this_year)
        token = server.create_user("dana")
        person.run("login", "--server", server.url, stdin=token + "\n")
        person.run("sync")
        # The read models follow the log a moment later (protocol 12.1): the link shows them as they are.
        deadline = time.monotonic() + 10
        headers = {"Authorization": f"Bearer {token}"}
        while len(httpx.get(f"{server.url}/v1/projects", headers=headers).json()["projects"]) < 2:
            assert time.monotonic() < deadline, "the read models did not follow the sync"
            time.sleep(0.05)

        made = person.run("share", "create", "--review", this_year, "--project", "churn early warning",
                          "--expires", "2h").stdout  # fmt: skip
        link = made.splitlines()[0]
        assert link.startswith(f"{server.url}/s/") and len(link) == len(server.url) + 3 + 43, made
        assert f"{this_year}-01-01 to {this_year}-12-31 (1 project)" in made

        opened = httpx.get(link)  # a manager's browser: no token, no cookie
        assert opened.status_code == 200
        assert "Churn early warning" in opened.text and "34%" in opened.text
        assert "Pricing elasticity" not in opened.text and "Pricing team adopted" not in opened.text
        assert opened.headers["referrer-policy"] == "no-referrer"

        listing = person.run("share", "list").stdout
        (row,) = [line for line in listing.splitlines()[1:] if line.strip()]
        share_id, state, start, _to, end, projects, views = row.split()[:7]
        assert (state, start, end, projects, views) == (
            "active",
            f"{this_year}-01-01",
            f"{this_year}-12-31",
            "1",
            "1",
        )
        assert link.rsplit("/", 1)[-1] not in listing  # the list never shows the link itself

        # Mistakes, each named by its option; the server's own refusals too (a period after today).
        tomorrow = datetime.now(UTC).date() + timedelta(days=1)
        mistakes = {
            "argument --project": ["--review", this_year, "--project", "No such project"],
            "argument --from": ["--from", f"{this_year}-12-31", "--to", f"{this_year}-01-01"],
            "argument --expires": ["--review", this_year, "--expires", "5s"],
            "argument --review": ["--review", "next"],
        }
        for option, args in mistakes.items():
            assert option in _refused(person, "share", "create", *args), option
        server_said = _refused(person, "share", "create", "--from", str(tomorrow), "--to", str(tomorrow))
        assert "argument --from" in server_said and "after today" in server_said, server_said
        assert "argument ID" in _refused(person, "share", "revoke", "0123456789abcdef")
        assert "argument ID" in _refused(person, "share", "revoke", "not-an-id")
        assert (
            len([line for line in person.run("share", "list").stdout.splitlines()[1:] if line.strip()]) == 1
        )

        revoked = person.run("share", "revoke", share_id).stdout
        assert revoked.startswith(f"Revoked {share_id}")
        gone = httpx.get(link)
        assert gone.status_code == 404 and "Churn" not in gone.text
        assert " revoked " in person.run("share", "list").stdout
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert link.rsplit("/", 1)[-1] not in log and "GET /s/[redacted] HTTP/1.1" in log, log[-2000:]
