"""The review draft as plain text, ready to paste into a review form: no Markdown syntax.

Headings are lines of their own, paragraphs are wrapped by the form that receives them, lists keep a
plain dash or number, and the checklist becomes a list of questions to answer before pasting.
"""

from __future__ import annotations

from schema.projections.models import Claim, ReviewDraft
from schema.projections.outline import outline, refs


def _one_line(value: str) -> str:
    return " ".join(value.split())


def render_text(draft: ReviewDraft, *, cite: bool = True, short: bool = False) -> str:
    """The draft as plain text; ``cite`` and ``short`` as for ``render_markdown``."""

    def claim(item: Claim) -> str:
        return _one_line(item.text) + (refs(item.event_ids) if cite else "")

    lines: list[str] = []
    for block in outline(draft, short=short, cite=cite):
        match block.kind:
            case "title":
                title = _one_line(block.text)
                lines += [title, "=" * len(title), ""]
            case "meta" | "emphasis":
                lines += [_one_line(block.text), ""]
            case "heading":
                heading = _one_line(block.text)
                lines += [heading.upper(), ""]
            case "subheading":
                lines += [_one_line(block.text), ""]
            case "paragraph":
                lines += [
                    " ".join(claim(c) for c in block.claims) if block.claims else _one_line(block.text),
                    "",
                ]
            case "bullets" | "checklist":
                lines += [*(f"- {claim(c)}" for c in block.claims), ""]
            case "numbered":
                lines += [*(f"{i}. {claim(c)}" for i, c in enumerate(block.claims, 1)), ""]
    return "\n".join(lines)
