"""Every HTTP example of the protocol's pages is what the server answers.

How an example is written so that it can be replayed: the top of docs/protocol-examples.md, and
tests/docs/replay.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from schema import EVENT_TYPES
from tests.docs.replay import Bindings, Exchange, compare, parse, replay
from tests.support.inprocess import InProcessServer

DOCS = Path(__file__).parents[2] / "docs"
PAGES = ["protocol.md", "protocol-examples.md"]


@pytest.mark.parametrize("page", PAGES)
def test_every_http_example_is_what_the_server_answers(page: str, portal: Any, tmp_path: Path) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    examples = sum(isinstance(step, Exchange) for step in parse(text))
    assert examples > 0
    assert replay(text, portal, tmp_path) == examples


def _event_examples(page: str) -> list[dict[str, Any]]:
    """The events section 4 of the protocol shows, one per type and version, in normalized form."""
    section = page.split("## 4. Event types and versions")[1].split("## 5. ")[0]
    blocks = re.findall(r"^```json\n(.*?)\n```$", section, re.MULTILINE | re.DOTALL)
    return [json.loads(block) for block in blocks]


def test_the_event_examples_are_accepted_and_pulled_back_as_shown(portal: Any, tmp_path: Path) -> None:
    events = _event_examples((DOCS / "protocol.md").read_text(encoding="utf-8"))
    assert {(event["type"], event["v"]) for event in events} == {
        (kind, version) for kind, versions in EVENT_TYPES.items() for version in versions
    }
    server = InProcessServer(tmp_path / "events.db", portal)
    try:
        auth = {"Authorization": f"Bearer {server.create_user('ada')}"}
        pushed = server.http.post("/v1/events", json={"events": events}, headers=auth).json()
        assert [result["status"] for result in pushed["results"]] == ["accepted"] * len(events), pushed
        pulled = server.http.get("/v1/events", headers=auth).json()["events"]
    finally:
        server.close()
    for shown, stored in zip(events, pulled, strict=True):
        stored = {name: value for name, value in stored.items() if name not in ("seq", "received_at")}
        compare(shown, stored, Bindings(), shown["id"])


def _events_answered(page: str) -> dict[str, dict[str, Any]]:
    """Every event a JSON answer of the page holds (as pulled, without ``seq`` and ``received_at``), by id."""
    found: dict[str, dict[str, Any]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "device_seq" in value and "received_at" in value:
                found[value["id"]] = {k: v for k, v in value.items() if k not in ("seq", "received_at")}
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for step in parse(page):
        if isinstance(step, Exchange) and step.response.header("Content-Type") == "application/json":
            walk(json.loads(step.response.body))
    return found


def test_the_event_examples_are_the_events_the_worked_examples_pull() -> None:
    answered = _events_answered((DOCS / "protocol-examples.md").read_text(encoding="utf-8"))
    shown = [
        e for e in _event_examples((DOCS / "protocol.md").read_text(encoding="utf-8")) if e["id"] in answered
    ]
    assert len(shown) >= 10
    for event in shown:
        compare(event, answered[event["id"]], Bindings(), event["id"])


def test_the_json_beside_the_messagepack_answer_is_that_answer() -> None:
    page = (DOCS / "protocol-examples.md").read_text(encoding="utf-8")
    shown = re.search(
        r"^Content-Type: application/msgpack\n.*?\n\n(?P<hex>[0-9a-f \n]+)\n```\n\n"
        r"[^`]*```json\n(?P<json>.*?)\n```$",
        page,
        re.MULTILINE | re.DOTALL,
    )
    assert shown is not None
    compare(json.loads(shown["json"]), msgspec.msgpack.decode(bytes.fromhex(shown["hex"])), Bindings())
