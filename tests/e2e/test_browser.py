"""The README's path in a real browser: capture from the terminal while the server is down, sync when it
is up, then sign in with the token in headless Chromium, open a project and its chain, switch the review
period, copy the Markdown and the plain text, download the Markdown; a capture with markup in it shows as
text everywhere.

Debian's ``chromium`` package, driven by Playwright (no browser download): skipped only where it is not
installed. Playwright's sync API runs its own event loop in this thread, so this module keeps to itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk import Client
from tests.e2e.test_capture_flow import Person
from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e

MARKUP = "Fixed <script>alert(1)</script> \"quotes' <svg onload=alert(1)>"
MARKUP_PROJECT = "Markup <b>bold</b> \"quoted' <svg onload=alert(2)>"


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


# -- A realistic year's project pages, at a desktop's width and at a phone's ---------------------------

WIDTHS = (1280, 390)
MIN_TEXT_PX = 10.0  # the smallest text a page may draw, in CSS pixels as shown
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


@pytest.fixture(scope="module")
def demo_journal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    """A real server holding last year's demo year (all of it before today), pushed device by device as
    ``winledger demo`` pushes it: long metric labels, milestones days apart, projects still in production."""
    from client_sdk.demo_year import DEVICES, demo_year

    server = ServerProcess(tmp_path_factory.mktemp("demo-year") / "server.db")
    server.start()
    try:
        token = server.create_user("dana", label="laptop")
        events = demo_year(datetime.now(UTC).year - 1)
        cursor = 0
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
            for device_id in DEVICES.values():
                batch = [event for event in events if event["device_id"] == device_id]
                pushed = http.post("/v1/events", json={"events": batch}, timeout=30).raise_for_status().json()
                assert {result["status"] for result in pushed["results"]} == {"accepted"}
                cursor = max(cursor, pushed["cursor"])
        yield server.url, token, cursor
    finally:
        server.stop()


class DemoPages:
    """The demo journal through the API (what the pages must agree with) and through a signed-in browser."""

    def __init__(self, journal: tuple[str, str, int], chromium: Any, width: int) -> None:
        from playwright.sync_api import expect

        self.url, token, self.cursor = journal
        self.api = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.context = chromium.new_context(viewport={"width": width, "height": 900})
        self.page = self.context.new_page()
        self.page.goto(self.url + "/sign-in")
        self.page.fill("#token", token)
        self.page.click("button[type=submit]")
        expect(self.page.locator("h1")).to_have_text("Your projects")
        self.width = width

    def get(self, path: str) -> Any:
        return self.api.get(path, params={"min_seq": self.cursor}).raise_for_status().json()

    def projects(self) -> list[dict[str, Any]]:
        projects: list[dict[str, Any]] = self.get("/v1/projects")["projects"]
        assert len(projects) == 10
        return projects

    def open(self, project: dict[str, Any]) -> Any:
        self.page.goto(f"{self.url}/projects/{project['id']}")
        return self.page

    def close(self) -> None:
        self.context.close()
        self.api.close()


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def demo_pages(demo_journal: tuple[str, str, int], chromium: Any, request: Any) -> Iterator[DemoPages]:
    pages = DemoPages(demo_journal, chromium, request.param)
    try:
        yield pages
    finally:
        pages.close()


# Every drawing the reader sees: its box, and each text's box and size as shown (font size x the scale).
_DRAWN = """() => {
  const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const box = (el) => { const r = el.getBoundingClientRect();
                        return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const text = (el, scale) => ({text: el.textContent, cls: el.getAttribute("class") || "", box: box(el),
                                size: parseFloat(getComputedStyle(el).fontSize) * scale});
  const svgs = [...document.querySelectorAll("main svg")].filter(shown).map((svg) => {
    const scale = svg.getScreenCTM().a;
    const texts = (root) => [...root.querySelectorAll("text")].filter(shown).map((el) => text(el, scale));
    return {
      label: svg.getAttribute("aria-label"), box: box(svg), texts: texts(svg),
      boxes: [...svg.querySelectorAll("g.metric")].map((g) => ({
        key: g.dataset.key, box: box(g.querySelector("rect")), texts: texts(g)})),
      hops: [...svg.querySelectorAll("g.hop")].map((g) => ({texts: texts(g)})),
    };
  });
  return {svgs, scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth};
}"""


def _overlap(a: dict[str, float], b: dict[str, float], margin: float = 0.0) -> bool:
    """Whether two boxes overlap (or come closer than ``margin``), beyond half a pixel of rounding."""
    return (
        min(a["r"], b["r"]) - max(a["l"], b["l"]) > 0.5 - margin
        and min(a["b"], b["b"]) - max(a["t"], b["t"]) > 0.5 - margin
    )


def _inside(inner: dict[str, float], outer: dict[str, float], padding: float = 0.0) -> bool:
    return (
        inner["l"] >= outer["l"] + padding - 0.5
        and inner["r"] <= outer["r"] - padding + 0.5
        and inner["t"] >= outer["t"] + padding - 0.5
        and inner["b"] <= outer["b"] - padding + 0.5
    )


def layout_problems(drawn: dict[str, Any]) -> list[str]:
    """What a reader would see as broken: a page wider than the window, text too small to read, text
    cut off at the edge of its drawing or its box, two texts printed over each other, an arrow's label
    touching a box."""
    problems = []
    if drawn["scrollWidth"] > drawn["width"]:
        problems.append(f"the page is {drawn['scrollWidth']} px wide in a {drawn['width']} px window")
    for svg in drawn["svgs"]:
        where = svg["label"]
        if svg["box"]["r"] > drawn["width"] + 0.5:
            problems.append(f"{where}: runs off the window, to {svg['box']['r']:.0f} px")
        texts = svg["texts"]
        for text in texts:
            if text["size"] < MIN_TEXT_PX:
                problems.append(f"{where}: {text['text']!r} is drawn at {text['size']:.1f} px")
            if not _inside(text["box"], svg["box"]):
                problems.append(f"{where}: {text['text']!r} is cut off at the drawing's edge")
        for index, first in enumerate(texts):
            for second in texts[index + 1 :]:
                if _overlap(first["box"], second["box"]):
                    problems.append(f"{where}: {first['text']!r} overprints {second['text']!r}")
        for metric in svg["boxes"]:
            for text in metric["texts"]:
                if not _inside(text["box"], metric["box"], padding=3):
                    problems.append(f"{where}: {text['text']!r} spills out of the box of {metric['key']}")
        for hop in svg["hops"]:
            for text in hop["texts"]:
                for metric in svg["boxes"]:
                    if _overlap(text["box"], metric["box"], margin=4):
                        problems.append(f"{where}: the arrow's {text['text']!r} touches {metric['key']}")
    return problems


def test_every_page_is_laid_out_without_overlap_clipping_or_unreadable_text(demo_pages: DemoPages) -> None:
    page, problems = demo_pages.page, []
    for path in ("/", "/review"):
        page.goto(demo_pages.url + path)
        problems += [f"{path}: {problem}" for problem in layout_problems(page.evaluate(_DRAWN))]
    for project in demo_pages.projects():
        drawn = demo_pages.open(project).evaluate(_DRAWN)
        assert [svg for svg in drawn["svgs"] if "Timeline" in (svg["label"] or "")], project["name"]
        problems += [f"{project['name']}: {problem}" for problem in layout_problems(drawn)]
    assert not problems, "\n".join(problems)


_METRICS = """() => {
  const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const lines = (g, keep) => [...g.querySelectorAll("text")].filter(
    (el) => keep(el.getAttribute("class") || "")).map((el) => el.textContent).join(" ");
  const chains = [...document.querySelectorAll("main svg.chain")].filter(shown);
  const timelines = [...document.querySelectorAll("main svg.timeline")].filter(shown);
  return {
    boxes: chains.flatMap((svg) => [...svg.querySelectorAll("g.metric")].map((g) => ({
      key: g.dataset.key, name: lines(g, (c) => c === "name"),
      figure: lines(g, (c) => c !== "name" && c !== "layer")}))),
    hops: chains.map((svg) => [...svg.querySelectorAll("g.hop")].map((g) => lines(g, () => true))),
    entries: Object.fromEntries(timelines.flatMap((svg) => [...svg.querySelectorAll("g.entry")].map(
      (g) => [g.dataset.id, g.querySelector("title").textContent]))),
    rows: [...document.querySelectorAll("main table tbody tr")].map((tr) => ({
      key: tr.cells[0].querySelector(".muted").textContent.split(" · ")[0],
      headline: tr.cells[1].textContent, evidence: tr.cells[2].textContent})),
    text: document.querySelector("main").innerText,
  };
}"""


def _numbers(text: str) -> list[str]:
    return sorted(_NUMBER.findall(text))


def test_each_number_on_a_project_page_is_the_apis_headline(demo_pages: DemoPages) -> None:
    """The chain's boxes, the metrics table and the timeline's metric entries state the figure the API
    (and the draft) gives each metric, ``schema.projections.chains.headline``: no box of its own."""
    checked = 0
    for project in demo_pages.projects():
        chains = demo_pages.get(f"/v1/projects/{project['id']}/metric-chains")
        shown = demo_pages.open(project).evaluate(_METRICS)
        rows = {row["key"]: row for row in shown["rows"]}
        assert sorted(rows) == sorted(metric["key"] for metric in chains["metrics"]), project["name"]
        for metric in chains["metrics"]:
            line, where = metric["headline"], f"{project['name']}, {metric['key']}"
            # The table: the headline's words, then how it was measured; no other number.
            row = rows[metric["key"]]
            assert row["headline"].startswith(line["text"]), (where, row["headline"])
            stated = " ".join(part for part in (line["text"], line["reason"], line["measured"]) if part)
            assert _numbers(row["headline"]) == _numbers(stated), (where, row["headline"])
            # Each box of the metric: its whole label, and the headline's phrase with its numbers alone.
            boxes = [box for box in shown["boxes"] if box["key"] == metric["key"]]
            assert len(boxes) == sum(metric["key"] in chain["keys"] for chain in chains["chains"]), where
            for box in boxes:
                assert box["name"] == metric["label"], (where, box["name"])
                assert box["figure"].startswith(line["phrase"]), (where, box["figure"], line["phrase"])
                assert _numbers(box["figure"]) == _numbers(line["phrase"]), (where, box["figure"])
                checked += 1
            # The timeline's entry of the latest observation says the headline.
            assert line["text"] in shown["entries"][metric["latest"]["id"]], (where, shown["entries"])
    assert checked >= 10


def test_evidence_is_worded_as_in_the_draft(demo_pages: DemoPages) -> None:
    """An arrow of a chain and the table name the evidence of a link in ``EVIDENCE_WORDS``, the draft's."""
    from schema.projections.labels import EVIDENCE_WORDS

    seen = set()
    for project in demo_pages.projects():
        chains = demo_pages.get(f"/v1/projects/{project['id']}/metric-chains")
        shown = demo_pages.open(project).evaluate(_METRICS)
        assert shown["hops"] == [
            [EVIDENCE_WORDS[ev] for ev in chain["evidence"]] for chain in chains["chains"]
        ]
        rows = {row["key"]: row for row in shown["rows"]}
        for link in chains["links"]:
            assert EVIDENCE_WORDS[link["evidence"]] in rows[link["effect"]]["evidence"], project["name"]
            seen.add(link["evidence"])
        for raw in ("before after", "ab test", "ab_test", "stakeholder report", "before_after"):
            assert raw not in shown["text"], (project["name"], raw)
    assert seen == {"ab_test", "shadow", "before_after", "stakeholder_report", "counterfactual"}


_PRODUCTION = """() => [...document.querySelectorAll("main svg.timeline")].filter(
  (svg) => svg.getBoundingClientRect().width > 0).map((svg) => ({
    entries: [...svg.querySelectorAll("g.entry")].map((g) => {
      const shape = g.querySelector("circle, rect, path").getBoundingClientRect();
      return {day: g.querySelector("title").textContent.slice(0, 10), x: (shape.left + shape.right) / 2};
    }),
    production: [...svg.querySelectorAll("rect.production")].map((rect) => {
      const box = rect.getBoundingClientRect();
      return {left: box.left, right: box.right};
    }),
  }))"""


def test_production_is_shaded_up_to_the_pages_as_of(demo_pages: DemoPages) -> None:
    """A project still in production is shaded to the day the page is drawn as of, not to its last event."""
    in_production = 0
    for project in demo_pages.projects():
        view = demo_pages.get(f"/v1/projects/{project['id']}/timeline")
        if not view["in_production"]:
            continue
        in_production += 1
        (drawn,) = demo_pages.open(project).evaluate(_PRODUCTION)
        entries = sorted(drawn["entries"], key=lambda entry: (entry["day"], entry["x"]))
        first, last = entries[0], entries[-1]
        day = date.fromisoformat
        per_day = (last["x"] - first["x"]) / (day(last["day"]) - day(first["day"])).days
        as_of_x = last["x"] + (day(view["as_of"]) - day(last["day"])).days * per_day
        shaded = drawn["production"][-1]
        assert abs(shaded["right"] - as_of_x) <= 2, (project["name"], shaded, as_of_x, view["as_of"])
    assert in_production == 4
