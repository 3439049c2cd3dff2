"""Types and versions that one side knows and the other does not.

A newer schema is simulated by registering, for the duration of a block, a
version 2 of ``win.captured`` and a new type ``review.drafted`` in the schema
that both the in-process server and the client use; an older one, by removing
version 2 of ``metric.observed`` from it for a block (a server not yet upgraded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar

import msgspec
import pytest

import schema
from schema import events, validation
from tests.client_sdk.conftest import FaultyTransport, MakeClient
from tests.client_sdk.test_sync import bearer
from tests.factories import an_event
from tests.support.inprocess import InProcessServer


class WinCapturedV2Data(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    text: str
    source: str
    mood: str | None = None


class WinCapturedV2(events.Envelope, tag="win.captured", frozen=True):
    data: WinCapturedV2Data
    project_optional: ClassVar[bool] = True


class ReviewDraftedData(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    title: str
    words: int


class ReviewDrafted(events.Envelope, tag="review.drafted", frozen=True):
    data: ReviewDraftedData
    project_optional: ClassVar[bool] = True


@pytest.fixture
def newer_schema(monkeypatch: pytest.MonkeyPatch) -> Callable[[], AbstractContextManager[None]]:
    @contextmanager
    def newer() -> Iterator[None]:
        with monkeypatch.context() as patch:
            review_versions: dict[int, type[events.Envelope]] = {1: ReviewDrafted}
            patch.setitem(events.EVENT_TYPES["win.captured"], 2, WinCapturedV2)
            patch.setitem(events.EVENT_TYPES, "review.drafted", review_versions)
            patch.setitem(schema.CURRENT_VERSIONS, "win.captured", 2)
            patch.setitem(schema.CURRENT_VERSIONS, "review.drafted", 1)
            decoders: dict[tuple[validation.Format, str, int], Any] = {
                ("json", "win.captured", 2): msgspec.json.Decoder(WinCapturedV2),
                ("msgpack", "win.captured", 2): msgspec.msgpack.Decoder(WinCapturedV2),
                ("json", "review.drafted", 1): msgspec.json.Decoder(ReviewDrafted),
                ("msgpack", "review.drafted", 1): msgspec.msgpack.Decoder(ReviewDrafted),
            }
            for key, decoder in decoders.items():
                patch.setitem(validation._event_decoders, key, decoder)
            yield

    return newer


def test_pulled_events_of_unknown_types_are_kept_and_skipped(
    make_client: MakeClient,
    server: InProcessServer,
    token: str,
    newer_schema: Callable[[], AbstractContextManager[None]],
) -> None:
    laptop = make_client("laptop")
    laptop.capture("known to everyone")
    with newer_schema():
        newer = [
            an_event("review.drafted", data={"title": "H1 review", "words": 812}),
            an_event("win.captured", v=2, data={"text": "felt great", "source": "text", "mood": "proud"}),
        ]
        answer = server.http.post("/v1/events", json={"events": newer}, headers=bearer(token)).json()
        assert [result["status"] for result in answer["results"]] == ["accepted", "accepted"]

    report = laptop.sync()
    assert report.pulled == 2
    assert [event.data["text"] for event in laptop.events()] == ["known to everyone"]
    kept = laptop.events(include_unreadable=True)
    assert {(event.type, event.v) for event in kept} == {
        ("win.captured", 1),
        ("review.drafted", 1),
        ("win.captured", 2),
    }
    unknown = next(event for event in kept if event.type == "review.drafted")
    assert unknown.data == {"title": "H1 review", "words": 812} and unknown.status == "synced"
    assert laptop.status().unreadable == 2
    # Its hash is computed on the verbatim form, so the digests still agree.
    assert laptop.verify()


def test_unknown_events_are_pushed_back_verbatim_after_an_epoch_change(
    make_client: MakeClient,
    server: InProcessServer,
    token: str,
    server_factory: Callable[..., InProcessServer],
    newer_schema: Callable[[], AbstractContextManager[None]],
) -> None:
    laptop = make_client("laptop")
    with newer_schema():
        event = an_event("review.drafted", data={"title": "H1 review", "words": 812})
        server.http.post("/v1/events", json={"events": [event]}, headers=bearer(token))
    laptop.sync()
    laptop.close()

    old = server_factory()
    old_token = old.create_user("alice")
    laptop = make_client("laptop", server=old, token=old_token)
    report = laptop.sync()
    # The rebuilt server is older: it refuses the type, and the event stays pending, untouched.
    assert (report.requeued, report.deferred, report.rejected) == (1, 1, 0)
    [pending] = laptop.events(include_unreadable=True)
    assert (pending.id, pending.status, pending.code) == (event["id"], "pending", "unknown_type")

    with newer_schema():
        report = laptop.sync()
        assert report.accepted == 1
        assert laptop.verify()


def test_an_older_server_leaves_events_pending_and_they_are_offered_once_per_sync(
    make_client: MakeClient, server: InProcessServer, newer_schema: Callable[[], AbstractContextManager[None]]
) -> None:
    faulty = FaultyTransport(server.transport, lambda request, attempt: None)
    laptop = make_client("laptop", transport=faulty)
    with newer_schema():
        newer_id = laptop._append(
            "win.captured", {"text": "v2 win", "source": "text", "mood": "calm"}, None, None
        )
    laptop.capture("a v1 win")

    report = laptop.sync()
    assert (report.pushed, report.accepted, report.deferred) == (2, 1, 1)
    [waiting] = [event for event in laptop.events(include_unreadable=True) if event.status == "pending"]
    assert (waiting.id, waiting.code) == (newer_id, "unsupported_version")
    pushes = [r for r in faulty.requests if r.url.path == "/v1/sync" and newer_id.encode() in r.content]
    assert len(pushes) == 1
    assert laptop.rejected() == []

    assert laptop.sync().deferred == 1  # offered again on the next sync
    with newer_schema():
        report = laptop.sync()
    assert (report.accepted, report.deferred) == (1, 0)
    assert laptop.status().pending == 0


# -- metric.observed version 2 against a server that knows only version 1 ------------------


@pytest.fixture
def server_knows_only_metric_v1(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[], AbstractContextManager[None]]:
    """For the duration of a block, the schema (the in-process server's, and the client's) is the one
    before metric.observed version 2: a server that has not been upgraded."""

    @contextmanager
    def older() -> Iterator[None]:
        with monkeypatch.context() as patch:
            patch.delitem(events.EVENT_TYPES["metric.observed"], 2)
            patch.setitem(schema.CURRENT_VERSIONS, "metric.observed", 1)
            yield

    return older


def test_a_server_that_knows_only_metric_v1_refuses_v2_as_unsupported_and_takes_v1(
    server: InProcessServer,
    token: str,
    server_knows_only_metric_v1: Callable[[], AbstractContextManager[None]],
) -> None:
    v1 = an_event("metric.observed", full=True)
    v2 = an_event(
        "metric.observed", v=2, data={"key": "lift", "layer": "business", "value": 3.1, "measure": "change"}
    )
    with server_knows_only_metric_v1():
        answer = server.http.post("/v1/events", json={"events": [v1, v2]}, headers=bearer(token)).json()
        info = server.http.get("/v1/info", headers=bearer(token)).json()
    assert info["event_types"]["metric.observed"] == [1]
    accepted, refused = answer["results"]
    assert accepted["status"] == "accepted"
    assert (refused["id"], refused["status"], refused["code"]) == (
        v2["id"],
        "rejected",
        "unsupported_version",
    )
    assert "Version 2 of 'metric.observed' is not known here (known: 1)" in refused["message"]
    # Upgraded, the same server takes it.
    answer = server.http.post("/v1/events", json={"events": [v2]}, headers=bearer(token)).json()
    assert answer["results"][0]["status"] == "accepted"


def test_a_v2_metric_stays_pending_until_the_server_knows_version_2(
    make_client: MakeClient,
    server: InProcessServer,
    server_knows_only_metric_v1: Callable[[], AbstractContextManager[None]],
) -> None:
    laptop = make_client("laptop")
    project = laptop.start_project("Pricing", "model")
    change = laptop.metric(
        project, "conversion_lift", 3.1, layer="business", measure="change", direction="none"
    )
    with server_knows_only_metric_v1():
        report = laptop.sync()
        assert (report.pushed, report.accepted, report.deferred, report.rejected) == (2, 1, 1, 0)
        [waiting] = [event for event in laptop.events() if event.status == "pending"]
        assert (waiting.id, waiting.v, waiting.code) == (change, 2, "unsupported_version")
        assert laptop.rejected() == []
        assert laptop.sync().deferred == 1  # offered again on every sync, never dropped
    report = laptop.sync()  # the server was upgraded
    assert (report.accepted, report.deferred) == (1, 0)
    assert laptop.status().pending == 0
    assert laptop.verify()
    phone = make_client("phone")
    phone.sync()
    [metric] = [event for event in phone.events() if event.type == "metric.observed"]
    assert (metric.id, metric.v, metric.data["measure"], metric.data["direction"]) == (
        change,
        2,
        "change",
        "none",
    )
