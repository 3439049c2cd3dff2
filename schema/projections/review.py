"""Views for a date: a timeline as of a day, and the review draft of a period.

The draft reads as a strong author writes a self-assessment: a short first-person summary, the top
accomplishments, then each project as the chain it is (built for whom, shipped when, what moved at
each layer from what baseline and how that was attributed, who uses it for what decision, how long
from the work to the outcome), then ongoing value, other work by area, and a checklist of what only
the author can add. Deterministic templates around recorded facts, nothing else:

- every number is a recorded value or arithmetic on recorded values that the text names as such
  (``schema.projections.chains``);
- every sentence cites the events it comes from, and asserts nothing the author did not record;
  where a fact the reader needs is missing, the checklist asks for it;
- as of a day, only what was recorded by the end of that day (UTC) counts (``model_as_of``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import get_args

import msgspec

from schema.projections.chains import EVIDENCE_STRENGTH, headline, join_claim
from schema.projections.fold import model_as_of
from schema.projections.models import (
    Area,
    ChecklistItem,
    Claim,
    Evidence,
    Feedback,
    Headline,
    Metric,
    MetricChains,
    Note,
    ProductionPeriod,
    ProjectModel,
    ProjectSection,
    ReviewDraft,
    SectionCategory,
    TimelineEntry,
    TimelineView,
)
from schema.projections.words import (
    clause,
    day_of,
    day_words,
    duration,
    lower,
    months,
    plural,
    sentence,
    series,
    without_fillers,
)

__all__ = [
    "STAGE_LABELS",
    "chains_as_of",
    "model_as_of",
    "production_days",
    "review_draft",
    "shorten",
    "stage_label",
    "timeline_view",
]

CATEGORY_ORDER: tuple[SectionCategory, ...] = get_args(SectionCategory)
_DECIDING_KINDS = ("experiment", "analysis", "research")
_SHIP_BOUNDARY_KINDS = ("model", "infrastructure")
_LAYER_RANK = {"business": 0, "production": 1, "model": 2}
_LAYER_LEADS = {"model": "On the model side", "production": "In production", "business": "For the business"}
EVIDENCE_WORDS = {
    "ab_test": "an A/B test",
    "shadow": "a shadow deployment",
    "counterfactual": "a counterfactual analysis",
    "before_after": "a before/after comparison",
    "stakeholder_report": "a stakeholder's report",
    "estimate": "an estimate",
}
_VERBS = {
    "model": "built it",
    "infrastructure": "built it",
    "experiment": "ran it",
    "analysis": "carried it out",
    "research": "explored it",
}
_MILESTONE_PHRASES = {
    "trained": "trained it on {day}",
    "evaluated": "evaluated it on {day}",
    "experiment_launched": "launched it on {day}",
    "experiment_concluded": "concluded it on {day}",
    "shadow_deployed": "ran it in shadow from {day}",
    "deployed": "shipped it on {day}",
    "rolled_back": "rolled it back on {day}",
    "retired": "retired it on {day}",
    "abandoned": "stopped it on {day}",
}
_AGAIN = {"trained": "retrained it on {day}", "deployed": "shipped it again on {day}"}
_NOTED_MILESTONES = ("deployed", "rolled_back", "retired", "experiment_concluded", "abandoned", "adopted")
AREAS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "Mentoring and teaching",
        frozenset(
            {
                "mentoring",
                "mentor",
                "teaching",
                "onboarding",
                "hiring",
                "interviewing",
                "interview",
                "coaching",
            }
        ),
    ),
    (
        "Talks and writing",
        frozenset(
            {
                "talk",
                "talks",
                "writing",
                "blog",
                "paper",
                "conference",
                "presentation",
                "docs",
                "documentation",
            }
        ),
    ),
    (
        "Process and tooling",
        frozenset(
            {
                "process",
                "tooling",
                "tools",
                "tool",
                "automation",
                "oncall",
                "on-call",
                "reliability",
                "pipeline",
            }
        ),
    ),
)
OTHER_AREA = "Other"
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


def said(label: str, line: Headline) -> str:
    """``label`` and the claim's phrase, as one clause."""
    return join_claim(label, line.phrase)


def _who(item: Feedback) -> str:
    if item.source_name and item.source_team:
        return f"{item.source_name} ({item.source_team})"
    return item.source_name or (f"Someone in {item.source_team}" if item.source_team else "A stakeholder")


