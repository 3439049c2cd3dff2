"""The client commands of ``winledger``, run in-process on a temporary journal and temporary XDG dirs."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from client_sdk import Client, _account, _config, uuid7
from tests.support.cli import Result, run_main
from tests.support.inprocess import InProcessServer
from tests.support.process import winledger_command

CLIENT_COMMANDS = [
    ["win"],
    ["project"],
    ["project", "start"],
    ["project", "list"],
    ["milestone"],
    ["metric"],
    ["feedback"],
    ["learned"],
    ["link"],
    ["retract"],
    ["redact"],
    ["sync"],
    ["status"],
    ["review"],
    ["login"],
    ["logout"],
]


TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
NEXT_MONTH = (datetime.now(UTC).date() + timedelta(days=31)).isoformat()


Cli = Callable[..., Result]


@pytest.fixture
def cli(home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``cli("win", "text", stdin=...)``: run ``winledger`` in-process; usage errors included."""

    def run(*args: str, stdin: str | None = None) -> Result:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return run_main(capsys, *args)

    return run


def journal(home: Path) -> Client:
    return Client(home / "data" / "winledger" / "journal.db")


def recorded_id(result: Result) -> str:
    assert result.code == 0, result.err
    assert result.out.count("\n") == 1 and "pending sync" in result.out
    return result.out.split()[-1]


# -- capturing --------------------------------------------------------------------------


def test_a_win_is_one_command_and_one_line_in_the_default_journal(cli: Cli, home: Path) -> None:
    result = cli(
        "win", "Shipped the churn model's weekly export", "--tag", "export", "--tag", "cs", "--voice"
    )
    event_id = recorded_id(result)
    assert result.out.startswith("Recorded win, pending sync: ")
    with journal(home) as client:
        [event] = client.events()
    assert event.id == event_id and event.status == "pending" and event.project_id is None
    assert event.data == {
        "text": "Shipped the churn model's weekly export",
        "source": "voice",
        "tags": ["export", "cs"],
    }
    assert stat.S_IMODE((home / "data" / "winledger").stat().st_mode) == 0o700


