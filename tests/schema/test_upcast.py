"""Upcasters: old versions read as the current one at read time, through a chain v1 -> v2 -> v3."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from schema import (
    CURRENT_VERSIONS,
    EVENT_TYPES,
    UPCASTERS,
    MetricObserved,
    Upcasters,
    ValidEvent,
    read_event,
    validate_fields,
)
from schema.events import Envelope, WinCaptured
from tests.factories import ALL_TYPES, an_event


class _Payload(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    pass


class WinCapturedV2Data(_Payload, frozen=True):
    """A fake v2: adds ``mood``."""

    text: str
    source: str
    mood: str
    tags: list[str] | None = None


class WinCapturedV3Data(_Payload, frozen=True):
    """A fake v3: ``text`` is renamed ``body``."""

    body: str
    source: str
    mood: str
    tags: list[str] | None = None


class WinCapturedV2(Envelope, tag="win.captured", frozen=True):
    data: WinCapturedV2Data


class WinCapturedV3(Envelope, tag="win.captured", frozen=True):
    data: WinCapturedV3Data


def _types(*versions: int) -> dict[str, dict[int, type[Envelope]]]:
    structs: dict[int, type[Envelope]] = {1: WinCaptured, 2: WinCapturedV2, 3: WinCapturedV3}
    return {**EVENT_TYPES, "win.captured": {v: structs[v] for v in versions}}


def _add_mood(fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "data": {**fields["data"], "mood": "neutral"}}


def _rename_text(fields: dict[str, Any]) -> dict[str, Any]:
    data = {("body" if key == "text" else key): value for key, value in fields["data"].items()}
    return {**fields, "data": data}


@pytest.fixture
def registry() -> Upcasters:
    upcasters = Upcasters(_types(1, 2, 3))
    upcasters.register("win.captured", 1)(_add_mood)
    upcasters.register("win.captured", 2)(_rename_text)
    return upcasters


def _stored(**overrides: Any) -> dict[str, Any]:
    result = validate_fields(an_event("win.captured", full=True))
    assert isinstance(result, ValidEvent)
    return {**result.fields, **overrides}


def test_a_v1_event_is_read_through_the_whole_chain(registry: Upcasters) -> None:
    v1 = _stored()
    current = registry.upcast(v1)
    assert current is not None
    assert current["v"] == 3
    assert current["data"] == {
        "body": v1["data"]["text"],
        "source": v1["data"]["source"],
        "tags": v1["data"]["tags"],
        "mood": "neutral",
    }
    assert {k: current[k] for k in ("id", "device_id", "device_seq", "clock", "occurred_at")} == {
        k: v1[k] for k in ("id", "device_id", "device_seq", "clock", "occurred_at")
    }
    event = registry.read(v1)
    assert isinstance(event, WinCapturedV3)
    assert event.v == 3 and event.data.body == v1["data"]["text"] and event.data.mood == "neutral"


def test_reading_leaves_the_stored_event_as_it_was(registry: Upcasters) -> None:
    v1 = _stored()
    before = msgspec.json.encode(v1)
    registry.read(v1)
    assert msgspec.json.encode(v1) == before
    assert v1["v"] == 1


def test_a_middle_version_starts_the_chain_where_it_is(registry: Upcasters) -> None:
    v2 = _stored(v=2)
    v2["data"] = {**v2["data"], "mood": "proud"}
    event = registry.read(v2)
    assert isinstance(event, WinCapturedV3) and event.data.mood == "proud"


def test_the_current_version_passes_unchanged(registry: Upcasters) -> None:
    v3 = _stored(v=3)
    v3["data"] = {"body": "b", "source": "text", "mood": "calm"}
    assert registry.upcast(v3) == v3
    assert isinstance(registry.read(v3), WinCapturedV3)


@pytest.mark.parametrize(
    "changes",
    [{"type": "win.celebrated"}, {"v": 4}, {"v": 0}, {"v": "1"}, {"v": None}, {"type": None}],
    ids=["unknown-type", "newer-version", "version-0", "version-string", "version-null", "type-null"],
)
def test_unknown_types_and_versions_are_skipped_not_errors(
    registry: Upcasters, changes: dict[str, Any]
) -> None:
    fields = _stored(**changes)
    assert registry.upcast(fields) is None
    assert registry.read(fields) is None


def test_a_missing_step_raises() -> None:
    upcasters = Upcasters(_types(1, 2, 3))
    upcasters.register("win.captured", 1)(_add_mood)
    with pytest.raises(LookupError, match=r"version 2 of 'win\.captured'"):
        upcasters.upcast(_stored())


def test_a_step_needs_a_version_to_upcast_to() -> None:
    upcasters = Upcasters(_types(1, 2))
    with pytest.raises(ValueError, match="no version 3"):
        upcasters.register("win.captured", 2)
    with pytest.raises(ValueError, match="no version 2"):
        upcasters.register("learning.noted", 1)


def test_the_projections_registry_passes_current_events_unchanged() -> None:
    stored = _stored()
    assert UPCASTERS.upcast(stored) == stored


@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("event_type", ALL_TYPES)
def test_read_event_reads_every_current_type(event_type: str, full: bool) -> None:
    current = CURRENT_VERSIONS[event_type]
    result = validate_fields(an_event(event_type, v=current, full=full))
    assert isinstance(result, ValidEvent)
    event = read_event(result.fields)
    assert type(event) is EVENT_TYPES[event_type][current]
    assert event == result.event
    assert msgspec.to_builtins(event) == result.fields


def test_the_projections_registry_has_a_step_below_every_current_version() -> None:
    for event_type, versions in EVENT_TYPES.items():
        for version in sorted(versions)[:-1]:
            assert (event_type, version) in UPCASTERS._steps, (event_type, version)


@pytest.mark.parametrize("full", [False, True])
def test_a_stored_v1_metric_reads_as_a_v2_level_with_its_direction(full: bool) -> None:
    result = validate_fields(an_event("metric.observed", full=full))
    assert isinstance(result, ValidEvent) and result.fields["v"] == 1
    before = msgspec.json.encode(result.fields)
    event = read_event(result.fields)
    assert isinstance(event, MetricObserved) and event.v == 2
    assert event.data.measure == "level"
    assert event.data.direction == ("lower_is_better" if full else None)
    # The data carries over as it is: the v2 event says what the v1 one said, and the stored one is untouched.
    assert msgspec.to_builtins(event) == {**result.fields, "v": 2}
    assert msgspec.json.encode(result.fields) == before
    assert UPCASTERS.upcast(result.fields) == {**result.fields, "v": 2}


@pytest.mark.parametrize(("measure", "direction"), [("change", "none"), ("level", "higher_is_better")])
def test_a_v2_metric_reads_as_it_is(measure: str, direction: str) -> None:
    data = {"key": "lift", "layer": "business", "value": 2.5, "measure": measure, "direction": direction}
    result = validate_fields(an_event("metric.observed", v=2, data=data))
    assert isinstance(result, ValidEvent)
    event = read_event(result.fields)
    assert isinstance(event, MetricObserved) and event == result.event
    assert (event.data.measure, event.data.direction) == (measure, direction)


@pytest.mark.parametrize("changes", [{"type": "win.celebrated"}, {"v": 2}])
def test_read_event_skips_what_this_code_does_not_know(changes: dict[str, Any]) -> None:
    assert read_event(_stored(**changes)) is None
