"""Golden files: the demo year renders to the committed review draft, byte for byte.

When a change to the projections is intended, regenerate them with
``WINLEDGER_UPDATE_GOLDEN=1 python -m pytest tests/schema/test_golden.py`` and
read the diff before committing it.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import msgspec
import pytest

from client_sdk.demo_year import demo_year
from schema.projections import build_models, render_markdown, review_draft

GOLDEN = Path(__file__).parent / "golden"
YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def _rendered() -> dict[str, bytes]:
    models = build_models(demo_year(2026))
    draft = review_draft(models.values(), *YEAR)
    as_json = msgspec.json.format(msgspec.json.encode(draft), indent=2) + b"\n"
    return {"review-draft-2026.md": render_markdown(draft).encode(), "review-draft-2026.json": as_json}


@pytest.mark.parametrize("name", ["review-draft-2026.md", "review-draft-2026.json"])
def test_the_demo_year_renders_to_the_committed_review_draft(name: str) -> None:
    rendered = _rendered()[name]
    path = GOLDEN / name
    if os.environ.get("WINLEDGER_UPDATE_GOLDEN"):
        path.write_bytes(rendered)
    assert rendered == path.read_bytes(), f"{name} differs from the golden file; see this module's docstring"


def test_the_golden_draft_says_what_the_year_holds() -> None:
    text = (GOLDEN / "review-draft-2026.md").read_text()
    assert "## Top accomplishments" in text and "## Before you submit" in text
    assert "technical milestone, not impact" in text  # the pricing model never shipped
    assert "Ruled out" in text  # the abandoned research is a scope reduction
    assert "has been in production for" in text  # ongoing value
