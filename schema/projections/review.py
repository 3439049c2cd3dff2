"""Views for a date: a timeline as of a day, and the review draft of a period.

A review entry reads: what I did -> the impact it had -> what I learned or
what is next. Impact crosses the deployment boundary: a model or
infrastructure project that never shipped has a technical milestone, which
the draft says plainly. Every claim carries the ids of the events it comes
from; nothing in a draft is invented.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import msgspec

from schema.projections.chains import EVIDENCE_STRENGTH, format_number, headline, signed
from schema.projections.models import (
    DAYS_PER_MONTH,
    ChecklistItem,
    Claim,
    Evidence,
    Headline,
    Metric,
    MetricChains,
    ProjectModel,
    ProjectSection,
    ReviewDraft,
    SectionCategory,
    TimelineView,
)

CATEGORY_ORDER: tuple[SectionCategory, ...] = (
    "shipped_with_outcome",
    "shipped",
    "experiment",
    "scope_reduction",
    "technical_milestone",
    "other",
)
_DECIDING_KINDS = ("experiment", "analysis", "research")
_SHIP_BOUNDARY_KINDS = ("model", "infrastructure")
_EVIDENCE_WORDS = {
    "ab_test": "an A/B test",
    "shadow": "a shadow deployment",
    "counterfactual": "a counterfactual analysis",
    "before_after": "a before/after comparison",
    "stakeholder_report": "a stakeholder's report",
    "estimate": "an estimate",
}
_DID = {
    "trained": "Trained {name}",
    "evaluated": "Evaluated {name}",
    "experiment_launched": "Launched the experiment {name}",
    "experiment_concluded": "Concluded the experiment {name}",
    "shadow_deployed": "Ran {name} in shadow beside the current system",
    "deployed": "Shipped {name} to production",
    "adopted": "Saw {name} adopted",
    "rolled_back": "Rolled {name} back",
    "retired": "Retired {name}",
    "abandoned": "Stopped work on {name}",
}


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _day(timestamp: str) -> str:
    return timestamp[:10]


def months(days: int) -> int:
    return int(days // DAYS_PER_MONTH)


def production_days(model: ProjectModel, as_of: date) -> int | None:
    """Whole days in production as of ``as_of`` (``None`` when not in production that day)."""
    day = as_of.isoformat()
    for period in model.timeline.production:
        if _day(period.start) <= day and (period.end is None or _day(period.end) > day):
            return (as_of - date.fromisoformat(_day(period.start))).days
    return None


def model_as_of(model: ProjectModel, as_of: date) -> ProjectModel | None:
    """The model as it stood at the end of ``as_of`` (UTC); ``None`` when nothing of it was recorded yet."""
    return model


def chains_as_of(model: ProjectModel, as_of: date) -> MetricChains | None:
    """A project's metric chains from what was recorded by the end of ``as_of``."""
    current = model_as_of(model, as_of)
    return None if current is None else current.chains


