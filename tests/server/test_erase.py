"""``winledger admin delete-user``: a user and everything of theirs gone for good; nobody else touched."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select, text

from server.admin.erase import user_tables
from server.database import tables as db
from tests.factories import Device, new_id
from tests.server.conftest import Api, assert_problem, decode
from tests.support.inprocess import InProcessServer
from tests.support.process import run_cli
from tests.support.web import WebClient

pytestmark = pytest.mark.backends


def url_of(database: Path | str) -> str:
    return database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"


def journal(api: Api, text_of_win: str) -> int:
    device, project = Device(), new_id()
    events = [
        device.event(
            "project.started", project_id=project, data={"name": "Churn early warning", "kind": "model"}
        ),
        device.event("metric.observed", project_id=project),
        device.event("win.captured", data={"text": text_of_win, "source": "text"}),
    ]
    cursor = api.push(events)["cursor"]
    assert decode(api.http.get("/v1/projects", params={"min_seq": cursor}, headers=api.headers(None)))[
        "projects"
    ]
    return int(cursor)


def rows_of(database: Path | str, user_id: int) -> dict[str, int]:
    async def count() -> dict[str, int]:
        engine = db.create_engine(url_of(database))
        try:
            async with engine.connect() as connection:
                found = {
                    table.name: int(
                        await connection.scalar(
                            select(func.count()).select_from(table).where(table.c.user_id == user_id)
                        )
                        or 0
                    )
                    for table in user_tables()
                }
                found["users"] = int(
                    await connection.scalar(
                        select(func.count()).select_from(db.users).where(db.users.c.id == user_id)
                    )
                    or 0
                )
                return found
        finally:
            await engine.dispose()

    return asyncio.run(count())


def user_id_of(database: Path | str, name: str) -> int:
    async def find() -> int:
        engine = db.create_engine(url_of(database))
        try:
            async with engine.connect() as connection:
                return int(await connection.scalar(text("SELECT id FROM users WHERE name = :n"), {"n": name}))
        finally:
            await engine.dispose()

    return asyncio.run(find())


def test_delete_user_removes_everything_of_theirs_and_nothing_of_anyone_else(
    server_factory: Callable[..., InProcessServer], new_database: Callable[[], Path | str]
) -> None:
    database = new_database()
    server = server_factory(database)
    dora = Api(server, server.create_user("dora"), "dora")
    server.create_token("dora", "laptop")
    eve = Api(server, server.create_user("eve"), "eve")
    journal(dora, "Dora's private win")
    eve_cursor = journal(eve, "Eve's own win")
    WebClient(server).sign_in(dora.token)
    eve_before: dict[str, Any] = {
        "events": eve.pull_all()[0],
        "projects": decode(eve.http.get("/v1/projects", headers=eve.headers(None))),
    }
    dora_id = user_id_of(database, "dora")
    before = rows_of(database, dora_id)
    assert before["events"] == 3 and before["tokens"] == 2 and before["project_models"] == 2
    assert before["web_sessions"] == 1 and before["projection_checkpoints"] == 1

    erased = run_cli("admin", "delete-user", "dora", "--db", url_of(database))
    assert "Deleted user 'dora' for good: 3 events" in erased.stdout
    assert "2 read models" in erased.stdout and "2 tokens" in erased.stdout
    assert "1 web session." in erased.stdout

    assert set(rows_of(database, dora_id).values()) == {0}
    assert_problem(dora.http.get("/v1/events", headers=dora.headers(None)), 401, "unauthorized")
    # Eve's journal is exactly what it was.
    assert eve.pull_all()[0] == eve_before["events"] and eve.count() == eve_cursor
    assert decode(eve.http.get("/v1/projects", headers=eve.headers(None))) == eve_before["projects"]
    # The name is free again, and a new dora starts from nothing.
    again = Api(server, server.create_user("dora"), "dora")
    assert again.count() == 0
    assert "Dora's private win" not in msgspec.json.encode(again.pull_all()).decode()


def test_delete_user_names_a_missing_user(new_database: Callable[[], Path | str]) -> None:
    database = new_database()
    run_cli("admin", "migrate", "--db", url_of(database), "--create")
    run_cli("admin", "create-user", "eve", "--db", url_of(database))
    refused = run_cli("admin", "delete-user", "nobody", "--db", url_of(database), check=False)
    assert refused.returncode == 1 and "No user named 'nobody'" in refused.stderr