def _cite(*groups: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for group in groups:
        for event_id in group:
            seen.setdefault(event_id, None)
    return list(seen)


# -- as of a day --------------------------------------------------------------------------------


def chains_as_of(model: ProjectModel, as_of: date) -> MetricChains | None:
    """A project's metric chains from what was recorded by the end of ``as_of``."""
    current = model_as_of(model, as_of)
    return None if current is None else current.chains


def production_days(model: ProjectModel, as_of: date) -> int | None:
    """Whole days in production as of ``as_of`` (``None`` when not in production that day)."""
    day = as_of.isoformat()
    for period in model.timeline.production:
        if day_of(period.start) <= day and (period.end is None or day_of(period.end) > day):
            return (as_of - date.fromisoformat(day_of(period.start))).days
    return None


def timeline_view(model: ProjectModel, as_of: date) -> TimelineView | None:
    """The project's timeline as of the end of ``as_of``; ``None`` when nothing was recorded by then."""
    current = model_as_of(model, as_of)
    if current is None:
        return None
    days = production_days(current, as_of)
    return TimelineView(
        as_of=as_of.isoformat(),
        timeline=current.timeline,
        in_production=days is not None,
        in_production_days=days,
        in_production_months=None if days is None else months(days),
    )


def shorten(draft: ReviewDraft) -> ReviewDraft:
    """The summary and the top accomplishments alone (``--short``, for a calibration meeting)."""
    return msgspec.structs.replace(
        draft, sections=[], ongoing_value=[], other_work=[], learnings=[], checklist=[]
    )


# -- one project through one period -------------------------------------------------------------

Line = tuple[Metric, Headline]


class _Project:
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


# -- a project's paragraph ----------------------------------------------------------------------


def _intro(project: _Project, end: str) -> Claim | None:
    timeline = project.model.timeline
    verb = _VERBS.get(project.kind or "", "worked on it")
    ids = [
        r.id
        for r in project.model.revisions
        if (r.started or r.summary or r.team) and day_of(r.occurred_at) <= end
    ]
    if timeline.summary and timeline.team:
        text = f"I {verb} for {timeline.team}: {clause(timeline.summary)}"
    elif timeline.team:
        text = f"I {verb} for {timeline.team}"
    elif timeline.summary:
        text = f"I {verb}: {clause(timeline.summary)}"
    elif project.started:
        text = f"I started it on {day_words(project.started[0].occurred_at)}"
    else:
        return None
    return Claim(text=sentence(text), event_ids=ids or [e.id for e in project.started])


def _milestones(project: _Project) -> list[Claim]:
    phrases: list[str] = []
    seen: set[str] = set()
    ids: list[str] = []
    for entry in project.milestones:
        name = entry.milestone or ""
        if name == "adopted":
            continue
        template = _AGAIN.get(name, _MILESTONE_PHRASES[name]) if name in seen else _MILESTONE_PHRASES[name]
        seen.add(name)
        phrases.append(template.format(day=day_words(entry.occurred_at)))
        ids.append(entry.id)
    claims = [Claim(text=sentence("I " + series(phrases)), event_ids=ids)] if phrases else []
    for entry in project.milestones:
        if entry.milestone in _NOTED_MILESTONES and entry.note:
            claims.append(Claim(text=sentence(entry.note), event_ids=[entry.id]))
    return claims


def _layer_claims(project: _Project, layers: tuple[str, ...]) -> list[Claim]:
    claims: list[Claim] = []
    for layer in layers:
        for index, (metric, line) in enumerate(project.ranked(layer)[:2]):
            lead = f"{_LAYER_LEADS[layer]}, " if index == 0 else ""
            label = lower(metric.label) if lead else metric.label
            found = project.attribution.get(metric.key)
            claims.append(
                Claim(
                    text=sentence(f"{lead}{said(label, line)}{project.attributed(metric)}"),
                    event_ids=_cite([line.source_id], [found[1]] if found else []),
                )
            )
    return claims


def _adoption(project: _Project) -> list[Claim]:
    claims = [
        Claim(text=sentence(f"It was adopted on {day_words(e.occurred_at)}"), event_ids=[e.id])
        for e in project.adopted
        if not e.note
    ]
    for item in project.decisions:
        claims.append(
            Claim(
                text=sentence(
                    f"{_who(item)} changed a decision because of it: {clause(item.decision or '')}"
                ),
                event_ids=[item.id],
            )
        )
    return claims


def _lag(project: _Project, end: str) -> Claim | None:
    """How long from the work to its first business result, where both were recorded."""
    timeline = project.model.timeline
    first_business = min(
        (o for m in project.model.chains.metrics if m.layer == "business" for o in m.history),
        key=lambda o: o.occurred_at,
        default=None,
    )
    if first_business is None or day_of(first_business.occurred_at) > end:
        return None
    for milestone, words in (("trained", "training"), ("deployed", "shipping")):
        entry = next((e for e in timeline.entries if e.milestone == milestone), None)
        if entry is None or entry.occurred_at > first_business.occurred_at:
            continue
        days = (
            date.fromisoformat(day_of(first_business.occurred_at))
            - date.fromisoformat(day_of(entry.occurred_at))
        ).days
        return Claim(
            text=f"The first business result was recorded {duration(days)} after {words}.",
            event_ids=[entry.id, first_business.id],
        )
    return None


def _story(project: _Project, as_of: str, end: str) -> list[Claim]:
    story: list[Claim] = []
    intro = _intro(project, end)
    if intro is not None:
        story.append(intro)
    story += _milestones(project)
    category = project.category
    if category == "scope_reduction":
        for metric, line in project.lines:
            if not line.claimable:
                story.append(
                    Claim(
                        text=sentence(f"{metric.label} showed no gain that can be claimed"),
                        event_ids=[line.source_id],
                    )
                )
        story += _layer_claims(project, ("model", "production", "business"))
    elif category == "technical_milestone":
        story += _layer_claims(project, ("model", "production"))
        story.append(
            Claim(
                text=f"It had not shipped by {day_words(as_of)}, so I count it as a technical milestone, "
                "not yet impact.",
                event_ids=[e.id for e in project.milestones] or [e.id for e in project.started],
            )
        )
    else:
        story += _layer_claims(project, ("model", "production", "business"))
        period = project.period
        if period is not None and period.ended_by == "retired" and period.end is not None:
            story.append(
                Claim(
                    text=f"It was in production from {day_words(period.start)} to {day_words(period.end)}.",
                    event_ids=_cite([period.start_id], [period.end_id or ""]),
                )
            )
    story += _adoption(project)
    if category in ("shipped_with_outcome", "shipped", "experiment"):
        lag = _lag(project, end)
        if lag is not None:
            story.append(lag)
    return story


def _evidence(project: _Project, end: str) -> list[Evidence]:
    evidence: list[Evidence] = []
    for metric, line in project.lines:
        parts: list[str] = []
        if line.measured:
            parts.append(f"{metric.label}: {line.measured}")
        elif not line.claimable:
            parts.append(said(metric.label, line))
        if not line.claimable:
            parts[-1] += f"; not claimed: {line.reason}"
        latest = next(o for o in metric.history if o.id == line.source_id)
        if latest.note:
            parts.append(f"{metric.label if not parts else 'How it was measured'}: {clause(latest.note)}")
        if parts:
            evidence.append(
                Evidence(kind="metric", text=" ".join(sentence(p) for p in parts), event_ids=[line.source_id])
            )
    labels = {m.key: m.label for m in project.model.chains.metrics}
    for link in project.model.chains.links:
        if day_of(link.occurred_at) > end:
            continue
        cause, effect = labels.get(link.cause, link.cause), labels.get(link.effect, link.effect)
        note = f": {clause(link.note)}" if link.note else ""
        to = "" if link.cause == link.effect else f" to {lower(cause)}"
        evidence.append(
            Evidence(
                kind="attribution",
                text=sentence(f"{effect} attributed{to} by {EVIDENCE_WORDS[link.evidence]}{note}"),
                event_ids=[link.id],
            )
        )
    for item in project.feedback:
        who = ", ".join(part for part in (item.source_name, item.source_team) if part) or "a stakeholder"
        evidence.append(Evidence(kind="feedback", text=f"“{item.quote}” ({who})", event_ids=[item.id]))
    return evidence


def _section(project: _Project, as_of: str, end: str) -> ProjectSection:
    timeline = project.model.timeline
    wins = [
        Claim(text=sentence(_note_text(n)), event_ids=[n.id])
        for n in project.notes
        if n.type == "win.captured"
    ]
    return ProjectSection(
        project_id=project.id,
        name=project.name,
        kind=project.kind,
        category=project.category,
        stage=timeline.stage,
        summary=timeline.summary,
        team=timeline.team,
        story=_story(project, as_of, end) + wins,
        next=[
            Claim(text=f"{'Learned' if n.kind == 'learned' else 'Next'}: {n.text}", event_ids=[n.id])
            for n in project.learnings
        ],
        evidence=_evidence(project, end),
    )


def _note_text(note: Note) -> str:
    return without_fillers(note.text) if note.kind == "voice" else note.text


# -- the draft ----------------------------------------------------------------------------------


def _accomplishments(projects: list[_Project], loose: list[Note]) -> list[Claim]:
    """Three to five distinct projects or standalone wins, each named, business outcomes first."""
    groups: list[list[Claim]] = [[], [], [], [], []]
    for project in projects:
        deploy_ids = [project.deploy.id] if project.deploy is not None else []
        if project.category == "shipped_with_outcome":
            metric, line = project.ranked("business")[0]
            found = project.attribution.get(metric.key)
            how = f" ({EVIDENCE_WORDS[found[0]]})" if found else ""
            groups[0].append(
                Claim(
                    text=f"{project.name}: {said(lower(metric.label), line)}{how}",
                    event_ids=_cite([line.source_id], deploy_ids),
                )
            )
        elif project.category == "experiment" and (project.lead() or project.decisions):
            lead = project.lead(outcome_only=True)
            if lead is not None:
                found = project.attribution.get(lead[0].key)
                how = f" ({EVIDENCE_WORDS[found[0]]})" if found else ""
                groups[1].append(
                    Claim(
                        text=f"{project.name}: {said(lower(lead[0].label), lead[1])}{how}",
                        event_ids=_cite([lead[1].source_id], [f.id for f in project.decisions[:1]]),
                    )
                )
            elif project.decisions:
                item = project.decisions[0]
                groups[1].append(
                    Claim(
                        text=f"{project.name}: {_who(item)} changed a decision: "
                        f"{clause(item.decision or '')}",
                        event_ids=[item.id],
                    )
                )
        elif project.category == "shipped" and project.deploy is not None:
            lead = project.lead(outcome_only=True)
            figure = f"; {said(lower(lead[0].label), lead[1])}" if lead else ""
            groups[2].append(
                Claim(
                    text=f"{project.name}: shipped on {day_words(project.deploy.occurred_at)}{figure}",
                    event_ids=_cite(deploy_ids, [lead[1].source_id] if lead else []),
                )
            )
        elif project.category == "scope_reduction" and project.abandoned:
            entry = project.abandoned[-1]
            note = f": {clause(entry.note)}" if entry.note else ""
            groups[3].append(
                Claim(
                    text=f"{project.name}: ruled out on {day_words(entry.occurred_at)}{note}",
                    event_ids=[entry.id],
                )
            )
    for loose_note in loose:
        if loose_note.type == "win.captured":
            groups[4].append(Claim(text=sentence(_note_text(loose_note)), event_ids=[loose_note.id]))
    top: list[Claim] = []
    for group in groups[:4]:
        top += group
    top = top[:5]
    if len(top) < 3:
        top += groups[4][: 3 - len(top)]
    return top


def _summary(
    projects: list[_Project],
    all_projects: list[_Project],
    top: list[Claim],
    areas: list[Area],
    as_of: date,
    start: str,
    end: str,
) -> list[Claim]:
    sentences: list[Claim] = []
    shipped = [p for p in projects if any(start <= day_of(e.occurred_at) <= end for e in p.deploys)]
    running = [(p, days) for p in all_projects if (days := production_days(p.model, as_of)) is not None]
    if shipped or running:
        parts: list[str] = []
        ids: list[str] = []
        if shipped:
            rolled = [p for p in shipped if p.category == "rolled_back"]
            parts.append(
                f"I shipped {plural(len(shipped), 'project')} to production"
                + (f" ({len(rolled)} of them rolled back)" if rolled else "")
            )
            ids += [e.id for p in shipped for e in p.deploys if start <= day_of(e.occurred_at) <= end]
        if running:
            longest = max(running, key=lambda item: item[1])
            count = len(running)
            parts.append(
                f"{plural(count, 'project')} {'is' if count == 1 else 'are'} in production as of "
                f"{day_words(as_of.isoformat())}, the longest for {duration(longest[1])}"
            )
            ids += [period.start_id for p, _ in running if (period := _open_period(p.model, as_of))]
        sentences.append(Claim(text=sentence("; ".join(parts)), event_ids=_cite(ids)))
    outcomes = [p for p in projects if p.category == "shipped_with_outcome"][:2]
    if outcomes:
        clauses, ids = [], []
        for project in outcomes:
            metric, line = project.ranked("business")[0]
            clauses.append(f"{project.name} ({said(lower(metric.label), line)})")
            ids.append(line.source_id)
        opening = "My strongest outcomes were on " if len(clauses) > 1 else "My strongest outcome was on "
        sentences.append(Claim(text=sentence(opening + series(clauses)), event_ids=ids))
    decisions = [f for p in projects for f in p.decisions]
    if decisions:
        teams = sorted({f.source_team for f in decisions if f.source_team})
        who = f" in {series(teams)}" if teams else ""
        sentences.append(
            Claim(
                text=f"Stakeholders{who} changed {plural(len(decisions), 'decision')} because of the work.",
                event_ids=[f.id for f in decisions],
            )
        )
    ruled_out = [p for p in projects if p.category == "scope_reduction"]
    counted = [a for a in areas if a.title != OTHER_AREA]
    closing: list[str] = []
    closing_ids: list[str] = []
    also = "also " if sentences else ""
    if ruled_out:
        closing.append(f"I {also}ruled out {series([p.name for p in ruled_out])}")
        closing_ids += [e.id for p in ruled_out for e in (p.abandoned or p.concluded)]
    if counted:
        parts = [f"{plural(len(a.wins), 'win')} in {a.title.lower()}" for a in counted]
        closing.append(f"beyond the projects, I {'' if ruled_out else also}recorded {series(parts)}")
        closing_ids += [i for a in counted for c in a.wins for i in c.event_ids]
    if closing:
        sentences.append(Claim(text=sentence("; ".join(closing)), event_ids=closing_ids))
    return sentences[:4]


def _open_period(model: ProjectModel, as_of: date) -> ProductionPeriod | None:
    day = as_of.isoformat()
    for period in model.timeline.production:
        if day_of(period.start) <= day and (period.end is None or day_of(period.end) > day):
            return period
    return None


def _ongoing(projects: list[_Project], as_of: date, start: str, end: str) -> list[Claim]:
    claims: list[Claim] = []
    for project in sorted(projects, key=lambda p: (p.name, p.id)):
        period = _open_period(project.model, as_of)
        if period is not None:
            days = (as_of - date.fromisoformat(day_of(period.start))).days
            text = f"{project.name}: in production for {duration(days)}, since {day_words(period.start)}"
            ids = [period.start_id]
        else:
            ended = [
                p
                for p in project.model.timeline.production
                if p.ended_by == "retired" and p.end is not None and start <= day_of(p.end) <= end
            ]
            if not ended:
                continue
            period = ended[-1]
            assert period.end is not None
            days = (date.fromisoformat(day_of(period.end)) - date.fromisoformat(day_of(period.start))).days
            text = (
                f"{project.name}: in production for {duration(days)}, "
                f"from {day_words(period.start)} until it was retired on {day_words(period.end)}"
            )
            ids = _cite([period.start_id], [period.end_id or ""])
        latest = _latest(project, "production")
        if latest is not None:
            metric, line = latest
            recorded = day_words(metric.history[-1].occurred_at)
            text += f"; latest in production ({recorded}): {said(lower(metric.label), line)}"
            ids.append(line.source_id)
        claims.append(Claim(text=sentence(text), event_ids=ids))
    return claims


def _latest(project: _Project, layer: str) -> Line | None:
    lines = [item for item in project.claimable(layer)]
    return max(lines, key=lambda item: item[0].history[-1].occurred_at, default=None)


def _areas(loose: list[Note]) -> list[Area]:
    grouped: dict[str, list[Claim]] = {}
    for note in loose:
        if note.type != "win.captured":
            continue
        tags = {t.lower() for t in note.tags}
        title = next((title for title, words in AREAS if tags & words), OTHER_AREA)
        shown = f" (tags: {', '.join(note.tags)})" if note.tags else ""
        grouped.setdefault(title, []).append(
            Claim(
                text=f"{day_words(note.occurred_at)}: {sentence(_note_text(note))}{shown}",
                event_ids=[note.id],
            )
        )
    order = [title for title, _ in AREAS] + [OTHER_AREA]
    return [Area(title=title, wins=grouped[title]) for title in order if title in grouped]


def review_draft(
    models: Iterable[ProjectModel], from_: date, to: date, as_of: date | None = None
) -> ReviewDraft:
    """The self-assessment of the period ``from_``..``to`` (inclusive UTC dates), as of ``as_of``.

    Only what was recorded by the end of ``as_of`` (default: ``to``) counts; the edges resolve the
    period and its default ``as_of`` with ``schema.projections.period.resolve_period``.
    """
    if from_ > to:
        raise ValueError(f"The period starts ({from_}) after it ends ({to})")
    as_of = as_of or to
    start, end = from_.isoformat(), min(to, as_of).isoformat()
    current = [m for m in (model_as_of(model, as_of) for model in models) if m is not None]
    ordered = sorted(current, key=lambda m: (m.project_id is not None, m.project_id or ""))
    loose = [
        note
        for m in ordered
        if m.project_id is None
        for note in m.notes
        if start <= day_of(note.occurred_at) <= end
    ]
    projects = [_Project(m, start, end) for m in ordered if m.project_id is not None]
    active = [p for p in projects if p.active]
    active.sort(key=lambda p: (CATEGORY_ORDER.index(p.category), p.impact_score(), p.name, p.id))
    areas = _areas(loose)
    top = _accomplishments(active, loose)
    return ReviewDraft(
        period_from=start,
        period_to=to.isoformat(),
        as_of=as_of.isoformat(),
        summary=_summary(active, projects, top, areas, as_of, start, end),
        accomplishments=top,
        sections=[_section(project, as_of.isoformat(), end) for project in active],
        ongoing_value=_ongoing(projects, as_of, start, end),
        other_work=areas,
        learnings=[
            Claim(text=f"{'Learned' if n.kind == 'learned' else 'Next'}: {n.text}", event_ids=[n.id])
            for n in loose
            if n.type == "learning.noted"
        ],
        checklist=_checklist(active, end),
    )


# -- the checklist ------------------------------------------------------------------------------


def _checklist(projects: list[_Project], end: str) -> list[ChecklistItem]:
    items: dict[tuple[str, str, str], ChecklistItem] = {}

    def ask(kind: str, text: str, project: _Project, event_ids: list[str]) -> None:
        item = ChecklistItem(kind=kind, text=text, project_id=project.id, event_ids=event_ids)  # type: ignore[arg-type]
        items.setdefault((kind, project.id, text), item)

    for project in projects:
        name = project.name
        if project.category == "technical_milestone":
            ask(
                "never_shipped",
                f"{name} has no deployment recorded, so it reads as a technical milestone: if it did ship, "
                "record the deployed milestone with its date",
                project,
                [e.id for e in project.milestones] or [e.id for e in project.started],
            )
        shipped = project.category in ("shipped_with_outcome", "shipped")
        if shipped and "business" not in project.layers and project.deploy is not None:
            ask(
                "no_business_metric",
                f"{name} shipped but has no business metric: record the outcome it moved "
                "(revenue, cost, hours saved) with winledger metric --layer business",
                project,
                [project.deploy.id],
            )
        if shipped and not project.adopted and not project.decisions and project.deploy is not None:
            ask(
                "no_user",
                f"Who uses {name}, and for what decision? Record it with winledger feedback --decision, "
                "or the adopted milestone",
                project,
                [project.deploy.id],
            )
        if project.category == "scope_reduction" and not any(n.kind == "learned" for n in project.learnings):
            ask(
                "no_saving",
                f"What did stopping {name} save (time, spend, a direction not reopened)? "
                "Record it with winledger learned --project",
                project,
                [e.id for e in project.abandoned or project.concluded],
            )
        for metric, line in project.lines:
            attributable = shipped and metric.layer == "business" and line.claimable
            if attributable and metric.key not in project.attribution:
                ask(
                    "not_attributed",
                    f"{metric.label}: record how it was attributed to the work (an A/B test, a before/after "
                    "comparison...) with winledger link",
                    project,
                    [line.source_id],
                )
            if not line.claimable:
                ask(
                    "interval_too_wide",
                    f"{metric.label} is left out of the claims: {line.reason}",
                    project,
                    [line.source_id],
                )
            if not metric.labelled:
                ask(
                    "no_label",
                    f"The metric {metric.key} has no label, so the draft calls it “{metric.label}”: "
                    "give it one with --label the next time you record it",
                    project,
                    [line.source_id],
                )
        if shipped and "business" in project.layers:
            labels = {m.key: m.label for m in project.model.chains.metrics}
            for chain in project.model.chains.chains:
                if chain.complete or chain.layers[0] != "model":
                    continue
                ask(
                    "chain_incomplete",
                    f"The chain {' → '.join(f'“{labels.get(key, key)}”' for key in chain.keys)} stops at the "
                    f"{chain.layers[-1] or 'an unrecorded'} layer: "
                    "link it to the business metric it moves with winledger link",
                    project,
                    chain.link_ids
                    or [m.latest.id for m in project.model.chains.metrics if m.key == chain.keys[0]],
                )
    return list(items.values())