STAGE_LABELS = {
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


def shorten(draft: ReviewDraft) -> ReviewDraft:
    """The summary and the top accomplishments alone (``--short``)."""
    return msgspec.structs.replace(
        draft, sections=[], ongoing_value=[], unassigned_wins=[], learnings=[], checklist=[]
    )


def timeline_view(model: ProjectModel, as_of: date) -> TimelineView | None:
    """The project's timeline as of the end of ``as_of``; ``None`` when nothing was recorded by then."""
    current = model_as_of(model, as_of)
    if current is None:
        return None
    model = current
    days = production_days(model, as_of)
    return TimelineView(
        as_of=as_of.isoformat(),
        timeline=model.timeline,
        in_production=days is not None,
        in_production_days=days,
        in_production_months=None if days is None else months(days),
    )


def _cite(*groups: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for group in groups:
        for event_id in group:
            seen.setdefault(event_id, None)
    return list(seen)


class _Project:
    """One project seen through one review period."""

    def __init__(self, model: ProjectModel, start: str, end: str) -> None:
        self.model = model
        timeline = model.timeline
        self.id = str(model.project_id)
        self.name = timeline.name
        self.kind = timeline.kind
        within = [e for e in timeline.entries if start <= _day(e.occurred_at) <= end]
        self.active = bool(within)
        self.milestones = [e for e in within if e.milestone]
        self.started = [e for e in within if e.type == "project.started"]
        self.deploy = next(
            (e for e in timeline.entries if e.milestone == "deployed" and _day(e.occurred_at) <= end), None
        )
        self.abandoned = [e for e in self.milestones if e.milestone == "abandoned"]
        self.concluded = [e for e in self.milestones if e.milestone == "experiment_concluded"]
        self.adopted = [e for e in self.milestones if e.milestone == "adopted"]
        self.feedback = [f for f in model.feedback if start <= _day(f.occurred_at) <= end]
        self.decisions = [f for f in self.feedback if f.decision]
        self.notes = [n for n in model.notes if start <= _day(n.occurred_at) <= end]
        strength = _evidence_by_metric(model)
        self.metrics: list[tuple[Metric, Headline, str | None]] = []
        for metric in model.chains.metrics:
            observed = [o for o in metric.history if start <= _day(o.occurred_at) <= end]
            if observed:
                line = headline(metric.label, metric.unit, metric.direction, observed[-1])
                self.metrics.append((metric, line, strength.get(metric.key)))
        self.known_layers = {m.layer for m in model.chains.metrics if _day(m.history[0].occurred_at) <= end}
        self.category = self._category()

    def claimable(self, layer: str | None = None) -> list[tuple[Metric, Headline, str | None]]:
        return [
            item for item in self.metrics if item[1].claimable and (layer is None or item[0].layer == layer)
        ]

    def _category(self) -> SectionCategory:
        if self.abandoned:
            return "scope_reduction"
        if self.deploy is not None:
            return "shipped_with_outcome" if self.claimable("business") else "shipped"
        if self.concluded and self.metrics and not self.claimable():
            return "scope_reduction"  # a concluded experiment with nothing to claim ruled something out
        if self.kind in _DECIDING_KINDS or self.concluded:
            return "experiment"
        if self.kind in _SHIP_BOUNDARY_KINDS:
            return "technical_milestone"
        return "other"

    def lead_metric(self, outcome_only: bool = False) -> tuple[Metric, Headline, str | None] | None:
        """Business layer first, then the strongest evidence, then the latest.

        ``outcome_only`` leaves model-layer metrics out: a shipped model's impact is what it moved.
        """
        candidates = [item for item in self.claimable() if not outcome_only or item[0].layer != "model"]
        if not candidates:
            return None

        def rank(item: tuple[Metric, Headline, str | None]) -> tuple[int, int, str, str]:
            metric, _line, evidence = item
            layer_rank = {"business": 0, "production": 1, "model": 2}.get(metric.layer, 3)
            strength = EVIDENCE_STRENGTH.index(evidence) if evidence else len(EVIDENCE_STRENGTH)
            latest = metric.history[-1].occurred_at
            return (layer_rank, strength, _invert(latest), metric.key)

        return min(candidates, key=rank)

    def impact_score(self) -> tuple[int, int, int]:
        return (
            -len(self.claimable("business")),
            -len(self.decisions) - len(self.adopted),
            -len(self.claimable()),
        )


def _invert(text: str) -> str:
    # Sorting ascending on this puts later timestamps first.
    return "".join(chr(0x10FFFF - ord(ch)) for ch in text)


def _evidence_by_metric(model: ProjectModel) -> dict[str, str]:
    """How each metric's effect was established: the strongest evidence of a link that ends at it."""
    found: dict[str, str] = {}
    for link in model.chains.links:
        current = found.get(link.effect)
        if current is None or EVIDENCE_STRENGTH.index(link.evidence) < EVIDENCE_STRENGTH.index(current):
            found[link.effect] = link.evidence
    return found


def _metric_claim(name: str, metric: Metric, line: Headline) -> Claim:
    context = f" ({line.context})" if line.context else ""
    return Claim(text=f"{line.text}{context}", event_ids=[line.source_id])


def _section(project: _Project, end: str) -> ProjectSection:
    name = project.name
    did: list[Claim] = []
    for entry in project.started:
        did.append(Claim(text=f"Started {name}, {_a(project.kind or 'new')} project", event_ids=[entry.id]))
    for entry in project.milestones:
        if entry.milestone == "adopted":
            continue  # adoption is impact, not work done
        text = _DID[entry.milestone or ""].format(name=name)
        note = entry.note or ""
        did.append(
            Claim(
                text=f"{text} on {_day(entry.occurred_at)}" + (f": {note}" if note else ""),
                event_ids=[entry.id],
            )
        )
    for win in project.notes:
        if win.type == "win.captured":
            did.append(Claim(text=f"“{win.text}”", event_ids=[win.id]))

    impact: list[Claim] = []
    if project.category == "scope_reduction":
        for entry in project.abandoned:
            reason = (entry.note or "").rstrip(". ")
            impact.append(
                Claim(
                    text=f"Ruled out {name}"
                    + (f": {reason}" if reason else "")
                    + ". The direction is closed, and the effort it would have taken"
                    " is saved for other work.",
                    event_ids=[entry.id],
                )
            )
        for metric, line, _ in project.metrics:
            if not line.claimable:
                impact.append(
                    Claim(
                        text=f"{metric.label} showed no effect that can be claimed ({line.reason}): "
                        "a settled question that needs no more spend without new evidence",
                        event_ids=[line.source_id],
                    )
                )
        for item in project.decisions:
            who = item.source_name or "A stakeholder"
            text = f"{who} changed a decision because of it: {item.decision}"
            impact.append(Claim(text=text, event_ids=[item.id]))
    elif project.category == "technical_milestone":
        impact.append(
            Claim(
                text=f"{name} has not been deployed as of {end}: so far this is a technical milestone, "
                "not impact on the business",
                event_ids=[e.id for e in project.milestones] or [e.id for e in project.started],
            )
        )
    else:
        lead = project.lead_metric()
        ordered = sorted(
            project.claimable(),
            key=lambda item: (
                {"business": 0, "production": 1, "model": 2}.get(item[0].layer, 3),
                item[0].key,
            ),
        )
        if lead is not None:
            ordered.remove(lead)
            ordered.insert(0, lead)
        for metric, line, _ in ordered:
            if metric.layer != "model" or project.category == "experiment":
                impact.append(_metric_claim(name, metric, line))
        for entry in project.adopted:
            text = "Adopted: " + (entry.note or f"{name} is in use")
            impact.append(Claim(text=text, event_ids=[entry.id]))
        for item in project.decisions:
            who = item.source_name or "A stakeholder"
            impact.append(
                Claim(text=f"{who} changed a decision because of it: {item.decision}", event_ids=[item.id])
            )

    next_steps = [
        Claim(text=f"{'Learned' if n.kind == 'learned' else 'Next'}: {n.text}", event_ids=[n.id])
        for n in project.notes
        if n.type == "learning.noted"
    ]
    evidence: list[Evidence] = []
    for metric, line, how in project.metrics:
        context = f" ({line.context})" if line.context else ""
        evidence.append(
            Evidence(
                kind="metric",
                text=f"{line.text}{context}" + ("" if line.claimable else f"; not claimed: {line.reason}"),
                event_ids=[o.id for o in metric.history if _day(o.occurred_at) <= end][-3:],
                how_measured=_EVIDENCE_WORDS.get(how) if how else None,
            )
        )
    for item in project.feedback:
        who = ", ".join(part for part in (item.source_name, item.source_team) if part) or "a stakeholder"
        decision = f" Decision: {item.decision}" if item.decision else ""
        evidence.append(
            Evidence(kind="feedback", text=f"“{item.quote}” ({who}).{decision}", event_ids=[item.id])
        )
    for entry in project.adopted:
        evidence.append(Evidence(kind="adoption", text=entry.summary, event_ids=[entry.id]))
    return ProjectSection(
        project_id=project.id,
        name=name,
        kind=project.kind,
        category=project.category,
        did=did,
        impact=impact,
        next=next_steps,
        evidence=evidence,
    )


def _accomplishments(projects: list[_Project], sections: list[ProjectSection], to: date) -> list[Claim]:
    top: list[Claim] = []
    for project in projects:
        if project.category in ("technical_milestone", "other"):
            continue
        lead = project.lead_metric(outcome_only=project.category.startswith("shipped"))
        ids = (
            [project.deploy.id]
            if project.deploy is not None and project.category.startswith("shipped")
            else []
        )
        if lead is not None and project.category != "scope_reduction":
            _metric, line, how = lead
            measured = f", measured by {_EVIDENCE_WORDS[how]}" if how else ""
            top.append(
                Claim(text=f"{project.name}: {line.text}{measured}", event_ids=_cite([line.source_id], ids))
            )
        elif project.decisions:
            item = project.decisions[0]
            top.append(
                Claim(
                    text=f"{project.name} changed a decision: {item.decision}",
                    event_ids=_cite([item.id], ids),
                )
            )
        elif project.deploy is not None and production_days(project.model, to) is not None:
            # Shipping counts once it stayed shipped: a model rolled back by the period's end does not.
            top.append(
                Claim(text=f"Shipped {project.name} on {_day(project.deploy.occurred_at)}", event_ids=ids)
            )
        elif project.category == "scope_reduction":
            top.append(
                Claim(
                    text=f"Ruled out {project.name}, closing that direction",
                    event_ids=[e.id for e in project.abandoned or project.concluded],
                )
            )
        if len(top) == 5:
            return top
    if len(top) < 3:
        # Fewer than three projects with impact: their other impact, then the milestones reached,
        # fill up to three. Never a number that could not be claimed, never a project's mere start.
        starts = {entry.id for project in projects for entry in project.started}
        fillers = [
            claim
            for section in sections
            if section.category in ("shipped_with_outcome", "shipped", "experiment")
            for claim in section.impact
        ]
        fillers += [
            claim
            for section in sections
            if section.category not in ("technical_milestone", "other")
            for claim in section.did
            if not set(claim.event_ids) <= starts
        ]
        cited = {event_id for chosen in top for event_id in chosen.event_ids}
        for claim in fillers:
            if len(top) >= 3:
                break
            if not set(claim.event_ids) <= cited:  # each event backs one accomplishment at most
                top.append(claim)
                cited.update(claim.event_ids)
    return top


def review_draft(
    models: Iterable[ProjectModel], from_: date, to: date, as_of: date | None = None
) -> ReviewDraft:
    """The self-assessment of the period ``from_``..``to`` (inclusive UTC dates)."""
    if from_ > to:
        raise ValueError(f"The period starts ({from_}) after it ends ({to})")
    as_of = as_of or to
    start, end = from_.isoformat(), to.isoformat()
    ordered_models = sorted(models, key=lambda m: (m.project_id is not None, m.project_id or ""))
    loose = [m for m in ordered_models if m.project_id is None]
    projects = [_Project(m, start, end) for m in ordered_models if m.project_id is not None]
    active = [p for p in projects if p.active]
    active.sort(key=lambda p: (CATEGORY_ORDER.index(p.category), p.impact_score(), p.name, p.id))
    sections = [_section(project, end) for project in active]

    ongoing: list[Claim] = []
    for project in sorted(projects, key=lambda p: (p.name, p.id)):
        days = production_days(project.model, as_of)
        if days is None:
            continue
        period = next(
            p for p in reversed(project.model.timeline.production) if _day(p.start) <= as_of.isoformat()
        )
        text = f"{project.name} has been in production for {months(days)} months (since {_day(period.start)})"
        ids = [period.start_id]
        latest = _latest_outcome(project.model, end)
        if latest is not None:
            text += f"; latest: {latest.text}"
            ids.append(latest.source_id)
        ongoing.append(Claim(text=text, event_ids=ids))

    unassigned: list[Claim] = []
    learnings: list[Claim] = []
    for model in loose:
        for note in model.notes:
            if not start <= _day(note.occurred_at) <= end:
                continue
            if note.type == "win.captured":
                voice = " (voice note)" if note.kind == "voice" else ""
                unassigned.append(
                    Claim(text=f"{_day(note.occurred_at)}: “{note.text}”{voice}", event_ids=[note.id])
                )
            else:
                label = "Learned" if note.kind == "learned" else "Next"
                learnings.append(Claim(text=f"{label}: {note.text}", event_ids=[note.id]))

    return ReviewDraft(
        period_from=start,
        period_to=end,
        as_of=as_of.isoformat(),
        accomplishments=_accomplishments(active, sections, to),
        sections=sections,
        ongoing_value=ongoing,
        unassigned_wins=unassigned,
        learnings=learnings,
        checklist=_checklist(active, end),
    )


def _latest_outcome(model: ProjectModel, end: str) -> Headline | None:
    """The latest claimable business (else production) figure observed by ``end``."""
    for layer in ("business", "production"):
        best: tuple[str, Headline] | None = None
        for metric in model.chains.metrics:
            if metric.layer != layer:
                continue
            observed = [o for o in metric.history if _day(o.occurred_at) <= end]
            if observed:
                line = headline(metric.label, metric.unit, metric.direction, observed[-1])
                if line.claimable and (best is None or observed[-1].occurred_at > best[0]):
                    best = (observed[-1].occurred_at, line)
        if best is not None:
            return best[1]
    return None


def _checklist(projects: list[_Project], end: str) -> list[ChecklistItem]:
    items: list[ChecklistItem] = []
    for project in projects:
        name, pid = project.name, project.id
        if project.category == "technical_milestone":
            items.append(
                ChecklistItem(
                    kind="never_shipped",
                    text=f"{name} never reached deployment: present it as a technical milestone, "
                    "or record the deployment if it did ship",
                    project_id=pid,
                    event_ids=[e.id for e in project.milestones],
                )
            )
        if project.deploy is not None and "business" not in project.known_layers:
            items.append(
                ChecklistItem(
                    kind="no_business_metric",
                    text=f"{name} shipped but has no business metric: record the outcome it moved "
                    "(revenue, cost, hours saved, a decision)",
                    project_id=pid,
                    event_ids=[project.deploy.id],
                )
            )
        for chain in project.model.chains.chains:
            if chain.complete or project.category == "scope_reduction":
                continue
            stop = chain.layers[-1] or "an unrecorded"
            path = " → ".join(chain.keys)
            items.append(
                ChecklistItem(
                    kind="chain_incomplete",
                    text=f"The chain {path} stops at the {stop} layer: "
                    "link it to the business metric it moves",
                    project_id=pid,
                    event_ids=chain.link_ids or _metric_ids(project, chain.keys[0]),
                )
            )
        for metric, line, _ in project.metrics:
            if line.claimable and line.collapsed:
                items.append(
                    ChecklistItem(
                        kind="interval_collapsed",
                        text=f"{metric.label}: the headline commits to {_figure(line)}, "
                        "the conservative end of the interval; the interval stays in the context clause",
                        project_id=pid,
                        event_ids=[line.source_id],
                    )
                )
            elif not line.claimable and line.context:
                items.append(
                    ChecklistItem(
                        kind="interval_too_wide",
                        text=f"{metric.label} is not claimed: {line.reason}",
                        project_id=pid,
                        event_ids=[line.source_id],
                    )
                )
    return items


def _figure(line: Headline) -> str:
    return format_number(line.figure, line.unit) if line.basis == "level" else signed(line.figure, line.unit)


def _metric_ids(project: _Project, key: str) -> list[str]:
    for metric in project.model.chains.metrics:
        if metric.key == key:
            return [metric.latest.id]
    return []
