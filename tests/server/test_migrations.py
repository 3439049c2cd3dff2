"""Schema migrations: `winledger admin migrate` brings a store of any earlier schema of this project up
to date on both backends, keeping every event; `serve` upgrades SQLite itself and refuses an
out-of-date PostgreSQL schema unless told to migrate.

The earlier schemas are SQL dumps made by those releases' own code (``legacy/make_dumps.py``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from anyio.from_thread import start_blocking_portal
from sqlalchemy import select
from sqlalchemy.engine import make_url

import server.http.app  # noqa: F401  (every table, the web sessions' included, is on db.metadata)
from server.database import migrate
from server.database import tables as db
from tests.factories import Device, client_fields
from tests.server.conftest import Api, independent_digest
from tests.support.databases import PostgresDatabases
from tests.support.inprocess import InProcessServer
from tests.support.process import run_cli, winledger_command

pytestmark = pytest.mark.backends

LEGACY = Path(__file__).parent / "legacy"
HEAD = migrate.head_revision()


def url_of(database: Path | str) -> str:
    return database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"


def load_dump(database: Path | str, backend: str, version: int) -> None:
    """Fill an empty database with the dump an earlier release made of its own store."""
    script = (LEGACY / f"v{version}.{backend}.sql").read_text()
    if isinstance(database, Path):
        with sqlite3.connect(database) as connection:
            connection.executescript(script)
        return
    import asyncpg

    url = make_url(database)

    async def run() -> None:
        connection = await asyncpg.connect(
            host=url.host, port=url.port or 5432, user=url.username, database=url.database
        )
        try:
            await connection.execute(script)
        finally:
            await connection.close()

    asyncio.run(run())


def run_async(url: str, action: Callable[[Any], Any]) -> Any:
    async def run() -> Any:
        engine = db.create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(action)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def schema_differences(url: str) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the code's tables."""
    return run_async(  # type: ignore[no-any-return]
        url,
        lambda sync: compare_metadata(
            MigrationContext.configure(sync, opts={"compare_type": True}), db.metadata
        ),
    )


def meta_rows(url: str) -> dict[str, str]:
    return dict(run_async(url, lambda sync: sync.execute(select(db.meta.c.key, db.meta.c.value)).all()))


@pytest.mark.parametrize("version", [1, 2])
def test_admin_migrate_brings_an_earlier_store_up_to_date_keeping_every_event(
    version: int, db_backend: str, new_database: Callable[[], Path | str]
) -> None:
    database = new_database()
    url = url_of(database)
    load_dump(database, db_backend, version)
    epoch = meta_rows(url)["epoch"]

    check = run_cli("admin", "migrate", "--check", "--db", url, check=False)
    assert check.returncode == 1 and f"revision 000{version}" in check.stdout
    done = run_cli("admin", "migrate", "--db", url)
    assert f"migrated from revision 000{version} to revision {HEAD}" in done.stdout
    again = run_cli("admin", "migrate", "--db", url)
    assert "up to date" in again.stdout and "nothing to do" in again.stdout
    assert run_cli("admin", "migrate", "--check", "--db", url).returncode == 0
    assert schema_differences(url) == []
    assert meta_rows(url) == {"epoch": epoch, "schema_version": str(int(HEAD))}

    fixture = msgspec.json.decode((LEGACY / f"v{version}.json").read_bytes())
    with start_blocking_portal() as portal:
        # No migration allowed here: the store must be current already.
        live = InProcessServer(database, portal, migrate=False, projector_poll_s=0.05)
        try:
            assert live.epoch == epoch  # devices see the same store: nothing to re-push
            for name, token in fixture[db_backend].items():
                api = Api(live, token, name)
                events, last = api.pull_all()
                assert [client_fields(e) for e in events] == fixture["events"][name]
                assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
                assert last["digest"] == independent_digest(events)
                # The read models (new in version 2) are built from the migrated log.
                response = api.http.get(
                    "/v1/projects", params={"min_seq": len(events)}, headers=api.headers(None)
                )
                body = response.json()
                assert body["as_of_seq"] == len(events)
                assert [p["name"] for p in body["projects"]] == ["Churn model"]
                pushed = api.push(Device().events(2))
                assert [r["seq"] for r in pushed["results"]] == [len(events) + 1, len(events) + 2]
        finally:
            live.close()


def test_admin_migrate_creates_the_schema_of_an_empty_database(
    new_database: Callable[[], Path | str],
) -> None:
    url = url_of(new_database())
    done = run_cli("admin", "migrate", "--db", url, "--create")
    assert "migrated from an empty database to revision" in done.stdout
    assert schema_differences(url) == []
    assert set(meta_rows(url)) == {"epoch", "schema_version"}


def test_two_migrations_started_at_once_both_succeed_and_migrate_once(
    new_database: Callable[[], Path | str], db_backend: str
) -> None:
    database = new_database()
    url = url_of(database)
    load_dump(database, db_backend, 1)
    runs = [
        subprocess.Popen(
            [*winledger_command(), "admin", "migrate", "--db", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    migrated = [out for out, _ in outputs if "migrated from revision 0001" in out]
    assert len(migrated) == 1, outputs
    assert schema_differences(url) == []


def test_a_store_from_a_newer_winledger_is_refused_not_touched(
    new_database: Callable[[], Path | str],
) -> None:
    url = url_of(new_database())
    run_cli("admin", "migrate", "--db", url, "--create")

    def newer(sync: Any) -> None:
        sync.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
        sync.commit()

    run_async(url, newer)
    done = run_cli("admin", "migrate", "--db", url, check=False)
    assert done.returncode == 1
    assert "9999" in done.stderr and "newer than this winledger" in done.stderr
    served = run_cli("serve", "--db", url, "--port", "0", "--migrate", check=False)
    assert served.returncode == 1 and "upgrade winledger" in served.stderr


def test_serve_upgrades_an_embedded_sqlite_store_by_itself(tmp_path: Path, portal: Any) -> None:
    database = tmp_path / "v1.db"
    load_dump(database, "sqlite", 1)
    live = InProcessServer(database, portal, migrate=False)
    try:
        fixture = msgspec.json.decode((LEGACY / "v1.json").read_bytes())
        api = Api(live, fixture["sqlite"]["ada"], "ada")
        assert api.count() == len(fixture["events"]["ada"])
    finally:
        live.close()
    assert schema_differences(url_of(database)) == []


def test_postgresql_serve_refuses_an_out_of_date_schema_and_names_the_command(
    postgres_databases: PostgresDatabases, portal: Any
) -> None:
    database = postgres_databases.create()
    url = url_of(database)
    load_dump(database, "postgresql", 1)
    for args in (
        ["serve", "--port", "0"],
        ["serve", "--port", "0", "--workers", "2"],
        ["admin", "create-user", "x"],
    ):
        done = run_cli(*args, "--db", url, check=False)
        assert done.returncode == 1, done
        assert "revision 0001" in done.stderr and "winledger admin migrate --db" in done.stderr
    with pytest.raises(migrate.SchemaOutOfDate, match="winledger serve --migrate"):
        InProcessServer(database, portal, migrate=False)
    assert run_cli("admin", "migrate", "--check", "--db", url, check=False).returncode == 1  # untouched
    # `--migrate` (here: the setting behind it) upgrades, and the server starts.
    live = InProcessServer(database, portal, migrate=True)
    live.close()
    assert run_cli("admin", "migrate", "--check", "--db", url).returncode == 0
