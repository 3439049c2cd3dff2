"""A manager opens a shared link in headless Chromium (a real ``winledger serve``, no account): the draft
is there with the figure the author recorded, a cited project's page opens under the same link, and every
other path with that token is refused: another project's page, the API with the token as a bearer, a
signed-in page. The author revokes the link; reloaded, it stops working.

Debian's ``chromium`` package, driven by Playwright, as in tests/e2e/test_browser.py (skipped only where
Chromium is not installed; .ci/run installs it).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_capture_flow import Person
from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e


def test_a_manager_reads_the_shared_draft_and_nothing_else_until_it_is_revoked(
    tmp_path: Path, chromium: Any
) -> None:
    from playwright.sync_api import expect

    person = Person(tmp_path / "home")
    this_year = str(datetime.now(UTC).year)
    person.run("project", "start", "Churn early warning", "--kind", "model")
    person.run("milestone", "churn early warning", "deployed")
    person.run("metric", "Churn early warning", "saved_rate", "34", "--layer", "business", "--unit", "%",
               "--baseline", "25")  # fmt: skip
    person.run("project", "start", "Pricing elasticity", "--kind", "analysis")
    person.run("milestone", "pricing elasticity", "deployed")

    server = ServerProcess(tmp_path / "server.db").start()
    try:
        token = server.create_user("dana")
        person.run("login", "--server", server.url, stdin=token + "\n")
        person.run("sync")
        # The read models follow the log a moment later (protocol 12.1): wait until both projects are there.
        deadline = time.monotonic() + 10
        while True:
            projects = httpx.get(f"{server.url}/v1/projects", headers={"Authorization": f"Bearer {token}"})
            ids = {project["name"]: project["id"] for project in projects.json()["projects"]}
            if {"Churn early warning", "Pricing elasticity"} <= ids.keys() or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        made = person.run("share", "create", "--review", this_year, "--project", "Churn early warning")
        link = made.stdout.splitlines()[0]
        share_token = link.rsplit("/", 1)[-1]

        context = chromium.new_context()
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)

        # The draft, as the manager sees it: the period, the project and the figure the author recorded.
        response = page.goto(link)
        assert response is not None and response.status == 200
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        expect(page.locator("h1")).to_have_text(
            f"Review draft, {this_year}-01-01 to {datetime.now(UTC).date()}"
        )
        draft = page.locator("#draft")
        expect(draft).to_contain_text("Churn early warning")
        expect(draft).to_contain_text("34%")
        expect(page.locator("main")).not_to_contain_text("Pricing elasticity")
        assert page.locator("form, script, a[href='/'], a[href^='/review']").count() == 0

        # A cited project's page opens under the same link, and leads back to the draft alone.
        page.get_by_role("link", name="Churn early warning").click()
        expect(page).to_have_url(f"{link}/projects/{ids['Churn early warning']}")
        expect(page.locator("h1")).to_have_text("Churn early warning")
        page.get_by_role("link", name="← Back to the review draft").click()
        expect(page).to_have_url(link)

        # Every other path with that token is refused.
        other = page.goto(f"{link}/projects/{ids['Pricing elasticity']}")
        assert other is not None and other.status == 404
        expect(page.locator("main")).not_to_contain_text("Pricing elasticity")
        as_bearer = page.request.get(
            f"{server.url}/v1/events", headers={"Authorization": f"Bearer {share_token}"}
        )
        assert as_bearer.status == 401
        page.goto(f"{server.url}/review?year={this_year}")  # a signed-in page: the link is no session
        expect(page).to_have_url(f"{server.url}/sign-in")
        beside = page.goto(f"{link}/review")
        assert beside is not None and beside.status == 404

        # Revoked by its author: reloaded, it stops working, and tells nothing of what it showed.
        page.goto(link)
        expect(draft).to_contain_text("34%")
        (row,) = [line for line in person.run("share", "list").stdout.splitlines()[1:] if line.strip()]
        assert row.split()[6] == "4"  # the draft three times and the project page once; no refusal counted
        person.run("share", "revoke", row.split()[0])
        reloaded = page.reload()
        assert reloaded is not None and reloaded.status == 404
        expect(page.locator("main")).to_contain_text("unknown, has expired or was revoked")
        expect(page.locator("main")).not_to_contain_text("Churn")
        # The only console errors are the refused loads themselves: no CSP violation, no script error.
        assert all("status of 40" in error for error in console), console
        context.close()
    finally:
        server.stop()
