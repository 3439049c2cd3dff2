"""``GET /v1/export``: a user's journal as NDJSON, and what replaying it into an empty server gives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from client_sdk.demo_year import demo_year
from schema.protocol import NDJSON
from server.http import export
from tests.factories import an_event
from tests.server.conftest import Api, assert_problem, decode
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.backends


def read_export(api: Api, **headers: str) -> list[dict[str, Any]]:
    response = api.http.get("/v1/export", headers={**api.headers(None), **headers})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == NDJSON
    assert response.headers["winledger-epoch"] == api.server.epoch
    assert response.text.endswith("\n")
    return [msgspec.json.decode(line) for line in response.text.splitlines()]


def parts(lines: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The lines by kind, after checking they come in the documented order."""
    kinds = [line["kind"] for line in lines]
    order = ["export", "event", "read_model", "end"]
    assert kinds == sorted(kinds, key=order.index), kinds
    assert kinds[0] == "export" and kinds[-1] == "end" and kinds.count("end") == 1
    grouped: dict[str, list[dict[str, Any]]] = {kind: [] for kind in order}
    for line in lines:
        grouped[line["kind"]].append(line)
    return grouped


def models(lines: dict[str, list[dict[str, Any]]]) -> dict[str | None, Any]:
    return {line["project_id"]: line["model"] for line in lines["read_model"]}


def test_export_then_replay_into_an_empty_server_gives_identical_read_models(
    make_api: Callable[..., Api], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "PAGE", 7)  # many pages: the stream is read page by page
    source = make_api()
    year = demo_year()
    for start in range(0, len(year), 50):
        source.push(year[start : start + 50])
    exported = parts(read_export(source))

    events, last = source.pull_all()
    assert [line["seq"] for line in exported["event"]] == list(range(1, len(year) + 1))
    assert [line["event"] for line in exported["event"]] == [
        {key: value for key, value in event.items() if key not in ("seq", "received_at")} for event in events
    ]
    assert exported["end"][0]["count"] == last["count"] == len(year)
    assert exported["end"][0]["digest"] == last["digest"]
    assert exported["end"][0]["read_models"] == len(exported["read_model"]) > 1
    assert {line["as_of_seq"] for line in exported["read_model"]} == {len(year)}
    assert exported["export"][0]["epoch"] == source.server.epoch
    assert exported["export"][0]["source"] == "server"

    target = make_api()
    for start in range(0, len(year), 40):
        body = target.push([line["event"] for line in exported["event"][start : start + 40]])
        assert {result["status"] for result in body["results"]} == {"accepted"}
    replayed = parts(read_export(target))
    assert models(replayed) == models(exported)
    assert replayed["end"][0]["digest"] == exported["end"][0]["digest"]
    draft = {"from": "2026-01-01", "to": "2026-12-31", "min_seq": str(len(year))}
    replayed_draft = decode(target.http.get("/v1/review-draft", params=draft, headers=target.headers(None)))
    source_draft = decode(source.http.get("/v1/review-draft", params=draft, headers=source.headers(None)))
    assert replayed_draft | {"epoch": None} == source_draft | {"epoch": None}


def test_an_empty_journal_exports_a_header_and_an_end(api: Api) -> None:
    exported = parts(read_export(api))
    assert exported["event"] == [] and exported["read_model"] == []
    assert exported["end"][0] == {"kind": "end", "count": 0, "digest": "0" * 32, "read_models": 0}


def test_export_holds_only_the_users_own_journal(shared_server: InProcessServer, api: Api) -> None:
    other = Api(shared_server, shared_server.create_user(f"{api.name}-other"), f"{api.name}-other")
    other.push([an_event("win.captured", data={"text": "Their private win", "source": "text"})])
    mine = an_event("win.captured", data={"text": "My own win", "source": "text"})
    api.push([mine])
    exported = parts(read_export(api))
    assert [line["event"]["id"] for line in exported["event"]] == [mine["id"]]
    assert "Their private win" not in msgspec.json.encode(exported).decode()


def test_export_negotiates_ndjson_or_refuses(api: Api) -> None:
    assert parts(read_export(api, Accept="application/x-ndjson"))
    assert parts(read_export(api, Accept="application/json"))
    refused = api.http.get("/v1/export", headers={**api.headers(None), "Accept": "text/html"})
    assert_problem(refused, 406, "not_acceptable")
    nobody = api.http.get("/v1/export")
    assert_problem(nobody, 401, "unauthorized")
