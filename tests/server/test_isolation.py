"""Authorization and isolation, route by route.

Every ``/v1`` route is in ``ROUTES``; a test fails when the app has a route
that is not, so a new route joins these tests. Each route gets every kind of
bad credential, and another user's ids. The review pages' routes (behind a
session cookie, not a bearer token) are in ``WEB_ROUTES`` and get the same
treatment in tests/server/test_web_isolation.py.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import update
from starlette.routing import Route

from server.database import tables as db
from tests.factories import Device, an_event, encode, new_id
from tests.server.conftest import Api, assert_problem, decode
from tests.server.test_web_isolation import WEB_ROUTES
from tests.support.inprocess import InProcessServer

PERIOD = "from=2026-01-01&to=2026-12-31"

ROUTES: list[tuple[str, str]] = [
    ("GET", "/v1/events"),
    ("POST", "/v1/events"),
    ("POST", "/v1/sync"),
    ("GET", "/v1/info"),
    ("GET", "/v1/me"),
    ("GET", "/v1/projects"),
    ("GET", "/v1/projects/{project_id}/timeline"),
    ("GET", "/v1/projects/{project_id}/metric-chains"),
    ("GET", "/v1/review-draft"),
    ("GET", "/v1/export"),
    ("GET", "/v1/shares"),
    ("POST", "/v1/shares"),
    ("POST", "/v1/shares/{share_id}/revoke"),
]
"""Every route behind a bearer token: (method, path as routed)."""

PUBLIC = {("GET", "/healthz"), ("GET", "/openapi.json")}
OPERATOR = {("GET", "/metrics")}
SHARED_PAGES = {("GET", "/s/{link}"), ("GET", "/s/{link}/projects/{project_id}")}
"""A shared link's pages, behind its own token (tests/server/test_shares.py): only what it was made for."""
"""Behind the operator's metrics token, never a user's (tests/server/test_metrics.py): no user's data."""


def request(api: Api, method: str, path: str, headers: dict[str, str], project: str) -> httpx.Response:
    url = path.format(project_id=project, share_id="0123456789abcdef")
    url += f"?{PERIOD}" if path == "/v1/review-draft" else ""
    body = encode({"events": [an_event()]}, "json") if method == "POST" else None
    return api.http.request(
        method, url, content=body, headers={"Content-Type": "application/json", **headers}
    )


