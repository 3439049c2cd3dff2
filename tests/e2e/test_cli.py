"""The ``winledger`` command as an admin uses it: real processes, a real database file."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.process import ServerProcess, run_cli

pytestmark = pytest.mark.e2e

COMMANDS = [
    [],
    ["serve"],
    ["admin"],
    ["admin", "create-user"],
    ["admin", "create-token"],
    ["admin", "list-tokens"],
    ["admin", "revoke-token"],
    ["admin", "rebuild"],
    ["admin", "stats"],
    ["admin", "migrate"],
    ["schema"],
    ["schema", "export"],
    ["demo"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "winledger")
def test_every_command_has_help(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.stdout.startswith("usage: winledger")


@pytest.mark.backends
def test_tokens_are_listed_without_secrets_and_revoked_one_by_one(
    tmp_path: Path, new_database: Callable[[], Path | str]
) -> None:
    database = new_database()
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
    run_cli("admin", "migrate", "--db", url, "--create")
    server = ServerProcess(tmp_path / "admin.db", db_url=url).start()
    try:
        db = ["--db", server.db_url]
        laptop = server.create_user("erin", label="laptop")
        created = run_cli("admin", "create-token", "erin", "--label", "phone", "--expires", "90d", *db)
        phone = created.stdout.strip().splitlines()[-1]
        assert phone.startswith("wl_") and phone != laptop and ", valid until 20" in created.stdout
        past = run_cli("admin", "create-token", "erin", "--expires", "2020-01-01", *db, check=False)
        assert past.returncode == 1 and "--expires '2020-01-01' is in the past" in past.stderr

        again = run_cli("admin", "create-user", "erin", *db, check=False)
        assert again.returncode == 1 and "already exists" in again.stderr

        with httpx.Client(base_url=server.url) as http:
            for token in (laptop, phone):
                assert http.get("/v1/info", headers={"Authorization": f"Bearer {token}"}).status_code == 200
            listing = run_cli("admin", "list-tokens", "erin", *db).stdout
            assert "laptop" in listing and "phone" in listing and "STATE" in listing
            phone_row = next(line for line in listing.splitlines() if "phone" in line)
            assert " active " in phone_row and phone_row.rstrip().endswith("-")  # expires, not revoked
            for token in (laptop, phone):
                assert token.split("_")[2] not in listing
            phone_id = phone.split("_")[1]
            assert run_cli("admin", "revoke-token", phone_id, *db).returncode == 0
            revoked = http.get("/v1/info", headers={"Authorization": f"Bearer {phone}"})
            assert revoked.status_code == 401 and revoked.json()["code"] == "unauthorized"
            assert revoked.json()["reason"] == "revoked"
            listing = run_cli("admin", "list-tokens", "erin", *db).stdout
            assert " revoked " in next(line for line in listing.splitlines() if "phone" in line)
            assert http.get("/v1/info", headers={"Authorization": f"Bearer {laptop}"}).status_code == 200

        unknown = run_cli("admin", "revoke-token", "0000000000000000", *db, check=False)
        assert unknown.returncode == 1 and "No token" in unknown.stderr
    finally:
        server.stop()


def test_schema_export_writes_json_schema_for_events_and_messages(tmp_path: Path) -> None:
    run_cli("schema", "export", str(tmp_path / "out"))
    names = {path.name for path in (tmp_path / "out").iterdir()}
    assert {"envelope.json", "event.win.captured.v1.json", "PushRequest.json", "PullResponse.json"} <= names
    document = json.loads((tmp_path / "out" / "event.metric.observed.v1.json").read_text())
    metric = document["$defs"]["MetricObservedV1"]
    assert set(metric["required"]) == {"key", "layer", "value"}
    # Both versions of metric.observed are documented; version 2 adds `measure`.
    document = json.loads((tmp_path / "out" / "event.metric.observed.v2.json").read_text())
    metric = document["$defs"]["MetricObservedV2"]
    assert set(metric["required"]) == {"key", "layer", "value"}
    assert metric["properties"]["measure"]["enum"] == ["change", "level"]


def without_the_server(*argv: str) -> subprocess.CompletedProcess[str]:
    """``winledger ARGV`` where the server's dependencies cannot be imported (a client-only install)."""
    blocked = (
        "import sys; sys.modules['starlette'] = None; sys.modules['sqlalchemy'] = None; "
        f"from client_sdk.cli import main; sys.exit(main({list(argv)!r}))"
    )
    return subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60)


