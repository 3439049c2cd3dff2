"""``GET /v1/me`` and ``account`` in ``GET /v1/info``: whose a token is, on SQLite and PostgreSQL.

A client records the account of a journal's first sync and refuses to sync it with another
(docs/protocol.md, section 6.6); these answers are what it compares.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from schema.protocol.jsonschema import schemas
from server.admin.erase import delete_user
from server.database import tables as db
from tests.schema.jsonschema_check import problems
from tests.server.conftest import MEDIA, assert_problem, decode
from tests.support.inprocess import InProcessServer

pytestmark = pytest.mark.backends


def _user_ids(server: InProcessServer) -> dict[str, int]:
    async def read() -> dict[str, int]:
        async with server.state.store.engine.connect() as connection:
            rows = await connection.execute(select(db.users.c.name, db.users.c.id))
            return {str(name): int(user_id) for name, user_id in rows.all()}

    return server.portal.call(read)


def test_me_names_the_tokens_user_by_name_and_id_for_every_token_of_theirs(server: InProcessServer) -> None:
    ada = server.create_user("ada")
    ada_phone = server.create_token("ada", "phone")
    bob = server.create_user("bob")
    ids = _user_ids(server)
    assert ids["ada"] != ids["bob"]
    for fmt in ("json", "msgpack"):
        for token, name in ((ada, "ada"), (ada_phone, "ada"), (bob, "bob")):
            response = server.http.get(
                "/v1/me", headers={"Authorization": f"Bearer {token}", "Accept": MEDIA[fmt]}
            )
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == MEDIA[fmt]
            me = decode(response)
            assert me == {"user": name, "user_id": ids[name], "epoch": server.epoch}
            assert response.headers["winledger-epoch"] == server.epoch
            assert problems(schemas()["MeResponse.json"], me) == []


def test_info_carries_the_same_account_as_me(server: InProcessServer) -> None:
    ada, bob = server.create_user("ada"), server.create_user("bob")
    for token in (ada, bob):
        headers = {"Authorization": f"Bearer {token}"}
        info = decode(server.http.get("/v1/info", headers=headers))
        me = decode(server.http.get("/v1/me", headers=headers))
        assert info["account"] == {"user": me["user"], "user_id": me["user_id"]}
        assert problems(schemas()["InfoResponse.json"], info) == []


def test_me_refuses_a_revoked_token_and_a_deleted_user_and_tells_nobody_else_anything(
    server: InProcessServer,
) -> None:
    ada = server.create_user("ada")
    phone = server.create_token("ada", "phone")
    server.revoke_token(phone.split("_")[1])
    revoked = server.http.get("/v1/me", headers={"Authorization": f"Bearer {phone}"})
    refused = assert_problem(revoked, 401, "unauthorized")
    assert refused["reason"] == "revoked" and "ada" not in refused["detail"]
    assert_problem(server.http.get("/v1/me"), 401, "unauthorized")

    server.portal.call(delete_user, server.state.store, "ada")
    gone = server.http.get("/v1/me", headers={"Authorization": f"Bearer {ada}"})
    assert "ada" not in assert_problem(gone, 401, "unauthorized")["detail"]


def test_a_user_erased_after_the_token_check_is_unauthorized_not_a_server_error(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    ada = server.create_user("ada")
    accounts = server.state.accounts

    async def erased(user_id: int) -> None:
        return None

    monkeypatch.setattr(accounts, "user_name", erased)
    for path in ("/v1/me", "/v1/info"):
        response = server.http.get(path, headers={"Authorization": f"Bearer {ada}"})
        assert_problem(response, 401, "unauthorized")
