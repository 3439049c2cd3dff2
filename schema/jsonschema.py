"""JSON Schema for the envelope and every event type, at every version (for code generation).

Every known version of every event type has its document (``event.<type>.v<n>.json``), with ``type``
and ``v`` pinned. A push or sync request may carry any of them: its ``events`` are described by
``versioned_events``, which the protocol's documents (``schema.protocol.jsonschema``) and
``server.http.openapi`` use.
"""

from __future__ import annotations

from typing import Any

import msgspec

from schema.events import EVENT_TYPES, Envelope

DRAFT = "https://json-schema.org/draft/2020-12/schema"
REF_TEMPLATE = "#/$defs/{name}"
"""Where a standalone document keeps the schemas it refers to."""


def _pin_version(event: dict[str, Any], version: int) -> None:
    event["properties"]["v"] = {"type": "integer", "enum": [version]}


def versioned_events(components: dict[str, Any], ref_template: str) -> dict[str, Any]:
    """The schema of one pushed event: any known type at any version this code knows.

    Adds to ``components`` every version's schema (named after its Struct, ``type`` and ``v``
    pinned) and, for a type with several versions, ``<Struct>AnyVersion``, the choice between them.
    """

    def ref(name: str) -> dict[str, str]:
        return {"$ref": ref_template.format(name=name)}

    structs = [struct for versions in EVENT_TYPES.values() for struct in versions.values()]
    _, found = msgspec.json.schema_components(structs, ref_template=ref_template)
    components.update(found)
    branches: list[dict[str, str]] = []
    mapping: dict[str, str] = {}
    for event_type, versions in EVENT_TYPES.items():
        for version, struct in versions.items():
            _pin_version(components[struct.__name__], version)
        current = versions[max(versions)].__name__
        if len(versions) == 1:
            branch = ref(current)
        else:
            name = f"{current}AnyVersion"
            components[name] = {
                "title": name,
                "description": f"`{event_type}` at any version this server knows "
                f"({', '.join(str(v) for v in sorted(versions))}), told apart by `v`.",
                "anyOf": [ref(versions[v].__name__) for v in sorted(versions)],
            }
            branch = ref(name)
        branches.append(branch)
        mapping[event_type] = branch["$ref"]
    return {"anyOf": branches, "discriminator": {"propertyName": "type", "mapping": mapping}}


def document(name: str, struct: Any) -> dict[str, Any]:
    """The standalone document of one type, titled ``name``, with what it refers to under ``$defs``."""
    (schema,), components = msgspec.json.schema_components([struct], ref_template=REF_TEMPLATE)
    found = {"$schema": DRAFT, "title": name, **schema}
    if components:
        found["$defs"] = components
    return found


def event_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document, for the envelope and each version of each event type."""
    documents = {"envelope.json": document("envelope", Envelope)}
    # Envelope is only a base class: its generated `type` tag is its class name and it has no
    # `data`. The envelope every event shares has one of the real tags and a payload object.
    envelope = documents["envelope.json"]["$defs"]["Envelope"]
    envelope["properties"]["type"] = {"enum": sorted(EVENT_TYPES)}
    envelope["properties"]["data"] = {"type": "object", "description": "The payload of `type`, version `v`."}
    envelope["required"] = [*envelope["required"], "data"]
    for event_type, versions in EVENT_TYPES.items():
        for version, struct in versions.items():
            found = document(f"event.{event_type}.v{version}", struct)
            _pin_version(found["$defs"][struct.__name__], version)
            documents[f"event.{event_type}.v{version}.json"] = found
    return documents
