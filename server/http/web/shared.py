"""The pages of a shared link: ``/s/<token>`` (the review draft it was made for) and
``/s/<token>/projects/<id>`` (the pages of the projects that draft cites), for a reader without an account.

What a link shows is fixed when it is made (a period, optionally some projects) and drawn live at
each view from the current read models, so that an event the author redacted since is gone from it.
Nothing else is reachable with its token: another project is the same 404 page as a missing one, the
token is no bearer token (``/v1`` answers it 401) and no session (the signed-in pages send it to the
sign-in form). An unknown, expired and revoked link are one and the same 404 page. Each page shown
counts one view. docs/security.md says what the link is and is not.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from schema.projections import ReviewDraft, model_as_of, timeline_view
from server.accounts.shares import ShareRow, Shares
from server.exceptions import ServerError
from server.http import readmodels
from server.http.problems import ProblemError
from server.http.state import state_of
from server.http.web import shared_pages
from server.http.web.markup import Markup

GONE = "This link is unknown, has expired or was revoked. Ask the person who shared it for a new one."


class _SharedError(ServerError):
    """A shared link's error page (a private kind of ``PageError``: no session, a way back to the draft)."""

    def __init__(self, status: int, message: str, home: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.home = status, message, home


def shared_headers(nonce: str) -> dict[str, str]:
    """The signed-in pages' headers (``handlers.security_headers``), tighter: no script, no form, and no
    Referer at all, so that a link followed from the page never carries the token elsewhere."""
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'nonce-{nonce}'; img-src data:; form-action 'none'; "
            "frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex, nofollow, noarchive",
    }


SharedPage = Callable[[Request, str, ShareRow], Awaitable[Markup]]


def shared_page(handler: SharedPage) -> Callable[[Request], Awaitable[Response]]:
    """A page of a live share: the link looked up by its token's hash, the page drawn, then one view
    counted; an error as an HTML page, with the headers above on every answer."""

    async def endpoint(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        token = request.path_params["link"]
        home = f"/s/{token}"
        try:
            shares = Shares(state_of(request).store)
            share = await shares.open(token)
            if share is None:
                raise _SharedError(404, GONE)
            body = await handler(request, nonce, share)
            await shares.count_view(share.id)
            response = Response(str(body), 200, media_type="text/html; charset=utf-8")
        except _SharedError as exc:
            page = shared_pages.shared_error_page(exc.status, exc.message, nonce=nonce, home=exc.home)
            response = Response(str(page), exc.status, media_type="text/html; charset=utf-8")
        except ProblemError as exc:
            page = shared_pages.shared_error_page(exc.status, exc.detail, nonce=nonce, home=home)
            response = Response(str(page), exc.status, media_type="text/html; charset=utf-8")
            if "Retry-After" in exc.headers:
                response.headers["Retry-After"] = exc.headers["Retry-After"]
        response.headers.update(shared_headers(nonce))
        return response

    return endpoint


async def _draft(request: Request, share: ShareRow) -> tuple[ReviewDraft, date]:
    """The draft the share was made for, as the signed-in page draws that period today."""
    start, end, as_of = readmodels.period(share.period_from, share.period_to, None)
    draft, _seq, _version = await readmodels.load_draft(
        state_of(request), share.user_id, start, end, as_of, share.project_ids
    )
    return draft, as_of


def _cited(draft: ReviewDraft) -> list[tuple[str, str]]:
    """The projects whose pages the link opens: those the draft tells of (within the share's projects)."""
    return [(section.project_id, section.name) for section in draft.sections]


@shared_page
async def shared_review(request: Request, nonce: str, share: ShareRow) -> Markup:
    draft, _as_of = await _draft(request, share)
    home = f"/s/{request.path_params['link']}"
    return shared_pages.shared_review_page(
        draft, home=home, projects=_cited(draft), expires_at=share.expires_at, nonce=nonce
    )


@shared_page
async def shared_project(request: Request, nonce: str, share: ShareRow) -> Markup:
    project_id = request.path_params["project_id"]
    home = f"/s/{request.path_params['link']}"
    draft, as_of = await _draft(request, share)
    missing = _SharedError(404, "This link shows no such project.", home)
    if project_id not in {pid for pid, _name in _cited(draft)}:
        raise missing  # another project of the author's, another user's, a malformed id: one answer
    model, _seq, _version = await readmodels.load_project(state_of(request), share.user_id, project_id)
    # As of the draft's day, like the draft: nothing dated after the period shows.
    current = None if model is None else model_as_of(model, as_of)
    view = None if model is None else timeline_view(model, as_of)
    if current is None or view is None:
        raise missing
    return shared_pages.shared_project_page(current, view, home=home, nonce=nonce)
