"""Real server responses conform to the published JSON Schema (``schema.jsonschema``)."""

from __future__ import annotations

from typing import Any

from schema.protocol.jsonschema import schemas
from tests.factories import ALL_TYPES, an_event
from tests.schema.jsonschema_check import problems
from tests.server.conftest import Api, decode

DOCUMENTS = schemas()


def conforms(name: str, value: Any) -> None:
    assert problems(DOCUMENTS[f"{name}.json"], value) == [], value


def test_push_pull_sync_and_info_responses_conform(api: Api, fmt: str) -> None:
    events = [an_event(t, full=True) for t in ALL_TYPES]
    request = {"events": [*events, events[0], {**an_event(), "type": "nope"}, an_event(device_seq=0)]}
    conforms("PushRequest", {"events": events})
    push = api.push(request["events"], fmt)
    conforms("PushResponse", push)
    assert {r["status"] for r in push["results"]} == {"accepted", "duplicate", "rejected"}
    for result in push["results"]:
        conforms("EventResult", result)
    page = api.pull(fmt, limit=3)
    conforms("PullResponse", page)
    last = api.pull(fmt, after=3)
    conforms("PullResponse", last)
    for event in page["events"] + last["events"]:
        conforms("StoredEvent", event)
        conforms("envelope", {k: v for k, v in event.items() if k not in ("seq", "received_at")})
    sync = api.sync([an_event()], fmt, after=0, limit=2)
    conforms("SyncResponse", sync)
    info = decode(api.http.get("/v1/info", headers=api.headers(None)))
    conforms("InfoResponse", info)


def test_problem_responses_conform(api: Api) -> None:
    for response in (
        api.post("/v1/events", b"{", "json"),
        api.http.get("/v1/events?after=x", headers=api.headers(None)),
        api.http.get("/v1/events"),
        api.http.get("/v1/nope"),
    ):
        conforms("Problem", decode(response))
