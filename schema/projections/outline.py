"""The review draft as an outline of blocks, shared by its Markdown, plain-text and HTML forms.

One reading of the draft decides what is shown, in which order and under which heading; each format
only decides how a heading, a paragraph or a list looks.
"""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from schema.projections.models import Claim, ReviewDraft
from schema.projections.words import day_words

BlockKind = Literal[
    "title", "meta", "heading", "subheading", "emphasis", "paragraph", "bullets", "numbered", "checklist"
]

CATEGORY_TITLES = {
    "shipped_with_outcome": "shipped, with a business outcome",
    "shipped": "shipped",
    "experiment": "decision-making work",
    "scope_reduction": "scope reduction",
    "rolled_back": "shipped, then rolled back",
    "technical_milestone": "technical milestone, not shipped",
    "other": "other work",
}


class Block(Struct, frozen=True, kw_only=True):
    kind: BlockKind
    text: str = ""
    claims: list[Claim] = []


def outline(draft: ReviewDraft, *, short: bool = False, cite: bool = True) -> list[Block]:
    period = f"{day_words(draft.period_from)} to {day_words(draft.period_to)}"
    blocks = [Block(kind="title", text=f"Review draft, {period}")]
    cited = (
        " Each sentence cites the events it comes from (the last 8 characters of their ids)." if cite else ""
    )
    blocks.append(
        Block(kind="meta", text=f"As of {day_words(draft.as_of)}: only what was recorded by then.{cited}")
    )
    if draft.summary:
        blocks += [Block(kind="heading", text="Summary"), Block(kind="paragraph", claims=draft.summary)]
    if draft.accomplishments:
        blocks += [
            Block(kind="heading", text="Top accomplishments"),
            Block(kind="numbered", claims=draft.accomplishments),
        ]
    if short:
        return (
            blocks
            if len(blocks) > 2
            else [*blocks, Block(kind="paragraph", text="Nothing was recorded in this period.")]
        )
    if draft.sections:
        blocks.append(Block(kind="heading", text="Projects"))
        for section in draft.sections:
            kind = f"{section.kind}, " if section.kind else ""
            blocks += [
                Block(kind="subheading", text=section.name),
                Block(kind="emphasis", text=f"{kind}{CATEGORY_TITLES[section.category]}"),
            ]
            if section.story:
                blocks.append(Block(kind="paragraph", claims=section.story))
            if section.next:
                blocks += [
                    Block(kind="emphasis", text="What I learned, what comes next"),
                    Block(kind="bullets", claims=section.next),
                ]
            if section.evidence:
                evidence = [Claim(text=item.text, event_ids=item.event_ids) for item in section.evidence]
                blocks += [Block(kind="emphasis", text="Evidence"), Block(kind="bullets", claims=evidence)]
    if draft.ongoing_value:
        blocks += [
            Block(kind="heading", text="Ongoing value"),
            Block(kind="bullets", claims=draft.ongoing_value),
        ]
    if draft.other_work:
        blocks.append(Block(kind="heading", text="Other work"))
        for area in draft.other_work:
            blocks += [Block(kind="subheading", text=area.title), Block(kind="bullets", claims=area.wins)]
    if draft.learnings:
        blocks += [Block(kind="heading", text="Learnings"), Block(kind="bullets", claims=draft.learnings)]
    if draft.checklist:
        items = [Claim(text=item.text, event_ids=item.event_ids) for item in draft.checklist]
        blocks += [Block(kind="heading", text="Before you submit"), Block(kind="checklist", claims=items)]
    if len(blocks) == 2:
        blocks.append(Block(kind="paragraph", text="Nothing was recorded in this period."))
    return blocks


def refs(event_ids: list[str]) -> str:
    """`` [ab12cd34, ...]``: the last 8 characters of each id."""
    return " [" + ", ".join(event_id[-8:] for event_id in event_ids) + "]" if event_ids else ""
