"""Checks a value against a published JSON Schema document with the ``jsonschema`` library (draft
2020-12, the dialect the documents declare), so that the tests judge the schemas as a client's
validator would."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator


def problems(document: dict[str, Any], value: Any) -> list[str]:
    """Every way ``value`` fails ``document`` (empty when it conforms)."""
    Draft202012Validator.check_schema(document)
    validator = Draft202012Validator(document)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(value)
    ]
