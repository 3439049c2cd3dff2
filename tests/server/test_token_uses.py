"""A token's last use (``winledger admin list-tokens``) is written in the background, every use of a moment
in one write transaction, and what is still pending when the server stops cleanly is written then."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from server.accounts.uses import WRITE_AFTER_S
from tests.server.conftest import Api
from tests.support.inprocess import InProcessServer


def last_used(server: InProcessServer, user: str) -> list[str | None]:
    tokens = server.portal.call(server.state.accounts.list_tokens, user)
    return [token.last_used_at for token in tokens]


def test_a_token_s_use_is_written_soon_after_its_request_in_one_transaction(
    server_factory: Callable[..., InProcessServer],
) -> None:
    server = server_factory()
    users = [f"user-{i}" for i in range(5)]
    apis = [Api(server, server.create_user(name), name) for name in users]
    writes: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            writes.append(statement)

    event.listen(server.state.engine.sync_engine, "before_cursor_execute", count)
    for api in apis:
        assert api.http.get("/v1/me", headers=api.headers(None)).status_code == 200
    assert all(last_used(server, name) == [None] for name in users), "not on the request's path"
    deadline = time.monotonic() + WRITE_AFTER_S + 5
    while any(last_used(server, name) == [None] for name in users) and time.monotonic() < deadline:
        time.sleep(0.05)
    used = [last_used(server, name)[0] for name in users]
    assert all(used), used
    assert len(set(used)) == len(used), "each token keeps the time of its own request"
    assert len(writes) == 1, "the five uses in one write transaction"


def test_a_clean_stop_writes_the_uses_still_pending(server_factory: Callable[..., InProcessServer]) -> None:
    server = server_factory()
    api = Api(server, server.create_user("ada"), "ada")
    assert api.http.get("/v1/me", headers=api.headers(None)).status_code == 200
    server.portal.call(server.state.accounts.uses.close)
    assert last_used(server, "ada")[0] is not None
