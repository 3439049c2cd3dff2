"""A journal belongs to one account: the server and account of its first sync (docs/client.md).

Before this rule, a journal synced with another account's token pulled that account's events, found
the sets different, took it for a restored server and pushed every event into the other account.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk import (
    Account,
    AccountMismatchError,
    Client,
    JournalNotFoundError,
    ProtocolError,
    StoreError,
)
from server.admin.erase import delete_user
from tests.client_sdk.conftest import MakeClient
from tests.client_sdk.test_sync import contents, server_events
from tests.support.inprocess import InProcessServer


def _me(server: InProcessServer, token: str) -> dict[str, Any]:
    return server.http.get("/v1/me", headers={"Authorization": f"Bearer {token}"}).json()  # type: ignore[no-any-return]


def _journal_rows(client: Client) -> dict[str, Any]:
    """Everything a refused sync must leave as it was."""
    state = client.status()
    return {
        "events": contents(client),
        "cursor": state.cursor,
        "epoch": state.epoch,
        "account": client.account,
        "counts": (state.pending, state.synced, state.unconfirmed, state.rejected),
    }


def test_another_accounts_token_is_refused_naming_both_and_nothing_moves(
    make_client: MakeClient, server: InProcessServer, token: str
) -> None:
    laptop = make_client("laptop")
    laptop.capture("Churn model reached 0.81 recall")
    laptop.capture("Ran the first model design review")
    laptop.sync()
    alice = _me(server, token)
    assert laptop.account == Account(server=server.url, user="alice", user_id=alice["user_id"])
    laptop.capture("captured after the sync, still pending")
    laptop.close()

    bob = server.create_user("bob")
    bob_win = make_client("bobs", token=bob)
    bob_win.capture("Bob's own win")
    bob_win.sync()
    journal = make_client("laptop", token=bob)
    before = _journal_rows(journal)
    with pytest.raises(AccountMismatchError) as refused:
        journal.sync()
    error = refused.value
    assert error.reason == "user"
    assert (error.journal.user, error.offered.user) == ("alice", "bob")
    message = str(error)
    assert f"alice (user {alice['user_id']}) at {server.url}" in message and "bob (user " in message
    assert "Nothing was synced" in message
    # Nothing went to bob's account, nothing of bob's came into the journal, and the journal is as it was.
    assert [e["data"]["text"] for e in server_events(server, bob)] == ["Bob's own win"]
    assert len(server_events(server, token)) == 2
    assert _journal_rows(journal) == before
    assert journal.status().sync_error_code == "account_mismatch"
    with pytest.raises(AccountMismatchError):
        journal.verify()

    # The journal's own account, with another of its tokens, syncs as always.
    again = make_client("laptop", token=server.create_token("alice", "phone"))
    report = again.sync()
    assert report.accepted == 1 and not report.epoch_changed and again.verify()
    assert again.status().sync_error_code is None


def test_a_journal_that_never_synced_may_sync_with_any_account_and_then_belongs_to_it(
    make_client: MakeClient, server: InProcessServer
) -> None:
    bob = server.create_user("bob")
    journal = make_client("new", token=bob)
    journal.capture("first capture, never synced")
    assert journal.account is None and journal.status().account is None
    journal.sync()
    expected = Account(server=server.url, user="bob", user_id=_me(server, bob)["user_id"])
    assert journal.account == expected == journal.status().account
    assert str(expected) == f"bob (user {expected.user_id}) at {server.url}"


def test_a_recreated_server_is_the_same_account_by_name_and_gets_everything_back(
    make_client: MakeClient, server_factory: Callable[..., InProcessServer]
) -> None:
    first = server_factory()
    first.create_user("someone else")  # so that alice's id differs on the new server
    laptop = make_client("laptop", server=first, token=first.create_user("alice"))
    laptop.capture("a win the new server lacks")
    laptop.sync()
    old_id = laptop.account.user_id if laptop.account else None
    laptop.close()

    fresh = server_factory()  # the same URL, a new store: a new epoch, new user ids
    token = fresh.create_user("alice")
    laptop = make_client("laptop", server=fresh, token=token)
    report = laptop.sync()
    assert report.new_epoch and report.epoch_changed and report.requeued == 1
    assert laptop.account is not None and laptop.account.user_id == _me(fresh, token)["user_id"] != old_id
    assert [e["data"]["text"] for e in server_events(fresh, token)] == ["a win the new server lacks"]


def test_another_user_of_the_same_name_in_the_same_store_is_refused(
    make_client: MakeClient, server: InProcessServer
) -> None:
    dora = server.create_user("dora")
    server.create_user("eve")  # dora is not the newest user: her id is not given again
    journal = make_client("dora", token=dora)
    journal.capture("dora's win")
    journal.sync()
    server.portal.call(delete_user, server.state.store, "dora")
    new_dora = server.create_user("dora")
    journal.close()
    journal = make_client("dora", token=new_dora)
    with pytest.raises(AccountMismatchError) as refused:
        journal.sync()
    assert refused.value.reason == "user_id" and "erased" in str(refused.value)
    assert server_events(server, new_dora) == []


def test_another_server_is_refused_and_the_same_store_at_a_new_address_is_not(
    tmp_path: Path, server: InProcessServer, server_factory: Callable[..., InProcessServer], token: str
) -> None:
    path = tmp_path / "journal.db"
    with Client(path, server.url, token, transport=server.transport, backoff=0) as journal:
        journal.capture("work win")
        journal.sync()

    # The same store under a new address: same epoch, same account. The journal records the new URL.
    with Client(path, "https://wins.example/", token, transport=server.transport, backoff=0) as journal:
        journal.capture("after the move")
        assert journal.sync().accepted == 1
        assert journal.account is not None and journal.account.server == "https://wins.example/"

    # Another server (another address, another store) with an account of the same name: refused.
    personal = server_factory()
    other = personal.create_user("alice")
    with Client(path, "http://personal.test", other, transport=personal.transport, backoff=0) as journal:
        with pytest.raises(AccountMismatchError) as refused:
            journal.sync()
        assert refused.value.reason == "server" and "http://personal.test" in str(refused.value)
        assert journal.account is not None and journal.account.server == "https://wins.example/"
    assert server_events(personal, other) == []


class NoAccount(httpx.BaseTransport):
    """A server from before GET /v1/me: its /v1/info says nothing of the token's account."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.url.path != "/v1/info":
            return response
        response.read()
        body = json.loads(response.content)
        del body["account"]
        return httpx.Response(200, json=body, headers={"Winledger-Epoch": body["epoch"]}, request=request)


def test_a_server_that_does_not_say_whose_the_token_is_gets_nothing(
    make_client: MakeClient, server: InProcessServer, token: str
) -> None:
    journal = make_client("laptop", transport=NoAccount(server.transport))
    journal.capture("kept here")
    with pytest.raises(ProtocolError, match="older than this client"):
        journal.sync()
    assert server_events(server, token) == [] and journal.status().pending == 1
    assert journal.account is None and journal.status().epoch is None


def test_create_false_opens_only_an_existing_journal_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "j.db"
    with pytest.raises(JournalNotFoundError, match="There is no journal"):
        Client(missing, create=False)
    assert not (tmp_path / "no").exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(JournalNotFoundError):
        Client(empty, create=False)
    assert empty.read_bytes() == b""
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreError, match="another application"):
        Client(other, create=False)
    with Client(tmp_path / "real.db") as journal:
        journal.capture("a win")
    with Client(tmp_path / "real.db", create=False) as journal:
        assert [e.data["text"] for e in journal.events()] == ["a win"]