def test_every_route_of_the_app_is_in_the_table(api: Api) -> None:
    routed = {
        (method, route.path)
        for route in api.server.app.routes
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert routed == set(ROUTES) | PUBLIC | OPERATOR | set(WEB_ROUTES) | SHARED_PAGES


@pytest.fixture(scope="module")
def victim(shared_server: InProcessServer) -> dict[str, Any]:
    """A user with a journal: a project with a milestone and a metric, and a win without a project."""
    token = shared_server.create_user("victim")
    device, project = Device(), new_id()
    events = [
        device.event("project.started", project_id=project, data={"name": "Secret pricing", "kind": "model"}),
        device.event("milestone.reached", project_id=project, occurred_at="2026-04-01T00:00:00Z"),
        device.event("metric.observed", project_id=project, occurred_at="2026-05-01T00:00:00Z"),
        device.event("win.captured", occurred_at="2026-06-01T00:00:00Z"),
    ]
    api = Api(shared_server, token, "victim")
    cursor = api.push(events)["cursor"]
    assert decode(api.http.get("/v1/projects", params={"min_seq": cursor}, headers=api.headers(None)))
    return {"api": api, "project": project, "events": events, "device": device}


def _expire(server: InProcessServer, token_id: str) -> None:
    async def expire() -> None:
        async with server.state.store.write() as connection:
            values = {"expires_at": "2020-01-01T00:00:00.000000Z"}
            await connection.execute(update(db.tokens).where(db.tokens.c.id == token_id).values(**values))

    server.portal.call(expire)


def bad_credentials(api: Api) -> dict[str, dict[str, str]]:
    server = api.server
    token_id, secret = api.token.removeprefix("wl_").split("_")
    revoked = server.create_token(api.name, "revoked")
    server.revoke_token(revoked.split("_")[1])
    expired = server.create_token(api.name, "expired")
    _expire(server, expired.split("_")[1])
    basic = base64.b64encode(f"{api.name}:{api.token}".encode()).decode()
    return {
        "missing": {},
        "empty": {"Authorization": ""},
        "scheme-only": {"Authorization": "Bearer"},
        "malformed": {"Authorization": "Bearer not-a-token"},
        "truncated": {"Authorization": f"Bearer {api.token[:-1]}"},
        "uppercase": {"Authorization": f"Bearer {api.token.upper()}"},
        "two-tokens": {"Authorization": f"Bearer {api.token} {api.token}"},
        "unknown-id": {"Authorization": f"Bearer wl_{'0' * 16}_{secret}"},
        "wrong-secret": {"Authorization": f"Bearer wl_{token_id}_{'f' * 64}"},
        "revoked": {"Authorization": f"Bearer {revoked}"},
        "expired": {"Authorization": f"Bearer {expired}"},
        "revoked-wrong-secret": {"Authorization": f"Bearer {revoked[:-64]}{'e' * 64}"},
        "expired-wrong-secret": {"Authorization": f"Bearer {expired[:-64]}{'e' * 64}"},
        "basic": {"Authorization": f"Basic {basic}"},
        "bare-token": {"Authorization": api.token},
        "other-scheme": {"Authorization": f"Token {api.token}"},
        "in-the-query-only": {},
    }


def _shape(response: httpx.Response) -> tuple[int, str, str, bytes]:
    body = msgspec.json.decode(response.content)
    body.pop("detail")
    body.pop("reason", None)
    return (
        response.status_code,
        response.headers["content-type"],
        response.headers["www-authenticate"],
        msgspec.json.encode(body),
    )


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_refuses_every_bad_credential_alike(
    api: Api, victim: dict[str, Any], method: str, path: str
) -> None:
    shapes = set()
    reasons = {}
    for name, headers in bad_credentials(api).items():
        target = path if name != "in-the-query-only" else path + f"?access_token={api.token}"
        response = request(api, method, target, headers, victim["project"])
        problem = assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer"), name
        assert response.headers["winledger-epoch"] == api.server.epoch
        # Only the holder of a revoked or expired token (its secret matched) learns why it stopped working.
        reasons[name] = problem.pop("reason", None)
        shapes.add(_shape(response))
    assert {name: reason for name, reason in reasons.items() if reason} == {
        "revoked": "revoked",
        "expired": "expired",
    }
    assert len(shapes) == 1, shapes  # for anyone else, which credential was wrong, and how, is not told
    assert api.count() == 0


def _without_volatile(response: httpx.Response, project: str) -> tuple[int, dict[str, str], Any]:
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "content-length")}
    return response.status_code, headers, response.text.replace(project, "<id>")


@pytest.mark.parametrize("route", ["timeline", "metric-chains"])
def test_another_users_project_answers_exactly_like_a_missing_one(
    api: Api, victim: dict[str, Any], route: str
) -> None:
    theirs = victim["project"]
    missing = new_id()
    foreign = api.http.get(f"/v1/projects/{theirs}/{route}", headers=api.headers(None))
    absent = api.http.get(f"/v1/projects/{missing}/{route}", headers=api.headers(None))
    assert_problem(foreign, 404, "not_found")
    assert _without_volatile(foreign, theirs) == _without_volatile(absent, missing)
    # Also when the asker has a project of their own, and after waiting for its read models.
    mine = an_event("project.started", data={"name": "Mine", "kind": "analysis"})
    cursor = api.push([mine])["cursor"]
    foreign = api.http.get(
        f"/v1/projects/{theirs}/{route}", params={"min_seq": cursor}, headers=api.headers(None)
    )
    absent = api.http.get(
        f"/v1/projects/{missing}/{route}", params={"min_seq": cursor}, headers=api.headers(None)
    )
    assert _without_volatile(foreign, theirs) == _without_volatile(absent, missing)


