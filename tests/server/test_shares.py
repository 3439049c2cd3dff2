"""Shared review drafts: ``/v1/shares`` (create, list, revoke) and the ``/s/<token>`` pages, in-process.

A link shows the draft of the period (and projects) it was made for, drawn live, and nothing else:
another project, another period, another user's data, the API and the signed-in pages all refuse its
token. Its token is stored as a hash; it expires, it can be revoked, each view is counted, and an
unknown, expired and revoked link are one and the same page.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from server.accounts.auth import RedactTokens
from server.database import tables as db
from tests.factories import Device, new_id
from tests.server.conftest import Api, assert_problem, decode
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.backends  # the shares table and its queries, on SQLite and on PostgreSQL

TODAY = datetime.now(UTC).date()
START, END = TODAY - timedelta(days=200), TODAY
PERIOD = {"from": START.isoformat(), "to": END.isoformat()}
FIGURE = "Saved rate"  # the business metric's label: the figure a manager reads
BUSINESS_VALUE = 34.0
FORM = "application/x-www-form-urlencoded"


def _at(days_ago: int) -> str:
    return f"{(TODAY - timedelta(days=days_ago)).isoformat()}T09:00:00Z"


class Journal:
    """A user with two projects active in the period, one only before it, and a win without a project."""

    def __init__(self, api: Api) -> None:
        self.api, self.device = api, Device()
        self.churn, self.pricing, self.old = new_id(), new_id(), new_id()
        d = self.device
        self.win = d.event(
            "win.captured",
            project_id=self.churn,
            occurred_at=_at(20),
            data={"text": "Customer success works the churn list every Monday", "source": "text"},
        )
        events = [
            d.event("project.started", project_id=self.churn, occurred_at=_at(100),
                    data={"name": "Churn early warning", "kind": "model"}),
            d.event("milestone.reached", project_id=self.churn, occurred_at=_at(60),
                    data={"milestone": "deployed"}),
            d.event("metric.observed", project_id=self.churn, occurred_at=_at(30),
                    data={"key": "saved_rate", "label": FIGURE, "layer": "business", "value": BUSINESS_VALUE,
                          "unit": "%", "baseline": 25.0}),
            self.win,
            d.event("project.started", project_id=self.pricing, occurred_at=_at(90),
                    data={"name": "Pricing elasticity", "kind": "analysis"}),
            d.event("milestone.reached", project_id=self.pricing, occurred_at=_at(50),
                    data={"milestone": "deployed"}),
            d.event("project.started", project_id=self.old, occurred_at=_at(500),
                    data={"name": "Forecast of last era", "kind": "model"}),
            d.event("milestone.reached", project_id=self.old, occurred_at=_at(480),
                    data={"milestone": "deployed"}),
            d.event("win.captured", occurred_at=_at(10),
                    data={"text": "Mentored two analysts on experiment design", "source": "text"}),
        ]  # fmt: skip
        self.push(events)

    def push(self, events: list[dict[str, Any]]) -> None:
        cursor = self.api.push(events)["cursor"]
        # Read your writes: the read models reflect every event before a page is drawn.
        answer = self.api.http.get("/v1/projects", params={"min_seq": cursor}, headers=self.api.headers(None))
        assert answer.status_code == 200, answer.text


@pytest.fixture
def journal(api: Api) -> Journal:
    return Journal(api)


def create(api: Api, **body: Any) -> httpx.Response:
    return api.post("/v1/shares", {**PERIOD, **body})


def made(api: Api, **body: Any) -> tuple[str, dict[str, Any]]:
    """A new share: its link's path and the share."""
    response = create(api, **body)
    assert response.status_code == 200, response.text
    answer = decode(response)
    assert re.fullmatch(r"/s/[A-Za-z0-9_-]{43}", answer["path"]), answer
    return answer["path"], answer["share"]


def listed(api: Api) -> list[dict[str, Any]]:
    response = api.http.get("/v1/shares", headers=api.headers(None))
    assert response.status_code == 200, response.text
    return decode(response)["shares"]  # type: ignore[no-any-return]


def page(server: InProcessServer, path: str, **headers: str) -> httpx.Response:
    return server.http.get(path, headers=headers)


