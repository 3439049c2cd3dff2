"""A browser's view of the review pages, in-process: its own cookie jar, forms posted as a browser would,
and an HTML checker that tells markup the pages wrote from text a person captured."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.factories import Device, new_id
from tests.support.inprocess import InProcessServer

HOSTILE = ("<script>alert(1)</script>", "\"quotes'", "<svg onload=alert(1)>")
MARKUP = " ".join(HOSTILE)
"""Text with markup in it, as a person might capture it; it must show as text everywhere."""

WEB_HOST = "winledger.test"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class WebClient:
    """One browser: a cookie jar over the in-process app; POSTs carry this site's Origin."""

    def __init__(self, server: InProcessServer) -> None:
        self.server = server
        self.http = httpx.Client(transport=server.transport, base_url=server.url)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def post(
        self, path: str, form: dict[str, str], origin: str | None = InProcessServer.url, **headers: str
    ) -> httpx.Response:
        if origin is not None:
            headers["Origin"] = origin
        # As a browser sends a form, even an empty one.
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.http.post(path, content=urlencode(form), headers=headers)

    def sign_in_csrf(self) -> str:
        return csrf_of(self.get("/sign-in"))

    def sign_in(self, token: str) -> httpx.Response:
        response = self.post("/sign-in", {"csrf": self.sign_in_csrf(), "token": token})
        assert response.status_code == 303 and response.headers["location"] == "/", response.text
        return response

    def csrf(self) -> str:
        """The session's CSRF token, as the sign-out form of any page carries it."""
        return csrf_of(self.get("/"))

    @property
    def session(self) -> str | None:
        return self.http.cookies.get("winledger_session", domain=WEB_HOST)


def csrf_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    match = _CSRF.search(response.text)
    assert match is not None, response.text
    return match[1]


def hostile_journal(device: Device | None = None) -> tuple[str, list[dict[str, Any]]]:
    """A project whose every piece of text carries markup: name, notes, labels, quotes, wins, learnings."""
    device = device or Device()
    project = new_id()

    def at(day: str) -> str:
        return f"2026-{day}T09:00:00Z"

    events = [
        device.event(
            "project.started",
            project_id=project,
            occurred_at=at("01-05"),
            data={"name": f"Churn {MARKUP}", "kind": "model", "summary": MARKUP, "team": MARKUP},
        ),
        device.event(
            "milestone.reached",
            project_id=project,
            occurred_at=at("02-01"),
            data={"milestone": "trained", "note": MARKUP},
        ),
        device.event(
            "metric.observed",
            project_id=project,
            occurred_at=at("02-02"),
            data={
                "key": "recall",
                "label": f"Recall {MARKUP}",
                "layer": "model",
                "value": 0.81,
                "baseline": 0.7,
            },
        ),
        device.event(
            "milestone.reached",
            project_id=project,
            occurred_at=at("03-01"),
            data={"milestone": "deployed", "note": MARKUP},
        ),
        device.event(
            "metric.observed",
            project_id=project,
            occurred_at=at("04-01"),
            data={
                "key": "saved_rate",
                "label": f"Saved {MARKUP}",
                "layer": "business",
                "value": 34.0,
                "unit": "%",
                "baseline": 25.0,
                "low": 30.0,
                "high": 38.0,
                "note": MARKUP,
            },
        ),
        device.event(
            "metric.linked",
            project_id=project,
            occurred_at=at("04-02"),
            data={"cause": "recall", "effect": "saved_rate", "evidence": "ab_test", "note": MARKUP},
        ),
        device.event(
            "feedback.received",
            project_id=project,
            occurred_at=at("04-03"),
            data={"quote": MARKUP, "source_name": MARKUP, "source_team": MARKUP, "decision": MARKUP},
        ),
        device.event(
            "win.captured",
            project_id=project,
            occurred_at=at("04-04"),
            data={"text": MARKUP, "source": "text"},
        ),
        device.event(
            "win.captured", occurred_at=at("04-05"), data={"text": f"Unassigned {MARKUP}", "source": "voice"}
        ),
        device.event("learning.noted", occurred_at=at("04-06"), data={"text": MARKUP, "kind": "learned"}),
    ]
    return project, events


class Markup(HTMLParser):
    """Every element and attribute a document holds, and its text (character references decoded)."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(document)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)

    def attribute_values(self) -> list[str]:
        return [value for _tag, attrs in self.tags for value in attrs.values() if value]


PAGE_TAGS = {
    "html", "head", "meta", "link", "title", "style", "body", "header", "main", "nav", "a", "form", "input",
    "button",
    "label", "h1", "h2", "h3", "h4", "p", "span", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th",
    "td", "br", "wbr", "strong", "em", "code", "div", "textarea", "script",
    "svg", "defs", "marker", "path", "g", "rect", "circle", "line", "text",
}  # fmt: skip
"""The elements the pages write; a capture's markup would add others (or attributes such as ``onload``)."""


def assert_only_text(document: str, *, scripts: int = 0) -> Markup:
    """The hostile markup is in ``document`` only as text: no element, attribute or script of its own."""
    parsed = Markup(document)
    for tag, attrs in parsed.tags:
        assert tag in PAGE_TAGS, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        if tag == "script":
            assert set(attrs) == {"nonce"}, attrs
    assert len([tag for tag, _ in parsed.tags if tag == "script"]) == scripts
    assert not any("alert(1)" in script for script in parsed.scripts)
    for raw in ("<script>alert", "<svg onload", "\"quotes'"):
        assert raw not in document, raw
    return parsed
