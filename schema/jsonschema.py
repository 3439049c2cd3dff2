"""JSON Schema for the envelope and every event type, at every version (for code generation).

Every known version of every event type has its document (``event.<type>.v<n>.json``), with ``type``
and ``v`` pinned. A push or sync request may carry any of them: its ``events`` are described by
``versioned_events``, which the protocol's documents (``schema.protocol.jsonschema``) and
``server.http.openapi`` use; a pulled event by ``stored_events``, the same union plus ``seq`` and
``received_at``.

The schemas say every rule of ``schema.validation`` that JSON Schema can say, so that a client that
validates with them is refused by the server only for ``UNSAYABLE``: the rules no schema can state
(docs/protocol.md, section 5.8, lists the same; tests/schema/test_schema_agrees_with_server.py checks
both against the server on a corpus of edge cases and a property).

Shapes are chosen for code generators as well as validators: unions are ``oneOf`` of members
pinned by ``type`` and ``v`` (``_union`` says why without a ``discriminator``), every integer that
may pass 32 bits is ``format: int64``, an optional
field is absent from ``required`` with no ``default: null`` (``null`` stays accepted: the server
reads it as absent, docs/protocol.md 5.1), and string enums say ``type: string``.
"""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from schema.events import EVENT_TYPES, Envelope
from schema.types import MAX_INT, UUID_PATTERN

DRAFT = "https://json-schema.org/draft/2020-12/schema"
REF_TEMPLATE = "#/$defs/{name}"
"""Where a standalone document keeps the schemas it refers to."""

INT32_MAX = 2**31 - 1

NUL_FREE = "^[^\\x00]*$"
"""No U+0000 anywhere in the string (docs/protocol.md 5.3): every free-text field of ``data``."""

_YEAR = r"(?:19[7-9][0-9]|20[0-9]{2})"
_LEAP_YEAR = r"(?:19(?:7[26]|8[048]|9[26])|20(?:[02468][048]|[13579][26]))"  # every 4th from 1972 to 2096
_MONTH_DAY = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)"
)
_DATE = rf"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
_TIME = r"[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]+)?"
_OFFSET = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
TIMESTAMP_PATTERN = (
    f"^(?:{_DATE}{_TIME}(?:[Zz]|[+-]{_OFFSET})"
    f"|1969-12-31{_TIME}-{_OFFSET}"
    f"|2100-01-01{_TIME}\\+{_OFFSET})(?!\\n)$"
)
"""What ``occurred_at`` may be (docs/protocol.md 5.2): an RFC 3339 date-time with a zone, a date that
exists (no 30 February; 29 February in leap years), hours 00-23 in the time and the offset, a leap
second, and a date from 1970-01-01 to 2099-12-31, or 1969-12-31 behind UTC, or 2100-01-01 ahead of
it. Whether a time on one of those two edge days falls inside 1970-01-01T00:00Z to 2100-01-01T00:00Z
once its offset is applied is arithmetic, which a pattern does not do: one of ``UNSAYABLE``. No
``format: date-time``: generators turn it into a date object, which loses the microseconds and the
offset that the event's canonical form keeps.
``(?!\\n)`` because Python's ``$`` also matches before a trailing newline."""

UNSAYABLE: dict[str, str] = {
    "integer_spelling": "An integer field (`device_seq`, `clock`, `v`, `after`, `limit`) written with a "
    "fraction or an exponent (`1.0`, `1e3`) is refused; JSON Schema counts `1.0` as the integer 1.",
    "occurred_at_range": "`occurred_at` on 1969-12-31 with an offset behind UTC, or on 2100-01-01 with "
    "one ahead of it, must still fall within 1970-01-01T00:00:00Z to 2100-01-01T00:00:00Z once the offset "
    "is applied.",
    "interval_order": "`metric.observed`: `low <= value <= high`.",
    "redaction_of_itself": "`event.redacted`: `data.target` is not the event's own `id`.",
}
"""The rules of ``schema.validation`` (for one event on its own) that JSON Schema cannot state; every
other rule is in the schemas. Rules against the stored log (``duplicate``, ``id_conflict``,
``device_seq_conflict``) and about the request as a whole (section 7) are no schema's business."""


def _pin_version(event: dict[str, Any], version: int) -> None:
    event["properties"]["v"] = {"type": "integer", "enum": [version]}


