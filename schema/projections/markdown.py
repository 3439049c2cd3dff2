"""The review draft as Markdown, for the author to edit. Citations are the last 8 characters of event ids.

Every piece of text that comes from the journal goes through ``text()``: it is
kept on one line, and the characters that Markdown would read as markup (an
HTML tag, emphasis, a link, code, strikethrough, an entity, a heading or list
marker at the start) are escaped with a backslash, so that whatever a capture
holds (``<script>``, ``**``, ``[x](y)``) renders as the literal text it is.
"""

from __future__ import annotations

import re

from schema.projections.models import Claim, ProjectSection, ReviewDraft

# An underscore inside a word (a metric key such as p99_latency_ms) never opens emphasis: left as it is.
_INLINE = re.compile(r"([\\`*\[\]<>~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|&(?=#?[0-9A-Za-z]+;))")
_BLOCK_START = re.compile(r"^(?:([#>+=-])|([0-9]+)([.)]))")


def text(value: str) -> str:
    """``value`` as literal Markdown text on one line."""
    line = _INLINE.sub(r"\\\1", " ".join(value.split()))
    return _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line)


CATEGORY_TITLES = {
    "shipped_with_outcome": "shipped, with a business outcome",
    "shipped": "shipped",
    "experiment": "decision-making work",
    "scope_reduction": "scope reduction",
    "technical_milestone": "technical milestone, not shipped",
    "other": "other work",
}


def _refs(event_ids: list[str]) -> str:
    return " [" + ", ".join(event_id[-8:] for event_id in event_ids) + "]" if event_ids else ""


def _bullets(claims: list[Claim]) -> list[str]:
    return [f"- {text(claim.text)}{_refs(claim.event_ids)}" for claim in claims]


def _section(section: ProjectSection) -> list[str]:
    kind = f"{section.kind}, " if section.kind else ""
    lines = [f"### {text(section.name)}", "", f"_{kind}{CATEGORY_TITLES[section.category]}_", ""]
    for title, claims in (
        ("What I did", section.did),
        ("Impact", section.impact),
        ("What I learned, what comes next", section.next),
    ):
        if claims:
            lines += [f"**{title}**", "", *_bullets(claims), ""]
    if section.evidence:
        lines += ["**Evidence**", ""]
        for item in section.evidence:
            how = f", measured by {text(item.how_measured)}" if item.how_measured else ""
            lines.append(f"- {text(item.text)}{how}{_refs(item.event_ids)}")
        lines.append("")
    return lines


def render_markdown(draft: ReviewDraft, *, cite: bool = True, short: bool = False) -> str:
    """The draft as Markdown; ``cite=False`` drops the event citations, ``short`` keeps the summary
    and the top accomplishments alone (for a calibration meeting)."""
    lines = [
        f"# Review draft, {draft.period_from} to {draft.period_to}",
        "",
        f"_As of {draft.as_of}. Each line cites the events it comes from "
        "(the last 8 characters of their ids)._",
        "",
    ]
    if draft.accomplishments:
        lines += ["## Top accomplishments", ""]
        lines += [f"{i}. {text(c.text)}{_refs(c.event_ids)}" for i, c in enumerate(draft.accomplishments, 1)]
        lines.append("")
    if draft.sections:
        lines += ["## Projects", ""]
        for section in draft.sections:
            lines += _section(section)
    for title, claims in (
        ("Ongoing value", draft.ongoing_value),
        ("Wins without a project", draft.unassigned_wins),
        ("Learnings", draft.learnings),
    ):
        if claims:
            lines += [f"## {title}", "", *_bullets(claims), ""]
    if draft.checklist:
        lines += ["## Before you submit", ""]
        lines += [f"- [ ] {text(item.text)}{_refs(item.event_ids)}" for item in draft.checklist]
        lines.append("")
    if len(lines) == 4:
        lines += ["Nothing was recorded in this period.", ""]
    return "\n".join(lines)
