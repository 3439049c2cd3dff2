"""The review pages over HTTP: sessions in cookies, CSRF and Origin checks, security headers.

Order of checks: a POST first proves it comes from this site (``Origin``,
else ``Sec-Fetch-Site``), then its body is read (form-encoded, small), then
its CSRF token is compared with the session's (or, for the sign-in form, with
the short-lived cookie the form was served with). A page without a live
session redirects to the sign-in form. A project that is not the user's
(missing, malformed, another user's) is the same 404 page.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from schema.projections import model_as_of, render_markdown, render_text, timeline_view
from schema.projections.nudges import Nudges
from server.exceptions import ServerError
from server.http import readmodels
from server.http.problems import ProblemError, read_body
from server.http.state import state_of
from server.http.web import pages
from server.http.web.markup import Markup
from server.http.web.sessions import SESSION_LIFETIME, Session, Sessions

if TYPE_CHECKING:
    pass

SESSION_COOKIE = "winledger_session"
SIGN_IN_COOKIE = "winledger_sign_in"
"""The sign-in form's CSRF token (double submit): there is no session yet to hold it."""
SIGN_IN_TTL_S = 3600
MAX_FORM_BYTES = 8 * 1024
FORM_TIMEOUT_S = 10.0
YEARS_SHOWN = 4

Page = Callable[[Request, str], Awaitable[Response]]


class PageError(ServerError):
    def __init__(self, status: int, message: str, csrf: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.csrf = status, message, csrf


def _sessions(request: Request) -> Sessions:
    return Sessions(state_of(request).store)


def security_headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        # `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null` with a form's
        # POST (the Fetch standard), and the Origin check below could not tell this site from another.
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def page(handler: Page) -> Callable[[Request], Awaitable[Response]]:
    """A page handler with a fresh CSP nonce, HTML error pages and the security headers."""

    async def endpoint(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        try:
            response = await handler(request, nonce)
        except PageError as exc:
            response = _html(
                pages.error_page(exc.status, exc.message, nonce=nonce, csrf=exc.csrf), exc.status
            )
        except ProblemError as exc:
            # A 429 or a 503 from the shared code: the same status and Retry-After, as a page.
            response = _html(pages.error_page(exc.status, exc.detail, nonce=nonce), exc.status)
            if "Retry-After" in exc.headers:
                response.headers["Retry-After"] = exc.headers["Retry-After"]
        response.headers.update(security_headers(nonce))
        return response

    return endpoint


def _html(body: Markup, status: int = 200) -> Response:
    return Response(str(body), status, media_type="text/html; charset=utf-8")


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _check_same_site(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is not None:
        same = origin == _origin(request)
    else:
        # Browsers send Origin with every POST; Sec-Fetch-Site is the fallback of an older one.
        same = request.headers.get("sec-fetch-site") == "same-origin"
    if not same:
        raise PageError(
            403, f"This form was sent from another site ({origin or 'no Origin'}); nothing was done"
        )


async def _form(request: Request) -> dict[str, str]:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise PageError(415, f"A form is sent as application/x-www-form-urlencoded, not {media!r}")
    try:
        body = await read_body(request, MAX_FORM_BYTES, FORM_TIMEOUT_S)
        return dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=10))
    except ProblemError as exc:
        raise PageError(exc.status, exc.detail) from None
    except ValueError:
        raise PageError(400, "The form could not be read") from None


def _same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def _session(request: Request) -> Session | None:
    session = await _sessions(request).find(request.cookies.get(SESSION_COOKIE, ""))
    if session is not None:
        state_of(request).limiter.check(session.user_id)
    return session


class _SignInRequired(ServerError):
    pass


def signed_in(handler: Callable[[Request, str, Session], Awaitable[Response]]) -> Page:
    """Run ``handler`` with the request's live session; without one, redirect to the sign-in form."""

    async def guarded(request: Request, nonce: str) -> Response:
        session = await _session(request)
        if session is None:
            response = RedirectResponse("/sign-in", 303)
            if SESSION_COOKIE in request.cookies:
                _forget(response, request)
            return response
        return await handler(request, nonce, session)

    return guarded


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int, path: str) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=path,
        httponly=True,
        samesite="lax" if name == SESSION_COOKIE else "strict",
        secure=request.url.scheme == "https",
    )