def finish(node: Any) -> None:
    """Shapes for code generators, in place, anywhere in ``node``.

    Every integer without a 32-bit bound is ``format: int64``; a string enum says ``type: string``;
    ``default: null`` goes (it made generators require the field: an optional field is one absent
    from ``required``).
    """
    if isinstance(node, list):
        for item in node:
            finish(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("default", 0) is None:
        del node["default"]
    kind = node.get("type")
    if (kind == "integer" or (isinstance(kind, list) and "integer" in kind)) and "format" not in node:
        bounded = "enum" in node or node.get("maximum", MAX_INT) <= INT32_MAX
        if not bounded:
            node["format"] = "int64"
    enum = node.get("enum")
    if kind is None and enum and all(isinstance(value, str) for value in enum):
        node["type"] = "string"
    for value in node.values():
        finish(value)


def sent_defaults(schema: dict[str, Any]) -> None:
    """A field a client may leave out says its default in words, not as ``default``: openapi-typescript
    (by default) types a property with a ``default`` as always present, which a request is not."""
    for field in schema["properties"].values():
        if "default" in field:
            value = msgspec.json.encode(field.pop("default")).decode()
            field["description"] = f"{field.get('description', '')} Default: `{value}`.".strip()


def _payload_rules(event_type: str, payload: dict[str, Any]) -> None:
    """The rules across fields of one payload that JSON Schema can say (``schema.validation``)."""
    properties = payload["properties"]
    sent_defaults(payload)
    for field in properties.values():  # free text is NUL-free (a slug, enum or UUID holds none anyway)
        for branch in (field, *field.get("anyOf", ()), field.get("items", {})):
            if branch.get("type") == "string" and "pattern" not in branch and "enum" not in branch:
                branch["pattern"] = NUL_FREE
            if branch.get("type") == "array":
                items = branch["items"]
                if items.get("type") == "string" and "pattern" not in items:
                    items["pattern"] = NUL_FREE
    refused: list[dict[str, Any]] = []
    if event_type == "project.updated":
        # At least one field with a value: `null` reads as absent, so `{"name": null}` is empty too.
        refused.append({"properties": {name: {"const": None} for name in properties}})
    if {"low", "high"} <= set(properties):
        # Both or neither: a number for one and the other absent or null is refused.
        for given, missing in (("low", "high"), ("high", "low")):
            refused.append(
                {"required": [given], "properties": {given: {"type": "number"}, missing: {"const": None}}}
            )
    if refused:
        payload["not"] = refused[0] if len(refused) == 1 else {"anyOf": refused}


def _uuid() -> dict[str, Any]:
    return {
        "description": "UUID in canonical lowercase 36-character form.",
        "type": "string",
        "minLength": 36,
        "maxLength": 36,
        "pattern": UUID_PATTERN,
    }


def _event_rules(event: dict[str, Any], struct: type[Envelope], version: int) -> None:
    """Pin ``type`` and ``v``, require ``project_id`` where the type needs one, check ``occurred_at``."""
    properties = event["properties"]
    _pin_version(event, version)
    properties["type"] = {"type": "string", "enum": [struct.__struct_config__.tag]}
    properties["occurred_at"] |= {"pattern": TIMESTAMP_PATTERN}
    if struct.project_optional:
        properties["project_id"] = {
            "description": "The project, or absent (or null) for none.",
            "anyOf": [_uuid(), {"type": "null"}],
        }
    else:
        properties["project_id"] = _uuid() | {"description": "The project (required for this type)."}
        event["required"] = [*event["required"], "project_id"]
    # The envelope's nine fields first, in the order of docs/protocol.md section 3, then `data`.
    order = ("id", "device_id", "device_seq", "clock", "occurred_at", "type", "v", "project_id", "data")
    event["properties"] = {name: properties[name] for name in order}
    event["required"] = [name for name in order if name in event["required"]]


def event_components(ref_template: str) -> dict[str, Any]:
    """The schema of every event Struct at every version, and of every payload, by name, with every
    rule JSON Schema can say."""
    structs = [struct for versions in EVENT_TYPES.values() for struct in versions.values()]
    _, components = msgspec.json.schema_components(structs, ref_template=ref_template)
    for event_type, versions in EVENT_TYPES.items():
        for version, struct in versions.items():
            event = components[struct.__name__]
            _event_rules(event, struct, version)
            payload = event["properties"]["data"]["$ref"].rsplit("/", 1)[-1]
            if "not" not in components[payload]:
                _payload_rules(event_type, components[payload])
    finish(components)
    return components


def _union(ref_template: str, prefix: str) -> dict[str, Any]:
    """``oneOf`` every (type, version), each member pinned by its ``type`` and ``v``.

    One flat list and no ``discriminator``: a discriminator maps a ``type`` to one schema, and
    ``metric.observed`` has two versions; nesting them (a choice by ``v`` under a choice by ``type``)
    breaks OpenAPI Generator's typescript-fetch output. Members whose ``type`` and ``v`` are
    single-valued enums are what generators tell apart (mobile/codegen checks three of them).
    """
    return {
        "oneOf": [
            {"$ref": ref_template.format(name=prefix + struct.__name__)}
            for versions in EVENT_TYPES.values()
            for _, struct in sorted(versions.items())
        ]
    }


def versioned_events(components: dict[str, Any], ref_template: str) -> dict[str, Any]:
    """The schema of one pushed event: any known type at any version this code knows.

    Adds to ``components`` every version's schema, named after its Struct, ``type`` and ``v`` pinned.
    """
    components.update(event_components(ref_template))
    return _union(ref_template, "")


STORED_FIELDS: dict[str, dict[str, Any]] = {
    "seq": {
        "description": "Position in the user's log, from 1, gap-free (per user and epoch).",
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_INT,
        "format": "int64",
    },
    "received_at": {
        "description": "When the server stored the event: UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.",
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
    },
}


def stored_events(components: dict[str, Any], ref_template: str) -> dict[str, Any]:
    """The schema of one pulled event: the pushed union in normalized form plus ``seq`` and
    ``received_at``. Adds ``Stored<Struct>`` to ``components``; expects ``versioned_events`` to have
    added the events themselves."""
    for versions in EVENT_TYPES.values():
        for struct in versions.values():
            stored = copy.deepcopy(components[struct.__name__])
            stored["title"] = name = f"Stored{struct.__name__}"
            stored["description"] = (
                f"A pulled `{struct.__struct_config__.tag}` event: the nine client fields in normalized "
                "form (`project_id` always present, null for none), plus `seq` and `received_at`."
            )
            stored["properties"] |= copy.deepcopy(STORED_FIELDS)
            stored["properties"]["occurred_at"]["pattern"] = STORED_FIELDS["received_at"]["pattern"]
            stored["required"] = list(stored["properties"])
            components[name] = stored
    return _union(ref_template, "Stored")


def document(name: str, struct: Any) -> dict[str, Any]:
    """The standalone document of one type, titled ``name``, with what it refers to under ``$defs``."""
    (schema,), components = msgspec.json.schema_components([struct], ref_template=REF_TEMPLATE)
    found = {"$schema": DRAFT, "title": name, **schema}
    if components:
        found["$defs"] = components
    finish(found)
    return found


def event_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document, for the envelope and each version of each event type."""
    documents = {"envelope.json": document("envelope", Envelope)}
    # Envelope is only a base class: its generated `type` tag is its class name and it has no
    # `data`. The envelope every event shares has one of the real tags and a payload object.
    envelope = documents["envelope.json"]["$defs"]["Envelope"]
    envelope["properties"]["type"] = {"type": "string", "enum": sorted(EVENT_TYPES)}
    envelope["properties"]["data"] = {"type": "object", "description": "The payload of `type`, version `v`."}
    envelope["properties"]["occurred_at"]["pattern"] = TIMESTAMP_PATTERN
    envelope["required"] = [*envelope["required"], "data"]
    components = event_components(REF_TEMPLATE)
    for event_type, versions in EVENT_TYPES.items():
        for version, struct in versions.items():
            event = components[struct.__name__]
            payload = event["properties"]["data"]["$ref"].rsplit("/", 1)[-1]
            documents[f"event.{event_type}.v{version}.json"] = {
                "$schema": DRAFT,
                "title": f"event.{event_type}.v{version}",
                "$ref": REF_TEMPLATE.format(name=struct.__name__),
                "$defs": {struct.__name__: event, payload: components[payload]},
            }
    return documents