def test_store_flag_and_environment_choose_the_journal(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded_id(cli("win", "into the flag's file", "--store", str(home / "flag.db")))
    monkeypatch.setenv("WINLEDGER_STORE", str(home / "env.db"))
    recorded_id(cli("win", "into the environment's file"))
    for name, text in (("flag.db", "into the flag's file"), ("env.db", "into the environment's file")):
        with Client(home / name) as client:
            assert [e.data["text"] for e in client.events()] == [text]
    assert not (home / "data" / "winledger" / "journal.db").exists()


def test_every_capture_command_records_its_event(cli: Cli, home: Path) -> None:
    started = cli("project", "start", "Churn early warning", "--kind", "model", "--team", "Customer success")
    assert started.code == 0 and "pending sync" in started.out
    ids = {
        "milestone": recorded_id(
            cli("milestone", "churn early warning", "deployed", "--note", "behind a flag")
        ),
        "metric": recorded_id(
            cli(
                "metric",
                "Churn early warning",
                "saved_rate",
                "34",
                "--layer",
                "business",
                "--unit",
                "%",
                "--baseline",
                "25",
                "--low",
                "30",
                "--high",
                "38",
                "--direction",
                "higher_is_better",
                "--label",
                "Saved accounts",
                "--note",
                "first quarter",
            )
        ),
        "feedback": recorded_id(
            cli(
                "feedback",
                "Churn early warning",
                "We changed the renewal playbook",
                "--from",
                "Dana",
                "--team",
                "CS",
                "--decision",
                "Weekly review of flagged accounts",
            )
        ),
        "learned": recorded_id(
            cli("learned", "Renewal dates leak the label", "--project", "Churn early warning")
        ),
        "next": recorded_id(cli("learned", "Try survival models", "--next")),
        "link": recorded_id(
            cli("link", "Churn early warning", "recall_at_30d", "saved_rate", "--evidence", "ab_test")
        ),
    }
    with journal(home) as client:
        churn = client.find_project("Churn early warning")
        events = {e.id: e for e in client.events()}
    assert {e.type for e in events.values()} == {
        "project.started", "milestone.reached", "metric.observed", "feedback.received", "learning.noted",
        "metric.linked",
    }  # fmt: skip
    assert events[ids["milestone"]].data == {"milestone": "deployed", "note": "behind a flag"}
    assert events[ids["metric"]].data == {
        "key": "saved_rate", "layer": "business", "value": 34.0, "unit": "%", "baseline": 25.0, "low": 30.0,
        "high": 38.0, "direction": "higher_is_better", "label": "Saved accounts", "note": "first quarter",
    }  # fmt: skip
    assert events[ids["feedback"]].data == {
        "quote": "We changed the renewal playbook", "source_name": "Dana", "source_team": "CS",
        "decision": "Weekly review of flagged accounts",
    }  # fmt: skip
    assert events[ids["learned"]].data == {"text": "Renewal dates leak the label", "kind": "learned"}
    assert events[ids["next"]].data["kind"] == "next" and events[ids["next"]].project_id is None
    assert events[ids["link"]].data["evidence"] == "ab_test"
    assert all(e.project_id == churn for key, e in events.items() if key != ids["next"])


def test_metric_change_and_direction_none_record_a_version_2_metric(cli: Cli, home: Path) -> None:
    """`--change`: the value is a lift or a saving; `--direction none`: neither way is better."""
    assert cli("project", "start", "Pricing", "--kind", "model").code == 0
    change = cli(
        "metric", "pricing", "conversion_lift", "3.1", "--layer", "business", "--unit", "pp", "--change",
        "--low", "1.2", "--high", "5", "--direction", "higher_is_better",
    )  # fmt: skip
    assert change.out.startswith('Recorded business metric conversion_lift changed by +3.1pp for "Pricing"')
    neutral = cli("metric", "pricing", "price_elasticity", "-1.4", "--layer", "model", "--direction", "none")
    assert neutral.out.startswith('Recorded model metric price_elasticity = -1.4 for "Pricing"')
    level = cli("metric", "pricing", "margin", "31", "--layer", "business", "--unit", "%")
    with journal(home) as client:
        events = {e.id: e for e in client.events()}
    assert (events[recorded_id(change)].v, events[recorded_id(change)].data) == (
        2,
        {
            "key": "conversion_lift", "layer": "business", "value": 3.1, "unit": "pp", "low": 1.2,
            "high": 5.0, "direction": "higher_is_better", "measure": "change",
        },
    )  # fmt: skip
    assert (events[recorded_id(neutral)].v, events[recorded_id(neutral)].data) == (
        2,
        {"key": "price_elasticity", "layer": "model", "value": -1.4, "direction": "none"},
    )
    # A level is version 2 too, its measure at the default and so left out.
    assert (events[recorded_id(level)].v, events[recorded_id(level)].data) == (
        2,
        {"key": "margin", "layer": "business", "value": 31.0, "unit": "%"},
    )


def test_metric_help_says_what_change_and_each_direction_mean(cli: Cli) -> None:
    result = cli("metric", "--help")
    assert result.code == 0
    text = " ".join(result.out.split())
    assert "--change" in text and "a lift or a saving" in text and "not the level itself" in text
    assert "{higher_is_better,lower_is_better,none}" in text
    assert "none (neither: an elasticity, a neutral share)" in text


def test_the_real_winledger_command_records_a_change_and_refuses_a_bad_direction(tmp_path: Path) -> None:
    store = str(tmp_path / "journal.db")

    def winledger(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*winledger_command(), *args, "--store", store], capture_output=True, text=True, timeout=60
        )

    assert winledger("project", "start", "Pricing", "--kind", "model").returncode == 0
    recorded = winledger("metric", "Pricing", "hours_saved", "14", "--layer", "business", "--change",
                         "--direction", "none")  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    assert "metric hours_saved changed by +14" in recorded.stdout
    refused = winledger("metric", "Pricing", "hours_saved", "14", "--layer", "business", "--direction", "up")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "argument --direction: invalid choice: 'up'" in refused.stderr
    choices = refused.stderr.split("choose from", 1)[1].replace("'", "")  # quoted from Python 3.12.8 on
    assert "higher_is_better, lower_is_better, none" in choices
    with Client(store) as client:
        [metric] = [e for e in client.events() if e.type == "metric.observed"]
    assert metric.v == 2 and metric.data["measure"] == "change" and metric.data["direction"] == "none"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-02T14:30:00Z", "2026-03-02T14:30:00.000000Z"),
        ("2026-03-02T14:30:00+02:00", "2026-03-02T12:30:00.000000Z"),
        ("2026-03-02", "2026-03-02"),  # a bare day is noon, local time: still that day in UTC
    ],
)
def test_at_backdates_a_capture(cli: Cli, home: Path, text: str, expected: str) -> None:
    event_id = recorded_id(cli("win", "backdated", "--at", text))
    with journal(home) as client:
        [event] = client.events()
    assert event.id == event_id
    assert event.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ").startswith(expected)


