"""``winledger nudge`` and the tail of ``winledger status``, run as a user runs them: the list from the
journal alone, as of a day, and each printed command run as printed (capitals filled in) resolving it."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import run_main
from tests.support.process import run_cli

TODAY = datetime.now(UTC).date()
DEPLOYED = TODAY - timedelta(days=40)


def ok(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    result = run_main(capsys, *args)
    assert result.code == 0, result.err
    return result.out


def _journal(capsys: pytest.CaptureFixture[str]) -> None:
    name = "Ann's churn model"
    ok(capsys, "project", "start", name, "--kind", "model", "--at", (TODAY - timedelta(days=60)).isoformat())
    ok(capsys, "milestone", name, "deployed", "--at", DEPLOYED.isoformat())


def test_nudge_lists_what_to_capture_and_its_printed_command_resolves_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _journal(capsys)
    out = ok(capsys, "nudge")
    lines = out.splitlines()
    assert lines[0] == f"What to capture next (as of {TODAY.isoformat()}):"
    day = f"{DEPLOYED.day} {DEPLOYED:%B} {DEPLOYED.year}"
    assert lines[1] == (
        f"- Ann's churn model: Ann's churn model was deployed on {day}, 40 days before "
        f"{TODAY.day} {TODAY:%B} {TODAY.year}, and no production-layer number has been recorded since: "
        "capture the first production numbers."
    )
    command = lines[2].strip()
    assert command == """winledger metric "Ann's churn model" KEY VALUE --layer production"""
    argv = [{"KEY": "scored_per_day", "VALUE": "52000"}.get(word, word) for word in shlex.split(command)]
    assert argv[0] == "winledger"
    assert "pending sync" in ok(capsys, *argv[1:])
    # The production numbers are in: the next thing worth capturing is the business outcome.
    lines = ok(capsys, "nudge").splitlines()
    assert "has production numbers (Scored per day stood at 52,000 on" in lines[1]
    command = lines[2].strip()
    assert command == """winledger metric "Ann's churn model" KEY VALUE --layer business"""
    argv = [{"KEY": "saved_rate", "VALUE": "34"}.get(word, word) for word in shlex.split(command)]
    assert "pending sync" in ok(capsys, *argv[1:])
    # Then the chain from the production number to that outcome.
    lines = ok(capsys, "nudge").splitlines()
    assert "The chain “Scored per day” of Ann's churn model stops at the production layer" in lines[1]
    command = lines[2].strip()
    assert command == """winledger link "Ann's churn model" scored_per_day saved_rate --evidence EVIDENCE"""
    argv = [{"EVIDENCE": "before_after"}.get(word, word) for word in shlex.split(command)]
    assert "pending sync" in ok(capsys, *argv[1:])
    assert ok(capsys, "nudge") == f"Nothing to capture right now (as of {TODAY.isoformat()}).\n"


def test_as_of_draws_the_list_as_of_that_day_28_days_then_29(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _journal(capsys)
    at_28 = json.loads(
        ok(capsys, "nudge", "--as-of", (DEPLOYED + timedelta(days=28)).isoformat(), "--format", "json")
    )
    assert at_28 == {"as_of": (DEPLOYED + timedelta(days=28)).isoformat(), "nudges": []}
    day_29 = (DEPLOYED + timedelta(days=29)).isoformat()
    at_29 = json.loads(ok(capsys, "nudge", "--as-of", day_29, "--format", "json"))
    [item] = at_29["nudges"]
    assert item["kind"] == "no_production_metric" and at_29["as_of"] == day_29
    assert item["project"]["name"] == "Ann's churn model" and len(item["project"]["id"]) == 36
    assert "29 days before" in item["reason"] and len(item["event_ids"]) == 1
    assert item["command"].startswith("winledger metric ")


def test_bad_input_is_a_clear_error_naming_the_argument(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = run_main(capsys, "nudge")
    assert missing.code == 1 and "there is no journal" in missing.err and not (home / "data").exists()
    _journal(capsys)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    future = run_main(capsys, "nudge", "--as-of", tomorrow)
    assert future.code == 1 and "argument --as-of" in future.err and "after today" in future.err
    wrong = run_main(capsys, "nudge", "--as-of", "2026-02-30")
    assert wrong.code == 1 and "--as-of" in wrong.err and "YYYY-MM-DD" in wrong.err
    fmt = run_main(capsys, "nudge", "--format", "md")
    assert fmt.code == 1 and "--format" in fmt.err


def test_status_ends_with_the_same_list(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _journal(capsys)
    status = ok(capsys, "status")
    listed = ok(capsys, "nudge")
    assert status.startswith("Journal:") and status.endswith("\n\n" + listed)


def test_the_installed_command_prints_the_json_a_script_reads(tmp_path: Path) -> None:
    env = {
        "WINLEDGER_STORE": str(tmp_path / "journal.db"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    at = (TODAY - timedelta(days=100)).isoformat()
    run_cli("project", "start", "Quiet analysis", "--kind", "analysis", "--at", at, env=env)
    result = run_cli("nudge", "--format", "json", env=env)
    [item] = json.loads(result.stdout)["nudges"]
    assert item["kind"] == "quiet" and item["command"] == 'winledger milestone "Quiet analysis" abandoned'
    run_cli(*shlex.split(item["command"])[1:], env=env)
    assert json.loads(run_cli("nudge", "--format", "json", env=env).stdout)["nudges"] == []
