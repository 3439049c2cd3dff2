"""JSON Schema for every wire message and every read-model response, beside the event types'
(``schema.jsonschema``): the documents ``winledger schema`` writes, and the components of
/openapi.json (``server.http.openapi``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from schema.jsonschema import (
    REF_TEMPLATE,
    document,
    event_schemas,
    finish,
    sent_defaults,
    stored_events,
    versioned_events,
)
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
from schema.types import MAX_INT
from schema.validation import REJECTION_CODES

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


PROBLEM_CODES = (
    "malformed_body",
    "invalid_parameter",
    "unauthorized",
    "not_found",
    "method_not_allowed",
    "not_acceptable",
    "body_timeout",
    "cursor_ahead",
    "batch_too_large",
    "body_too_large",
    "unsupported_media_type",
    "rate_limited",
    "internal_error",
    "unavailable",
)
"""Every ``code`` of a whole-request problem (docs/protocol.md, section 7; the server raises no other:
tests/server/test_openapi.py reads them from its source and the doc's table)."""

_COUNTERS = {
    "EventResult": ("seq",),
    "PushResponse": ("cursor",),
    "PullResponse": ("cursor", "count"),
    "SyncResponse": ("cursor", "count"),
}
"""The log's positions and counts in answers: 0 to 2^53 - 1 (a seq of an accepted event from 1)."""

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
    if pushed or "StoredEvent" in components:
        items = versioned_events(components, ref_template)
        for schema in pushed:
            schema["properties"]["events"]["items"] = items
            sent_defaults(schema)
    if "StoredEvent" in components:
        # A pulled event is one of the same types and versions, normalized, plus `seq` and `received_at`.
        components["StoredEvent"] = {
            "title": "StoredEvent",
            "description": components["StoredEvent"]["description"],
            **stored_events(components, ref_template),
        }
    if "EventResult" in components:
        code = components["EventResult"]["properties"]["code"]
        code["anyOf"][0] = {"type": "string", "enum": list(REJECTION_CODES)}
        code["description"] = "Why the event was rejected (`status` `rejected`), else null."
    if "Problem" in components:
        components["Problem"]["properties"]["code"] = {
            "type": "string",
            "enum": list(PROBLEM_CODES),
            "description": "A stable, machine-readable code (protocol section 7). Branch on this.",
        }
    for name in ("PullResponse", "SyncResponse"):
        digest = components[name]["properties"]["digest"] if name in components else {}
        for branch in digest.get("anyOf", [digest]):
            if branch.get("type") == "string":
                branch |= {
                    "pattern": "^[0-9a-f]{32}$",
                    "description": "The digest (section 8): 32 hex digits.",
                }
    for name, fields in _COUNTERS.items():
        for field in fields if name in components else ():
            schema = components[name]["properties"][field]
            bounds = {"minimum": 1 if field == "seq" else 0, "maximum": MAX_INT}
            for branch in schema.get("anyOf", [schema]):
                if branch.get("type") == "integer":
                    branch |= bounds
    finish(components)


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