def test_relative_days_count_back_from_today(cli: Cli, home: Path) -> None:
    recorded_id(cli("win", "a week back", "--at", "1 week ago"))
    with journal(home) as client:
        [event] = client.events()
    local_day = event.occurred_at.astimezone().date()
    assert local_day == datetime.now().astimezone().date() - timedelta(days=7)


@pytest.mark.parametrize(
    ("args", "argument", "words"),
    [
        (["win", ""], "argument TEXT", "'' is blank"),
        (["win", "x", "--at", "someday"], "argument --at", "'someday'"),
        (["win", "x", "--at", "1960-01-01"], "argument --at", "1970-01-01"),
        (["win", "x", "--tag", "t" * 51], "argument --tag", "51 characters long; each is at most 50"),
        (["win"], "TEXT", "required"),
        (["milestone", "Churn", "deploy"], "argument MILESTONE", "'deploy'"),
        (["metric", "Churn", "saved_rate", "34%", "--layer", "business"], "argument VALUE", "--unit"),
        (["metric", "Churn", "saved_rate", "nan", "--layer", "business"], "argument VALUE", "finite"),
        (["metric", "Churn", "Saved Rate", "3", "--layer", "business"], "argument KEY", "'Saved Rate'"),
        (["metric", "Churn", "saved_rate", "3", "--layer", "business", "--low", "1"], "--low", "go together"),
        (["metric", "Churn", "saved_rate", "3"], "--layer", "required"),
        (
            ["metric", "Churn", "saved_rate", "3", "--layer", "business", "--direction", "neutral"],
            "argument --direction",
            "invalid choice: 'neutral' (choose from",
        ),
        (["metric", "Churn", "saved_rate", "3", "--layer", "business", "--change=yes"], "--change", "yes"),
        (["link", "Churn", "a", "b", "--evidence", "vibes"], "argument --evidence", "'vibes'"),
        (["project", "start", "Other", "--kind", "model", "--team", ""], "argument --team", "'' is blank"),
        (["review", "--from", "2026-02-30"], "argument --from", "2026-02-30"),
        (["review", "--from", "2026-03-01", "--to", "2026-02-01"], "argument --from", "after it ends"),
        # as_of is a day that has happened, and the period may not end after it.
        (["review", "--as-of", TOMORROW], "argument --as-of", "after today"),
        (["review", "--to", "2026-06-30", "--as-of", "2026-06-29"], "argument --as-of", "before the period"),
        (["review", "--from", TOMORROW, "--to", NEXT_MONTH], "argument --from", "after today"),
        (["review", "--from", TOMORROW], "argument --from", "after it ends"),  # --to: today
        (["review", "--format", "pdf"], "argument --format", "'pdf'"),
    ],
)
def test_errors_name_the_argument_and_exit_1(
    cli: Cli, home: Path, args: list[str], argument: str, words: str
) -> None:
    assert cli("project", "start", "Churn", "--kind", "model").code == 0
    result = cli(*args)
    assert result.code == 1 and result.out == ""
    assert argument in result.err and words in result.err, result.err
    with journal(home) as client:
        assert len(client.events()) == 1  # nothing but the project was stored


