"""JSON Schema for the envelope, every event type, every wire message and every read-model response
(for code generation)."""

from __future__ import annotations

from typing import Any

import msgspec

from schema.events import EVENT_TYPES, Envelope
from schema.wire import (
    EventResult,
    InfoResponse,
    MetricChainsResponse,
    Problem,
    ProjectsResponse,
    PullResponse,
    PushRequest,
    PushResponse,
    ReviewDraftResponse,
    StoredEvent,
    SyncRequest,
    SyncResponse,
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
    Problem,
)

READ_MODEL_RESPONSES: tuple[type[msgspec.Struct], ...] = (
    ProjectsResponse,
    TimelineResponse,
    MetricChainsResponse,
    ReviewDraftResponse,
)
"""Responses of the read-model routes (docs/protocol.md, section 12)."""


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document."""
    documents: dict[str, dict[str, Any]] = {}

    def add(name: str, struct: Any) -> None:
        (schema,), components = msgspec.json.schema_components([struct], ref_template="#/$defs/{name}")
        document = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": name, **schema}
        if components:
            document["$defs"] = components
        documents[f"{name}.json"] = document

    add("envelope", Envelope)
    # Envelope is only a base class: its generated `type` tag is its class name and it has no
    # `data`. The envelope every event shares has one of the real tags and a payload object.
    envelope = documents["envelope.json"]["$defs"]["Envelope"]
    envelope["properties"]["type"] = {"enum": sorted(EVENT_TYPES)}
    envelope["properties"]["data"] = {"type": "object", "description": "The payload of `type`, version `v`."}
    envelope["required"] = [*envelope["required"], "data"]
    for event_type, versions in EVENT_TYPES.items():
        for version, struct in versions.items():
            add(f"event.{event_type}.v{version}", struct)
    for message in (*WIRE_MESSAGES, *READ_MODEL_RESPONSES):
        add(message.__name__, message)
    return documents
