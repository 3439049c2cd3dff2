"""Signing in to the review pages: the token for a session cookie, the session kept as a hash, CSRF and
Origin checks on every form, sign-out, expiry, and the headers every page carries."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from server.http.web.sessions import web_sessions
from tests.factories import Device, new_id
from tests.server.conftest import Api
from tests.support.inprocess import InProcessServer
from tests.support.web import WEB_HOST, WebClient, csrf_of, hostile_journal

SESSION = "winledger_session"


def _rows(server: InProcessServer) -> list[Any]:
    async def read() -> list[Any]:
        async with server.state.engine.connect() as connection:
            return list((await connection.execute(select(web_sessions))).mappings().all())

    return server.portal.call(read)


def _expire_sessions(server: InProcessServer) -> None:
    async def expire() -> None:
        async with server.state.store.write() as connection:
            await connection.execute(update(web_sessions).values(expires_at="2020-01-01T00:00:00.000000Z"))

    server.portal.call(expire)


def _set_cookie(response: httpx.Response, name: str) -> str:
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


def test_a_token_becomes_an_http_only_same_site_session_that_expires(api: Api) -> None:
    browser = WebClient(api.server)
    assert browser.get("/").headers["location"] == "/sign-in"
    response = browser.sign_in(api.token)
    cookie = _set_cookie(response, SESSION).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert (
        "max-age=43200" in cookie and "secure" not in cookie
    )  # plain http: a Secure cookie would not return
    assert browser.get("/").status_code == 200
    # The database holds the session id's SHA-256, never the id nor the token.
    session_id = browser.session
    assert session_id is not None
    (row,) = [
        row for row in _rows(api.server) if row["id_hash"] == hashlib.sha256(session_id.encode()).hexdigest()
    ]
    assert session_id not in str(dict(row)) and api.token.split("_")[2] not in str(dict(row))
    assert row["created_at"] < row["expires_at"]


def test_the_cookie_is_secure_over_https(server: InProcessServer) -> None:
    token = server.create_user("ada")
    browser = WebClient(server)
    browser.http = httpx.Client(transport=server.transport, base_url="https://winledger.test")
    csrf = csrf_of(browser.get("/sign-in"))
    response = browser.post("/sign-in", {"csrf": csrf, "token": token}, origin="https://winledger.test")
    assert response.status_code == 303
    assert "; secure" in _set_cookie(response, SESSION).lower()


def test_a_wrong_token_is_refused_without_a_session(api: Api) -> None:
    browser = WebClient(api.server)
    last = "1" if api.token.endswith("0") else "0"  # a token one character off, never the token itself
    for token in ("", "not-a-token", api.token[:-1] + last, f"<script>{api.token}</script>"):
        response = browser.post("/sign-in", {"csrf": browser.sign_in_csrf(), "token": token})
        assert response.status_code == 401 and "unknown, malformed, revoked or expired" in response.text
        assert browser.session is None
        assert token not in response.text or token == ""  # the page does not echo what was pasted


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"origin": "http://winledger.test.evil.example"},
        {"origin": None},  # neither Origin nor Sec-Fetch-Site
        {"origin": None, "Sec-Fetch-Site": "cross-site"},
    ],
    ids=["other-site", "null", "lookalike", "none", "cross-site-fetch"],
)
def test_a_form_from_another_site_is_refused(api: Api, headers: dict[str, Any]) -> None:
    browser = WebClient(api.server)
    csrf = browser.sign_in_csrf()
    response = browser.post("/sign-in", {"csrf": csrf, "token": api.token}, **headers)
    assert response.status_code == 403 and browser.session is None
    assert "another site" in response.text
    # Sign-out too: the session survives a cross-site sign-out.
    browser.sign_in(api.token)
    response = browser.post("/sign-out", {"csrf": browser.csrf()}, **headers)
    assert response.status_code == 403 and browser.get("/").status_code == 200


def test_same_site_fetch_metadata_stands_in_for_a_missing_origin(api: Api) -> None:
    browser = WebClient(api.server)
    response = browser.post(
        "/sign-in",
        {"csrf": browser.sign_in_csrf(), "token": api.token},
        origin=None,
        **{"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303


def test_the_sign_in_form_needs_its_own_csrf_token(api: Api) -> None:
    browser = WebClient(api.server)
    csrf = browser.sign_in_csrf()
    for form in (
        {"token": api.token},
        {"csrf": "", "token": api.token},
        {"csrf": csrf[:-1] + "x", "token": api.token},
    ):
        response = browser.post("/sign-in", form)
        assert response.status_code == 403 and browser.session is None
    # A token from a form served to another browser (login CSRF) is not enough either: no cookie, no sign-in.
    stranger = WebClient(api.server)
    response = stranger.post("/sign-in", {"csrf": csrf, "token": api.token})
    assert response.status_code == 403 and stranger.session is None


def test_sign_out_needs_the_sessions_csrf_token_and_ends_the_session(api: Api) -> None:
    browser = WebClient(api.server)
    browser.sign_in(api.token)
    session = browser.session
    sign_in_csrf = WebClient(api.server).sign_in_csrf()
    for form in ({}, {"csrf": ""}, {"csrf": "forged"}, {"csrf": sign_in_csrf}):
        response = browser.post("/sign-out", form)
        assert response.status_code == 403, form
        assert "CSRF" in response.text and browser.get("/").status_code == 200
    # Another session's CSRF token does not sign this one out.
    other = WebClient(api.server)
    other.sign_in(api.token)
    assert browser.post("/sign-out", {"csrf": other.csrf()}).status_code == 403

    response = browser.post("/sign-out", {"csrf": browser.csrf()})
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    assert browser.session is None
    assert hashlib.sha256(str(session).encode()).hexdigest() not in [r["id_hash"] for r in _rows(api.server)]
    # The old cookie, replayed, opens nothing.
    replay = WebClient(api.server)
    replay.http.cookies.set(SESSION, str(session), domain=WEB_HOST)
    assert replay.get("/").headers["location"] == "/sign-in"
    assert other.get("/").status_code == 200  # the other session lives on


def test_an_expired_session_or_a_revoked_token_ends_the_session(server: InProcessServer) -> None:
    token = server.create_user("ada")
    browser = WebClient(server)
    browser.sign_in(token)
    _expire_sessions(server)
    response = browser.get("/")
    assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    assert browser.session is None  # the dead cookie is cleared

    browser.sign_in(token)
    server.revoke_token(token.split("_")[1])
    assert browser.get("/").headers["location"] == "/sign-in"


def test_signing_in_replaces_a_session_id_set_before(api: Api) -> None:
    browser = WebClient(api.server)
    browser.http.cookies.set(SESSION, "chosen-by-an-attacker", domain=WEB_HOST)
    browser.sign_in(api.token)
    assert browser.session not in (None, "chosen-by-an-attacker")


def test_every_page_carries_the_security_headers(api: Api) -> None:
    browser = WebClient(api.server)
    pages = [browser.get("/sign-in"), browser.post("/sign-in", {"csrf": "x", "token": "y"})]
    browser.sign_in(api.token)
    pages += [browser.get("/"), browser.get("/review"), browser.get("/review.md"), browser.get("/projects/x")]
    for response in pages:
        csp = response.headers["content-security-policy"]
        assert (
            "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
        )
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    nonce = pages[3].headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in pages[3].text  # the copy button's script, allowed by its nonce


def test_the_review_period_and_its_markdown_download(api: Api) -> None:
    _project, events = hostile_journal(Device())
    cursor = api.push(events)["cursor"]
    api.http.get("/v1/projects", params={"min_seq": cursor}, headers=api.headers(None))
    browser = WebClient(api.server)
    browser.sign_in(api.token)

    # Like the API with no as_of: the year is drawn as of its end or today, whichever is earlier.
    end = min(date(2026, 12, 31), datetime.now(UTC).date()).isoformat()
    page = browser.get("/review", year="2026")
    assert page.status_code == 200 and f"Review draft, 2026-01-01 to {end}" in page.text
    assert f"As of {end}." in page.text
    assert f'href="/review.md?from=2026-01-01&amp;to={end}"' in page.text
    before = browser.get("/review", **{"from": "2025-03-01", "to": "2025-12-31"})
    assert "Review draft, 2025-03-01 to 2025-12-31" in before.text
    assert "Top accomplishments" in page.text and "Top accomplishments" not in before.text
    assert "Nothing was recorded in this period." in before.text

    download = browser.get("/review.md", **{"from": "2026-01-01", "to": "2026-12-31"})
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/markdown; charset=utf-8"
    assert download.headers["content-disposition"] == (
        f'attachment; filename="review-draft-2026-01-01-to-{end}.md"'
    )
    # The same Markdown as the API's, from the same code.
    api_markdown = api.http.get(
        "/v1/review-draft",
        params={"from": "2026-01-01", "to": "2026-12-31", "format": "markdown"},
        headers=api.headers(None),
    )
    assert download.text == api_markdown.text
    assert download.text in csrf_free_text(page)
    # "Copy as text" copies the API's plain text, held in the page as text (escaped, never markup).
    assert '<button type="button" id="copy-text">Copy as text</button>' in page.text
    api_text = api.http.get(
        "/v1/review-draft", params={"from": "2026-01-01", "to": "2026-12-31", "format": "text"},
        headers=api.headers(None),
    ).text  # fmt: skip
    assert api_text != api_markdown.text and api_text in csrf_free_text(page)
    assert '<textarea id="text" readonly spellcheck="false" hidden' in page.text


def test_the_review_page_never_draws_a_day_to_come(api: Api) -> None:
    browser = WebClient(api.server)
    browser.sign_in(api.token)
    today = datetime.now(UTC).date()
    page = browser.get("/review")  # this year
    assert page.status_code == 200
    assert f"Review draft, {today.year}-01-01 to {today.isoformat()}" in page.text
    assert f"As of {today.isoformat()}." in page.text
    assert 'aria-current="page">' + str(today.year) in page.text
    later = (today + timedelta(days=90)).isoformat()
    page = browser.get("/review", **{"from": "2026-01-01", "to": later})
    assert f"Review draft, 2026-01-01 to {today.isoformat()}" in page.text
    for path in ("/review", "/review.md"):
        future = browser.get(path, **{"from": (today + timedelta(days=1)).isoformat(), "to": later})
        assert future.status_code == 400 and "after today" in future.text, future.text


def test_the_project_pages_show_the_stage_in_words_and_the_project_as_of_today(api: Api) -> None:
    device = Device()
    today = datetime.now(UTC).date()
    coming = f"{(today + timedelta(days=3)).isoformat()}T09:00:00Z"
    shipped, planned = new_id(), new_id()

    def event(type_: str, project: str, at: str, **data: Any) -> dict[str, Any]:
        return device.event(type_, project_id=project, occurred_at=at, data=data)

    cursor = api.push(
        [
            event("project.started", shipped, "2026-01-05T09:00:00Z", name="Churn model", kind="model"),
            event("milestone.reached", shipped, "2026-03-01T09:00:00Z", milestone="deployed"),
            event("milestone.reached", shipped, "2026-04-01T09:00:00Z", milestone="rolled_back"),
            # Dated after today (a mistyped date, a clock ahead): not on a page drawn as of today.
            event("win.captured", shipped, coming, text="A win still to come", source="text"),
            event("project.started", planned, coming, name="Pricing model", kind="model"),
        ]
    )["cursor"]
    api.http.get("/v1/projects", params={"min_seq": cursor}, headers=api.headers(None))
    browser = WebClient(api.server)
    browser.sign_in(api.token)

    listing = browser.get("/")
    row = csrf_free_text(listing).split("Churn model", 1)[1]
    assert row.startswith("model" + "rolled back"), row  # kind, then the stage in stage_label's words
    page = browser.get(f"/projects/{shipped}")
    assert page.status_code == 200 and "stage: rolled back" in page.text
    assert "A win still to come" not in page.text
    nothing = browser.get(f"/projects/{planned}")
    assert (
        nothing.status_code == 404
        and "Nothing of this project was recorded by the end of today" in nothing.text
    )


def csrf_free_text(page: httpx.Response) -> str:
    from tests.support.web import Markup

    return "".join(Markup(page.text).text)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"year": "20x6"}, "got &#x27;20x6&#x27;"),
        ({"year": "<svg onload=alert(1)>"}, "got &#x27;&lt;svg onload=alert(1)&gt;&#x27;"),
        ({"from": "2026-01-01"}, "to is required"),
        ({"from": "2026-02-30", "to": "2026-03-01"}, "from must be a date written YYYY-MM-DD"),
        ({"from": "2026-03-01", "to": "2026-02-01"}, "starts (2026-03-01) after it ends (2026-02-01)"),
        ({"year": "2099"}, "after today"),
        ({"year": "2026", "from": "2025-01-01", "to": "2025-12-31"}, "Give either year=YYYY or from and to"),
    ],
)
def test_a_bad_period_is_a_400_page_that_quotes_it(api: Api, params: dict[str, str], message: str) -> None:
    browser = WebClient(api.server)
    browser.sign_in(api.token)
    for path in ("/review", "/review.md"):
        response = browser.get(path, **params)
        assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")
        assert message in response.text
