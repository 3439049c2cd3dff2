"""The notebook magics in IPython's own shell: ``%load_ext client_sdk.notebook``, then ``%win``, ``%%win``
and ``%milestone`` append to the journal ``winledger`` uses, with its validation and its errors (no
traceback), checked in the journal afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell  # the test extra installs the notebook extra

from client_sdk import Client
from client_sdk.cli import main


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """IPython's shell, as a notebook's kernel runs it, with the extension loaded as a user loads it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
        ip: Any = InteractiveShell.instance()
        result = ip.run_cell("%load_ext client_sdk.notebook")
        assert result.success, result
        yield ip


def default_journal(home: Path) -> Path:
    return home / "data" / "winledger" / "journal.db"


def run(shell: Any, capsys: pytest.CaptureFixture[str], source: str) -> tuple[str, str]:
    capsys.readouterr()
    result = shell.run_cell(source)
    assert result.success, result.error_in_exec  # an error is printed, never raised into the notebook
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return captured.out, captured.err


def started(home: Path) -> str:
    assert main(["project", "start", "Churn model", "--kind", "model"]) == 0
    with Client(default_journal(home)) as client:
        return client.find_project("Churn model")


def test_win_magic_records_in_the_journal_of_the_winledger_command(
    shell: Any, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = started(home)
    out, err = run(shell, capsys, '%win "Recall at 30 days is 0.81 on the hold-out" --project "churn model"')
    assert err == "" and out.startswith('Recorded win for "Churn model", pending sync: ')
    out, err = run(shell, capsys, "%win Cut p99 latency to 80 ms --tag perf")
    assert err == "" and out.startswith("Recorded win, pending sync: ")
    with Client(default_journal(home)) as client:
        events = [e for e in client.events() if e.type == "win.captured"]
    assert [(e.project_id, e.data) for e in events] == [
        (project, {"text": "Recall at 30 days is 0.81 on the hold-out", "source": "text"}),
        (None, {"text": "Cut p99 latency to 80 ms", "source": "text", "tags": ["perf"]}),
    ]
    assert all(e.status == "pending" for e in events)


def test_the_cell_magic_records_the_cell_as_the_text(
    shell: Any, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = started(home)
    cell = "The churn list went to customer success today.\n-20% calls wasted on safe accounts.\n"
    out, _ = run(shell, capsys, f'%%win --project "Churn model"\n{cell}')
    event_id = out.split()[-1]
    with Client(default_journal(home)) as client:
        [event] = [e for e in client.events() if e.id == event_id]
    assert event.type == "win.captured" and event.project_id == project
    assert event.data["text"] == cell.strip()


def test_milestone_magic_and_the_store_from_the_environment(
    shell: Any, home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = home / "chosen.db"
    monkeypatch.setenv("WINLEDGER_STORE", str(chosen))
    assert main(["project", "start", "Churn model", "--kind", "model"]) == 0
    out, err = run(
        shell, capsys, '%milestone "Churn model" deployed --note "Behind a flag for 10% of accounts"'
    )
    assert err == "" and out.startswith('Recorded milestone deployed for "Churn model", pending sync: ')
    with Client(chosen) as client:
        [event] = [e for e in client.events() if e.type == "milestone.reached"]
    assert event.data == {"milestone": "deployed", "note": "Behind a flag for 10% of accounts"}
    assert not default_journal(home).exists()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            '%win "Shipped" --project "No such project"',
            "argument --project: No project named 'No such project'",
        ),
        ('%milestone "Churn model" deployd', "argument MILESTONE: invalid choice: 'deployd'"),
        ('%win "Shipped the model', "%win: error: the line could not be read (no closing quotation)"),
        ("%win", "%win: error: no text"),
        ('%%win --project "Churn model"\n   \n', "%%win: error: the cell is empty"),
        ('%win "Shipped" --at tomorrow', "argument --at: 'tomorrow' is in the future"),
        ("%win " + "x" * 10_001, "argument TEXT:"),
    ],
)
def test_a_mistake_is_one_clear_message_and_records_nothing(
    shell: Any, home: Path, capsys: pytest.CaptureFixture[str], source: str, message: str
) -> None:
    started(home)
    with Client(default_journal(home)) as client:
        before = len(client.events())
    out, err = run(shell, capsys, source)
    assert message in err and "Recorded" not in out, err
    with Client(default_journal(home)) as client:
        assert len(client.events()) == before
