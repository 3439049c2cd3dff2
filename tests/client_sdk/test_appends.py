"""Appending offline: every event type, local validation, the counters, and re-opening a store."""

from __future__ import annotations

import numbers
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import schema
from client_sdk import Client, ConfigurationError, StoreError, ValidationError

PLUS_1, MINUS_1 = timezone(timedelta(hours=1)), timezone(timedelta(hours=-1))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    with Client(tmp_path / "journal.db") as opened:
        yield opened


def test_every_append_method_records_one_valid_pending_event(client: Client) -> None:
    project = client.start_project("Ticket router", "model", summary="Routes support tickets", team="Support")
    ids = [
        client.update_project(project, summary="Routes tickets to 14 queues"),
        client.capture("Routing accuracy went from 73% to 91%", project, tags=["accuracy"]),
        client.milestone(project, "deployed", "Live for all queues"),
        client.metric(project, "routing_accuracy", 0.91, layer="model", baseline=0.73, low=0.89, high=0.93),
        client.metric(project, "rerouted_tickets", 120, layer="production", direction="lower_is_better"),
        client.link_metrics(project, "routing_accuracy", "rerouted_tickets", "before_after"),
        client.feedback(project, "No more manual routing.", source_name="Sam", decision="No triage"),
        client.learning("Label quality mattered more than the model.", "learned", project),
    ]
    ids.append(client.retract(ids[1], reason="Duplicate of the metric"))
    events = client.events()
    assert [event.type for event in events] == [
        "project.started",
        "project.updated",
        "win.captured",
        "milestone.reached",
        "metric.observed",
        "metric.observed",
        "metric.linked",
        "feedback.received",
        "learning.noted",
        "event.retracted",
    ]
    assert [event.id for event in events[1:]] == ids
    assert {event.status for event in events} == {"pending"}
    assert all(event.seq is None for event in events)
    assert events[0].project_id == project and events[0].id != project
    assert events[-1].data == {"target": ids[1], "reason": "Duplicate of the metric"}
    assert events[4].data["value"] == 0.91 and "direction" not in events[4].data
    assert [event.device_seq for event in events] == list(range(1, 11))
    assert all(event.device_id == client.device_id for event in events)
    for event in events:
        fields = {name: getattr(event, name) for name in schema.CLIENT_FIELDS}
        fields["occurred_at"] = schema.format_timestamp(event.occurred_at)
        assert isinstance(schema.validate_fields(fields), schema.ValidEvent)


def test_metric_writes_version_2_with_measure_and_direction(client: Client) -> None:
    """A level by default; ``measure="change"`` for a lift or a saving; ``direction="none"``."""
    project = client.start_project("Pricing", "model")
    ids = [
        client.metric(project, "margin", 31, layer="business", unit="%"),
        client.metric(project, "conversion_lift", 3.1, layer="business", unit="pp", measure="change"),
        client.metric(project, "price_elasticity", -1.4, layer="model", direction="none", measure="level"),
        client.metric(project, "hours_saved", 14, layer="business", measure="change", direction="none"),
    ]
    events = {event.id: event for event in client.events(project)}
    metrics = [events[event_id] for event_id in ids]
    assert {(event.type, event.v) for event in metrics} == {("metric.observed", 2)}
    assert schema.CURRENT_VERSIONS["metric.observed"] == 2
    assert [(e.data.get("measure"), e.data.get("direction")) for e in metrics] == [
        (None, None),  # a level: measure at its default is left out, as the server stores it
        ("change", None),
        (None, "none"),
        ("change", "none"),
    ]
    assert metrics[1].data == {
        "key": "conversion_lift", "layer": "business", "value": 3.1, "unit": "pp", "measure": "change"
    }  # fmt: skip


def test_clocks_strictly_increase_even_when_appends_share_a_millisecond(client: Client) -> None:
    for index in range(200):
        client.capture(f"win {index}")
    clocks = [event.clock for event in client.events()]
    assert clocks == sorted(clocks) and len(set(clocks)) == len(clocks)
    assert clocks[-1] >> 10 <= datetime.now(UTC).timestamp() * 1000 + 1


