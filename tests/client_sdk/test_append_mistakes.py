"""The Python client refuses the likely mistakes the ``winledger`` command refuses (issue 15), raising
``ValidationError`` that names the argument at fault, and stores nothing."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from client_sdk import Client, UnrecordedMetricWarning, ValidationError

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    """A journal whose device clock reads ``NOW``, with the project "Churn"."""
    with Client(tmp_path / "journal.db", clock=lambda: int(NOW.timestamp() * 1000)) as opened:
        opened.start_project("Churn", "model", occurred_at="2026-01-05T09:00:00Z")
        yield opened


Append = Callable[[Client, str], Any]


def refused(client: Client, append: Append) -> ValidationError:
    before = client.events()
    with pytest.raises(ValidationError) as caught:
        append(client, client.find_project("Churn"))
    assert client.events() == before and client.rejected() == []
    return caught.value


@pytest.mark.parametrize(
    ("append", "field", "message"),
    [
        (
            lambda c, p: c.capture("  "),
            "$.data.text",
            "Cannot append win.captured: `text` '  ' is blank: it needs some text.",
        ),
        (
            lambda c, p: c.capture("Shipped", p, tags=["ml", "\n"]),
            "$.data.tags",
            "Cannot append win.captured: `tags` '\\n' is blank: each needs some text.",
        ),
        (
            lambda c, p: c.learning(" ", "next"),
            "$.data.text",
            "Cannot append learning.noted: `text` ' ' is blank: it needs some text.",
        ),
        (
            lambda c, p: c.feedback(p, "\t"),
            "$.data.quote",
            "Cannot append feedback.received: `quote` '\\t' is blank: it needs some text.",
        ),
        (
            lambda c, p: c.feedback(p, "It saved a day", source_team=" "),
            "$.data.source_team",
            "Cannot append feedback.received: `source_team` ' ' is blank: write some text, or leave out "
            "source_team.",
        ),
        (
            lambda c, p: c.start_project(" ", "model"),
            "$.data.name",
            "Cannot append project.started: `name` ' ' is blank: it needs some text.",
        ),
        (
            lambda c, p: c.update_project(p, name=""),
            "$.data.name",
            "Cannot append project.updated: `name` '' is blank: write some text, or leave out name.",
        ),
        (
            lambda c, p: c.milestone(p, "deployed", "   "),
            "$.data.note",
            "Cannot append milestone.reached: `note` '   ' is blank: write some text, or leave out note.",
        ),
    ],
)
def test_blank_text_is_refused_naming_the_argument(
    client: Client, append: Append, field: str, message: str
) -> None:
    error = refused(client, append)
    assert (error.field, str(error)) == (field, message)


@pytest.mark.parametrize(
    ("occurred_at", "shown", "ahead"),
    [
        (NOW + timedelta(minutes=6), "2026-06-01T12:06:00Z", "6 minutes"),
        ("2026-06-01T13:06:00+01:00", "2026-06-01T12:06:00Z", "6 minutes"),
        ("2026-06-02T12:00:00Z", "2026-06-02T12:00:00Z", "1 day"),
        (datetime(2031, 6, 1, tzinfo=UTC), "2031-06-01T00:00:00Z", "5 years"),
    ],
)
def test_an_occurred_at_in_the_future_is_refused(
    client: Client, occurred_at: Any, shown: str, ahead: str
) -> None:
    error = refused(client, lambda c, p: c.milestone(p, "deployed", occurred_at=occurred_at))
    assert error.field == "$.occurred_at"
    assert str(error) == (
        f"Cannot append milestone.reached: `occurred_at` {shown} is {ahead} in the future (this device's "
        "clock reads 2026-06-01T12:00:00Z): a win is recorded once it has happened (up to 5 minutes ahead "
        "are allowed, for clocks that disagree)."
    )


def test_an_occurred_at_within_the_clock_skew_or_before_now_is_recorded(client: Client) -> None:
    ahead = client.capture("a clock four minutes fast", occurred_at=NOW + timedelta(minutes=4))
    earlier = client.capture("last week", occurred_at=NOW - timedelta(days=7))
    held = {event.id: event.occurred_at for event in client.events()}
    assert held[ahead] == NOW + timedelta(minutes=4) and held[earlier] == NOW - timedelta(days=7)


def test_retracting_a_retracted_event_names_the_retraction(client: Client) -> None:
    win = client.capture("Shipped the export", occurred_at=NOW)
    retraction = client.retract(win, "typed twice")
    error = refused(client, lambda c, p: c.retract(win))
    assert error.field == "$.data.target"
    assert str(error) == (
        f'Cannot append event.retracted: `event_id` {win} (win.captured "Shipped the export") is already '
        f"retracted, by {retraction}, recorded 2026-06-01 (pending): retracting it again changes nothing."
    )


def test_retracting_a_retraction_is_refused(client: Client) -> None:
    win = client.capture("Shipped the export")
    retraction = client.retract(win)
    error = refused(client, lambda c, p: c.retract(retraction))
    assert error.field == "$.data.target"
    assert str(error) == (
        f"Cannot append event.retracted: `event_id` {retraction} is itself a retraction (of {win}): "
        "retracting a retraction changes nothing (what it retracted stays retracted): record that event "
        "again instead."
    )


def test_redacting_a_redacted_event_is_refused(client: Client) -> None:
    win = client.capture("Dana at Acme said thanks")
    redaction = client.redact(win)
    error = refused(client, lambda c, p: c.redact(win))
    assert error.field == "$.data.target"
    assert str(error) == (
        f"Cannot append event.redacted: `event_id` {win} is already redacted, by {redaction}, recorded "
        "2026-06-01 (pending): redacting it again changes nothing."
    )


def test_an_event_not_held_here_can_still_be_retracted(client: Client) -> None:
    elsewhere = "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80"  # from a device not pulled yet
    retraction = client.retract(elsewhere)
    assert [e.id for e in client.events() if e.type == "event.retracted"] == [retraction]


@pytest.mark.parametrize(
    ("append", "field", "message"),
    [
        (
            lambda c, p: c.metric(p, "auc", 0.8, layer="model", low=0.9, high=0.95),
            "$.data.low",
            "Cannot append metric.observed: `low` 0.9 is above the value 0.8: an interval needs "
            "low <= value <= high.",
        ),
        (
            lambda c, p: c.metric(p, "lift", 3, layer="business", measure="change", low=1, high=2.5),
            "$.data.high",
            "Cannot append metric.observed: `high` 2.5 is below the value 3: an interval needs "
            "low <= value <= high.",
        ),
        (
            lambda c, p: c.metric(p, "auc", 0.9, layer="model", low=0.95, high=0.85),
            "$.data.low",
            "Cannot append metric.observed: `low` 0.95 is above high 0.85: an interval needs "
            "low <= value <= high.",
        ),
        (
            lambda c, p: c.metric(p, "AUC", 0.8, layer="model"),
            "$.data.key",
            "Cannot append metric.observed: `key` 'AUC' has capital letters: metric keys are lowercase; "
            "did you mean 'auc'?",
        ),
        (
            lambda c, p: c.trained(p, {"auc": 0.8, "Recall@30d": 0.6}),
            "$.data.key",
            "Cannot append metric.observed: `metrics` 'Recall@30d' is not a metric key: a metric key is 1-64 "
            "of a-z, 0-9, '_', '.', '-', starting with a letter or a digit; did you mean 'recall_30d'?",
        ),
        (
            lambda c, p: c.link_metrics(p, "auc", "Saved_Rate", "ab_test"),
            "$.data.effect",
            "Cannot append metric.linked: `effect` 'Saved_Rate' has capital letters: metric keys are "
            "lowercase; did you mean 'saved_rate'?",
        ),
        (
            lambda c, p: c.link_metrics(p, "auc", "auc", "ab_test"),
            "$.data.effect",
            "Cannot append metric.linked: `effect` 'auc' is the same metric as cause: a link says one metric "
            "moved another.",
        ),
        (
            lambda c, p: c.metric(p, "auc", 0.8, layer="model", unit="u" * 101),
            "$.data.unit",
            f"Cannot append metric.observed: `unit` '{'u' * 39}…' is 101 characters long; at most 100 are "
            "allowed.",
        ),
        (
            lambda c, p: c.metric(p, "auc", 0.8, layer="Model"),
            "$.data.layer",
            "Cannot append metric.observed: `layer` 'Model' is not one of: business, model, production.",
        ),
        (
            lambda c, p: c.metric(p, "auc", 0.8, layer="model", direction="neutral"),
            "$.data.direction",
            "Cannot append metric.observed: `direction` 'neutral' is not one of: higher_is_better, "
            "lower_is_better, none.",
        ),
        (
            lambda c, p: c.metric(p, "lift", 3, layer="business", measure="delta"),
            "$.data.measure",
            "Cannot append metric.observed: `measure` 'delta' is not one of: change, level.",
        ),
        (
            lambda c, p: c.capture("Shipped", tags=[f"t{n}" for n in range(21)]),
            "$.data.tags",
            "Cannot append win.captured: `tags` has 21 items; at most 20 are allowed.",
        ),
        (
            lambda c, p: c.feedback(p, "q" * 2001),
            "$.data.quote",
            f"Cannot append feedback.received: `quote` '{'q' * 39}…' is 2001 characters long; at most 2000 "
            "are allowed.",
        ),
    ],
)
def test_schema_errors_name_the_argument(client: Client, append: Append, field: str, message: str) -> None:
    error = refused(client, append)
    assert (error.field, str(error)) == (field, message)


def test_a_link_to_a_metric_this_store_does_not_hold_warns_and_is_stored(tmp_path: Path) -> None:
    with Client(tmp_path / "j.db") as client:
        project = client.start_project("Churn early warning", "model")
        client.metric(project, "recall_at_30d", 0.81, layer="model")
        with pytest.warns(UnrecordedMetricWarning) as caught:
            link = client.link_metrics(project, "recall_at_30d", "saved_rate", "ab_test")
        assert [(w.message.role, w.message.key, w.message.known) for w in caught] == [  # type: ignore[union-attr]
            ("effect", "saved_rate", ["recall_at_30d"])
        ]
        assert "saved_rate" in str(caught[0].message) and link in str(caught[0].message)
        assert client.events(project)[-1].id == link  # stored all the same
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            client.metric(project, "saved_rate", 34, layer="business")
            client.link_metrics(project, "recall_at_30d", "saved_rate", "ab_test")  # both ends held: silent


def test_a_second_project_of_the_same_name_is_refused_as_the_command_refuses_it(tmp_path: Path) -> None:
    """The CLI refused it and the Python client stored it; then `winledger milestone NAME` was ambiguous."""
    with Client(tmp_path / "j.db") as client:
        churn = client.start_project("Churn early warning", "model")
        before = client.events()
        with pytest.raises(ValidationError) as refused:
            client.start_project("  churn EARLY warning ", "analysis")
        assert refused.value.field == "$.data.name"
        assert f"a project named 'Churn early warning' already exists ({churn}, model)" in str(refused.value)
        assert client.events() == before
        client.start_project("Churn {v2}", "model")  # braces in a name are text, not a template
        with pytest.raises(ValidationError, match=r"named 'Churn \{v2\}' already exists"):
            client.start_project("churn {v2}", "model")
