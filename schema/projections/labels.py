"""The words a project's stage and a link's evidence are shown in, the same in the draft, on every page
and in the CLI."""

from __future__ import annotations

__all__ = ["EVIDENCE_WORDS", "STAGE_LABELS", "stage_label"]

STAGE_LABELS: dict[str | None, str] = {
    None: "started",
    "trained": "trained",
    "evaluated": "evaluated",
    "experiment_launched": "experiment running",
    "experiment_concluded": "experiment concluded",
    "shadow_deployed": "in shadow",
    "deployed": "in production",
    "adopted": "in production, adopted",
    "rolled_back": "rolled back",
    "retired": "retired",
    "abandoned": "abandoned",
}


def stage_label(stage: str | None) -> str:
    """The words for a project's stage, the same on every page and in the CLI."""
    return STAGE_LABELS.get(stage, (stage or "started").replace("_", " "))


EVIDENCE_WORDS = {
    "ab_test": "an A/B test",
    "shadow": "a shadow deployment",
    "counterfactual": "a counterfactual analysis",
    "before_after": "a before/after comparison",
    "stakeholder_report": "a stakeholder's report",
    "estimate": "an estimate",
}
