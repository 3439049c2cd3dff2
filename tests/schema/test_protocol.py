"""The protocol's messages (``schema.protocol``): one type per message, read by an older or a newer side."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest

from schema.protocol import InfoResponse, Message, PullResponse, SyncRequest, spliced
from schema.protocol.jsonschema import message_components

LIMITS = {
    "max_batch": 1000,
    "max_body_bytes": 4194304,
    "body_timeout_seconds": 30.0,
    "default_page": 500,
    "max_page": 5000,
    "max_name": 200,
    "max_label": 200,
    "max_text": 4000,
    "max_quote": 2000,
    "max_tags": 20,
    "max_tag": 50,
    "max_integer": 2**53 - 1,
}
INFO = {
    "protocol": 1,
    "epoch": "e",
    "server_time": "2026-01-01T00:00:00.000000Z",
    "limits": LIMITS,
    "event_types": {"win.captured": [1]},
}


def _messages(base: type[Message] = Message) -> Iterator[type[Message]]:
    for message in base.__subclasses__():
        yield message
        yield from _messages(message)


MESSAGES = sorted(_messages(), key=lambda message: message.__name__)


@pytest.mark.parametrize("message", MESSAGES, ids=lambda message: message.__name__)
def test_a_field_added_after_version_1_defaults_to_unset_and_is_published_as_required(
    message: type[Message],
) -> None:
    _, components = message_components([message], "#/$defs/{name}")
    fields = {field.name: field for field in msgspec.structs.fields(message)}
    for name in message.always_sent:
        assert fields[name].default is msgspec.UNSET
        assert name in components[message.__name__]["required"]
    assert {"account", "max_depth"} <= {name for m in MESSAGES for name in m.always_sent}


def test_a_client_reads_an_older_server_s_info_without_the_fields_added_since() -> None:
    info = msgspec.json.decode(msgspec.json.encode(INFO), type=InfoResponse)
    assert info.account is msgspec.UNSET and info.limits.max_depth is msgspec.UNSET


def test_a_client_reads_a_newer_server_s_answer_ignoring_fields_it_does_not_know() -> None:
    newer = {**INFO, "limits": {**LIMITS, "max_depth": 64, "max_future": 1}, "future": {"x": 1}}
    info = msgspec.json.decode(msgspec.json.encode(newer), type=InfoResponse)
    assert info.limits.max_depth == 64 and info.epoch == "e"


def test_stored_bodies_are_spliced_into_a_page_byte_for_byte_in_the_documented_order() -> None:
    stored = b'[{"id":"a",  "data":{"value":3.0}}]'  # never re-encoded: spacing and 3.0 stay
    last = PullResponse(events=spliced(stored), cursor=1, more=False, count=1, digest="d", epoch="e")
    more = PullResponse(events=spliced(b"[]"), cursor=1, more=True, epoch="e")
    assert msgspec.json.encode(last) == (
        b'{"events":' + stored + b',"cursor":1,"more":false,"count":1,"digest":"d","epoch":"e"}'
    )
    assert msgspec.json.encode(more) == b'{"events":[],"cursor":1,"more":true,"epoch":"e"}'


def test_a_client_s_sync_request_splices_its_pending_bodies() -> None:
    request = SyncRequest(events=[spliced(b'{"id":"a"}'), spliced(b'{"id":"b"}')], after=7, limit=500)
    assert msgspec.json.encode(request) == b'{"events":[{"id":"a"},{"id":"b"}],"after":7,"limit":500}'
