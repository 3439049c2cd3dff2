"""Events for the event log's own tests, validated as a push validates them."""

from __future__ import annotations

from typing import Any

from schema import Rejection, ValidEvent, validate_fields


def valid(fields: dict[str, Any]) -> ValidEvent:
    item = validate_fields(fields)
    assert isinstance(item, ValidEvent), item
    return item


def validated(events: list[dict[str, Any]]) -> list[ValidEvent | Rejection]:
    return [valid(fields) for fields in events]