def test_server_commands_name_the_extra_where_the_server_is_not_installed() -> None:
    result = without_the_server("admin", "list-tokens", "x")
    assert result.returncode != 0
    assert "pip install '.[server]'" in result.stderr


SERVER_COMMANDS = re.compile(r"^ {4}(serve|admin) ", re.MULTILINE)


@pytest.mark.parametrize(
    "argv",
    [["serve"], ["serve", "--port", "8751"], ["serve", "--help"], ["admin"], ["admin", "stats", "--db", "x"]],
    ids=" ".join,
)
def test_without_the_server_its_commands_are_unlisted_and_say_which_extra_adds_them(
    argv: list[str],
) -> None:
    listed = without_the_server("--help")
    assert listed.returncode == 0 and "    win " in listed.stdout
    assert SERVER_COMMANDS.findall(listed.stdout) == []
    assert SERVER_COMMANDS.findall(run_cli("--help").stdout) == ["serve", "admin"]  # installed here
    result = without_the_server(*argv)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "winledger: this command runs the server, whose dependencies are not installed here (missing "
        "module 'starlette'). Install them from a clone of the repository with: pip install '.[server]'\n"
    )


def test_a_server_setting_the_client_cannot_use_is_none_of_its_business(tmp_path: Path) -> None:
    """Server settings are read when a server command runs, and only the ones it uses."""
    unusable = {"WINLEDGER_PORT": "abc", "WINLEDGER_WORKERS": "many", "WINLEDGER_MIGRATE": "perhaps"}
    for argv in (["--help"], ["win", "--help"], ["serve", "--help"], ["admin", "stats", "--help"]):
        assert run_cli(*argv, env=unusable).stdout.startswith("usage: winledger")
    url = f"sqlite+aiosqlite:///{tmp_path / 'server.db'}"
    run_cli("admin", "migrate", "--db", url, "--create", env=unusable)
    assert "Users:       0" in run_cli("admin", "stats", env={**unusable, "WINLEDGER_DB": url}).stdout


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("WINLEDGER_PORT", "abc", "'abc' is not a port number (1-65535)"),
        ("WINLEDGER_PORT", "65536", "'65536' is not a port number (1-65535)"),
        ("WINLEDGER_WORKERS", "many", "'many' is not a whole number"),
        ("WINLEDGER_MAX_BATCH", "1e3", "'1e3' is not a whole number"),
        ("WINLEDGER_BODY_TIMEOUT_S", "soon", "'soon' is not a number"),
        ("WINLEDGER_MIGRATE", "perhaps", "'perhaps' is not true or false (1, 0, yes, no, on, off)"),
        ("WINLEDGER_PROJECTOR", "thread", "projector must be inline or process, got 'thread'"),
        ("WINLEDGER_LOG_FORMAT", "xml", "log_format must be text or json, got 'xml'"),
        ("WINLEDGER_MAX_PAGE", "0", "max_page must be positive, got 0"),
    ],
)
def test_serve_refuses_a_setting_it_cannot_use_and_names_its_variable(
    tmp_path: Path, variable: str, value: str, says: str
) -> None:
    db = tmp_path / "server.db"
    result = run_cli("serve", "--db", f"sqlite+aiosqlite:///{db}", check=False, env={variable: value})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"winledger serve: error: ${variable}: {says}\n"
    assert not db.exists()
