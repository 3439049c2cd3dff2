"""The README's path in a real browser: capture from the terminal while the server is down, sync when it
is up, then sign in with the token in headless Chromium, open a project and its chain, switch the review
period, copy the Markdown and the plain text, download the Markdown; a capture with markup in it shows as
text everywhere.

Debian's ``chromium`` package, driven by Playwright (no browser download): skipped only where it is not
installed. Playwright's sync API runs its own event loop in this thread, so this module keeps to itself.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk import Client
from tests.e2e.test_capture_flow import Person
from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
MARKUP = "Fixed <script>alert(1)</script> \"quotes' <svg onload=alert(1)>"
MARKUP_PROJECT = "Markup <b>bold</b> \"quoted' <svg onload=alert(2)>"


@pytest.fixture
def chromium() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (Debian: apt-get install -y chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _capture_offline(person: Person, today: datetime) -> None:
    def ago(days: int) -> str:
        return (today - timedelta(days=days)).date().isoformat()

    person.run("project", "start", "Churn early warning", "--kind", "model", "--team", "Customer success",
               "--at", ago(70))  # fmt: skip
    person.run("milestone", "churn early warning", "trained", "--at", ago(60))
    person.run("metric", "Churn early warning", "recall_at_30d", "0.81", "--layer", "model",
               "--baseline", "0.7", "--at", ago(59))  # fmt: skip
    person.run("milestone", "churn early warning", "deployed", "--at", ago(30))
    person.run("metric", "Churn early warning", "saved_rate", "34", "--layer", "business", "--unit", "%",
               "--baseline", "25", "--at", ago(10))  # fmt: skip
    person.run("link", "Churn early warning", "recall_at_30d", "saved_rate", "--evidence", "ab_test",
               "--at", ago(9))  # fmt: skip
    person.run("feedback", "Churn early warning", "We work the flagged list every Monday", "--from", "Dana",
               "--at", ago(8))  # fmt: skip
    person.run("win", MARKUP, "--project", "Churn early warning", "--at", ago(5))
    person.run("project", "start", MARKUP_PROJECT, "--kind", "analysis", "--at", ago(4))
    person.run("learned", MARKUP, "--at", ago(3))


def test_sign_in_read_the_chain_switch_the_period_copy_and_download(tmp_path: Path, chromium: Any) -> None:
    person = Person(tmp_path / "home")
    today = datetime.now(UTC)
    start, end = (today - timedelta(days=90)).date(), (today + timedelta(days=1)).date()
    server = ServerProcess(tmp_path / "server.db")
    _capture_offline(person, today)  # the server is down

    server.start()
    try:
        token = server.create_user("dana", label="laptop")
        person.run("login", "--server", server.url, stdin=token + "\n")
        assert "pushed 10 (10 new)" in person.run("sync").stdout
        with Client(person.journal) as journal:
            cursor = journal.status().cursor
        period = {"from": start.isoformat(), "to": end.isoformat(), "format": "markdown", "min_seq": cursor}
        headers = {"Authorization": f"Bearer {token}"}
        expected = httpx.get(f"{server.url}/v1/review-draft", params=period, headers=headers)
        assert expected.status_code == 200 and "Fixed \\<script\\>" in expected.text
        as_text = httpx.get(
            f"{server.url}/v1/review-draft", params={**period, "format": "text"}, headers=headers
        )
        assert as_text.status_code == 200 and as_text.headers["content-type"] == "text/plain; charset=utf-8"

        context = chromium.new_context(accept_downloads=True)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
        _walk(
            page, server.url, token, start.isoformat(), end.isoformat(), expected.text, as_text.text, tmp_path
        )

        assert dialogs == [], dialogs  # no script of a capture ever ran
        assert console == [], console  # no CSP violation either: the copy script runs by its nonce
        context.close()
    finally:
        server.stop()


def _walk(
    page: Any, url: str, token: str, start: str, end: str, markdown: str, text: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    # Sign in: the home page sends a stranger to the form; the token is pasted once.
    page.goto(url + "/")
    expect(page).to_have_url(url + "/sign-in")
    page.fill("#token", token)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Your projects")
    churn = page.locator("tr", has_text="Churn early warning")
    expect(churn).to_contain_text("in production")  # the stage in the words of every page and the CLI
    # A project name with markup is a link whose text is that markup, literally.
    expect(page.get_by_role("link", name=MARKUP_PROJECT)).to_have_count(1)

    # A project: its timeline, the lags, and its chain from the model to the business metric.
    page.get_by_role("link", name="Churn early warning").click()
    expect(page.locator("h1")).to_have_text("Churn early warning")
    # A desktop's window shows the wide drawings (a phone's, the narrow ones).
    expect(page.locator("svg.timeline.wide")).to_be_visible()
    expect(page.locator("svg.timeline.narrow")).to_be_hidden()
    expect(page.locator("ul.lags")).to_contain_text("trained → deployed: 30 days (")
    chain = page.locator("svg.chain.wide")
    expect(chain).to_have_count(1)
    expect(chain).to_be_visible()
    expect(chain.locator("g.metric")).to_have_count(2)
    expect(chain.locator('g.metric[data-key="recall_at_30d"]')).to_contain_text("MODEL")
    # The box states the headline, as the table and the draft do: from the baseline to the value.
    claim = chain.locator('g.metric[data-key="saved_rate"] text.claim').all_text_contents()
    assert " ".join(claim) == "went from 25% to 34% (+9 pp)", claim
    expect(page.locator('tr[data-key="saved_rate"]')).to_contain_text(
        "Saved rate went from 25% to 34% (+9 pp)"
    )
    expect(chain.locator("g.hop")).to_have_text("an A/B test")
    expect(page.get_by_text("Complete: reaches a business metric.")).to_be_visible()
    expect(page.locator("main")).to_contain_text(MARKUP)  # the win, as text

    # The review draft: switch the period from the default (this year so far) to the test's own, which
    # ends tomorrow: like the API, the page draws it as of today, never a day to come.
    today = datetime.now(UTC).date().isoformat()
    page.get_by_role("link", name="Review draft").click()
    expect(page.locator("h1")).to_contain_text("Review draft, ")
    page.fill("input[name=from]", start)
    page.fill("input[name=to]", end)
    page.get_by_role("button", name="Show this period").click()
    expect(page.locator("h1")).to_have_text(f"Review draft, {start} to {today}")
    expect(page.locator("#draft")).to_contain_text("shipped it on")  # the churn model's paragraph
    expect(page.locator("#draft")).to_contain_text(f"Learned: {MARKUP}")
    assert page.locator("#markdown").input_value() == markdown

    # Copy the Markdown: what lands on the clipboard is the draft's Markdown, exactly.
    page.get_by_role("button", name="Copy Markdown").click()
    expect(page.locator("#copy-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == markdown

    # Copy as text: the draft as plain text for a review form, the API's text exactly, with no Markdown.
    copied = page.locator("#text").input_value()
    assert copied == text
    assert "**" not in copied and "[ ]" not in copied and "\\<" not in copied
    assert not [line for line in copied.splitlines() if line.startswith("#")], copied
    assert MARKUP in copied  # a capture's text as it was typed, unescaped
    page.get_by_role("button", name="Copy as text").click()
    expect(page.locator("#copy-status")).to_have_text("Copied as text.")
    assert page.evaluate("navigator.clipboard.readText()") == text

    # Download it: a .md attachment with the same text.
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == f"review-draft-{start}-to-{today}.md"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.read_text() == markdown

    # Markup shows as text everywhere: no element, attribute or script came from a capture.
    for path in ("/", "/review"):
        page.goto(url + path)
        assert page.locator("[onload], b, main script").count() == 0
        assert page.locator("script").count() == (1 if path == "/review" else 0)
    page.get_by_role("link", name="Projects").click()
    page.get_by_role("link", name=MARKUP_PROJECT).click()
    expect(page.locator("h1")).to_have_text(MARKUP_PROJECT)
    assert page.locator("[onload], main b").count() == 0

    # Sign out: back to the form, and the pages are closed again.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(url + "/sign-in")
    page.goto(url + "/review")
    expect(page).to_have_url(url + "/sign-in")
