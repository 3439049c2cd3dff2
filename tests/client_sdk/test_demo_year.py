from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from client_sdk._ids import uuid7_unix_ms
from client_sdk.demo_year import DEVICES, demo_year
from schema import CLIENT_FIELDS, ValidEvent, canonical_order, parse_timestamp, validate_fields

Events = list[dict[str, Any]]


@pytest.fixture(scope="module")
def events() -> Events:
    return demo_year()


def _dump(events: Events) -> bytes:
    return json.dumps(events, sort_keys=True).encode()


def _unix_ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _by_device(events: Events) -> dict[str, Events]:
    mine: dict[str, Events] = defaultdict(list)
    for event in sorted(events, key=lambda e: e["device_seq"]):
        mine[event["device_id"]].append(event)
    return mine


# -- determinism -------------------------------------------------------------------


def test_the_same_arguments_give_byte_identical_events(events: Events) -> None:
    assert _dump(demo_year()) == _dump(events)
    assert _dump(demo_year(2026, 7)) == _dump(events)


def test_another_interpreter_with_another_hash_seed_gives_the_same_bytes(events: Events) -> None:
    code = (
        "import hashlib, json, sys; from client_sdk.demo_year import demo_year; "
        "sys.stdout.write(hashlib.sha256(json.dumps(demo_year(), sort_keys=True).encode()).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout == hashlib.sha256(_dump(events)).hexdigest()


def test_another_seed_moves_times_and_ids_but_not_the_figures(events: Events) -> None:
    other = demo_year(seed=8)
    assert _dump(other) != _dump(events)
    assert {e["id"] for e in other}.isdisjoint(e["id"] for e in events)

    def content(batch: Events) -> Counter[str]:
        return Counter(
            json.dumps([e["type"], {k: v for k, v in e["data"].items() if k != "target"}], sort_keys=True)
            for e in batch
        )

    assert content(other) == content(events)


@pytest.mark.parametrize("year", [1970, 2099, 10_000])
def test_a_year_outside_the_timestamp_range_is_refused(year: int) -> None:
    with pytest.raises(ValueError, match=str(year)):
        demo_year(year)


# -- every event is one a client could push ------------------------------------------


def test_every_event_validates_and_is_already_normalized(events: Events) -> None:
    assert 120 <= len(events) <= 200
    for event in events:
        assert tuple(event) == CLIENT_FIELDS
        result = validate_fields(event)
        assert isinstance(result, ValidEvent), result
        assert result.fields == event


def test_ids_are_unique_uuid7s_of_the_capture_time(events: Events) -> None:
    ids = [event["id"] for event in events]
    assert len(set(ids)) == len(ids)
    for event in events:
        parsed = uuid.UUID(event["id"])
        assert event["id"] == str(parsed)
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert event["id"][14] == "7" and event["id"][19] in "89ab"
        # The clock carries the capture time, or the next tick after it on a busy device.
        id_ms, clock_ms = uuid7_unix_ms(event["id"]), event["clock"] >> 10
        assert id_ms <= clock_ms <= id_ms + 1_000


def test_project_ids_are_uuid7s_and_device_ids_are_the_published_ones(events: Events) -> None:
    assert set(DEVICES) == {"laptop", "phone", "workstation"}
    assert {event["device_id"] for event in events} == set(DEVICES.values())
    for device_id in DEVICES.values():
        assert str(uuid.UUID(device_id)) == device_id
    for project_id in {e["project_id"] for e in events} - {None}:
        parsed = uuid.UUID(project_id)
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)


def test_each_device_counts_from_one_and_its_clocks_strictly_increase(events: Events) -> None:
    for mine in _by_device(events).values():
        assert [e["device_seq"] for e in mine] == list(range(1, len(mine) + 1))
        clocks = [e["clock"] for e in mine]
        assert all(a < b for a, b in pairwise(clocks))


def test_events_come_in_canonical_order(events: Events) -> None:
    assert events == sorted(events, key=canonical_order)


@pytest.mark.parametrize("year", [2026, 2028, 2031])
def test_every_time_is_inside_the_year_and_captures_follow_what_they_record(year: int) -> None:
    start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    for event in demo_year(year):
        occurred = parse_timestamp(event["occurred_at"])
        captured_ms = event["clock"] >> 10
        assert start <= occurred < end
        assert _unix_ms(start) <= captured_ms < _unix_ms(end)
        # Minutes to a couple of days later (the laptop's clock runs a few minutes fast).
        assert 0 < captured_ms - _unix_ms(occurred) <= 3 * 86_400_000


