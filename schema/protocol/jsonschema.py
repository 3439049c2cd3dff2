"""JSON Schema for every wire message and every read-model response, beside the event types'
(``schema.jsonschema``): the documents ``winledger schema`` writes, and the components of
/openapi.json (``server.http.openapi``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from schema.jsonschema import REF_TEMPLATE, document, event_schemas, versioned_events
from schema.protocol.messages import (
    EventResult,
    InfoResponse,
    MeResponse,
    Message,
    Problem,
    PullResponse,
    PushRequest,
    PushResponse,
    StoredEvent,
    SyncRequest,
    SyncResponse,
)
from schema.protocol.readmodels import (
    MetricChainsResponse,
    ProjectsResponse,
    ReviewDraftResponse,
    TimelineResponse,
)

WIRE_MESSAGES: tuple[type[msgspec.Struct], ...] = (
    PushRequest,
    PushResponse,
    SyncRequest,
    SyncResponse,
    PullResponse,
    EventResult,
    StoredEvent,
    InfoResponse,
    MeResponse,
    Problem,
)

READ_MODEL_RESPONSES: tuple[type[msgspec.Struct], ...] = (
    ProjectsResponse,
    TimelineResponse,
    MetricChainsResponse,
    ReviewDraftResponse,
)
"""Responses of the read-model routes (docs/protocol.md, section 12)."""


PUSHED_EVENTS: tuple[type[msgspec.Struct], ...] = (PushRequest, SyncRequest)
"""The messages whose ``events`` may be of any known type at any known version."""


def _messages(base: type[Message] = Message) -> Iterator[type[Message]]:
    for message in base.__subclasses__():
        yield message
        yield from _messages(message)


def complete(components: dict[str, Any], ref_template: str) -> None:
    """Finish the generated schemas of messages in ``components``, in place.

    A field in ``always_sent`` is required: a current server always sends it (its default only lets
    a client read an older server). A pushed ``events`` holds any type at any version this code knows.
    """
    for message in _messages():
        schema = components.get(message.__name__)
        if schema is None or not message.always_sent:
            continue
        required = {*schema.get("required", ()), *message.always_sent}
        schema["required"] = [f.encode_name for f in msgspec.structs.fields(message) if f.name in required]
    pushed = [components[m.__name__] for m in PUSHED_EVENTS if m.__name__ in components]
    if pushed:
        items = versioned_events(components, ref_template)
        for schema in pushed:
            schema["properties"]["events"]["items"] = items


def message_components(
    messages: Iterable[type[msgspec.Struct]], ref_template: str
) -> tuple[tuple[dict[str, Any], ...], dict[str, Any]]:
    """``msgspec.json.schema_components`` of ``messages``, finished by ``complete``."""
    schemas, components = msgspec.json.schema_components(messages, ref_template=ref_template)
    complete(components, ref_template)
    return schemas, components


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document: the envelope, every event type and every message."""
    documents = event_schemas()
    for message in (*WIRE_MESSAGES, *READ_MODEL_RESPONSES):
        found = document(message.__name__, message)
        complete(found.get("$defs", {}), REF_TEMPLATE)
        documents[f"{message.__name__}.json"] = found
    return documents
