"""The review draft as plain text, ready to paste into a review form: no Markdown syntax."""

from __future__ import annotations

from schema.projections.markdown import render_markdown
from schema.projections.models import ReviewDraft


def render_text(draft: ReviewDraft, *, cite: bool = True, short: bool = False) -> str:
    # Placeholder until the plain-text renderer lands.
    return render_markdown(draft, cite=cite, short=short)
