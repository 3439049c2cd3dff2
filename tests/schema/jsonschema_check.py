"""A small JSON Schema checker for the subset ``schema.jsonschema`` emits (``jsonschema`` is no dependency).

Covers ``$ref`` into ``$defs``, ``type``, ``properties``, ``required``,
``additionalProperties``, ``items`` and their count, ``anyOf``, ``enum``, string lengths,
``pattern`` and numeric bounds; any other keyword fails loudly so that a
schema growing past this subset is noticed.
"""

from __future__ import annotations

import re
from typing import Any

_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}
_ANNOTATIONS = {"$schema", "title", "description", "examples", "default", "$defs", "discriminator"}
_CHECKED = {
    "$ref", "type", "properties", "required", "additionalProperties", "items", "anyOf", "enum",
    "minLength", "maxLength", "pattern", "minimum", "maximum", "minItems", "maxItems",
}  # fmt: skip


def problems(document: dict[str, Any], value: Any) -> list[str]:
    """Every way ``value`` fails ``document`` (empty when it conforms)."""
    found: list[str] = []
    _check(document, document, value, "$", found)
    return found


def _check(root: dict[str, Any], schema: dict[str, Any], value: Any, path: str, found: list[str]) -> None:
    unknown = set(schema) - _ANNOTATIONS - _CHECKED
    if unknown:
        found.append(f"{path}: keywords this checker does not know: {sorted(unknown)}")
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        if name not in root.get("$defs", {}):
            found.append(f"{path}: unresolved $ref {schema['$ref']}")
            return
        _check(root, root["$defs"][name], value, path, found)
    if "anyOf" in schema:
        branches = []
        for branch in schema["anyOf"]:
            branch_found: list[str] = []
            _check(root, branch, value, path, branch_found)
            branches.append(branch_found)
        if all(branches):
            found.append(f"{path}: matches no branch of anyOf: {branches}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} not in {schema['enum']}")
    kind = schema.get("type")
    if kind is not None and not _is(kind, value):
        found.append(f"{path}: {value!r} is not of type {kind}")
        return
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            found.append(f"{path}: length of {value!r} outside bounds")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{path}: {value!r} does not match {schema['pattern']}")
    bounds = schema.get("minimum", value), schema.get("maximum", value)
    if _is("number", value) and not bounds[0] <= value <= bounds[1]:
        found.append(f"{path}: {value!r} outside bounds")
    if isinstance(value, list) and not schema.get("minItems", 0) <= len(value) <= schema.get(
        "maxItems", len(value)
    ):
        found.append(f"{path}: {len(value)} items, outside bounds")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _check(root, schema["items"], item, f"{path}[{index}]", found)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                found.append(f"{path}: missing required {key!r}")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                _check(root, properties[key], item, f"{path}.{key}", found)
            elif extra is False:
                found.append(f"{path}: unexpected property {key!r}")
            elif isinstance(extra, dict):
                _check(root, extra, item, f"{path}.{key}", found)


def _is(kind: str, value: Any) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])