@pytest.mark.parametrize("command", CLIENT_COMMANDS, ids=" ".join)
def test_every_client_command_has_help(cli: Cli, command: list[str]) -> None:
    result = cli(*command, "--help")
    assert result.code == 0 and result.out.startswith(f"usage: winledger {' '.join(command)}")


def test_a_capture_imports_neither_httpx_nor_the_read_models_nor_touches_the_network(tmp_path: Path) -> None:
    code = (
        "import socket, sys\n"
        "def refuse(*args): raise AssertionError('a capture touched the network')\n"
        "socket.socket.connect = refuse\n"
        "from client_sdk.cli import main\n"
        f"store = {str(tmp_path / 'j.db')!r}\n"
        "assert main(['project', 'start', 'Churn', '--kind', 'model', '--store', store]) == 0\n"
        "assert main(['win', 'fast', '--project', 'churn', '--store', store]) == 0\n"
        "assert main(['metric', 'Churn', 'auc', '0.9', '--layer', 'model', '--store', store]) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'httpx' or m == 'schema.projections'))\n"
    )
    environment = {**os.environ, "WINLEDGER_SERVER": "http://127.0.0.1:9", "WINLEDGER_TOKEN": "wl_x"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=environment
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# -- project names ----------------------------------------------------------------------


@pytest.fixture
def projects(home: Path) -> dict[str, str]:
    def started(client: Client, name: str, kind: str) -> str:
        """As a project of the same name arrives from another device: this client refuses to start one."""
        project = uuid7()
        client._write("project.started", {"name": name, "kind": kind}, project, None)
        return project

    with journal(home) as client:
        return {
            "churn": client.start_project("Churn early warning", "model"),
            "Churn": client.start_project("Churn", "analysis"),
            "churn-lower": started(client, "churn", "experiment"),
            "twin-1": client.start_project("Pricing", "model"),
            "twin-2": started(client, "Pricing", "research"),
            "intent": client.start_project("Intent classifier", "model"),
        }


def project_of(home: Path, event_id: str) -> str | None:
    with journal(home) as client:
        return next(e.project_id for e in client.events() if e.id == event_id)


def test_names_resolve_exact_first_then_any_case_then_id_prefix(
    cli: Cli, home: Path, projects: dict[str, str]
) -> None:
    assert project_of(home, recorded_id(cli("win", "a", "--project", "Churn"))) == projects["Churn"]
    assert project_of(home, recorded_id(cli("win", "b", "--project", "churn"))) == projects["churn-lower"]
    assert (
        project_of(home, recorded_id(cli("win", "c", "--project", "CHURN EARLY WARNING")))
        == projects["churn"]
    )
    intent = projects["intent"]
    assert project_of(home, recorded_id(cli("win", "d", "--project", intent))) == intent
    prefix = next(
        intent[:n] for n in range(4, 36) if sum(p.startswith(intent[:n]) for p in projects.values()) == 1
    )
    assert project_of(home, recorded_id(cli("win", "e", "--project", prefix))) == intent
    renamed = recorded_id(cli("win", "f", "--project", "Intent classifier"))
    with journal(home) as client:
        client.update_project(intent, name="Ticket router")
    assert project_of(home, recorded_id(cli("win", "g", "--project", "ticket router"))) == intent
    assert project_of(home, renamed) == intent
    assert cli("win", "h", "--project", "Intent classifier").code == 1


def test_an_ambiguous_name_lists_the_projects_with_ids_and_kinds(
    cli: Cli, home: Path, projects: dict[str, str]
) -> None:
    result = cli("milestone", "pricing", "trained")
    assert result.code == 1
    assert "argument PROJECT" in result.err and "fits 2 projects" in result.err
    assert projects["twin-1"] in result.err and projects["twin-2"] in result.err
    assert "model" in result.err and "research" in result.err
    with journal(home) as client:
        assert not [e for e in client.events() if e.type == "milestone.reached"]


def test_an_unknown_name_lists_close_matches(cli: Cli, projects: dict[str, str]) -> None:
    result = cli("win", "x", "--project", "Intent clasifier")
    assert result.code == 1 and "argument --project" in result.err
    assert "No project named 'Intent clasifier'" in result.err
    assert f"Intent classifier  {projects['intent']}  model" in result.err
    assert projects["churn"] not in result.err
    result = cli("feedback", "early warning", "Nice")
    assert f"Churn early warning  {projects['churn']}  model" in result.err
    assert "project list" in cli("win", "x", "--project", "zzz").err


def test_no_project_at_all_says_how_to_start_one(cli: Cli) -> None:
    result = cli("metric", "Churn", "auc", "0.9", "--layer", "model")
    assert result.code == 1 and "winledger project start" in result.err


def test_starting_a_project_twice_is_refused(cli: Cli, home: Path) -> None:
    assert cli("project", "start", "Churn", "--kind", "model").code == 0
    again = cli("project", "start", "CHURN", "--kind", "analysis")
    assert again.code == 1 and "argument NAME" in again.err and "already exists" in again.err


def test_project_list_shows_id_kind_stage_and_name(cli: Cli, home: Path, projects: dict[str, str]) -> None:
    cli("milestone", "Churn early warning", "deployed")
    lines = cli("project", "list").out.splitlines()
    assert lines[0].split() == ["ID", "KIND", "STAGE", "NAME"]
    assert len(lines) == 1 + len(projects)
    churn = next(line for line in lines if line.startswith(projects["churn"]))
    # The stage in the words of every page: stage_label's.
    assert churn.split()[1:] == ["model", "in", "production", "Churn", "early", "warning"]
    cli("milestone", "Churn early warning", "rolled_back")
    churn = next(
        line for line in cli("project", "list").out.splitlines() if line.startswith(projects["churn"])
    )
    assert churn.split()[1:] == ["model", "rolled", "back", "Churn", "early", "warning"]


# -- retracting -------------------------------------------------------------------------


def test_retract_takes_an_id_its_start_or_the_8_characters_a_review_cites(cli: Cli, home: Path) -> None:
    first = recorded_id(cli("win", "typo'd win"))
    second = recorded_id(cli("win", "another"))
    result = cli("retract", first[-8:], "--reason", "typo")
    assert result.code == 0 and first in result.out and "typo'd win" in result.out
    result = cli("retract", second)
    assert result.code == 0
    with journal(home) as client:
        retractions = [e.data for e in client.events() if e.type == "event.retracted"]
    assert retractions == [{"target": first, "reason": "typo"}, {"target": second}]
    assert "No event" in cli("retract", "ffffffff").err
    assert "too short" in cli("retract", "01").err


def test_redact_erases_the_text_here_at_once_and_names_what_it_redacted(cli: Cli, home: Path) -> None:
    secret = "Dana at Acme: the list saved the renewal"
    target = recorded_id(cli("win", secret, "--tag", "acme"))
    result = cli("redact", target[-8:], "--reason", "named a customer")
    redaction = recorded_id(result)
    assert target in result.out and "text is gone" in result.out and secret[:20] in result.out
    with journal(home) as client:
        held = {e.id: e for e in client.events()}
    assert held[target].data == {"text": "[redacted]", "source": "text", "tags": []}
    assert held[redaction].data == {"target": target, "reason": "named a customer"}
    assert "No event" in cli("redact", "ffffffff").err


def test_redact_refuses_a_project_start_without_erase_project_name(cli: Cli, home: Path) -> None:
    cli("project", "start", "Acme renewal", "--kind", "model")
    with journal(home) as client:
        start = next(e.id for e in client.events() if e.type == "project.started")
    refused = cli("redact", start)
    assert refused.code != 0 and "--erase-project-name" in refused.err and "Acme renewal" in refused.err
    recorded_id(cli("redact", start, "--erase-project-name"))
    assert "[redacted]" in cli("project", "list").out


# -- login, logout, sync, status --------------------------------------------------------


def test_login_reads_the_token_from_stdin_and_keeps_it_0600(
    cli: Cli, home: Path, server: InProcessServer, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_account, "TRANSPORT", server.transport)
    modes: list[int] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        modes.append(mode)
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    previous = os.umask(0)  # even with no umask at all, nothing is readable by others
    try:
        result = cli("login", "--server", server.url + "/", stdin=token + "\n")
    finally:
        os.umask(previous)
    assert result.code == 0 and "Signed in to http://winledger.test " in result.out, result.err
    assert token not in result.out + result.err
    directory = home / "config" / "winledger"
    assert (directory / "token").read_text() == token + "\n"
    assert stat.S_IMODE((directory / "token").stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert modes and all(mode == 0o600 for mode in modes)
    assert _config.load_settings() == {"server": "http://winledger.test"}
    assert token not in (directory / "config.json").read_text()
    assert sorted(p.name for p in directory.iterdir()) == ["config.json", "token"]  # no temporary file left


def test_login_uses_getpass_on_a_terminal_and_the_environment_variable(
    cli: Cli, home: Path, server: InProcessServer, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_account, "TRANSPORT", server.transport)
    prompts: list[str] = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(""))
    monkeypatch.setattr(_account.getpass, "getpass", lambda prompt: prompts.append(prompt) or token)
    result = cli("login", "--server", server.url)
    assert result.code == 0 and "from the prompt" in result.out and len(prompts) == 1
    assert _config.read_token() == token

    other = server.create_token("alice", "phone")
    monkeypatch.setenv("WINLEDGER_TOKEN", other)
    assert "$WINLEDGER_TOKEN" in cli("login", "--server", server.url).out
    monkeypatch.delenv("WINLEDGER_TOKEN")
    assert _config.read_token() == other


def test_login_refuses_a_token_the_server_refuses_and_saves_nothing(
    cli: Cli, home: Path, server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_account, "TRANSPORT", server.transport)
    wrong = "wl_" + "0" * 16 + "_" + "1" * 64
    result = cli("login", "--server", server.url, stdin=wrong)
    assert result.code == 1 and "401" in result.err and "Nothing was saved" in result.err
    assert not (home / "config" / "winledger" / "token").exists()
    garbage = cli("login", "--server", server.url, stdin="hunter2-my-password\n")
    assert garbage.code == 1 and "not a winledger token" in garbage.err and "hunter2" not in garbage.err
    assert cli("login", "--server", server.url, stdin="").code == 1
    not_winledger = cli("login", "--server", server.url + "/healthz", stdin=wrong)
    assert not_winledger.code == 1 and "argument --server" in not_winledger.err, not_winledger.err
    assert "argument --server" in cli("login", "--server", "winledger.test", stdin=wrong).err
    assert not (home / "config" / "winledger" / "token").exists()


def test_login_while_the_server_is_down_saves_and_says_it_could_not_check(cli: Cli, home: Path) -> None:
    token = "wl_" + "a" * 16 + "_" + "b" * 64
    result = cli("login", "--server", "http://127.0.0.1:9", stdin=token)
    assert result.code == 0 and "Could not reach http://127.0.0.1:9" in result.out
    assert _config.read_token() == token and _config.server_url() == "http://127.0.0.1:9"
    assert cli("logout").out.startswith("Signed out")
    assert not (home / "config" / "winledger" / "token").exists()
    assert cli("logout").out.startswith("Not signed in")
    assert _config.server_url() == "http://127.0.0.1:9"  # the settings stay


def test_sync_and_status(
    cli: Cli, home: Path, server_factory: Callable[..., InProcessServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    small = server_factory(max_body_bytes=1000)
    monkeypatch.setattr(_account, "TRANSPORT", small.transport)
    recorded_id(cli("win", "short win"))
    too_big = recorded_id(cli("win", "long " * 300))
    status = cli("status")
    assert "Last sync:  never" in status.out and "2 pending, 0 synced, 0 rejected" in status.out
    assert "Server:     none: run `winledger login --server URL`" in status.out
    with journal(home) as client:
        assert f"Device:     {client.device_id}" in status.out
    assert "short win" in status.out and too_big in status.out

    not_signed_in = cli("sync")
    assert not_signed_in.code == 1 and "winledger login" in not_signed_in.err

    assert cli("login", "--server", small.url, stdin=small.create_user("alice")).code == 0
    synced = cli("sync")
    assert synced.code == 0 and "(1 new)" in synced.out and "nothing pending" in synced.out
    assert "1 event refused" in synced.err
    status = cli("status").out
    assert "0 pending, 1 synced, 1 rejected" in status and "(just now)" in status
    assert "Server:     http://winledger.test (token from " in status
    assert f"{too_big}  win.captured" in status and "body_too_large: " in status

    small.revoke_token(_config.read_token().split("_")[1])  # type: ignore[union-attr]
    after = recorded_id(cli("win", "after the revocation"))
    refused = cli("sync")
    assert refused.code == 1 and "1 pending event kept" in refused.err
    assert "the token was revoked. Ask for a new token and run `winledger login" in refused.err
    status = cli("status").out
    assert "1 pending, 1 synced, 1 rejected" in status
    assert "Sync failed: " in status and "the token was revoked: ask for a new one and run" in status

    again = cli("login", "--server", small.url, stdin=_config.read_token())
    assert again.code == 1 and "this token was revoked" in again.err

    assert cli("login", "--server", small.url, stdin=small.create_token("alice", "laptop")).code == 0
    resumed = cli("sync")
    assert resumed.code == 0 and "(1 new)" in resumed.out and "nothing pending" in resumed.out
    status = cli("status").out
    assert "0 pending, 2 synced, 1 rejected" in status and "Sync failed" not in status
    with journal(home) as client:
        assert {e.id for e in client.events() if e.status == "synced"} >= {after}


# -- review -----------------------------------------------------------------------------


def test_review_prints_the_offline_draft_of_the_period(cli: Cli, home: Path) -> None:
    cli("project", "start", "Churn early warning", "--kind", "model", "--at", "2026-01-10")
    cli("milestone", "Churn early warning", "deployed", "--at", "2026-02-02")
    cli("metric", "Churn early warning", "saved_rate", "34", "--layer", "business", "--baseline", "25",
        "--unit", "%", "--at", "2026-04-01")  # fmt: skip
    cli("win", "Customer success works the churn list every Monday", "--at", "2026-03-03")
    cli("win", "Out of the period", "--at", "2025-12-01")
    result = cli("review", "--from", "2026-01-01", "--to", "2026-06-30")
    assert result.code == 0
    assert result.out.startswith("# Review draft, 1 January 2026 to 30 June 2026")
    assert "Customer success works the churn list every Monday" in result.out
    assert "Churn early warning" in result.out and "2 February 2026" in result.out  # shipped that day
    assert "Out of the period" not in result.out
    with journal(home) as client:
        expected = client.review_draft("2026-01-01", "2026-06-30", markdown=True)
    assert result.out.rstrip("\n") == str(expected).rstrip("\n")


def test_review_defaults_to_this_year_so_far(cli: Cli) -> None:
    cli("win", "today's win")
    today = datetime.now(UTC).date()
    result = cli("review")
    assert result.code == 0, result.err
    assert "today's win" in result.out.lower()
    # As of today: the year in progress is drawn to today, never to a day still to come.
    draft = msgspec.json.decode(cli("review", "--format", "json").out)
    assert (draft["period_from"], draft["period_to"], draft["as_of"]) == (
        date(today.year, 1, 1).isoformat(),
        today.isoformat(),
        today.isoformat(),
    )


def _capture_a_half_year(cli: Cli) -> None:
    cli("project", "start", "Churn early warning", "--kind", "model", "--at", "2026-01-10")
    cli("milestone", "Churn early warning", "deployed", "--at", "2026-02-02")
    cli("metric", "Churn early warning", "saved_rate", "34", "--layer", "business", "--baseline", "25",
        "--unit", "%", "--at", "2026-04-01")  # fmt: skip
    cli("win", "Customer success works the churn list every Monday", "--at", "2026-03-03")
    cli("learned", "Agree on the business metric first", "--at", "2026-03-04")
    cli("project", "start", "Pricing model", "--kind", "model", "--at", "2026-05-02")


def test_review_formats_short_and_no_cite_print_what_the_client_computes(cli: Cli, home: Path) -> None:
    _capture_a_half_year(cli)
    period = ("--from", "2026-01-01", "--to", "2026-06-30")
    with journal(home) as client:
        refs = [event.id[-8:] for event in client.events()]

        def expected(**options: Any) -> str:
            return str(client.review_draft("2026-01-01", "2026-06-30", **options))

        for args, options in (
            ([], {"format": "md"}),
            (["--format", "md"], {"format": "md"}),
            (["--format", "text"], {"format": "text"}),
            (["--short"], {"format": "md", "short": True}),
            (["--format", "text", "--short", "--no-cite"], {"format": "text", "short": True, "cite": False}),
        ):
            result = cli("review", *period, *args)
            assert result.code == 0, result.err
            assert result.out.rstrip("\n") == expected(**options).rstrip("\n"), args
        draft = client.review_draft("2026-01-01", "2026-06-30")

    markdown = cli("review", *period).out
    text = cli("review", *period, "--format", "text").out
    assert "Customer success works the churn list every Monday" in text
    assert "**" not in text and "[ ]" not in text and "\\" not in text
    assert not [line for line in text.splitlines() if line.startswith("#")], text
    short = cli("review", *period, "--short").out
    assert len(short) < len(markdown)
    assert any(ref in markdown for ref in refs)
    assert not [ref for ref in refs if ref in cli("review", *period, "--no-cite").out]

    # JSON: the draft itself, as the API's JSON gives it (without the checkpoint fields).
    as_json = cli("review", *period, "--format", "json")
    assert as_json.code == 0, as_json.err
    assert msgspec.json.decode(as_json.out) == msgspec.to_builtins(draft)
    brief = msgspec.json.decode(cli("review", *period, "--format", "json", "--short").out)
    assert (
        brief["sections"] == [] and brief["accomplishments"] == msgspec.to_builtins(draft)["accomplishments"]
    )


def test_review_as_of_a_day_defaults_the_period_to_end_there(cli: Cli) -> None:
    _capture_a_half_year(cli)
    result = cli("review", "--as-of", "2026-03-31", "--format", "json")
    assert result.code == 0, result.err
    draft = msgspec.json.decode(result.out)
    assert (draft["period_from"], draft["period_to"], draft["as_of"]) == (
        "2026-01-01",
        "2026-03-31",
        "2026-03-31",
    )
    assert "Pricing model" not in result.out and "saved_rate" not in result.out  # both after 31 March
    assert "Customer success works the churn list every Monday" in result.out
    # A period that ends before an explicit --as-of is drawn as of that later day.
    later = msgspec.json.decode(
        cli("review", "--to", "2026-03-31", "--as-of", "2026-06-30", "--format", "json").out
    )
    assert (later["period_to"], later["as_of"]) == ("2026-03-31", "2026-06-30")


def test_an_event_prefix_that_fits_many_says_how_many_are_not_listed(tmp_path: Path) -> None:
    from client_sdk import Client, NotFoundError
    from client_sdk._names import resolve_event

    with Client(tmp_path / "j.db") as client:
        ids = [client.capture(f"Win number {n}") for n in range(12)]
        events = client.events()
    with pytest.raises(NotFoundError) as refused:
        resolve_event(ids[0][:4], events)  # a UUIDv7's first 4 digits change every 50 days
    message = str(refused.value)
    assert "fits 12 events" in message and message.count("win.captured") == 10
    assert "... and 2 more" in message
