"""Helpers for protocol tests: one user's view of the in-process server, in JSON or MessagePack."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from anyio.from_thread import start_blocking_portal

from schema import CLIENT_FIELDS, canonical_json
from tests.factories import encode
from tests.support.inprocess import InProcessServer

MEDIA = {"json": "application/json", "msgpack": "application/msgpack"}
PROBLEM = "application/problem+json"


def decode(response: httpx.Response) -> Any:
    """The response body, decoded by its Content-Type."""
    media = response.headers.get("content-type", "").split(";")[0]
    if media == MEDIA["msgpack"]:
        return msgspec.msgpack.decode(response.content)
    assert media in (MEDIA["json"], PROBLEM), f"unexpected Content-Type {media!r}"
    return msgspec.json.decode(response.content)


def independent_digest(events: Iterable[dict[str, Any]]) -> str:
    """The digest of pulled events, recomputed from their nine client fields."""
    total = 0
    for event in events:
        fields = {name: event[name] for name in CLIENT_FIELDS}
        total += int.from_bytes(hashlib.sha256(canonical_json(fields)).digest()[:16], "big")
    return format(total % 2**128, "032x")


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A whole-request error: RFC 9457 problem+json with a stable ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM
    body = msgspec.json.decode(response.content)
    assert body["code"] == code, body
    assert body["status"] == status
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body  # type: ignore[no-any-return]


class Api:
    """One user's requests; ``fmt`` is the body format (and, unless told, the Accept)."""

    def __init__(self, server: InProcessServer, token: str, name: str = "ada") -> None:
        self.server = server
        self.token = token
        self.name = name
        self.http = server.http

    def headers(self, fmt: str | None = "json", accept: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if fmt is not None:
            headers["Content-Type"] = MEDIA[fmt]
        if accept is not None:
            headers["Accept"] = accept
        return headers

    def post(self, path: str, body: Any, fmt: str = "json", **headers: str) -> httpx.Response:
        content = body if isinstance(body, bytes) else encode(body, fmt)
        return self.http.post(path, content=content, headers={**self.headers(fmt), **headers})

    def push_response(self, events: list[Any], fmt: str = "json") -> httpx.Response:
        return self.post("/v1/events", {"events": events}, fmt)

    def push(self, events: list[Any], fmt: str = "json") -> dict[str, Any]:
        response = self.push_response(events, fmt)
        assert response.status_code == 200, response.text
        return decode(response)  # type: ignore[no-any-return]

    def pull_response(self, fmt: str = "json", **params: Any) -> httpx.Response:
        accept = MEDIA[fmt] if fmt != "json" else None
        return self.http.get("/v1/events", params=params, headers=self.headers(None, accept))

    def pull(self, fmt: str = "json", **params: Any) -> dict[str, Any]:
        response = self.pull_response(fmt, **params)
        assert response.status_code == 200, response.text
        return decode(response)  # type: ignore[no-any-return]

    def pull_all(self, limit: int = 5000) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Every event from 0 and the last page (with ``count`` and ``digest``)."""
        events: list[dict[str, Any]] = []
        after = 0
        while True:
            page = self.pull(after=after, limit=limit)
            events += page["events"]
            after = page["cursor"]
            if not page["more"]:
                return events, page

    def sync_response(self, body: dict[str, Any], fmt: str = "json") -> httpx.Response:
        return self.post("/v1/sync", body, fmt)

    def sync(self, events: list[Any], fmt: str = "json", **fields: Any) -> dict[str, Any]:
        response = self.sync_response({"events": events, **fields}, fmt)
        assert response.status_code == 200, response.text
        return decode(response)  # type: ignore[no-any-return]

    def count(self) -> int:
        """How many events the user has (nothing changed by a refused request)."""
        return self.pull()["count"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def shared_server(new_database: Callable[[], Path | str]) -> Iterator[InProcessServer]:
    """One server for a module's tests; each test gets its own user (logs are per user)."""
    with start_blocking_portal() as portal:
        server = InProcessServer(new_database(), portal)
        try:
            yield server
        finally:
            server.close()


_users = itertools.count(1)


@pytest.fixture
def api(shared_server: InProcessServer) -> Api:
    """A new user on the module's server, with default settings."""
    name = f"user-{next(_users)}"
    return Api(shared_server, shared_server.create_user(name), name)


@pytest.fixture
def make_api(server_factory: Callable[..., InProcessServer]) -> Callable[..., Api]:
    """An ``Api`` on a fresh server with the given settings."""

    def make(**settings: Any) -> Api:
        server = server_factory(**settings)
        return Api(server, server.create_user("ada"))

    return make


@pytest.fixture(params=["json", "msgpack"])
def fmt(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


def stream(
    server: InProcessServer,
    path: str,
    content: bytes | Callable[[], AsyncIterator[bytes]],
    headers: dict[str, str],
) -> httpx.Response:
    """POST with a body streamed to the app chunk by chunk (the sync test transport reads it up front)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url=server.url) as client:
            body = content if isinstance(content, bytes) else content()
            response = await client.post(path, content=body, headers=headers)
            await response.aread()
            return response

    return server.portal.call(send)
