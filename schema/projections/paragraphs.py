"""A project's section of the draft: its story (what was built for whom, shipped when, what moved at each
layer and how that was attributed, who uses it), its next steps and its evidence."""

from __future__ import annotations

from datetime import date

from schema.projections.labels import EVIDENCE_WORDS
from schema.projections.models import Claim, Evidence, ProjectSection
from schema.projections.reviewed import ReviewedProject, cite, note_text, said, who
from schema.projections.words import clause, day_of, day_words, duration, lower, sentence, series

__all__ = ["section"]

_LAYER_LEADS = {"model": "On the model side", "production": "In production", "business": "For the business"}
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


def _intro(project: ReviewedProject, end: str) -> Claim | None:
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


def _milestones(project: ReviewedProject) -> list[Claim]:
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


_SPOKEN_PER_LAYER = 2
"""Metrics a story states in full per layer, the strongest first; the rest follow in one short claim."""


def _layer_claims(project: ReviewedProject, layers: tuple[str, ...]) -> list[Claim]:
    claims: list[Claim] = []
    for layer in layers:
        ranked = project.ranked(layer)
        for index, (metric, line) in enumerate(ranked[:_SPOKEN_PER_LAYER]):
            lead = f"{_LAYER_LEADS[layer]}, " if index == 0 else ""
            label = lower(metric.label) if lead else metric.label
            found = project.attribution.get(metric.key)
            claims.append(
                Claim(
                    text=sentence(f"{lead}{said(label, line)}{project.attributed(metric)}"),
                    event_ids=cite([line.source_id], [found[1]] if found else []),
                )
            )
        rest = ranked[_SPOKEN_PER_LAYER:]
        if rest:  # every claimable figure reaches the draft: two in full, the others listed after them
            listed = "; ".join(said(metric.label, line) for metric, line in rest)
            ids = [line.source_id for _, line in rest]
            claims.append(Claim(text=sentence(f"Also measured: {listed}"), event_ids=ids))
    return claims


def _adoption(project: ReviewedProject) -> list[Claim]:
    claims = [
        Claim(text=sentence(f"It was adopted on {day_words(e.occurred_at)}"), event_ids=[e.id])
        for e in project.adopted
        if not e.note
    ]
    for item in project.decisions:
        claims.append(
            Claim(
                text=sentence(f"{who(item)} changed a decision because of it: {clause(item.decision or '')}"),
                event_ids=[item.id],
            )
        )
    return claims


def _lag(project: ReviewedProject, end: str) -> Claim | None:
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


def _story(project: ReviewedProject, as_of: str, end: str) -> list[Claim]:
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
                    event_ids=cite([period.start_id], [period.end_id or ""]),
                )
            )
    story += _adoption(project)
    if category in ("shipped_with_outcome", "shipped", "experiment"):
        lag = _lag(project, end)
        if lag is not None:
            story.append(lag)
    return story


def _evidence(project: ReviewedProject, end: str) -> list[Evidence]:
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


def section(project: ReviewedProject, as_of: str, end: str) -> ProjectSection:
    timeline = project.model.timeline
    wins = [
        Claim(text=sentence(note_text(n)), event_ids=[n.id])
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