def same_page(first: httpx.Response, second: httpx.Response) -> bool:
    """Two answers a reader cannot tell apart: status and body (but for the page's fresh CSP nonce)."""

    def plain(response: httpx.Response) -> str:
        return re.sub(r'nonce="[^"]+"', "", response.text)

    return first.status_code == second.status_code and plain(first) == plain(second)


def test_a_link_is_made_once_listed_without_its_token_and_stored_as_a_hash(
    journal: Journal, shared_server: InProcessServer
) -> None:
    path, share = made(journal.api, expires_in=3600)
    token = path.removeprefix("/s/")
    assert re.fullmatch(r"[0-9a-f]{16}", share["id"])
    assert share["from"] == START.isoformat() and share["to"] == END.isoformat()
    assert share["state"] == "active" and share["views"] == 0 and share["revoked_at"] is None
    assert share["project_ids"] == []
    expires = datetime.fromisoformat(share["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)

    response = journal.api.http.get("/v1/shares", headers=journal.api.headers(None))
    assert token not in response.text
    assert [s["id"] for s in decode(response)["shares"]] == [share["id"]]

    async def row() -> tuple[Any, ...]:
        async with shared_server.state.engine.connect() as connection:
            found = (await connection.execute(select(db.shares).where(db.shares.c.id == share["id"]))).one()
            return tuple(found)

    stored = shared_server.portal.call(row)
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert not any(isinstance(value, str) and token in value for value in stored)


def test_the_link_shows_the_draft_of_its_period_and_counts_each_view(
    journal: Journal, shared_server: InProcessServer
) -> None:
    path, _share = made(journal.api)
    first = page(shared_server, path)
    assert first.status_code == 200, first.text
    text = first.text
    assert f"Review draft, {START.isoformat()} to {END.isoformat()}" in text
    assert "Churn early warning" in text and "Pricing elasticity" in text
    assert "34%" in text  # the figure the author recorded
    assert "Mentored two analysts" in text  # a win without a project: the whole journal was shared
    # Active only before the period: no section of its own, no link (it is still in production during
    # the period, which the draft's "ongoing value" says, as the signed-in draft of this period does).
    assert "<h3>Forecast of last era</h3>" not in text and journal.old not in text
    assert f'href="{path}/projects/{journal.churn}"' in text
    # Nothing of the signed-in pages: no navigation, no form, no script, no way to change the period.
    for absent in ('href="/review', 'href="/"', "<form", "<script", "/sign-out", "csrf"):
        assert absent not in text, absent
    # The author's own checklist (notes before submitting) stays with the author.
    period = {"from": START.isoformat(), "to": END.isoformat()}
    signed_in = journal.api.http.get("/v1/review-draft", params=period, headers=journal.api.headers(None))
    checklist = decode(signed_in)["checklist"]
    assert checklist, "the shared journal's draft has a checklist for its author"
    assert "Before you submit" not in text and checklist[0]["text"] not in text

    assert page(shared_server, path).status_code == 200
    (after,) = listed(journal.api)
    assert after["views"] == 2 and after["last_viewed_at"] is not None
    project = page(shared_server, f"{path}/projects/{journal.churn}")
    assert project.status_code == 200 and "Churn early warning" in project.text
    assert f'href="{path}"' in project.text and 'href="/"' not in project.text
    assert listed(journal.api)[0]["views"] == 3


def test_a_link_limited_to_a_project_shows_that_project_alone(
    journal: Journal, shared_server: InProcessServer
) -> None:
    path, share = made(journal.api, project_ids=[journal.churn])
    assert share["project_ids"] == [journal.churn]
    text = page(shared_server, path).text
    assert "Churn early warning" in text and "34%" in text
    assert "Pricing elasticity" not in text and "Mentored two analysts" not in text
    assert page(shared_server, f"{path}/projects/{journal.churn}").status_code == 200
    refused = page(shared_server, f"{path}/projects/{journal.pricing}")
    assert refused.status_code == 404 and "Pricing elasticity" not in refused.text
    # Another project of the author's, a project of no one, a malformed id: the same page.
    for other in (new_id(), "not-an-id", journal.old):
        assert same_page(page(shared_server, f"{path}/projects/{other}"), refused), other


def test_a_project_outside_the_period_is_not_reachable_even_on_a_whole_journal_link(
    journal: Journal, shared_server: InProcessServer
) -> None:
    path, _share = made(journal.api)
    assert page(shared_server, f"{path}/projects/{journal.churn}").status_code == 200
    assert page(shared_server, f"{path}/projects/{journal.old}").status_code == 404
    # The page is drawn as of the period's last day: nothing recorded after it shows.
    earlier, _ = made(
        journal.api, **{"from": START.isoformat(), "to": (TODAY - timedelta(days=40)).isoformat()}
    )
    shown = page(shared_server, f"{earlier}/projects/{journal.churn}").text
    assert FIGURE not in shown and "34" not in re.sub(r"<[^>]+>", "", shown).split("Metric chains")[-1]
    assert "34%" not in page(shared_server, earlier).text


def test_every_other_path_refuses_the_token(journal: Journal, shared_server: InProcessServer) -> None:
    path, _share = made(journal.api, project_ids=[journal.churn])
    token = path.removeprefix("/s/")
    as_bearer = {"Authorization": f"Bearer {token}"}
    draft = "/v1/review-draft?" + "&".join(f"{k}={v}" for k, v in PERIOD.items())
    for api_path in ("/v1/events", "/v1/projects", draft, "/v1/shares", "/v1/me", "/v1/export"):
        answer = shared_server.http.get(api_path, headers=as_bearer)
        assert_problem(answer, 401, "unauthorized")
    assert_problem(
        shared_server.http.post(f"/v1/shares/{_share['id']}/revoke", headers=as_bearer), 401, "unauthorized"
    )
    # The signed-in pages: the token is no session either.
    for signed_in in ("/", "/review?year=2026", f"/projects/{journal.churn}", "/review.md"):
        answer = shared_server.http.get(signed_in, headers={"Cookie": f"winledger_session={token}"})
        assert answer.status_code == 303 and answer.headers["location"] == "/sign-in", signed_in
    # No other route under the link.
    for other in ("/review", "/review.md", "/projects", f"/projects/{journal.churn}/timeline", "/v1/events"):
        answer = shared_server.http.get(path + other)
        assert answer.status_code == 404 and "Churn" not in answer.text, other
    assert shared_server.http.post(path).status_code == 405


def test_the_pages_carry_the_security_headers_errors_too(
    journal: Journal, shared_server: InProcessServer
) -> None:
    path, _share = made(journal.api)
    for answer in (page(shared_server, path), page(shared_server, "/s/" + "x" * 43)):
        headers = answer.headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "script-src" not in csp
        assert "form-action 'none'" in csp
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert "noindex" in headers["x-robots-tag"]
        assert '<meta name="robots" content="noindex' in answer.text
        nonce = re.search(r"'nonce-([^']+)'", csp)
        assert nonce is not None and f'<style nonce="{nonce[1]}">' in answer.text


def test_revoked_expired_and_unknown_links_are_one_page(
    journal: Journal, shared_server: InProcessServer
) -> None:
    unknown = page(shared_server, "/s/" + "A" * 43)
    assert unknown.status_code == 404 and "unknown, has expired or was revoked" in unknown.text
    assert same_page(page(shared_server, "/s/short"), unknown)

    path, share = made(journal.api)
    assert page(shared_server, path).status_code == 200
    revoked = journal.api.post(f"/v1/shares/{share['id']}/revoke", b"")
    assert revoked.status_code == 200, revoked.text
    body = decode(revoked)["share"]
    assert body["state"] == "revoked" and body["revoked_at"] is not None
    assert same_page(page(shared_server, path), unknown)
    assert same_page(page(shared_server, f"{path}/projects/{journal.churn}"), unknown)
    again = decode(journal.api.post(f"/v1/shares/{share['id']}/revoke", b""))["share"]
    assert again["revoked_at"] == body["revoked_at"]  # revoking again changes nothing
    assert listed(journal.api)[0]["views"] == 1  # the refused views were not counted

    expiring, share = made(journal.api)
    assert page(shared_server, expiring).status_code == 200

    async def expire() -> None:
        async with shared_server.state.store.write() as connection:
            past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            await connection.execute(
                update(db.shares).where(db.shares.c.id == share["id"]).values(expires_at=past)
            )

    shared_server.portal.call(expire)
    assert same_page(page(shared_server, expiring), unknown)
    states = {s["id"]: s["state"] for s in listed(journal.api)}
    assert states[share["id"]] == "expired"


def test_another_users_share_is_a_404_like_a_missing_one_and_stays_working(
    journal: Journal, shared_server: InProcessServer
) -> None:
    path, share = made(journal.api)
    other = Api(shared_server, shared_server.create_user(f"other-{new_id()[:8]}"), "other")
    assert listed(other) == []
    theirs = other.post(f"/v1/shares/{share['id']}/revoke", b"")
    missing = other.post("/v1/shares/0123456789abcdef/revoke", b"")
    malformed = other.post("/v1/shares/not-a-share/revoke", b"")
    for answer in (theirs, missing, malformed):
        assert_problem(answer, 404, "not_found")
    assert page(shared_server, path).status_code == 200
    assert listed(journal.api)[0]["state"] == "active"
    # Nor can a user share another user's project: it is not in their journal.
    refused = create(other, project_ids=[journal.churn])
    problem = assert_problem(refused, 400, "invalid_parameter")
    assert "`project_ids[0]`" in problem["detail"]
    assert listed(other) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from": "2026-02-30"}, "`from`"),
        ({"to": "20261231"}, "`to`"),
        (
            {"from": (TODAY + timedelta(days=3)).isoformat(), "to": (TODAY + timedelta(days=9)).isoformat()},
            "`from`",
        ),
        ({"from": END.isoformat(), "to": START.isoformat()}, "`from`"),
        ({"expires_in": 10}, "`expires_in`"),
        ({"expires_in": 91 * 24 * 3600}, "`expires_in`"),
        ({"expires_in": "14d"}, "`expires_in`"),
        ({"project_ids": ["churn"]}, "`project_ids[0]`"),
        ({"project_ids": "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80"}, "`project_ids`"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    journal: Journal, body: dict[str, Any], field: str
) -> None:
    problem = assert_problem(create(journal.api, **body), 400, "invalid_parameter")
    assert field in problem["detail"], problem
    assert listed(journal.api) == []


def test_a_missing_field_or_a_broken_body_is_named_too(journal: Journal) -> None:
    problem = assert_problem(
        journal.api.post("/v1/shares", {"to": END.isoformat()}), 400, "invalid_parameter"
    )
    assert "`from`" in problem["detail"]
    assert_problem(journal.api.post("/v1/shares", b"{not json"), 400, "malformed_body")
    assert_problem(
        journal.api.http.post(
            "/v1/shares", content=b"from=x", headers=journal.api.headers(None) | {"Content-Type": FORM}
        ),
        415,
        "unsupported_media_type",
    )  # fmt: skip
    assert listed(journal.api) == []


def test_msgpack_works_like_json(journal: Journal, shared_server: InProcessServer) -> None:
    response = journal.api.post("/v1/shares", {**PERIOD, "project_ids": [journal.pricing]}, "msgpack")
    assert response.status_code == 200 and response.headers["content-type"] == "application/msgpack"
    answer = decode(response)
    assert answer["share"]["project_ids"] == [journal.pricing]
    assert "Pricing elasticity" in page(shared_server, answer["path"]).text


def test_an_event_redacted_after_sharing_is_gone_from_the_link(
    journal: Journal, shared_server: InProcessServer
) -> None:
    path, _share = made(journal.api)
    assert "churn list every Monday" in page(shared_server, path).text
    journal.push(
        [journal.device.event("event.redacted", data={"target": journal.win["id"], "reason": "a customer"})]
    )
    assert "churn list every Monday" not in page(shared_server, path).text


def test_the_server_log_masks_a_links_token() -> None:
    token = "Ab3_" + "x" * 39
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s"',
        ("1.2.3.4", "GET", f"/s/{token}/projects/x"),
        None,
    )
    RedactTokens().filter(record)
    assert token not in record.getMessage() and "/s/[redacted]/projects/x" in record.getMessage()
