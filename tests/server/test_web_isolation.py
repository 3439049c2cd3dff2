"""The review pages, route by route: without a live session nothing of a journal is shown, every form
checks its CSRF token, and another user's ids reach nothing (a 404 page like a missing project).

Every web route is in ``WEB_ROUTES``; tests/server/test_isolation.py fails when the app has a route in
neither table."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from server.http.web.sessions import web_sessions
from tests.factories import an_event, new_id
from tests.server.conftest import Api
from tests.support.inprocess import InProcessServer
from tests.support.web import MARKUP, WebClient, assert_only_text, hostile_journal

WEB_ROUTES: list[tuple[str, str]] = [
    ("GET", "/"),
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("POST", "/sign-out"),
    ("GET", "/projects/{project_id}"),
    ("GET", "/review"),
    ("GET", "/review.md"),
]
"""Every route of the review pages: (method, path as routed)."""

PAGES = [(method, path) for method, path in WEB_ROUTES if method == "GET" and path != "/sign-in"]
"""The pages behind a session."""


@pytest.fixture(scope="module")
def victim(shared_server: InProcessServer) -> dict[str, Any]:
    """A user whose journal is full of markup, signed in in a browser of their own."""
    token = shared_server.create_user("web-victim")
    api = Api(shared_server, token, "web-victim")
    project, events = hostile_journal()
    cursor = api.push(events)["cursor"]
    api.http.get("/v1/projects", params={"min_seq": cursor}, headers=api.headers(None))
    browser = WebClient(shared_server)
    browser.sign_in(token)
    return {"api": api, "project": project, "browser": browser}


def _url(path: str, project: str) -> str:
    return path.format(project_id=project) + ("?year=2026" if path.startswith("/review") else "")


def _expired_session(server: InProcessServer, token: str) -> str:
    browser = WebClient(server)
    browser.sign_in(token)
    session = browser.session
    assert session is not None

    async def expire() -> None:
        async with server.state.store.write() as connection:
            await connection.execute(
                update(web_sessions)
                .where(web_sessions.c.id_hash == hashlib.sha256(session.encode()).hexdigest())
                .values(expires_at="2020-01-01T00:00:00.000000Z")
            )

    server.portal.call(expire)
    return session


def bad_sessions(api: Api, victim: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Cookies that must open nothing (the victim's live session is among the browsers, not here)."""
    live = victim["browser"].session
    signed_out = WebClient(api.server)
    signed_out.sign_in(api.token)
    old = str(signed_out.session)
    signed_out.post("/sign-out", {"csrf": signed_out.csrf()})
    return {
        "no cookie": {},
        "empty": {"winledger_session": ""},
        "forged": {"winledger_session": "A" * 43},
        "truncated": {"winledger_session": live[:-1]},
        "the token as cookie": {"winledger_session": victim["api"].token},
        "the hash as cookie": {"winledger_session": hashlib.sha256(live.encode()).hexdigest()},
        "signed out": {"winledger_session": old},
        "expired": {"winledger_session": _expired_session(api.server, api.token)},
        "other name": {"session": live},
    }


def _request(server: InProcessServer, method: str, url: str, cookies: dict[str, str]) -> httpx.Response:
    client = httpx.Client(transport=server.transport, base_url=server.url, cookies=cookies)
    return client.request(method, url)


@pytest.mark.parametrize(("method", "path"), PAGES, ids=[f"{m} {p}" for m, p in PAGES])
def test_every_page_without_a_live_session_redirects_to_sign_in(
    api: Api, victim: dict[str, Any], method: str, path: str
) -> None:
    for name, cookies in bad_sessions(api, victim).items():
        response = _request(api.server, method, _url(path, victim["project"]), cookies)
        assert response.status_code == 303, name
        assert response.headers["location"] == "/sign-in", name
        assert response.content == b"" and "Churn" not in response.text, name


def test_sign_out_with_a_bad_session_does_nothing_to_the_live_one(api: Api, victim: dict[str, Any]) -> None:
    csrf = victim["browser"].csrf()
    for name, cookies in bad_sessions(api, victim).items():
        client = httpx.Client(transport=api.server.transport, base_url=api.server.url, cookies=cookies)
        response = client.post("/sign-out", data={"csrf": csrf}, headers={"Origin": api.server.url})
        assert response.status_code == 303 and response.headers["location"] == "/sign-in", name
    assert victim["browser"].get("/").status_code == 200


@pytest.mark.parametrize("csrf", [None, "", "forged", "victim's"])
def test_every_form_refuses_a_bad_csrf_token(api: Api, victim: dict[str, Any], csrf: str | None) -> None:
    browser = WebClient(api.server)
    browser.sign_in(api.token)
    value = victim["browser"].csrf() if csrf == "victim's" else csrf
    form = {} if value is None else {"csrf": value}
    assert browser.post("/sign-out", form).status_code == 403
    assert browser.post("/sign-in", {**form, "token": api.token}).status_code == 403
    assert browser.get("/").status_code == 200  # still signed in


def _without_volatile(response: httpx.Response, project: str) -> tuple[int, dict[str, str], str]:
    headers = {
        key: value
        for key, value in response.headers.items()
        if key not in ("date", "content-length", "content-security-policy")
    }
    text = response.text.replace(project, "<id>")
    nonce = response.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    return response.status_code, headers, text.replace(nonce, "<nonce>")


def test_another_users_project_is_the_same_404_page_as_a_missing_one(
    api: Api, victim: dict[str, Any]
) -> None:
    browser = WebClient(api.server)
    browser.sign_in(api.token)
    api.push([an_event("project.started", data={"name": "Mine", "kind": "analysis"})])
    theirs, missing = victim["project"], new_id()
    foreign = browser.get(f"/projects/{theirs}")
    absent = browser.get(f"/projects/{missing}")
    assert foreign.status_code == 404 and "There is no project" in foreign.text
    assert _without_volatile(foreign, theirs) == _without_volatile(absent, missing)
    assert "Churn" not in foreign.text
    for malformed in ("not-an-id", theirs.upper(), "%3Csvg%20onload=alert(1)%3E", "%22quotes%27"):
        response = browser.get(f"/projects/{malformed}")
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
        assert_only_text(response.text)


def test_another_users_pages_show_nothing_of_the_victims_journal(api: Api, victim: dict[str, Any]) -> None:
    browser = WebClient(api.server)
    browser.sign_in(api.token)
    for path in ("/", "/review?year=2026", "/review.md?year=2026", f"/projects/{victim['project']}"):
        response = browser.get(path)
        assert "Churn" not in response.text and "alert(1)" not in response.text, path
    # And the victim sees all of it, as text.
    owner: WebClient = victim["browser"]
    for path in ("/", "/review?year=2026", f"/projects/{victim['project']}"):
        response = owner.get(path)
        assert response.status_code == 200 and "Churn" in response.text, path
        parsed = assert_only_text(response.text, scripts=1 if path.startswith("/review") else 0)
        assert "Churn" in "".join(parsed.text)
    assert MARKUP in "".join(assert_only_text(owner.get(f"/projects/{victim['project']}").text).text)
