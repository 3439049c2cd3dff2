"""A device whose token expired or was revoked: told so by name, keeps every pending event, and resumes
with a new token."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from client_sdk import AuthError, TokenExpiredError, TokenRevokedError
from server.database import tables as db
from tests.client_sdk.conftest import MakeClient
from tests.support.inprocess import InProcessServer


def _expire(server: InProcessServer, token: str) -> None:
    async def expire() -> None:
        async with server.state.store.write() as connection:
            await connection.execute(
                update(db.tokens)
                .where(db.tokens.c.id == token.split("_")[1])
                .values(expires_at="2020-01-01T00:00:00.000000Z")
            )

    server.portal.call(expire)


@pytest.mark.parametrize("ending", ["revoked", "expired"])
def test_an_ended_token_is_reported_as_such_and_nothing_pending_is_lost(
    server: InProcessServer, token: str, make_client: MakeClient, ending: str
) -> None:
    phone = make_client("phone")
    first = phone.capture("Churn model flagged 40 accounts before renewal")
    phone.sync()
    captured = [phone.capture(f"Win {n} while the token was {ending}") for n in range(3)]
    if ending == "revoked":
        server.revoke_token(token.split("_")[1])
    else:
        _expire(server, token)

    with pytest.raises(AuthError) as raised:
        phone.sync()
    expected = TokenRevokedError if ending == "revoked" else TokenExpiredError
    assert type(raised.value) is expected and raised.value.reason == ending
    assert raised.value.status == 401 and raised.value.code == "unauthorized"
    said = "was revoked" if ending == "revoked" else "has expired"
    assert "winledger login" in str(raised.value) and said in str(raised.value)
    status = phone.status()
    assert status.pending == 3 and status.synced == 1
    assert status.sync_error_code == f"token_{ending}" and status.sync_error == str(raised.value)
    phone.close()

    new_token = server.create_token("alice", "phone, again")
    resumed = make_client("phone", token=new_token)
    report = resumed.sync()
    assert report.accepted == 3
    status = resumed.status()
    assert status.pending == 0 and status.synced == 4 and status.sync_error_code is None
    assert {e.id for e in resumed.events()} == {first, *captured}
    assert resumed.verify()


def test_an_unknown_token_is_a_plain_auth_error(make_client: MakeClient) -> None:
    stranger = make_client("stranger", token="wl_" + "0" * 16 + "_" + "1" * 64)
    stranger.capture("A win nobody will see yet")
    with pytest.raises(AuthError) as raised:
        stranger.sync()
    assert type(raised.value) is AuthError and raised.value.reason is None
    assert stranger.status().sync_error_code == "unauthorized" and stranger.status().pending == 1
