"""Mistakes the real ``winledger`` command catches before they are stored (issue 15).

A capture syncs to every device and can then only be retracted, so a likely mistake is refused, with a
message that names the option or argument at fault, exit status 1 and nothing stored; a link to a
metric not recorded here is stored with a warning. A reader that stops reading (``| head -1``) ends
the command quietly. Every test runs the installed ``winledger`` command in a process of its own, as a
person at a terminal would, on a journal in temporary XDG directories.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from client_sdk import Client, Event
from tests.support.process import winledger_command

WHEN_FORMS = (
    "2026-03-02 (noon, local time), '2026-03-02 14:30' (local time), 2026-03-02T14:30:00Z, "
    "now, yesterday, '3 days ago' or '2 weeks ago'"
)


class Journal:
    """The default journal of a person whose XDG directories are under ``home``, and the command."""

    def __init__(self, home: Path) -> None:
        self.path = home / "data" / "winledger" / "journal.db"
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("WINLEDGER_")}
        self.env.update(XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"))

    def run(self, *args: str, stdout: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*winledger_command(), *args],
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            env=self.env,
        )

    def events(self) -> list[Event]:
        with Client(self.path) as client:
            return client.events()

    def recorded(self, *args: str) -> str:
        """Run a capture that must succeed; the new id, last on its one line."""
        result = self.run(*args)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        return result.stdout.split()[-1]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    """A journal holding the project "Churn" with its metric auc."""
    person = Journal(tmp_path)
    with Client(person.path) as client:
        churn = client.start_project("Churn", "model")
        client.metric(churn, "auc", 0.81, layer="model")
    yield person


def refused(journal: Journal, args: list[str]) -> str:
    """Run ``args``; assert it was refused as a person should see it (status 1, one error on standard
    error and no traceback, nothing on standard output, nothing stored); its error line."""
    before = journal.events()
    result = journal.run(*args)
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    error = result.stderr.splitlines()[-1]
    assert re.match(r"winledger [a-z ]+: error: ", error), result.stderr
    assert journal.events() == before  # nothing stored
    return error.split(": error: ", 1)[1]


# -- blank text -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["win", "   "], "argument TEXT: '   ' is blank: it needs some text"),
        (["win", ""], "argument TEXT: '' is blank: it needs some text"),
        (
            ["win", "Shipped", "--tag", "ml", "--tag", " "],
            "argument --tag: ' ' is blank: each needs some text",
        ),
        (["learned", "\t"], "argument TEXT: '\\t' is blank: it needs some text"),
        (["learned", " ", "--next"], "argument TEXT: ' ' is blank: it needs some text"),
        (["feedback", "Churn", "  "], "argument QUOTE: '  ' is blank: it needs some text"),
        (
            ["feedback", "Churn", "Saved us a day", "--from", " "],
            "argument --from: ' ' is blank: write some text, or leave out --from",
        ),
        (
            ["feedback", "Churn", "Saved us a day", "--decision", ""],
            "argument --decision: '' is blank: write some text, or leave out --decision",
        ),
        (["project", "start", "  ", "--kind", "model"], "argument NAME: '  ' is blank: it needs some text"),
        (
            ["project", "start", "Pricing", "--kind", "model", "--summary", " "],
            "argument --summary: ' ' is blank: write some text, or leave out --summary",
        ),
        (
            ["milestone", "Churn", "deployed", "--note", "  "],
            "argument --note: '  ' is blank: write some text, or leave out --note",
        ),
        (
            ["metric", "Churn", "recall", "0.7", "--layer", "model", "--label", " "],
            "argument --label: ' ' is blank: write some text, or leave out --label",
        ),
        (
            ["metric", "Churn", "recall", "0.7", "--layer", "model", "--unit", " "],
            "argument --unit: ' ' is blank: write some text, or leave out --unit",
        ),
        (
            ["link", "Churn", "auc", "auc_lift", "--evidence", "ab_test", "--note", " "],
            "argument --note: ' ' is blank: write some text, or leave out --note",
        ),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_blank_text_is_refused_naming_the_argument(journal: Journal, args: list[str], message: str) -> None:
    assert refused(journal, args) == message


def test_a_blank_retraction_reason_is_refused(journal: Journal) -> None:
    win = journal.recorded("win", "Shipped the export")
    message = refused(journal, ["retract", win, "--reason", " "])
    assert message == "argument --reason: ' ' is blank: write some text, or leave out --reason"


@pytest.mark.parametrize("name", ["churn ", " Churn", "CHURN"])
def test_a_project_name_differing_only_in_case_or_spaces_is_the_same_project(
    journal: Journal, name: str
) -> None:
    churn = journal.events()[0].project_id
    message = refused(journal, ["project", "start", name, "--kind", "model"])
    assert message == (
        f"argument NAME: a project named 'Churn' already exists ({churn}, model); record on it, or choose "
        "another name"
    )


# -- --at -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("at", ["2030-01-01", "2030-01-01T09:00:00Z", "in_an_hour"])
def test_at_in_the_future_is_refused(journal: Journal, at: str) -> None:
    if at == "in_an_hour":
        at = (datetime.now(UTC) + timedelta(hours=1, minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    message = refused(journal, ["win", "Shipped the export", "--at", at])
    ahead = "3 years" if at.startswith("2030") else "1 hour"
    assert message.startswith(f"argument --at: {at!r} is {ahead} in the future (this device's clock reads 20")
    assert message.endswith(
        "a win is recorded once it has happened (up to 5 minutes ahead are allowed, for clocks that disagree)"
    )


@pytest.mark.parametrize(
    ("at", "why"),
    [
        ("2026-02-30", "day is out of range for month"),
        ("2026-02-30 14:30", "day is out of range for month"),
        ("2025-13-01", "month must be in 1..12"),
    ],
)
def test_a_date_the_calendar_lacks_is_named_as_such(journal: Journal, at: str, why: str) -> None:
    message = refused(journal, ["win", "Shipped the export", "--at", at])
    assert message == f"argument --at: {at!r} is no date of the calendar ({why})"


@pytest.mark.parametrize("at", ["tomorrow", "in 3 days", "3 days from now", "+2w"])
def test_at_counting_forward_is_refused(journal: Journal, at: str) -> None:
    message = refused(journal, ["milestone", "Churn", "deployed", "--at", at])
    assert message == (
        f"argument --at: {at!r} is in the future: a win is recorded once it has happened. "
        f"--at takes {WHEN_FORMS}"
    )


@pytest.mark.parametrize(
    ("at", "meant"),
    [("3 days", "3 days ago"), ("3d", "3 days ago"), ("1 week", "1 week ago"), ("2w", "2 weeks ago")],
)
def test_a_span_without_ago_is_ambiguous_and_says_what_is_accepted(
    journal: Journal, at: str, meant: str
) -> None:
    message = refused(journal, ["win", "Shipped the export", "--at", at])
    assert message == f"argument --at: {at!r} is ambiguous: did you mean {meant!r}? --at takes {WHEN_FORMS}"


@pytest.mark.parametrize(
    ("at", "message"),
    [
        ("3 hours ago", f"argument --at: '3 hours ago' is not a time --at knows: it takes {WHEN_FORMS}"),
        ("03/02/2026", f"argument --at: '03/02/2026' is not a time --at knows: it takes {WHEN_FORMS}"),
        # Once a traceback (OverflowError: the date is before year 1).
        (
            "99999 weeks ago",
            "argument --at: '99999 weeks ago' is before 1970-01-01, the earliest date a journal holds",
        ),
        ("1969-12-31", "argument --at: '1969-12-31' is before 1970-01-01, the earliest date a journal holds"),
    ],
)
def test_other_at_forms_say_what_is_accepted(journal: Journal, at: str, message: str) -> None:
    assert refused(journal, ["win", "Shipped the export", "--at", at]) == message


def test_at_within_the_clock_skew_today_and_three_days_ago_are_recorded(journal: Journal) -> None:
    now = datetime.now(UTC)
    soon = (now + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = {
        "skew": journal.recorded("win", "A clock a little ahead", "--at", soon),
        # A bare day is noon; today's noon, while still ahead, is now: never refused as the future.
        "today": journal.recorded("win", "Today", "--at", datetime.now().astimezone().date().isoformat()),
        "ago": journal.recorded("win", "Three days back", "--at", "3 days ago"),
    }
    held = {event.id: event for event in journal.events()}
    assert held[ids["skew"]].occurred_at == datetime.fromisoformat(soon)
    assert held[ids["today"]].occurred_at <= datetime.now(UTC)
    assert held[ids["ago"]].occurred_at.astimezone().date() == datetime.now().astimezone().date() - timedelta(
        days=3
    )


# -- retract and redact what already is -----------------------------------------------------------------


def test_retracting_a_retracted_event_names_the_retraction(journal: Journal) -> None:
    win = journal.recorded("win", "Shipped the export twice")
    retraction = journal.recorded("retract", win[-8:], "--reason", "typed twice")
    message = refused(journal, ["retract", win[-8:]])
    assert message == (
        f'argument EVENT_ID: {win} (win.captured "Shipped the export twice") is already retracted, by '
        f"{retraction}, recorded {datetime.now(UTC):%Y-%m-%d} (pending): retracting it again changes nothing"
    )


def test_retracting_a_retraction_is_refused(journal: Journal) -> None:
    win = journal.recorded("win", "Shipped the export")
    retraction = journal.recorded("retract", win)
    message = refused(journal, ["retract", retraction])
    assert message == (
        f"argument EVENT_ID: {retraction} is itself a retraction (of {win}): retracting a retraction changes "
        "nothing (what it retracted stays retracted): record that event again instead"
    )


def test_redacting_a_redacted_event_names_the_redaction(journal: Journal) -> None:
    win = journal.recorded("win", "Dana at Acme said thanks")
    redaction = journal.recorded("redact", win)
    message = refused(journal, ["redact", win])
    assert message == (
        f"argument EVENT_ID: {win} is already redacted, by {redaction}, recorded "
        f"{datetime.now(UTC):%Y-%m-%d} (pending): redacting it again changes nothing"
    )


# -- links ----------------------------------------------------------------------------------------------


def test_a_link_to_a_metric_not_recorded_here_is_stored_with_a_warning(journal: Journal) -> None:
    result = journal.run("link", "Churn", "aux", "saved_rate", "--evidence", "ab_test")
    assert result.returncode == 0, result.stderr
    link = result.stdout.split()[-1]
    assert result.stdout == f'Recorded link aux -> saved_rate (ab_test) for "Churn", pending sync: {link}\n'
    tail = (
        " The link is stored all the same, since the metric may come from another device; if the key is "
        f"wrong, take the link back with `winledger retract {link}`."
    )
    assert result.stderr.splitlines() == [
        "winledger link: warning: argument CAUSE: no metric 'aux' is recorded in \"Churn\" on this device "
        "(its metrics here: auc); did you mean 'auc'?" + tail,
        "winledger link: warning: argument EFFECT: no metric 'saved_rate' is recorded in \"Churn\" on this "
        "device (its metrics here: auc)." + tail,
    ]
    [stored] = [event for event in journal.events() if event.type == "metric.linked"]
    assert stored.id == link and stored.data == {
        "cause": "aux",
        "effect": "saved_rate",
        "evidence": "ab_test",
    }


def test_a_link_between_recorded_metrics_has_no_warning(journal: Journal) -> None:
    journal.recorded("metric", "Churn", "saved_rate", "34", "--layer", "business", "--unit", "%")
    result = journal.run("link", "Churn", "auc", "saved_rate", "--evidence", "ab_test")
    assert result.returncode == 0 and result.stderr == ""


def test_a_retracted_metric_counts_as_not_recorded(journal: Journal) -> None:
    metric = journal.recorded("metric", "Churn", "saved_rate", "34", "--layer", "business")
    journal.recorded("retract", metric)
    result = journal.run("link", "Churn", "auc", "saved_rate", "--evidence", "ab_test")
    assert result.returncode == 0
    assert "argument EFFECT: no metric 'saved_rate' is recorded" in result.stderr


def test_a_link_from_a_metric_to_itself_is_refused(journal: Journal) -> None:
    message = refused(journal, ["link", "Churn", "auc", "auc", "--evidence", "ab_test"])
    assert (
        message == "argument EFFECT: 'auc' is the same metric as CAUSE: a link says one metric moved another"
    )


# -- the schema's errors, in the command line's words ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["metric", "Churn", "auc", "0.8", "--layer", "model", "--low", "0.9", "--high", "0.95"],
            "argument --low: 0.9 is above the value 0.8: an interval needs --low <= VALUE <= --high",
        ),
        (
            ["metric", "Churn", "auc", "0.99", "--layer", "model", "--low", "0.9", "--high", "0.95"],
            "argument --high: 0.95 is below the value 0.99: an interval needs --low <= VALUE <= --high",
        ),
        (
            ["metric", "Churn", "auc", "0.9", "--layer", "model", "--low", "0.95", "--high", "0.85"],
            "argument --low: 0.95 is above --high 0.85: an interval needs --low <= VALUE <= --high",
        ),
        (
            ["metric", "Churn", "lift", "3", "--layer", "business", "--change", "--low", "-1", "--high", "2"],
            "argument --high: 2 is below the value 3: an interval needs --low <= VALUE <= --high",
        ),
        (
            ["metric", "Churn", "AUC", "0.8", "--layer", "model"],
            "argument KEY: 'AUC' has capital letters: metric keys are lowercase; did you mean 'auc'?",
        ),
        (
            ["metric", "Churn", "Saved Rate", "34", "--layer", "business"],
            "argument KEY: 'Saved Rate' is not a metric key: a metric key is 1-64 of a-z, 0-9, '_', '.', "
            "'-', starting with a letter or a digit; did you mean 'saved_rate'?",
        ),
        (
            ["link", "Churn", "AUC", "saved_rate", "--evidence", "ab_test"],
            "argument CAUSE: 'AUC' has capital letters: metric keys are lowercase; did you mean 'auc'?",
        ),
        (
            ["link", "Churn", "auc", "Saved_Rate", "--evidence", "ab_test"],
            "argument EFFECT: 'Saved_Rate' has capital letters: metric keys are lowercase; did you mean "
            "'saved_rate'?",
        ),
        (
            ["metric", "Churn", "auc", "0.8", "--layer", "model", "--unit", "u" * 101],
            f"argument --unit: '{'u' * 39}…' is 101 characters long; at most 100 are allowed",
        ),
        (
            ["metric", "Churn", "auc", "0.8", "--layer", "model", "--label", "L" * 101],
            f"argument --label: '{'L' * 39}…' is 101 characters long; at most 100 are allowed",
        ),
        (
            ["project", "start", "N" * 201, "--kind", "model"],
            f"argument NAME: '{'N' * 39}…' is 201 characters long; at most 200 are allowed",
        ),
        (
            ["feedback", "Churn", "q" * 2001],
            f"argument QUOTE: '{'q' * 39}…' is 2001 characters long; at most 2000 are allowed",
        ),
        (
            ["win", "Shipped", *[arg for n in range(21) for arg in ("--tag", f"t{n}")]],
            "argument --tag: has 21 items; at most 20 are allowed",
        ),
        (
            ["win", "Shipped", "--tag", "t" * 51],
            f"argument --tag: '{'t' * 39}…' is 51 characters long; each is at most 50",
        ),
    ],
    ids=lambda value: " ".join(value)[:60] if isinstance(value, list) else "",
)
def test_schema_errors_are_said_with_the_command_lines_names(
    journal: Journal, args: list[str], message: str
) -> None:
    assert refused(journal, args) == message


# -- a reader that stops reading ------------------------------------------------------------------------


@pytest.fixture
def gone_reader() -> Iterator[Callable[[], int]]:
    """A pipe whose reading end is already closed: every write to it fails as a finished ``head`` makes it."""
    opened: list[int] = []

    def pipe() -> int:
        read, write = os.pipe()
        os.close(read)
        opened.append(write)
        return write

    yield pipe
    for fd in opened:
        os.close(fd)


@pytest.mark.parametrize(
    "command",
    [["status"], ["export"], ["project", "list"], ["review"], ["review", "--format", "json"]],
    ids=" ".join,
)
def test_a_reader_that_stops_reading_ends_the_command_quietly(
    journal: Journal, gone_reader: Callable[[], int], command: list[str]
) -> None:
    result = journal.run(*command, stdout=gone_reader())
    assert result.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored"
    assert result.returncode == 141  # 128 + SIGPIPE, as `cat` would end


def test_export_piped_to_head_prints_one_line_and_ends_quietly(journal: Journal) -> None:
    with Client(journal.path) as client:  # enough lines to outgrow the pipe's buffer
        for n in range(1500):
            client.capture(f"win number {n}, with a few words more to make the line longer")
    result = subprocess.run(
        ["sh", "-c", f"{' '.join(winledger_command())} export | head -1; echo status=$?"],
        capture_output=True,
        text=True,
        timeout=60,
        env=journal.env,
    )
    assert result.stderr == ""
    first, status = result.stdout.splitlines()
    assert first.startswith('{"kind":"export"') and status == "status=0"
