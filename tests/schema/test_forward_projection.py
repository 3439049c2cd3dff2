"""Folding forward (``schema.projections.forward``) gives exactly the models of the full fold
(``build_project``), for every order of the events and every split of them into batches; and the
timeline's lines, cut on a fast path, read as the plain rule gives them."""

from __future__ import annotations

import itertools
import random
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from schema import ValidEvent, validate_fields
from schema.events import Envelope, EventRedacted, EventRetracted
from schema.projections import build_models
from schema.projections.fold import readable_events
from schema.projections.forward import ProjectFold, UserFold
from schema.projections.journal import entry, summarize
from schema.upcast import read_event
from tests import strategies


def _typed(events: list[dict[str, Any]]) -> list[Envelope]:
    return [event for fields in events if (event := read_event(dict(fields))) is not None]


def _canonical(fields: dict[str, Any]) -> tuple[Any, ...]:
    return (fields["clock"], fields["device_id"], fields["device_seq"], fields["id"])


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """A user's log, and the batches it arrives in: in canonical order with a few late events (the
    usual case, offline devices), or in any order; some events twice."""
    log = [validate_fields(event).fields for event in draw(strategies.user_logs(max_events=30))]  # type: ignore[union-attr]
    rng = draw(st.randoms(use_true_random=False))
    order = sorted(log, key=_canonical)
    if draw(st.booleans()):
        rng.shuffle(order)
    else:
        for _ in range(draw(st.integers(0, 3))):  # a few events arrive late
            if len(order) > 1:
                order.append(order.pop(rng.randrange(len(order) - 1)))
    order += draw(st.lists(st.sampled_from(log), max_size=4))  # pushed again
    cuts = sorted(draw(st.lists(st.integers(0, len(order)), max_size=6)))
    bounds = [0, *cuts, len(order)]
    return log, [order[start:end] for start, end in itertools.pairwise(bounds)]


def _encoded(models: dict[str | None, Any]) -> bytes:
    return msgspec.json.encode(sorted(models.items(), key=lambda item: item[0] or ""))


@given(arrivals())
def test_folding_forward_batch_by_batch_gives_the_full_fold_after_every_batch(
    case: tuple[list[dict[str, Any]], list[list[dict[str, Any]]]],
) -> None:
    _, batches = case
    fold = UserFold()
    seen: list[dict[str, Any]] = []
    for batch in batches:
        seen += batch
        touched = fold.apply(_typed(batch))
        for project_id in list(fold.stale):
            # As the log holds the project now: redacted where a redaction names an event.
            fold.refold(project_id, [e for e in readable_events(seen) if e.project_id == project_id])
        expected = build_models(seen)
        assert set(expected) <= set(fold.projects)
        folded = [e for e in _typed(batch) if not isinstance(e, EventRetracted | EventRedacted)]
        assert {e.project_id for e in folded} <= touched
        ours = {key: model for key in fold.projects if (model := fold.model(key)) is not None}
        assert _encoded(ours) == _encoded(expected)


@given(arrivals(), st.randoms(use_true_random=False))
def test_a_project_folded_from_its_events_in_any_order_is_the_full_fold(
    case: tuple[list[dict[str, Any]], list[list[dict[str, Any]]]], rng: random.Random
) -> None:
    log, _ = case
    expected = build_models(log)
    events = readable_events(log)
    rng.shuffle(events)
    for project_id, model in expected.items():
        assert msgspec.json.encode(ProjectFold.of(project_id, events).model()) == msgspec.json.encode(model)


def test_an_event_landing_before_those_folded_makes_the_project_stale_until_refolded() -> None:
    log = [validate_fields(event).fields for event in _two_wins()]  # type: ignore[union-attr]
    early, late = sorted(log, key=_canonical)
    fold = UserFold()
    fold.apply(_typed([late]))
    assert not fold.stale
    fold.apply(_typed([early]))
    project = early["project_id"]
    assert fold.stale == {project}
    fold.refold(project, _typed(log))
    assert msgspec.json.encode(fold.model(project)) == msgspec.json.encode(build_models(log)[project])


def _two_wins() -> list[dict[str, Any]]:
    project = "0190f5a0-0000-7000-8000-000000000001"
    device = "0190f5a0-0000-7000-8000-0000000000d1"
    return [
        {
            "id": f"0190f5a0-0000-7000-8000-00000000000{seq + 1}",
            "device_id": device,
            "device_seq": seq,
            "clock": (1_767_225_600_000 + seq) << 10,
            "occurred_at": f"2026-01-0{seq}T00:00:00Z",
            "type": "win.captured",
            "v": 1,
            "project_id": project,
            "data": {"text": f"win {seq}", "source": "text"},
        }
        for seq in (1, 2)
    ]


def _one_line(text: str) -> str:
    """The timeline's summary rule, spelled plainly: whitespace runs as one space, cut at 140 characters."""
    line = " ".join(text.split())
    return line if len(line) <= 140 else line[:139].rstrip() + "…"


@given(strategies.events())
def test_a_timeline_line_is_its_summary_on_one_line_cut_to_length(fields: dict[str, Any]) -> None:
    valid = validate_fields(fields)
    assert isinstance(valid, ValidEvent)
    event = read_event(dict(valid.fields))
    assert event is not None
    assert entry(event).summary == _one_line(summarize(event))


@given(st.text(st.sampled_from(list("ab .\t\n\xa0\u2003\u2028…")), max_size=300) | st.text(max_size=300))
def test_a_text_is_put_on_one_line_and_cut_as_the_rule_says(text: str) -> None:
    event = read_event(_two_wins()[0] | {"data": {"text": text or "x", "source": "text"}})
    assert event is not None
    assert entry(event).summary == _one_line(summarize(event))