def test_occurred_at_can_be_backdated_as_datetime_or_string(client: Client) -> None:
    paris = timezone(timedelta(hours=2))
    client.capture("shadow run finished", occurred_at=datetime(2025, 6, 1, 9, 30, tzinfo=paris))
    client.capture("deployed", occurred_at="2025-06-02T10:00:00-05:00")
    first, second = client.events()
    assert first.occurred_at == datetime(2025, 6, 1, 7, 30, tzinfo=UTC)
    assert second.occurred_at == datetime(2025, 6, 2, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("append", "field", "quoted"),
    [
        (lambda c: c.capture(""), "$.data.text", "''"),
        (lambda c: c.capture("x", source="fax"), "$.data.source", "'fax'"),
        (lambda c: c.start_project("Churn", "hobby"), "$.data.kind", "'hobby'"),
        (lambda c: c.milestone("not-a-uuid", "deployed"), "$.project_id", "'not-a-uuid'"),
        (lambda c: c.metric(schema_uuid(), "Bad Key", 1.0, layer="model"), "$.data.key", "'Bad Key'"),
        (
            lambda c: c.metric(schema_uuid(), "auc", 1.0, layer="model", low=2.0, high=3.0),
            "$.data.low",
            "`low` 2 is above the value 1: an interval needs low <= value <= high",
        ),
        (lambda c: c.metric(schema_uuid(), "auc", float("nan"), layer="model"), "$.data.value", "nan"),
        (
            lambda c: c.metric(schema_uuid(), "lift", 2.0, layer="business", measure="delta"),
            "$.data.measure",
            "'delta'",
        ),
        (
            lambda c: c.metric(schema_uuid(), "auc", 1.0, layer="model", direction="up"),
            "$.data.direction",
            "'up'",
        ),
        (
            lambda c: c.metric(
                schema_uuid(), "lift", 1.0, layer="business", measure="change", low=2.0, high=3.0
            ),
            "$.data.low",
            "above the value 1",
        ),
        (lambda c: c.capture("x", occurred_at="2026-01-01T10:00:00"), "$.occurred_at", "no timezone"),
        (lambda c: c.capture("x", occurred_at=datetime(2026, 1, 1)), "$.occurred_at", "no timezone"),
        # No UTC datetime at all (converting them overflows): refused like any time out of range.
        (lambda c: c.capture("x", occurred_at="0001-01-01T00:30:00+01:00"), "$.occurred_at", "outside"),
        (lambda c: c.capture("x", occurred_at="9999-12-31T23:30:00-01:00"), "$.occurred_at", "outside"),
        (
            lambda c: c.capture("x", occurred_at=datetime(1, 1, 1, 0, 30, tzinfo=PLUS_1)),
            "$.occurred_at",
            "outside",
        ),
        (
            lambda c: c.capture("x", occurred_at=datetime(9999, 12, 31, 23, tzinfo=MINUS_1)),
            "$.occurred_at",
            "9999",
        ),
        (lambda c: c.metric(schema_uuid(), "auc", 10**400, layer="model"), "$.data.value", "range"),
        (
            lambda c: c.metric(schema_uuid(), "auc", 1.0, layer="model", baseline=-(10**400)),
            "$.data.baseline",
            "range",
        ),
        (lambda c: c.capture("x", tags="one,two"), "$.data.tags", "'one,two'"),
        (lambda c: c.update_project(schema_uuid()), "$.data", "at least one"),
        (lambda c: c.retract("42"), "$.data.target", "'42'"),
    ],
)
def test_invalid_appends_raise_naming_the_field_and_store_nothing(
    client: Client, append: object, field: str, quoted: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        append(client)  # type: ignore[operator]
    assert caught.value.code == "invalid_event"
    assert caught.value.field == field
    assert quoted in str(caught.value)
    assert client.events() == [] and client.rejected() == []
    client.capture("the next event still gets device_seq 1")
    assert client.events()[0].device_seq == 1


def schema_uuid() -> str:
    return "0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80"


class Scalar:
    """Stands in for numpy.float32: a Real number that is not a float."""

    def __float__(self) -> float:
        return 0.5


numbers.Real.register(Scalar)


def test_numpy_like_numbers_are_stored_as_plain_floats(client: Client) -> None:
    client.metric(schema_uuid(), "auc", Scalar(), layer="model", baseline=1)  # type: ignore[arg-type]
    assert client.events()[0].data["value"] == 0.5 and client.events()[0].data["baseline"] == 1.0


def test_a_store_keeps_everything_across_reopening(tmp_path: Path) -> None:
    with Client(tmp_path / "journal.db") as first:
        device = first.device_id
        project = first.start_project("Forecast", "model")
        first.capture("adopted by merchandising", project)
    with Client(tmp_path / "journal.db") as again:
        assert again.device_id == device
        again.capture("waste down 18%", project)
        events = again.events(project)
    assert [event.device_seq for event in events] == [1, 2, 3]


def test_events_filters_by_project(client: Client) -> None:
    churn = client.start_project("Churn", "model")
    pricing = client.start_project("Pricing", "model")
    client.capture("churn win", churn)
    client.capture("pricing win", pricing)
    client.capture("no project")
    assert [event.data.get("text") for event in client.events(churn)] == [None, "churn win"]
    assert len(client.events()) == 5


def test_status_of_a_fresh_offline_store(client: Client) -> None:
    client.capture("one")
    status = client.status()
    assert status.pending == 1 and status.synced == 0 and status.rejected == 0
    assert status.cursor == 0 and status.epoch is None and status.last_sync is None
    assert status.device_id == client.device_id


def test_sync_without_a_server_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WINLEDGER_SERVER", raising=False)
    monkeypatch.delenv("WINLEDGER_TOKEN", raising=False)
    with Client(tmp_path / "journal.db") as client:
        client.capture("offline is fine")
        with pytest.raises(ConfigurationError, match="WINLEDGER_SERVER"):
            client.sync()
        assert client.status().pending == 1


def test_a_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(StoreError, match="another application"):
        Client(path)


def test_a_store_from_a_newer_sdk_is_refused(tmp_path: Path) -> None:
    Client(tmp_path / "journal.db").close()
    with sqlite3.connect(tmp_path / "journal.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError, match="newer winledger"):
        Client(tmp_path / "journal.db")


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.db").write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable winledger store"):
        Client(tmp_path / "notes.db")


def test_the_store_runs_in_wal_mode_with_full_durability(client: Client) -> None:
    conn = client._store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
