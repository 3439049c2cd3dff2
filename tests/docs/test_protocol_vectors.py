"""The vectors the protocol's pages show are those of docs/protocol-vectors.json, the one copy tests read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.inprocess import InProcessServer

DOCS = Path(__file__).parents[2] / "docs"
DATA: dict[str, Any] = json.loads((DOCS / "protocol-vectors.json").read_text(encoding="utf-8"))
EVENT = re.compile(
    r"^#{3,4} (?P<id>[AB][0-9]): (?P<name>[^\n]+)$(?P<body>.*?)(?=^#{2,4} |\Z)", re.MULTILINE | re.DOTALL
)
BLOCK = re.compile(r"^```(?P<lang>[a-z]+)\n(?P<text>.*?)\n```$", re.MULTILINE | re.DOTALL)
DIGEST_ROW = re.compile(
    r"^\| \{(?P<set>[A-Z0-9, ]*)\}[^|]* \| `(?P<sum>[0-9a-f]+)` \| `(?P<digest>[0-9a-f]{32})` \|$", re.M
)
NUMBER_ROW = re.compile(
    r"^\| `(?P<bits>[0-9a-f]{16})` \| `(?P<double>[^`]+)` \| `(?P<jcs>[^`]+)` \|$", re.MULTILINE
)
CLOCK_ROW = re.compile(
    r"^\| [^|]+ \| (?P<now>same|[0-9]{4}-[0-9T:.Z-]+)[^|]* "
    r"\| (?P<shifted>[0-9]+) \| (?P<next>[0-9]+) \| \*\*(?P<clock>[0-9]+)\*\*",
    re.MULTILINE,
)
TIMESTAMP_ROW = re.compile(r"^\| `(?P<sent>[^`]+)` \| (?P<result>`[^`]+`(?:: .+)?) \|$", re.MULTILINE)


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _typed(value: Any) -> Any:
    """JSON types and key order spelled out, so that 3 and 3.0 differ."""
    if isinstance(value, dict):
        return [(key, _typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def _events_shown(page: str) -> dict[str, dict[str, Any]]:
    shown = {}
    for match in EVENT.finditer(page):
        blocks = [block["text"] for block in BLOCK.finditer(match["body"])]
        shown[match["id"]] = {
            "id": match["id"],
            "name": match["name"].replace("`", ""),
            "pushed": json.loads(blocks[0]),
            "normalized": json.loads(blocks[1]),
            "jcs": blocks[2],
            "sha256": re.search(r"^- SHA-256: `([0-9a-f]{64})`$", match["body"], re.MULTILINE)[1],  # type: ignore[index]
            "hash": re.search(r"^- h \(first 16 bytes\): `([0-9a-f]{32})`$", match["body"], re.MULTILINE)[1],  # type: ignore[index]
        }
    return shown


def _digests_shown(page: str) -> list[dict[str, Any]]:
    return [
        {
            "events": [name.strip() for name in row["set"].split(",") if name.strip()],
            "sum": row["sum"],
            "digest": row["digest"],
        }
        for row in DIGEST_ROW.finditer(page)
    ]


@pytest.mark.parametrize(
    ("page", "least"), [("protocol.md", 1), ("protocol-examples.md", len(DATA["events"]))]
)
def test_the_event_vectors_shown_are_the_data_files(page: str, least: int) -> None:
    shown = _events_shown(_page(page))
    assert len(shown) >= least
    by_id = {vector["id"]: vector for vector in DATA["events"]}
    for vector_id, vector in shown.items():
        assert _typed(vector) == _typed(by_id[vector_id]), vector_id


@pytest.mark.parametrize("page", ["protocol.md", "protocol-examples.md"])
def test_the_digest_table_is_the_data_files(page: str) -> None:
    assert _digests_shown(_page(page)) == [
        {key: row[key] for key in ("events", "sum", "digest")} for row in DATA["digests"]
    ]


def test_the_number_table_is_the_data_files() -> None:
    shown = [row.groupdict() for row in NUMBER_ROW.finditer(_page("protocol.md"))]
    assert shown == DATA["jcs_numbers"]


def test_the_timestamp_table_is_the_data_files() -> None:
    section = _page("protocol.md").split("### 5.2 Timestamps")[1].split("### 5.3")[0]
    shown = []
    for row in TIMESTAMP_ROW.finditer(section):
        result = row["result"]
        if result.startswith("`invalid_event`: "):
            shown.append({"sent": row["sent"], "error": result.removeprefix("`invalid_event`: ")})
        else:
            shown.append({"sent": row["sent"], "normalized": result.strip("`")})
    assert shown == DATA["timestamps"]


def test_the_clock_table_is_the_data_files() -> None:
    section = _page("protocol.md").split("### 3.3 ")[1].split("### 3.4")[0]
    shown, now = [], ""
    for row in CLOCK_ROW.finditer(section):
        now = now if row["now"] == "same" else row["now"]
        shown.append((now, int(row["shifted"]), int(row["next"]), int(row["clock"])))
    assert shown == [
        (row["now"], row["now_ms"] << 10, row["last_clock"] + 1, row["clock"]) for row in DATA["clocks"]
    ]


def test_the_server_stores_the_vectors_as_normalized_and_digests_each_set_as_the_file_says(
    portal: Any, tmp_path: Path
) -> None:
    by_id = {vector["id"]: vector for vector in DATA["events"]}
    server = InProcessServer(tmp_path / "vectors.db", portal)
    try:
        for number, digest in enumerate(DATA["digests"]):
            if len(set(digest["events"])) < len(digest["events"]):
                continue  # a set holding an event twice is a client's bug, which a server cannot hold
            auth = {"Authorization": f"Bearer {server.create_user(f'user-{number}')}"}
            events = [by_id[name]["pushed"] for name in digest["events"]]
            if events:
                answer = server.http.post("/v1/events", json={"events": events}, headers=auth).json()
                assert {result["status"] for result in answer["results"]} == {"accepted"}, answer
            pulled = server.http.get("/v1/events", headers=auth).json()
            assert (pulled["count"], pulled["digest"]) == (len(events), digest["digest"]), digest
            for name, stored in zip(digest["events"], pulled["events"], strict=True):
                stored = {key: value for key, value in stored.items() if key not in ("seq", "received_at")}
                assert _typed(stored) == _typed(by_id[name]["normalized"]), name
    finally:
        server.close()
