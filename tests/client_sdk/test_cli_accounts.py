"""``winledger login`` keeps a journal that has synced to its server and account (in-process; the real
command and a real server are in tests/e2e/test_accounts.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from client_sdk import _account, _config
from tests.client_sdk.test_cli_capture import Cli, cli  # noqa: F401  (fixture; `home` is conftest's)
from tests.support.inprocess import InProcessServer


@pytest.fixture
def synced(cli: Cli, server: InProcessServer, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    """The default journal, synced as alice with the token it returns."""
    monkeypatch.setattr(_account, "TRANSPORT", server.transport)
    token = server.create_user("alice")
    assert cli("win", "a win of alice's").code == 0
    assert cli("login", "--server", server.url, stdin=token).code == 0
    assert cli("sync").code == 0
    return token


def test_another_token_of_the_same_account_signs_in(
    cli: Cli,  # noqa: F811
    server: InProcessServer,
    synced: str,
) -> None:
    phone = server.create_token("alice", "phone")
    result = cli("login", "--server", server.url, stdin=phone)
    assert result.code == 0 and "as alice" in result.out
    assert _config.read_token() == phone


def test_another_server_is_refused_even_offline_and_the_same_store_elsewhere_is_not(
    cli: Cli,  # noqa: F811
    server: InProcessServer,
    server_factory: Callable[..., InProcessServer],
    synced: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_account, "TRANSPORT", None)  # the network: nothing answers on port 9
    offline = cli("login", "--server", "http://127.0.0.1:9", stdin=synced)
    assert offline.code == 1 and "argument --server" in offline.err
    assert "could not be reached" in offline.err and "alice (user " in offline.err
    assert _config.server_url() == server.url  # nothing saved

    other = server_factory()
    monkeypatch.setattr(_account, "TRANSPORT", other.transport)
    elsewhere = cli("login", "--server", "http://other.test", stdin=other.create_user("alice"))
    assert elsewhere.code == 1 and "argument --server" in elsewhere.err
    assert "http://other.test is another server" in elsewhere.err and "Nothing was saved" in elsewhere.err

    # The journal's own store under a new address (the same epoch): signed in, and sync follows.
    monkeypatch.setattr(_account, "TRANSPORT", server.transport)
    moved = cli("login", "--server", "https://wins.example", stdin=synced)
    assert moved.code == 0, moved.err
    assert cli("sync").code == 0
    assert "Account:    alice (user " in cli("status").out and "at https://wins.example" in cli("status").out


def test_a_journal_that_never_synced_may_sign_in_anywhere(
    cli: Cli,  # noqa: F811
    home: Path,
    server: InProcessServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_account, "TRANSPORT", server.transport)
    assert cli("win", "captured offline").code == 0
    for name in ("alice", "bob"):
        result = cli("login", "--server", server.url, stdin=server.create_user(name))
        assert result.code == 0 and f"as {name}" in result.out
    assert "pushed 1 (1 new)" in cli("sync").out
    assert "Account:    bob (user " in cli("status").out
