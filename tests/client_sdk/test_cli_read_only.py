"""Commands that only read the journal create nothing (issue 15), through the real ``winledger`` command.

``winledger status --store /no/such/dir/j.db`` used to create the directory and a journal in it; so did
``review``, ``project list`` and ``export``, and ``login`` did not look at the journal at all.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.process import winledger_command

READERS = [["review"], ["project", "list"], ["export"], ["export", "--output", "out.ndjson"]]


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WINLEDGER_")}
    clean.update(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"), **(env or {}))
    return subprocess.run(
        [*winledger_command(), *args], capture_output=True, text=True, timeout=60, env=clean, cwd=home
    )


def everything_under(home: Path) -> list[str]:
    return sorted(str(path.relative_to(home)) for path in home.rglob("*"))


@pytest.mark.parametrize("args", [["status"], *READERS], ids=" ".join)
def test_a_reader_on_a_store_path_with_no_journal_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "j.db"
    result = run(tmp_path, *args, "--store", str(missing))
    assert everything_under(tmp_path) == []
    assert str(missing) in result.stdout + result.stderr
    assert "nothing was created" in result.stdout + result.stderr
    if args == ["status"]:  # the state of things, not an error: there is no journal there
        assert result.returncode == 0 and result.stdout.startswith("Journal:    none: there is no journal at")
        assert "Server:     none: run `winledger login --server URL`" in result.stdout
    else:
        assert result.returncode == 1 and result.stdout == ""
        assert (
            f"winledger {' '.join(a for a in args if not a.startswith('-') and '.' not in a)}"
            in result.stderr
        )
        assert "error: argument --store: there is no journal at" in result.stderr


@pytest.mark.parametrize("args", [["status"], *READERS], ids=" ".join)
def test_a_reader_on_the_first_day_creates_no_journal_and_no_folder(tmp_path: Path, args: list[str]) -> None:
    result = run(tmp_path, *args)
    assert everything_under(tmp_path) == []
    assert "your first capture (`winledger win TEXT`) creates it" in result.stdout + result.stderr
    assert result.returncode == (0 if args == ["status"] else 1)


def test_winledger_store_in_the_environment_is_named_as_the_source(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = run(tmp_path, "review", env={"WINLEDGER_STORE": str(missing)})
    assert result.returncode == 1 and "(from $WINLEDGER_STORE)" in result.stderr
    assert everything_under(tmp_path) == []


def test_login_on_a_store_with_no_journal_creates_none(tmp_path: Path) -> None:
    """It checks the journal's account when there is one, and makes none when there is not (offline here)."""
    token = "wl_" + "a" * 16 + "_" + "b" * 64
    missing = tmp_path / "no" / "j.db"
    result = subprocess.run(
        [*winledger_command(), "login", "--server", "http://127.0.0.1:9", "--store", str(missing)],
        input=token,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("WINLEDGER_")},
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
        },
    )
    assert result.returncode == 0 and "Could not reach" in result.stdout, result.stderr
    assert not (tmp_path / "no").exists() and not (tmp_path / "data").exists()


def test_a_reader_still_reads_a_journal_that_exists(tmp_path: Path) -> None:
    store = str(tmp_path / "j.db")
    assert (
        run(
            tmp_path, "project", "start", "Churn early warning", "--kind", "model", "--store", store
        ).returncode
        == 0
    )
    listed = run(tmp_path, "project", "list", "--store", store)
    assert listed.returncode == 0 and "Churn early warning" in listed.stdout
    status = run(tmp_path, "status", "--store", store)
    assert "1 pending, 0 synced" in status.stdout
    assert "Account:    none yet: the first sync records it" in status.stdout


REFERRERS = [
    ["milestone", "Churn", "deployed"],
    ["metric", "Churn", "auc", "0.8", "--layer", "model"],
    ["feedback", "Churn", "It helped"],
    ["link", "Churn", "auc", "saved_rate", "--evidence", "ab_test"],
    ["win", "Shipped it", "--project", "Churn"],
    ["learned", "Check the labels first", "--project", "Churn"],
    ["retract", "abcd1234"],
    ["redact", "abcd1234"],
]


@pytest.mark.parametrize("args", REFERRERS, ids=lambda a: " ".join(a[:2]))
def test_a_capture_that_names_a_project_or_event_creates_no_journal(tmp_path: Path, args: list[str]) -> None:
    """What it names can only be in a journal that exists: a mistyped ``--store`` is an error, not a new,
    empty journal (the retraction of a real event would otherwise land in the wrong file)."""
    missing = tmp_path / "typo" / "j.db"
    result = run(tmp_path, *args, "--store", str(missing))
    assert result.returncode == 1 and result.stdout == ""
    assert f"error: argument --store: there is no journal at {missing}" in result.stderr
    assert everything_under(tmp_path) == []


def test_a_capture_that_names_nothing_still_creates_the_journal(tmp_path: Path) -> None:
    store = tmp_path / "j.db"
    result = run(tmp_path, "win", "First win of the year", "--store", str(store))
    assert result.returncode == 0 and store.exists(), result.stderr


def test_a_capture_on_a_store_in_a_missing_folder_creates_no_folder(tmp_path: Path) -> None:
    """``winledger win x --store /nonexistent/dir/j.db`` used to create the folders of a typo."""
    store = tmp_path / "tpyo" / "j.db"
    result = run(tmp_path, "win", "First win of the year", "--store", str(store))
    assert result.returncode == 1 and result.stdout == ""
    assert (
        f"argument --store: the folder {store.parent} of {store} (from --store) does not exist"
        in result.stderr
    )
    assert everything_under(tmp_path) == []


def test_a_folder_given_as_the_store_is_named_as_one(tmp_path: Path) -> None:
    result = run(tmp_path, "win", "First win of the year", "--store", str(tmp_path))
    assert result.returncode == 1
    assert (
        f"argument --store: {tmp_path} (from --store) is a folder; name the journal file in it"
        in result.stderr
    )