def _everything(api: Api) -> dict[str, Any]:
    """All a user can read through the API, with the read models settled."""
    events, last = api.pull_all()

    def get(path: str, **params: str) -> Any:
        params = {"min_seq": str(last["count"]), **params}
        return decode(api.http.get(path, params=params, headers=api.headers(None)))

    projects = get("/v1/projects")
    return {
        "events": events,
        "last": last,
        "projects": projects,
        "timelines": {
            p["id"]: get(f"/v1/projects/{p['id']}/timeline", as_of="2026-12-31") for p in projects["projects"]
        },
        "chains": {p["id"]: get(f"/v1/projects/{p['id']}/metric-chains") for p in projects["projects"]},
        "draft": get("/v1/review-draft", **{"from": "2026-01-01", "to": "2026-12-31"}),
    }


def test_another_users_ids_reach_nothing_of_theirs_and_tell_nothing(api: Api, victim: dict[str, Any]) -> None:
    owner: Api = victim["api"]
    before = _everything(owner)
    theirs = victim["events"]

    # A list, a pull, a draft, a sync: nothing of the victim's.
    mine = _everything(api)
    assert mine["events"] == [] and mine["projects"]["projects"] == [] and mine["draft"]["sections"] == []
    assert "Secret pricing" not in msgspec.json.encode(mine).decode()
    assert decode(api.sync_response({"events": [], "after": 0}))["events"] == []
    # A cursor that exists in the victim's log is beyond this user's: the answer names this user's head.
    ahead = assert_problem(api.pull_response(after=before["last"]["count"]), 409, "cursor_ahead")
    assert "seq 0" in ahead["detail"]

    # Their ids, device ids and device_seqs, reused with other content: accepted as this user's own,
    # never an id_conflict or device_seq_conflict that would show the victim holds them.
    reused = [
        {**theirs[3], "data": {"text": "Mine now", "source": "text"}},
        an_event(device_id=victim["device"].device_id, device_seq=1),
        an_event("milestone.reached", project_id=victim["project"]),
    ]
    results = api.push(reused)["results"]
    assert [(r["status"], r["seq"]) for r in results] == [("accepted", 1), ("accepted", 2), ("accepted", 3)]

    # A retraction of the victim's event: stored as this user's own event, a no-op in this user's read
    # models (the project this user started with the victim's project id keeps its milestone).
    retraction = an_event("event.retracted", data={"target": theirs[1]["id"], "reason": "not mine"})
    retract_theirs_in_mine = an_event("event.retracted", data={"target": theirs[3]["id"]})
    body = api.push([retraction])
    assert body["results"][0]["status"] == "accepted" and body["cursor"] == 4
    after_mine = _everything(api)
    assert [e["id"] for e in after_mine["events"]][-1] == retraction["id"]
    assert [p["id"] for p in after_mine["projects"]["projects"]] == [victim["project"]]
    assert after_mine["timelines"][victim["project"]]["timeline"]["stage"] == "deployed"
    # (A retraction of the victim's id that this user also used does hide this user's own event.)
    api.push([retract_theirs_in_mine])
    assert "Mine now" not in msgspec.json.encode(_everything(api)["draft"]).decode()

    # And the victim's journal is exactly what it was, byte for byte.
    after = _everything(owner)
    assert msgspec.json.encode(after) == msgspec.json.encode(before)


ADMIN_PATHS = [
    "/admin",
    "/admin/users",
    "/v1/admin",
    "/v1/admin/users",
    "/v1/users",
    "/v1/users/victim",
    "/v1/tokens",
    "/v1/tokens/revoke",
    "/v1/rebuild",
    "/v1/admin/rebuild",
]


def test_admin_actions_have_no_route(api: Api) -> None:
    for path in ADMIN_PATHS:
        for method in ("GET", "POST", "PUT", "DELETE"):
            response = api.http.request(method, path, headers=api.headers("json"), content=b"{}")
            assert response.status_code in (404, 405), (method, path)
    paths = {route.path for route in api.server.app.routes if isinstance(route, Route)}
    assert not any("admin" in path or "user" in path or "token" in path for path in paths)
