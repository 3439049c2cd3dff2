"""Admin commands name the database they open, and create none unasked, on SQLite and PostgreSQL (issue 15).

The walk from another directory, next to a running server, is in tests/e2e/test_accounts.py.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from server.accounts.auth import AdminError
from server.admin.parser import MODULES, SHOWN_DEFAULT_DB_URL, command
from server.admin.store import name_database, shown
from server.settings import DEFAULT_DB_URL
from tests.support.process import run_cli, winledger_command

pytestmark = pytest.mark.backends


def url_of(database: Path | str) -> str:
    return database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"


def test_every_admin_command_says_which_database_it_opened(new_database: Callable[[], Path | str]) -> None:
    url = url_of(new_database())
    made = run_cli("admin", "migrate", "--db", url, "--create")
    created = run_cli("admin", "create-user", "ada", "--db", url)
    listed = run_cli("admin", "list-tokens", "ada", "--db", url)
    stats = run_cli("admin", "stats", "--db", url)
    for done in (made, created, listed, stats):
        assert done.stderr.startswith(f"Database: {shown(url)}"), done.stderr
    if url.startswith("postgresql"):
        assert shown(url) == url  # the test database has no password to hide
        assert "(new)" not in made.stderr  # a PostgreSQL database is made by createdb, not here
    else:
        assert made.stderr == f"Database: {shown(url)} (new)\n"


def test_the_line_hides_a_password_and_gives_a_sqlite_file_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "postgresql+asyncpg://winledger:hunter2@db.internal:5432/winledger"
    assert shown(secret) == "postgresql+asyncpg://winledger:***@db.internal:5432/winledger"
    assert name_database(secret, create=False, creates=False, source="--db") == f"Database: {shown(secret)}"
    monkeypatch.chdir(tmp_path)
    assert shown("sqlite+aiosqlite:///./winledger.db") == f"sqlite+aiosqlite:///{tmp_path / 'winledger.db'}"


def test_a_missing_sqlite_file_is_refused_and_not_created(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'typo.db'}"
    with pytest.raises(AdminError, match="--create") as asked:
        name_database(url, create=False, creates=True, source="--db")
    assert str(tmp_path / "typo.db") in str(asked.value) and "--db URL" in str(asked.value)
    with pytest.raises(AdminError) as refused:
        name_database(url, create=True, creates=False, source="--db")
    assert "--create" not in str(refused.value)  # a command that only reads a database cannot make one
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "typo.db").touch()  # an empty file is no database either
    with pytest.raises(AdminError):
        name_database(url, create=False, creates=True, source="--db")
    assert name_database(url, create=True, creates=True, source="--db").endswith("(new)")


def test_every_admin_action_runs_a_command_of_its_concern_s_module() -> None:
    assert set(MODULES.values()) == {"users", "migrate", "rebuild", "backup", "stats", "erase"}
    for action, module in MODULES.items():
        run = command(action, module)
        assert callable(run) and run.__module__ == f"server.admin.{module}", action
    assert SHOWN_DEFAULT_DB_URL == DEFAULT_DB_URL  # the default --help shows is the one used


FORMS = "write sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DATABASE"


@pytest.mark.parametrize(
    ("db", "message"),
    [
        ("/srv/winledger/winledger.db", f"'/srv/winledger/winledger.db' is not a database URL: {FORMS}"),
        ("sqlite:////srv/w.db", "uses the pysqlite driver, which is not asynchronous: write sqlite+aiosqlite:////srv/w.db"),
        ("mysql+aiomysql://root@127.0.0.1/test", "names a mysql database; winledger serves from"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("args", [["admin", "list-tokens", "ada"], ["serve", "--port", "0"]], ids=" ".join)
def test_a_database_that_is_no_url_is_one_sentence_naming_the_flag(
    tmp_path: Path, db: str, message: str, args: list[str]
) -> None:
    """A file path for --db (an easy mistake) used to end in a SQLAlchemy traceback, for serve and admin."""
    result = subprocess.run(
        [*winledger_command(), *args, "--db", db], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "argument --db: " in result.stderr and message in result.stderr
    assert list(tmp_path.iterdir()) == []
    from_env = subprocess.run(
        [*winledger_command(), *args], capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "WINLEDGER_DB": db},
    )  # fmt: skip
    assert from_env.returncode == 1 and "$WINLEDGER_DB: " in from_env.stderr and message in from_env.stderr


@pytest.mark.parametrize("args", [["admin", "list-tokens", "ada"], ["serve", "--port", "0"]], ids=" ".join)
def test_a_database_that_does_not_answer_is_one_sentence(args: list[str]) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/winledger"  # nothing listens on port 1
    result = run_cli(*args, "--db", url, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"cannot use the database {url}: [Errno 111] Connect call failed" in result.stderr
