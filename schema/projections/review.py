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

from schema.projections.areas import OTHER_AREA, other_work
from schema.projections.as_of import open_period, production_days
from schema.projections.checklist import checklist
from schema.projections.derive import model_as_of
from schema.projections.labels import EVIDENCE_WORDS
from schema.projections.models import Area, Claim, Note, ProjectModel, ReviewDraft, SectionCategory
from schema.projections.paragraphs import section
from schema.projections.reviewed import Line, ReviewedProject, cite, note_text, said, who
from schema.projections.words import clause, day_of, day_words, duration, lower, plural, sentence, series

__all__ = ["review_draft", "shorten"]

CATEGORY_ORDER: tuple[SectionCategory, ...] = get_args(SectionCategory)


def shorten(draft: ReviewDraft) -> ReviewDraft:
    """The summary and the top accomplishments alone (``--short``, for a calibration meeting)."""
    return msgspec.structs.replace(
        draft, sections=[], ongoing_value=[], other_work=[], learnings=[], checklist=[]
    )


def _accomplishments(projects: list[ReviewedProject], loose: list[Note]) -> list[Claim]:
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
                    event_ids=cite([line.source_id], deploy_ids),
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
                        event_ids=cite([lead[1].source_id], [f.id for f in project.decisions[:1]]),
                    )
                )
            elif project.decisions:
                item = project.decisions[0]
                groups[1].append(
                    Claim(
                        text=f"{project.name}: {who(item)} changed a decision: {clause(item.decision or '')}",
                        event_ids=[item.id],
                    )
                )
        elif project.category == "shipped" and project.deploy is not None:
            lead = project.lead(outcome_only=True)
            figure = f"; {said(lower(lead[0].label), lead[1])}" if lead else ""
            groups[2].append(
                Claim(
                    text=f"{project.name}: shipped on {day_words(project.deploy.occurred_at)}{figure}",
                    event_ids=cite(deploy_ids, [lead[1].source_id] if lead else []),
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
            groups[4].append(Claim(text=sentence(note_text(loose_note)), event_ids=[loose_note.id]))
    top: list[Claim] = []
    for group in groups[:4]:
        top += group
    top = top[:5]
    if len(top) < 3:
        top += groups[4][: 3 - len(top)]
    return top


def _summary(
    projects: list[ReviewedProject],
    all_projects: list[ReviewedProject],
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
            ids += [period.start_id for p, _ in running if (period := open_period(p.model, as_of))]
        sentences.append(Claim(text=sentence("; ".join(parts)), event_ids=cite(ids)))
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


def _ongoing(projects: list[ReviewedProject], as_of: date, start: str, end: str) -> list[Claim]:
    claims: list[Claim] = []
    for project in sorted(projects, key=lambda p: (p.name, p.id)):
        period = open_period(project.model, as_of)
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
            ids = cite([period.start_id], [period.end_id or ""])
        latest = _latest(project, "production")
        if latest is not None:
            metric, line = latest
            recorded = day_words(metric.history[-1].occurred_at)
            text += f"; latest in production ({recorded}): {said(lower(metric.label), line)}"
            ids.append(line.source_id)
        claims.append(Claim(text=sentence(text), event_ids=ids))
    return claims


def _latest(project: ReviewedProject, layer: str) -> Line | None:
    lines = [item for item in project.claimable(layer)]
    return max(lines, key=lambda item: item[0].history[-1].occurred_at, default=None)


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
    projects = [ReviewedProject(m, start, end) for m in ordered if m.project_id is not None]
    active = [p for p in projects if p.active]
    active.sort(key=lambda p: (CATEGORY_ORDER.index(p.category), p.impact_score(), p.name, p.id))
    areas = other_work(loose)
    top = _accomplishments(active, loose)
    return ReviewDraft(
        period_from=start,
        period_to=to.isoformat(),
        as_of=as_of.isoformat(),
        summary=_summary(active, projects, top, areas, as_of, start, end),
        accomplishments=top,
        sections=[section(project, as_of.isoformat(), end) for project in active],
        ongoing_value=_ongoing(projects, as_of, start, end),
        other_work=areas,
        learnings=[
            Claim(text=f"{'Learned' if n.kind == 'learned' else 'Next'}: {n.text}", event_ids=[n.id])
            for n in loose
            if n.type == "learning.noted"
        ],
        checklist=checklist(active),
    )
