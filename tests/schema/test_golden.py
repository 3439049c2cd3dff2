"""Golden drafts: the demo year and a second, hand-written year render to the committed files, byte for byte.

When a change to the projections is intended, regenerate them with
``WINLEDGER_UPDATE_GOLDEN=1 python -m pytest tests/schema/test_golden.py`` and
read the diff before committing it. The tests after the byte comparison check what a reader of
each draft would check, so that a regenerated file cannot quietly start saying something untrue.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import msgspec
import pytest

from client_sdk.demo_year import demo_year
from schema.projections import build_models, render_markdown, render_text, review_draft
from schema.projections.models import ReviewDraft
from tests.schema.second_year import second_year

GOLDEN = Path(__file__).parent / "golden"
YEARS: dict[str, tuple[Callable[[], list[dict[str, Any]]], date, date]] = {
    "2026": (lambda: demo_year(2026), date(2026, 1, 1), date(2026, 12, 31)),
    "analytics-2025": (second_year, date(2025, 1, 1), date(2025, 12, 31)),
}


def _draft(year: str) -> ReviewDraft:
    events, start, end = YEARS[year]
    return review_draft(build_models(events()).values(), start, end)


def _rendered(year: str) -> dict[str, bytes]:
    draft = _draft(year)
    as_json = msgspec.json.format(msgspec.json.encode(draft), indent=2) + b"\n"
    return {
        f"review-draft-{year}.md": render_markdown(draft).encode(),
        f"review-draft-{year}.txt": render_text(draft).encode(),
        f"review-draft-{year}.json": as_json,
    }


@pytest.mark.parametrize("year", sorted(YEARS))
@pytest.mark.parametrize("extension", ["md", "txt", "json"])
def test_each_year_renders_to_the_committed_review_draft(year: str, extension: str) -> None:
    name = f"review-draft-{year}.{extension}"
    rendered = _rendered(year)[name]
    path = GOLDEN / name
    if os.environ.get("WINLEDGER_UPDATE_GOLDEN"):
        path.write_bytes(rendered)
    assert rendered == path.read_bytes(), f"{name} differs from the golden file; see this module's docstring"


def test_the_demo_draft_says_what_the_year_holds_and_nothing_else() -> None:
    draft = _draft("2026")
    text = render_markdown(draft)
    assert text.index("## Summary") < text.index("## Top accomplishments") < text.index("## Projects")
    assert "## Before you submit" in text
    # Recorded as a lift with an interval 22..46 (measured 34): the claim is the bound, never "to 22%".
    assert "save rate of flagged accounts: +22% or more" in text
    assert "measured +34%; the claim is the conservative end of an interval reaching +46%" in text
    assert "to 22%" not in text and "to 75%" not in text  # interval ends are never "B" of a from-A-to-B
    # A level recorded without a baseline carries no sign.
    assert "sessions with a recommendation click stood at 23%" in text and "+23%" not in text
    # The model rolled back in November is shipped-then-rolled-back, never a top accomplishment.
    (eta,) = [s for s in draft.sections if s.name == "Delivery-time estimate v2"]
    assert eta.category == "rolled_back" and eta.stage == "rolled_back"
    assert not any("Delivery-time" in c.text for c in draft.accomplishments)
    # The abandoned research is a negative result, told with the author's own note and no boilerplate.
    (gnn,) = [s for s in draft.sections if s.name == "Graph neural network for fraud rings"]
    assert gnn.category == "scope_reduction"
    assert "saved for other work" not in text
    # Evidence says how an effect was attributed; "measured by" a link's evidence is gone.
    assert "measured by a shadow deployment" not in text
    assert "attributed to churners caught 30 days ahead by a shadow deployment" in text
    # The summary and team of each project reach the draft; voice fillers do not.
    assert "I built it for Customer Analytics" in text
    assert not re.search(r"\b(um|uh|erm)\b", text)
    # Areas reviews ask about, with their tags shown.
    assert [area.title for area in draft.other_work][:2] == ["Mentoring and teaching", "Talks and writing"]
    assert "(tags: mentoring)" in text


def test_no_claim_is_repeated_more_than_three_times_and_impact_and_evidence_do_not_repeat() -> None:
    for year in YEARS:
        draft = _draft(year)
        text = render_markdown(draft)
        models = build_models(YEARS[year][0]())
        for model in models.values():
            for metric in model.chains.metrics:
                line = metric.headline
                if line.source_id not in text:
                    continue
                claim = f"{line.phrase}"
                assert text.count(claim) <= 3, (year, claim)  # the summary, the top list, its project
                if line.measured:
                    assert text.count(line.measured) <= 1, (year, line.measured)
                    assert line.phrase not in line.measured


def test_the_text_draft_has_no_markdown_syntax() -> None:
    for year in YEARS:
        text = render_text(_draft(year))
        assert not re.search(r"^#|\*\*|^- \[ \]|^_|_$", text, re.MULTILINE), year


def test_the_second_year_drops_the_forecaster_with_what_it_saved() -> None:
    draft = _draft("analytics-2025")
    text = render_markdown(draft)
    (forecaster,) = [s for s in draft.sections if s.name == "Support volume forecaster"]
    assert forecaster.category == "scope_reduction"
    assert any("two engineer-months" in c.text for c in forecaster.next)
    assert not any(item.kind == "no_saving" for item in draft.checklist)  # the saving was recorded
    # An elasticity has no better or worse: the measured value is the figure, with no bound.
    assert "price elasticity of cancellations stood at -0.42" in text and "-0.61 or" not in text
    # The A/B test's business outcome leads its accomplishment, with its decision cited.
    assert draft.accomplishments[1].text.startswith(
        "Annual-plan pricing page test: share of sign-ups on the annual plan rose at least 2 pp"
    )


def test_the_readme_quotes_the_demo_draft_as_it_is_written() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index("as written:\n\n") + len("as written:\n\n")
    quoted = readme[start : readme.index("\n\n`--format text` gives")]
    unquoted = "\n".join(line[2:] if line.startswith("> ") else "" for line in quoted.split("\n"))
    unquoted = re.sub(r"^#{4,5} ", lambda m: "##" + "#" * (len(m[0]) - 5) + " ", unquoted, flags=re.MULTILINE)
    assert "My strongest outcomes were on Churn early-warning model" in unquoted
    assert unquoted in render_markdown(_draft("2026"), cite=False)
