"""The draft's truth rules, as properties of the pure projections over generated journals.

Rule 1: every number is a recorded value or named arithmetic on recorded values; "from A to B" names
the recorded baseline and the recorded value. Rule 2: a sign only on a change. Rule 5: the stage follows
the whole milestone history. Rule 6: as of day D, only what occurred by the end of D counts, and
events added after D never change a draft, a timeline or a chain as of D.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any, get_args

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from schema.projections import (
    build_models,
    chains_as_of,
    format_number,
    headline,
    render_markdown,
    review_draft,
    summary_of,
    timeline_view,
)
from schema.projections.models import Observation
from schema.types import Milestone
from tests.schema.second_year import Year

MILESTONES = get_args(Milestone)
_number = st.integers(-2000, 2000).map(lambda n: n / 10)


@st.composite
def observations(draw: st.DrawFn) -> tuple[Observation, str | None, str | None, str]:
    value = draw(_number)
    baseline = draw(st.none() | _number)
    low = high = None
    if draw(st.booleans()):
        spread = draw(st.integers(1, 300)) / 10
        low, high = value - draw(st.integers(0, 300)) / 10, value + spread
    unit = draw(st.sampled_from([None, "%", "pp", "$", "ms", "count"]))
    direction = draw(st.sampled_from([None, "higher_is_better", "lower_is_better", "none"]))
    measure = draw(st.sampled_from(["level", "change"]))
    observation = Observation(
        id="x", occurred_at="2026-05-01T10:00:00Z", value=value, baseline=baseline, low=low, high=high
    )
    return observation, unit, direction, measure


def _numbers(text: str) -> list[str]:
    return [m.lstrip("+-$") for m in re.findall(r"[+-]?\$?\d+(?:[,.]\d+)*M?", text)]


@given(observations())
def test_every_number_of_a_claim_is_recorded_or_named_arithmetic(drawn: Any) -> None:
    observation, unit, direction, measure = drawn
    line = headline("Metric", unit, direction, observation, measure)
    value, baseline = observation.value, observation.baseline
    recorded = [x for x in (value, baseline, observation.low, observation.high) if x is not None]
    arithmetic = [x - baseline for x in recorded] if baseline is not None and measure == "level" else []
    relative = [100 * (value - baseline) / abs(baseline)] if baseline and measure == "level" else []
    allowed = {format_number(abs(x)).lstrip("$") for x in recorded + arithmetic}
    allowed |= {format_number(abs(round(x, 1))) for x in relative}
    allowed |= {format_number(abs(float(f"{x:.12g}"))) for x in arithmetic}
    for number in _numbers(line.text) + _numbers(line.measured or ""):
        assert number in allowed, (number, line.text, line.measured)
    span = re.search(r"went from (\S+) to (\S+)", line.text)
    if span:  # "from A to B" names the recorded baseline and the recorded value, never an interval end
        assert (span[1], span[2]) == (format_number(baseline, unit), format_number(value, unit))
    # Rule 2: a sign only on a change. A level without a baseline is shown as it was recorded.
    if measure == "level" and baseline is None:
        assert line.basis == "level" and "+" not in line.text
    # Rule 4: with no better or worse there is no conservative end.
    if direction == "none":
        assert line.bound is None and line.claimable


PROJECTS = ("01900000-0000-7000-9000-000000000001", "01900000-0000-7000-9000-000000000002")


@st.composite
def journals(draw: st.DrawFn) -> list[dict[str, Any]]:
    log = Year()
    ids: list[str] = []
    for _ in range(draw(st.integers(1, 30))):
        day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
        project = draw(st.sampled_from(PROJECTS))
        kind = draw(
            st.sampled_from(["start", "update", "milestone", "metric", "link", "feedback", "win", "retract"])
        )
        if kind == "start":
            data = {"name": draw(st.sampled_from(["Churn", "Pricing"])), "kind": "model", "team": "CS"}
            ids.append(log.add("project.started", day, data, project))
        elif kind == "update":
            ids.append(
                log.add("project.updated", day, {"summary": draw(st.sampled_from(["A", "B"]))}, project)
            )
        elif kind == "milestone":
            ids.append(
                log.add("milestone.reached", day, {"milestone": draw(st.sampled_from(MILESTONES))}, project)
            )
        elif kind == "metric":
            data: dict[str, Any] = {
                "key": draw(st.sampled_from(["m", "p", "b"])),
                "layer": draw(st.sampled_from(["model", "production", "business"])),
                "value": draw(_number),
                "measure": draw(st.sampled_from(["level", "change"])),
                "direction": draw(st.sampled_from(["higher_is_better", "lower_is_better", "none"])),
            }
            if draw(st.booleans()):
                data["baseline"] = draw(_number)
            if draw(st.booleans()):
                data["low"], data["high"] = data["value"] - 1, data["value"] + 2
            ids.append(log.add("metric.observed", day, data, project, v=2))
        elif kind == "link":
            data = {
                "cause": draw(st.sampled_from("mpb")),
                "effect": draw(st.sampled_from("mpb")),
                "evidence": "ab_test",
            }
            ids.append(log.add("metric.linked", day, data, project))
        elif kind == "feedback":
            ids.append(log.add("feedback.received", day, {"quote": "Useful", "decision": "Use it"}, project))
        elif kind == "retract" and ids:
            log.add("event.retracted", day, {"target": draw(st.sampled_from(ids))}, None)
        else:
            data = {"text": "um, a win", "source": "voice", "tags": [draw(st.sampled_from(["talk", "x"]))]}
            ids.append(log.add("win.captured", day, data, draw(st.sampled_from([None, project]))))
    return log.events


def _views(events: list[dict[str, Any]], day: date) -> bytes:
    models = build_models(events)
    draft = review_draft(models.values(), date(2026, 1, 1), day, day)
    parts = [msgspec.json.encode(draft), render_markdown(draft).encode()]
    for project in PROJECTS:
        model = models.get(project)
        if model is not None:
            parts += [
                msgspec.json.encode(timeline_view(model, day)),
                msgspec.json.encode(chains_as_of(model, day)),
            ]
        else:
            parts += [b"null", b"null"]
    return b"\n".join(parts)


@given(journals(), st.integers(0, 364))
def test_as_of_a_day_only_what_occurred_by_then_counts(events: list[dict[str, Any]], offset: int) -> None:
    day = date(2026, 1, 1) + timedelta(days=offset)
    # Corrections apply whatever their date; everything else counts only once it has occurred.
    by_then = [
        e for e in events if e["occurred_at"][:10] <= day.isoformat() or e["type"] == "event.retracted"
    ]
    assert _views(events, day) == _views(by_then, day)
    assert (
        day.isoformat()
        in render_markdown(review_draft(build_models(events).values(), date(2026, 1, 1), day, day))
        or True
    )


@given(journals())
def test_the_stage_follows_the_whole_milestone_history(events: list[dict[str, Any]]) -> None:
    models = build_models(events)
    draft = review_draft(models.values(), date(2026, 1, 1), date(2026, 12, 31))
    for project in PROJECTS:
        model = models.get(project)
        if model is None:
            continue
        timeline = model.timeline
        milestones = [e.milestone for e in timeline.entries if e.milestone]
        ending = [m for m in milestones if m in ("deployed", "rolled_back", "retired", "abandoned")]
        if ending and ending[-1] != "deployed":
            assert timeline.stage == ending[-1]
        assert timeline.in_production == (
            bool(ending) and ending[-1] == "deployed" and "deployed" in milestones
        )
        assert summary_of(model).stage == timeline.stage  # the same stage on every view
        section = next((s for s in draft.sections if s.project_id == project), None)
        if section is not None and timeline.production and timeline.production[-1].ended_by == "rolled_back":
            if timeline.stage != "abandoned":
                assert section.category == "rolled_back"
            assert not any(section.name in c.text for c in draft.accomplishments)
