"""Redaction (ADR 0007): the pure rewrite every replica applies, and read models that show it."""

from __future__ import annotations

import random
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from schema import EVENT_TYPES, Rejection, ValidEvent, digest_of, validate_fields
from schema.projections import build_models
from schema.redaction import (
    FREE_TEXT,
    REDACTED,
    apply_redactions,
    redacted_body,
    redacted_fields,
    replace_hash,
)
from tests import strategies
from tests.factories import REQUIRED_DATA, an_event, new_id, with_data

# Strings that are structure, not text: kept by a redaction ("something was there").
KEPT = {"target", "key", "cause", "effect", "unit"}


def valid(fields: dict[str, Any]) -> ValidEvent:
    result = validate_fields(fields)
    assert isinstance(result, ValidEvent), result
    return result


def test_every_registered_type_and_version_has_its_free_text_listed() -> None:
    """Each string or list field of every payload is either erased or named here as structure."""
    for name, versions in EVENT_TYPES.items():
        for version, struct in versions.items():
            assert (name, version) in FREE_TEXT, f"{name} v{version} has no entry in FREE_TEXT"
            info = msgspec.inspect.type_info(struct)
            assert isinstance(info, msgspec.inspect.StructType)
            data = next(field.type for field in info.fields if field.name == "data")
            assert isinstance(data, msgspec.inspect.StructType)
            for field in data.fields:
                kinds = (
                    field.type.types if isinstance(field.type, msgspec.inspect.UnionType) else (field.type,)
                )
                textual = any(
                    isinstance(k, msgspec.inspect.StrType | msgspec.inspect.ListType) for k in kinds
                )
                if textual:
                    assert (field.name in FREE_TEXT[(name, version)]) != (field.name in KEPT), (
                        name,
                        field.name,
                    )


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_free_text_field_becomes_the_marker_and_everything_else_stays(event_type: str) -> None:
    event = valid(an_event(event_type, full=True)).fields
    redacted = redacted_fields(event)
    free = FREE_TEXT[(event_type, 1)]
    for name, value in event["data"].items():
        if name == "tags":
            assert redacted["data"][name] == []
        elif name in free:
            assert redacted["data"][name] == REDACTED
        else:
            assert redacted["data"][name] == value
    assert {k: v for k, v in redacted.items() if k != "data"} == {
        k: v for k, v in event.items() if k != "data"
    }
    assert event["data"] == valid(an_event(event_type, full=True) | {"data": event["data"]}).fields["data"]


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_absent_fields_stay_absent(event_type: str) -> None:
    event = valid(an_event(event_type)).fields
    assert set(redacted_fields(event)["data"]) == set(REQUIRED_DATA[event_type])


@given(strategies.events())
def test_the_redacted_body_is_the_normalized_form_of_a_valid_event_and_is_idempotent(
    event: dict[str, Any],
) -> None:
    original = valid(event)
    body, hash_value = redacted_body(original.body)
    again = valid(msgspec.json.decode(body))
    assert (again.body, again.hash) == (body, hash_value)
    assert redacted_body(body) == (body, hash_value)


def test_a_redaction_of_a_redaction_or_retraction_erases_only_its_reason() -> None:
    for kind in ("event.retracted", "event.redacted"):
        event = valid(an_event(kind, full=True)).fields
        redacted = redacted_fields(event)
        assert redacted["data"] == {"target": event["data"]["target"], "reason": REDACTED}


def test_an_event_of_an_unknown_type_or_version_is_left_as_it_is() -> None:
    newer = an_event("win.captured", full=True) | {"v": 2}
    assert redacted_fields(newer) == newer
    assert redacted_fields(an_event() | {"type": "win.recorded"})["data"] == REQUIRED_DATA["win.captured"]


def test_a_redaction_names_its_target_and_only_another_event() -> None:
    event = an_event("event.redacted", data={"target": new_id(), "reason": "Named a customer."})
    assert isinstance(validate_fields(event), ValidEvent)
    itself = with_data(event, target=event["id"])
    problem = validate_fields(itself)
    assert isinstance(problem, Rejection) and problem.code == "invalid_event"
    assert "`$.data.target`" in problem.message and "redact itself" in problem.message
    bad = validate_fields(with_data(event, target="not-a-uuid"))
    assert isinstance(bad, Rejection) and "`$.data.target`" in bad.message
    missing = validate_fields(with_data(event, target=...))
    assert isinstance(missing, Rejection) and "`target`" in missing.message
    empty_reason = validate_fields(with_data(event, reason=""))
    assert isinstance(empty_reason, Rejection) and "`$.data.reason`" in empty_reason.message


def test_the_digest_follows_a_rewrite() -> None:
    events = [valid(an_event(kind, full=True)) for kind in sorted(EVENT_TYPES)]
    before = digest_of(event.hash for event in events)
    _, new_hash = redacted_body(events[3].body)
    after = replace_hash(before, events[3].hash, new_hash)
    assert after == digest_of([*(e.hash for e in events[:3]), new_hash, *(e.hash for e in events[4:])])
    assert replace_hash(after, new_hash, events[3].hash) == before


def test_read_models_show_the_marker_whether_the_redaction_comes_before_or_after_its_target() -> None:
    project = new_id()
    start = valid(an_event("project.started", full=True, project_id=project, clock=10)).fields
    win = valid(
        an_event(
            "win.captured",
            full=True,
            project_id=project,
            clock=20,
            data={"text": "Dana said it", "source": "text", "tags": ["dana"]},
        )
    ).fields
    before = valid(an_event("event.redacted", clock=5, data={"target": win["id"]})).fields
    after = valid(an_event("event.redacted", clock=30, data={"target": start["id"]})).fields
    model = build_models([start, win, before, after])[project]
    assert model.timeline.name == REDACTED and model.timeline.team == REDACTED
    assert [(note.text, note.tags) for note in model.notes] == [(REDACTED, [])]
    assert all(entry.type != "event.redacted" for entry in model.timeline.entries)
    assert "Dana" not in msgspec.json.encode(model).decode()


@given(strategies.user_logs(max_events=25), st.randoms(use_true_random=False), st.data())
def test_read_models_are_the_same_whether_targets_arrive_redacted_or_not(
    log: list[dict[str, Any]], rng: random.Random, data: st.DataObject
) -> None:
    """A server stores a target redacted; a device may hold it unredacted until it folds: same models."""
    events = [valid(event).fields for event in log]
    stored = apply_redactions(events)
    mixed = [
        data.draw(st.sampled_from([plain, redacted])) for plain, redacted in zip(events, stored, strict=True)
    ]
    rng.shuffle(mixed)
    encode = msgspec.json.encode
    assert encode(sorted(build_models(mixed).items(), key=lambda item: str(item[0]))) == encode(
        sorted(build_models(events).items(), key=lambda item: str(item[0]))
    )
