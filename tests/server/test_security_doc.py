"""docs/security.md is the one place every limit is listed: it must say what the code does."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from schema import types
from schema.protocol import MAX_DEPTH
from server.projections import projector
from server.settings import ENV_PREFIX, Settings

DOC = Path(__file__).parents[2] / "docs" / "security.md"
ROW = re.compile(r"^\| (?P<limit>[^|]+?) \| `(?P<default>[^`]+)` \| (?P<where>[^|]+?) \|", re.MULTILINE)

FIXED = {
    "Nesting depth of a request body": MAX_DEPTH,
    "Name length (code points)": types.MAX_NAME,
    "Label and unit length": types.MAX_LABEL,
    "Free-text length": types.MAX_TEXT,
    "Quote length": types.MAX_QUOTE,
    "Tags per event": types.MAX_TAGS,
    "Tag length": types.MAX_TAG,
    "Timestamp length": types.MAX_TIMESTAMP,
    "Largest integer": types.MAX_INT,
    "Wait of `min_seq` on the read-model routes (seconds)": projector.MAX_WAIT_S,
}
OTHER = {"db_url", "host", "port", "migrate", "log_format", "metrics_token", "projector", "workers"}


def _rows() -> dict[str, tuple[str, str]]:
    return {m["limit"]: (m["default"], m["where"].strip()) for m in ROW.finditer(DOC.read_text())}


def _env(name: str) -> str:
    return ENV_PREFIX + ("DB" if name == "db_url" else name.upper())


def test_every_setting_is_in_the_limits_table_with_its_variable_and_default() -> None:
    by_variable = {where.strip("`"): default for default, where in _rows().values() if where.startswith("`")}
    defaults = Settings()
    limits = [field.name for field in fields(Settings) if field.name not in OTHER]
    assert set(by_variable) == {_env(name) for name in limits}
    for name in limits:
        documented = by_variable[_env(name)]
        value = getattr(defaults, name)
        assert type(value)(documented) == value, f"{_env(name)}: documented {documented}, code says {value!r}"


@pytest.mark.parametrize("name", sorted(OTHER))
def test_the_other_settings_are_documented_with_their_defaults(name: str) -> None:
    text = " ".join(DOC.read_text().split())
    default = getattr(Settings(), name)
    assert f"`{_env(name)}` (default {f'`{default}`' if default != '' else 'unset'})" in text


def test_every_fixed_limit_is_in_the_table_with_its_value() -> None:
    rows = _rows()
    for limit, value in FIXED.items():
        default, where = rows[limit]
        assert where.startswith("fixed"), limit
        assert type(value)(default) == value, f"{limit}: documented {default}, code says {value!r}"
    assert {limit for limit, (_, where) in rows.items() if where.startswith("fixed")} == set(FIXED)