# -- the shape of the year --------------------------------------------------------


def test_every_project_has_exactly_one_start(events: Events) -> None:
    starts = Counter(e["project_id"] for e in events if e["type"] == "project.started")
    assert len(starts) == 10
    assert set(starts.values()) == {1}
    assert {e["project_id"] for e in events} - {None} == set(starts)


def test_an_event_of_a_project_sorts_before_its_project_started(events: Events) -> None:
    started = {e["project_id"]: canonical_order(e) for e in events if e["type"] == "project.started"}
    early = [
        e
        for e in events
        if e["type"] != "project.started"
        and e["project_id"]
        and canonical_order(e) < started[e["project_id"]]
    ]
    assert [e["device_id"] for e in early] == [DEVICES["phone"]]
    start = next(
        e for e in events if e["type"] == "project.started" and e["project_id"] == early[0]["project_id"]
    )
    assert start["device_id"] == DEVICES["laptop"]


def test_the_retraction_targets_a_metric_that_is_entered_again_correctly(events: Events) -> None:
    by_id = {e["id"]: e for e in events}
    (retraction,) = [e for e in events if e["type"] == "event.retracted"]
    target = by_id[retraction["data"]["target"]]
    assert target["type"] == "metric.observed"
    assert canonical_order(target) < canonical_order(retraction)
    again = [
        e
        for e in events
        if e["type"] == "metric.observed"
        and e["data"]["key"] == target["data"]["key"]
        and canonical_order(e) > canonical_order(retraction)
    ]
    assert again and again[0]["data"]["value"] != target["data"]["value"]


def _milestones(events: Events) -> dict[str, set[str]]:
    reached: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e["type"] == "milestone.reached":
            reached[e["project_id"]].add(e["data"]["milestone"])
    return reached


def test_the_year_exercises_every_rule_of_the_review_draft(events: Events) -> None:
    names = {e["project_id"]: e["data"]["name"] for e in events if e["type"] == "project.started"}
    kinds = {e["data"]["kind"] for e in events if e["type"] == "project.started"}
    assert kinds == {"model", "experiment", "analysis", "infrastructure", "research"}
    reached = {names[p]: m for p, m in _milestones(events).items()}
    # Deployment boundary: shadow only, never deployed.
    assert "shadow_deployed" in reached["Marketplace pricing model"]
    assert "deployed" not in reached["Marketplace pricing model"]
    # Ongoing value, and a rollback that ends time in production.
    assert {"deployed", "adopted"} <= reached["Churn early-warning model"]
    assert not reached["Churn early-warning model"] & {"rolled_back", "retired"}
    assert {"deployed", "rolled_back"} <= reached["Delivery-time estimate v2"]
    assert "abandoned" in reached["Graph neural network for fraud rings"]

    metrics = [e["data"] for e in events if e["type"] == "metric.observed"]
    lifts = {m["key"]: m for m in metrics if "baseline" not in m and "low" in m}
    assert lifts["search_ctr_lift"]["low"] > 0  # claimable
    assert lifts["checkout_conversion_lift"]["low"] <= 0  # too wide to claim
    assert lifts["save_rate_lift"]["value"] == 34 and lifts["save_rate_lift"]["unit"] == "%"
    assert any(m.get("unit") == "$" and m["layer"] == "business" for m in metrics)
    assert any(m.get("direction") == "lower_is_better" and m["layer"] == "production" for m in metrics)

    evidence = {e["data"]["evidence"] for e in events if e["type"] == "metric.linked"}
    assert {"ab_test", "before_after", "counterfactual"} <= evidence
    decisions = [
        e["data"]["decision"] for e in events if e["type"] == "feedback.received" if "decision" in e["data"]
    ]
    assert any("every Monday" in d for d in decisions)
    assert any(d.startswith("More investment") for d in decisions)


def test_loose_wins_learnings_and_a_team_change_are_there(events: Events) -> None:
    loose = [e for e in events if e["type"] == "win.captured" and e["project_id"] is None]
    assert any(e["data"]["source"] == "voice" for e in loose)
    assert any(e["data"]["kind"] == "next" for e in events if e["type"] == "learning.noted")
    assert any("team" in e["data"] for e in events if e["type"] == "project.updated")
