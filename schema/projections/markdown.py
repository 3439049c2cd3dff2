"""The review draft as Markdown, for the author to edit. Citations are the last 8 characters of event ids.

Every piece of text that comes from the journal goes through ``text()``: it is
kept on one line, and the characters that Markdown would read as markup (an
HTML tag, emphasis, a link, code, strikethrough, an entity, a heading or list
marker at the start) are escaped with a backslash, so that whatever a capture
holds (``<script>``, ``**``, ``[x](y)``) renders as the literal text it is.
"""

from __future__ import annotations

import re

from schema.projections.models import Claim, ReviewDraft
from schema.projections.outline import CATEGORY_TITLES, outline, refs

__all__ = ["CATEGORY_TITLES", "render_markdown", "text"]

# An underscore inside a word (a metric key such as p99_latency_ms) never opens emphasis: left as it is.
_INLINE = re.compile(r"([\\`*\[\]<>~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|&(?=#?[0-9A-Za-z]+;))")
_BLOCK_START = re.compile(r"^(?:([#>+=-])|([0-9]+)([.)]))")


def text(value: str) -> str:
    """``value`` as literal Markdown text on one line."""
    line = _INLINE.sub(r"\\\1", " ".join(value.split()))
    return _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", line)


def render_markdown(draft: ReviewDraft, *, cite: bool = True, short: bool = False) -> str:
    """The draft as Markdown; ``cite=False`` drops the event citations, ``short`` keeps the summary
    and the top accomplishments alone (for a calibration meeting)."""

    def claim(item: Claim) -> str:
        return text(item.text) + (refs(item.event_ids) if cite else "")

    lines: list[str] = []
    for block in outline(draft, short=short, cite=cite):
        match block.kind:
            case "title":
                lines += [f"# {text(block.text)}", ""]
            case "meta":
                lines += [f"_{text(block.text)}_", ""]
            case "heading":
                lines += [f"## {text(block.text)}", ""]
            case "subheading":
                lines += [f"### {text(block.text)}", ""]
            case "emphasis":
                lines += [f"_{text(block.text)}_", ""]
            case "paragraph":
                lines += [" ".join(claim(c) for c in block.claims) if block.claims else text(block.text), ""]
            case "bullets":
                lines += [*(f"- {claim(c)}" for c in block.claims), ""]
            case "numbered":
                lines += [*(f"{i}. {claim(c)}" for i, c in enumerate(block.claims, 1)), ""]
            case "checklist":
                lines += [*(f"- [ ] {claim(c)}" for c in block.claims), ""]
    return "\n".join(lines)