def _forget(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


# Sign in and out -------------------------------------------------------------------------------


async def sign_in_form(request: Request, nonce: str) -> Response:
    if await _session(request) is not None:
        return RedirectResponse("/", 303)
    return _sign_in(request, nonce)


def _sign_in(request: Request, nonce: str, error: str | None = None, status: int = 200) -> Response:
    token = request.cookies.get(SIGN_IN_COOKIE, "")
    if not (20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum()):
        token = secrets.token_urlsafe(32)
    response = _html(pages.sign_in_page(nonce=nonce, csrf=token, error=error), status)
    _cookie(response, request, SIGN_IN_COOKIE, token, SIGN_IN_TTL_S, "/sign-in")
    return response


async def sign_in(request: Request, nonce: str) -> Response:
    _check_same_site(request)
    form = await _form(request)
    expected = request.cookies.get(SIGN_IN_COOKIE)
    if expected is None or not _same_secret(form.get("csrf"), expected):
        return _sign_in(request, nonce, "The sign-in form expired; paste the token again.", 403)
    token = form.get("token", "").strip()
    state = state_of(request)
    user_id = await state.accounts.authenticate(token)
    if user_id is None:
        return _sign_in(request, nonce, "That token is unknown, malformed, revoked or expired.", 401)
    state.limiter.check(user_id)
    sessions = _sessions(request)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await sessions.close(old)  # never keep a session id chosen before sign-in (session fixation)
    opened = await sessions.open(user_id, token)
    response = RedirectResponse("/", 303)
    _cookie(response, request, SESSION_COOKIE, opened.session_id, int(SESSION_LIFETIME.total_seconds()), "/")
    response.delete_cookie(SIGN_IN_COOKIE, path="/sign-in")
    return response


async def sign_out(request: Request, nonce: str) -> Response:
    _check_same_site(request)
    form = await _form(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    session = await _sessions(request).find(cookie)
    if session is not None:
        if not _same_secret(form.get("csrf"), session.csrf_token):
            raise PageError(403, "The form's CSRF token does not match your session; nothing was done")
        await _sessions(request).close(cookie)
    response = RedirectResponse("/sign-in", 303)
    _forget(response, request)
    return response


# Pages -----------------------------------------------------------------------------------------


@signed_in
async def projects(request: Request, nonce: str, session: Session) -> Response:
    summaries, _seq, _version = await readmodels.load_projects(state_of(request), session.user_id)
    found = await _nudges(request, session.user_id)
    return _html(pages.projects_page(summaries, nonce=nonce, csrf=session.csrf_token, nudges=found))


async def _nudges(request: Request, user_id: int) -> Nudges:
    """What to capture next as of today (UTC)."""
    return await readmodels.load_nudges(state_of(request), user_id, _today())


@signed_in
async def project(request: Request, nonce: str, session: Session) -> Response:
    project_id = request.path_params["project_id"]
    model, _seq, _version = await readmodels.load_project(state_of(request), session.user_id, project_id)
    if model is None:
        raise PageError(404, f"There is no project {project_id!r} in your journal", session.csrf_token)
    # As of today, like GET /v1/projects/{id}/timeline: nothing dated later shows.
    today = _today()
    current, view = model_as_of(model, today), timeline_view(model, today)
    if current is None or view is None:
        raise PageError(
            404,
            f"Nothing of this project was recorded by the end of today ({today.isoformat()}, UTC): "
            "its first event is dated later",
            session.csrf_token,
        )
    return _html(pages.project_page(current, view, nonce=nonce, csrf=session.csrf_token))


@signed_in
async def review(request: Request, nonce: str, session: Session) -> Response:
    start, end, as_of = _period(request, session)
    draft, _seq, _version = await readmodels.load_draft(state_of(request), session.user_id, start, end, as_of)
    this_year = _today().year
    years = sorted({*range(this_year - YEARS_SHOWN + 1, this_year + 1), start.year}, reverse=True)
    body = pages.review_page(
        draft,
        render_markdown(draft),
        text=render_text(draft),
        start=start,
        end=end,
        years=years,
        nonce=nonce,
        csrf=session.csrf_token,
    )
    return _html(body)


@signed_in
async def review_markdown(request: Request, nonce: str, session: Session) -> Response:
    start, end, as_of = _period(request, session)
    draft, _seq, _version = await readmodels.load_draft(state_of(request), session.user_id, start, end, as_of)
    filename = f"review-draft-{start.isoformat()}-to-{end.isoformat()}.md"
    return Response(
        render_markdown(draft),
        media_type="text/markdown; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _today() -> date:
    return readmodels.today()


def _period(request: Request, session: Session) -> tuple[date, date, date]:
    """``year=YYYY``, or ``from`` and ``to`` (YYYY-MM-DD); the current year when none is given.

    Drawn like ``GET /v1/review-draft`` with no ``as_of``: as of the period's end or today, whichever
    is earlier, so that the year in progress is drawn to today and never to a day still to come.
    """
    start, end = _asked(request, session)
    try:
        return readmodels.period(start, end, None)
    except ProblemError as exc:
        raise PageError(400, exc.detail.replace("`", ""), session.csrf_token) from None


def _asked(request: Request, session: Session) -> tuple[date, date]:
    params = request.query_params
    year = params.get("year")
    if year is not None and ("from" in params or "to" in params):
        raise PageError(
            400,
            "Give either year=YYYY or from and to (YYYY-MM-DD), not both: the page would have to ignore one",
            session.csrf_token,
        )
    if year is not None:
        if not (len(year) == 4 and year.isascii() and year.isdigit() and 1970 <= int(year) <= 2099):
            raise PageError(
                400, f"The year must be written YYYY, from 1970 to 2099, got {year!r}", session.csrf_token
            )
        return date(int(year), 1, 1), date(int(year), 12, 31)
    if "from" not in params and "to" not in params:
        this_year = _today().year
        return date(this_year, 1, 1), date(this_year, 12, 31)
    try:
        start = readmodels.date_param(request, "from", required=True)
        end = readmodels.date_param(request, "to", required=True)
    except ProblemError as exc:
        raise PageError(400, exc.detail.replace("`", ""), session.csrf_token) from None
    assert start is not None and end is not None
    if start > end:
        raise PageError(400, f"The period starts ({start}) after it ends ({end})", session.csrf_token)
    return start, end
