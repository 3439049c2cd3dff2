"""One project seen through one review period, and the phrases every part of the draft cites it with."""

from __future__ import annotations

from collections.abc import Iterable

from schema.projections.chains import EVIDENCE_STRENGTH, headline, join_claim
from schema.projections.labels import EVIDENCE_WORDS
from schema.projections.models import (
    Feedback,
    Headline,
    Metric,
    Note,
    ProductionPeriod,
    ProjectModel,
    SectionCategory,
    TimelineEntry,
)
from schema.projections.words import day_of, without_fillers

__all__ = ["Line", "ReviewedProject", "cite", "note_text", "said", "who"]

_DECIDING_KINDS = ("experiment", "analysis", "research")
_SHIP_BOUNDARY_KINDS = ("model", "infrastructure")
_LAYER_RANK = {"business": 0, "production": 1, "model": 2}

Line = tuple[Metric, Headline]


class ReviewedProject:
    """One project seen through one review period, from its model as of the draft's day."""

    def __init__(self, model: ProjectModel, start: str, end: str) -> None:
        self.model = model
        timeline = model.timeline
        self.id = str(model.project_id)
        self.name = timeline.name
        self.kind = timeline.kind
        within = [e for e in timeline.entries if start <= day_of(e.occurred_at) <= end]
        self.active = bool(within)
        self.milestones = [e for e in within if e.milestone]
        self.started = [e for e in within if e.type == "project.started"]
        self.deploys = [e for e in timeline.entries if e.milestone == "deployed"]
        self.deploy: TimelineEntry | None = self.deploys[0] if self.deploys else None
        self.abandoned = (
            [e for e in self.milestones if e.milestone == "abandoned"] if timeline.abandoned else []
        )
        self.concluded = [e for e in self.milestones if e.milestone == "experiment_concluded"]
        self.adopted = [e for e in self.milestones if e.milestone == "adopted"]
        self.feedback = [f for f in model.feedback if start <= day_of(f.occurred_at) <= end]
        self.decisions = [f for f in self.feedback if f.decision]
        self.notes = [n for n in model.notes if start <= day_of(n.occurred_at) <= end]
        self.learnings = [n for n in self.notes if n.type == "learning.noted"]
        self.attribution = _attribution(model)
        self.lines: list[Line] = []
        for metric in model.chains.metrics:
            observed = [o for o in metric.history if start <= day_of(o.occurred_at) <= end]
            if observed:
                latest = observed[-1]
                line = headline(metric.label, metric.unit, metric.direction, latest, latest.measure)
                self.lines.append((metric, line))
        self.layers = {m.layer for m in model.chains.metrics}
        last = timeline.production[-1] if timeline.production else None
        self.period: ProductionPeriod | None = last
        self.rolled_back = last is not None and last.ended_by == "rolled_back"
        self.category = self._category()

    def claimable(self, layer: str | None = None) -> list[Line]:
        return [
            item for item in self.lines if item[1].claimable and (layer is None or item[0].layer == layer)
        ]

    def _category(self) -> SectionCategory:
        if self.abandoned:
            return "scope_reduction"
        if self.deploy is not None:
            if self.rolled_back:
                return "rolled_back"
            return "shipped_with_outcome" if self.claimable("business") else "shipped"
        if self.concluded and self.lines and not self.claimable():
            return "scope_reduction"  # a concluded experiment with nothing to claim ruled something out
        if self.kind in _DECIDING_KINDS or self.concluded:
            return "experiment"
        if self.kind in _SHIP_BOUNDARY_KINDS:
            return "technical_milestone"
        return "other"

    def ranked(self, layer: str | None = None, outcome_only: bool = False) -> list[Line]:
        """Claimable lines, business layer first, then the strongest attribution, then the latest."""
        items = [i for i in self.claimable(layer) if not outcome_only or i[0].layer != "model"]

        def rank(item: Line) -> tuple[int, int, str, str]:
            metric, _line = item
            evidence = self.attribution.get(metric.key)
            strength = EVIDENCE_STRENGTH.index(evidence[0]) if evidence else len(EVIDENCE_STRENGTH)
            return (
                _LAYER_RANK.get(metric.layer, 3),
                strength,
                _invert(metric.history[-1].occurred_at),
                metric.key,
            )

        return sorted(items, key=rank)

    def lead(self, outcome_only: bool = False) -> Line | None:
        ranked = self.ranked(outcome_only=outcome_only)
        return ranked[0] if ranked else None

    def impact_score(self) -> tuple[int, int, int]:
        return (
            -len(self.claimable("business")),
            -len(self.decisions) - len(self.adopted),
            -len(self.claimable()),
        )

    def attributed(self, metric: Metric) -> str:
        """``, attributed by an A/B test`` for a metric a link attributes to the work, else nothing."""
        found = self.attribution.get(metric.key)
        return f", attributed by {EVIDENCE_WORDS[found[0]]}" if found else ""


def _invert(text: str) -> str:
    # Sorting ascending on this puts later timestamps first.
    return "".join(chr(0x10FFFF - ord(ch)) for ch in text)


def _attribution(model: ProjectModel) -> dict[str, tuple[str, str]]:
    """How each metric's effect was attributed: the strongest evidence of a link ending at it, and its id."""
    found: dict[str, tuple[str, str]] = {}
    for link in model.chains.links:
        current = found.get(link.effect)
        if current is None or EVIDENCE_STRENGTH.index(link.evidence) < EVIDENCE_STRENGTH.index(current[0]):
            found[link.effect] = (link.evidence, link.id)
    return found


def said(label: str, line: Headline) -> str:
    """``label`` and the claim's phrase, as one clause."""
    return join_claim(label, line.phrase)


def who(item: Feedback) -> str:
    if item.source_name and item.source_team:
        return f"{item.source_name} ({item.source_team})"
    return item.source_name or (f"Someone in {item.source_team}" if item.source_team else "A stakeholder")


def cite(*groups: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for group in groups:
        for event_id in group:
            seen.setdefault(event_id, None)
    return list(seen)


def note_text(note: Note) -> str:
    return without_fillers(note.text) if note.kind == "voice" else note.text
