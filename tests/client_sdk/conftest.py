"""Fixtures for the client SDK: clients on real SQLite files under ``tmp_path``, driven against the
real server app in-process, and a fault-injecting transport wrapped around it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk import Client
from tests.support.inprocess import InProcessServer

MakeClient = Callable[..., Client]


class FaultyTransport(httpx.BaseTransport):
    """Wraps a real transport; ``plan`` decides, per request, what goes wrong.

    ``plan(request, attempt)`` returns ``None`` (pass through), ``"before"``
    (raise a connection error without reaching the server), ``"after"`` (let the
    server handle the request, then lose the answer), or an ``httpx.Response``
    to answer instead of the server. ``requests`` records every request seen.
    """

    def __init__(self, inner: httpx.BaseTransport, plan: Callable[[httpx.Request, int], Any]) -> None:
        self.inner = inner
        self.plan = plan
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        action = self.plan(request, len(self.requests))
        if action == "before":
            raise httpx.ConnectError("injected: the server is unreachable", request=request)
        if isinstance(action, httpx.Response):
            return action
        response = self.inner.handle_request(request)
        if action == "after":
            raise httpx.ReadError("injected: the answer was lost", request=request)
        return response


@pytest.fixture
def token(server: InProcessServer) -> str:
    return server.create_user("alice")


@pytest.fixture
def make_client(tmp_path: Path, server: InProcessServer, token: str) -> Iterator[MakeClient]:
    """``make_client(name, **options)``: a client of alice on ``tmp_path/<name>.db`` (no backoff sleeps)."""
    made: list[Client] = []

    def make(name: str = "laptop", **options: Any) -> Client:
        target = options.pop("server", server)
        options.setdefault("transport", target.transport)
        options.setdefault("backoff", 0.0)
        client = Client(tmp_path / f"{name}.db", target.url, options.pop("token", token), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Fresh XDG directories and no WINLEDGER_* variables: the user's first day."""
    for name in ("WINLEDGER_STORE", "WINLEDGER_SERVER", "WINLEDGER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path
