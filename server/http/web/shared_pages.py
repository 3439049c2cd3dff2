"""The pages a shared link shows (server/http/web/shared.py): the signed-in pages' parts, read-only."""

from __future__ import annotations

import msgspec

from schema.projections import ProjectModel, ReviewDraft, TimelineView
from server.http.web.markup import Markup, join, render
from server.http.web.pages import draft_html, layout, project_body


def shared_review_page(
    draft: ReviewDraft, *, home: str, projects: list[tuple[str, str]], expires_at: str, nonce: str
) -> Markup:
    """The draft a shared link shows: the same draft as the signed-in page but for the author's own
    "Before you submit" checklist (notes to the author, not claims for a reader), its projects' pages
    linked under the same link, and nothing to change the period or reach anything else."""
    links = (
        render(
            '<h2>Project pages</h2><ul class="shared-projects">{items}</ul>',
            items=join(
                render('<li><a href="{home}/projects/{id}">{name}</a></li>', home=home, id=pid, name=name)
                for pid, name in projects
            ),
        )
        if projects
        else Markup("")
    )
    body = render(
        "<h1>Review draft, {start} to {end}</h1>"
        '<p class="muted">A read-only copy shared by its author, as of {as_of}; this link works until '
        "{expires} (UTC) unless the author revokes it sooner. Each line cites the events it comes from "
        '(the last 8 characters of their ids).</p><div class="draft" id="draft">{draft}</div>{links}',
        start=draft.period_from,
        end=draft.period_to,
        as_of=draft.as_of,
        expires=expires_at[:16].replace("T", " "),
        draft=draft_html(msgspec.structs.replace(draft, checklist=[])),
        links=links,
    )
    return layout("Shared review draft", body, nonce=nonce, home=home, shared=True)


def shared_project_page(model: ProjectModel, view: TimelineView, *, home: str, nonce: str) -> Markup:
    body = render(
        '{body}<p><a href="{home}">← Back to the review draft</a></p>',
        body=project_body(model, view),
        home=home,
    )
    return layout(model.timeline.name, body, nonce=nonce, home=home, shared=True)


def shared_error_page(status: int, message: str, *, nonce: str, home: str | None = None) -> Markup:
    back = render('<p><a href="{home}">Back to the review draft</a></p>', home=home) if home else Markup("")
    body = render(
        '<h1>{status}</h1><p class="error" role="alert">{message}</p>{back}',
        status=status,
        message=message,
        back=back,
    )
    # An unknown, expired or revoked link has no draft to go back to: the header links to nothing.
    return layout(f"Error {status}", body, nonce=nonce, home=home or "#", shared=True)
