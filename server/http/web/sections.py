"""The sections of a project's page under its timeline: the metric chains with each metric's headline and
evidence, and what stakeholders said and the author learned, in the draft's words."""

from __future__ import annotations

from schema.projections import ProjectModel
from schema.projections.models import Feedback, Metric, MetricChains, Note
from schema.projections.nudges import Nudges
from schema.projections.words import clause, lower, sentence
from server.http.web.markup import Markup, escape, join, render
from server.http.web.svg import CHAIN_LAYOUTS, chain_svg, evidence_words


def chains_section(chains: MetricChains) -> Markup:
    if not chains.metrics and not chains.chains:
        return render('<p class="empty">No metrics recorded for this project.</p>')
    drawn = join(
        render(
            '<div class="chain-wrap"><p>{status}</p>{svgs}</div>',
            status="Complete: reaches a business metric."
            if chain.complete
            else "Incomplete: link it to the business metric it moves.",
            svgs=join(chain_svg(chain, chains, layout) for layout in CHAIN_LAYOUTS),
        )
        for chain in chains.chains
    )
    labels = {metric.key: metric.label for metric in chains.metrics}
    evidence: dict[str, list[str]] = {}
    for link in chains.links:
        # As the draft says it: "attributed to <cause> by a shadow deployment: <note>".
        to = "" if link.cause == link.effect else f" to {lower(labels.get(link.cause, link.cause))}"
        note = f": {clause(link.note)}" if link.note else ""
        evidence.setdefault(link.effect, []).append(
            sentence(f"attributed{to} by {evidence_words(link.evidence)}{note}")
        )
    rows = join(
        render(
            '<tr data-key="{key}"><td>{label}<br><span class="muted">{shown_key} · {layer}</span></td>'
            "<td>{headline}{context}</td><td>{evidence}</td></tr>",
            label=metric.label,
            key=metric.key,
            shown_key=breakable(metric.key),
            layer=metric.layer,
            # The headline the draft and the API state, word for word.
            headline=metric.headline.text
            + ("" if metric.headline.claimable else f" (not claimed: {metric.headline.reason})"),
            context=render('<br><span class="muted">{c}</span>', c=metric.headline.measured)
            if metric.headline.measured
            else Markup(""),
            # The headline's cell holds its figures alone; the author's words go with the evidence.
            evidence=join(
                (render("{e}", e=e) for e in [*evidence.get(metric.key, []), *_how(metric)]), "<br>"
            ),
        )
        for metric in chains.metrics
    )
    return render(
        '{drawn}<table class="metrics cards"><thead><tr><th>Metric</th><th>Headline</th>'
        "<th>Evidence</th></tr></thead><tbody>{rows}</tbody></table>",
        drawn=drawn,
        rows=rows,
    )


def _how(metric: Metric) -> list[str]:
    """How the number was measured, as the draft's evidence says it: the note of the observation that the
    headline states."""
    stated = next((o for o in metric.history if o.id == metric.headline.source_id), metric.latest)
    return [sentence(f"How it was measured: {clause(stated.note)}")] if stated.note else []


def breakable(key: str) -> Markup:
    """A metric key that may break after its underscores (``accounts_flagged_weekly``) on a narrow page."""
    return join((escape(part) for part in key.split("_")), Markup("_<wbr>"))


def feedback_section(model: ProjectModel) -> Markup:
    if not model.feedback and not model.notes:
        return Markup("")
    quotes = join(
        render(
            '<li>“{quote}”{who}{decision} <span class="refs">{day}</span></li>',
            quote=item.quote,
            who=f" — {who}"
            if (who := ", ".join(p for p in (item.source_name, item.source_team) if p))
            else "",
            decision=f"; decided: {item.decision}" if item.decision else "",
            day=item.occurred_at[:10],
        )
        for item in model.feedback
    )
    notes = join(
        render('<li>{text} <span class="refs">{day}</span></li>', text=_note(note), day=note.occurred_at[:10])
        for note in model.notes
    )
    return render("<h2>Feedback, wins and learnings</h2><ul>{quotes}{notes}</ul>", quotes=quotes, notes=notes)


def _who(item: Feedback) -> str:
    """The giver of a quote as the draft's evidence names them: name and team, whichever were recorded."""
    who = ", ".join(part for part in (item.source_name, item.source_team) if part)
    return f" — {who}" if who else ""


def _note(note: Note) -> str:
    """A learning says which kind it is, as in the draft ("Learned: ...", "Next: ..."); a win is its text."""
    if note.type != "learning.noted":
        return note.text
    return f"{'Learned' if note.kind == 'learned' else 'Next'}: {note.text}"


def nudges_section(found: Nudges) -> Markup:
    """The nudges of ``schema.projections.nudges``: each project's name (its link is the table's, above),
    its reason, and its command."""
    if not found.nudges:
        items = render(
            '<p class="empty">Nothing to capture right now (as of {as_of}).</p>', as_of=found.as_of
        )
    else:
        items = render(
            '<ol class="nudges">{rows}</ol><p class="muted">Run each command where your journal is; '
            "words in capitals are yours to fill in.</p>",
            rows=join(
                render(
                    '<li data-kind="{kind}" data-project="{id}"><strong>{name}</strong>: {reason}'
                    "<br><code>{command}</code></li>",
                    kind=item.kind,
                    id=item.project.id,
                    name=item.project.name,
                    reason=item.reason,
                    command=item.command,
                )
                for item in found.nudges
            ),
        )
    return render(
        '<div id="nudges"><h2>What to capture next</h2><p class="muted">As of {as_of} (UTC).</p>'
        "{items}</div>",
        as_of=found.as_of,
        items=items,
    )
