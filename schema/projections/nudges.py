"""Nudges: what is worth capturing now, from the journal alone, as of a day.

Each nudge names a project, says in one sentence why (with the dates and figures it rests on, all of
them recorded by the author), and gives the one ``winledger`` command that would resolve it. The kinds,
each decided on the project as it stood at the end of ``as_of`` (``model_as_of``: nothing recorded
later counts; retracted events count for nothing, as in every read model):

- ``no_production_metric``: deployed more than four weeks (28 days) before ``as_of`` and still in
  production, with no production-layer number recorded since that deployment. A deployment that was
  rolled back or retired is not in production, so it asks for nothing.
- ``no_business_metric``: production numbers, shipped (deployed at least once) and not rolled back or
  abandoned since, and no business-layer metric.
- ``chain_incomplete``: a metric chain that stops before the business layer while the project has a
  business-layer metric it could be linked to (one nudge per metric where chains stop).
- ``experiment_overdue``: an ``experiment_launched`` milestone with no ``experiment_concluded`` after it,
  older than its planned length. The event model has no field for a planned length: a length the author
  wrote in the launch's note ("for 3 weeks", "a 14-day test") is the plan; without one, four weeks.
- ``quiet``: nothing recorded for more than a quarter (91 days) before ``as_of``, and the project not
  retired or abandoned: is it still running?

Commands print the project's name quoted for a POSIX shell (its id when the name is not unique, is not
synced yet, or changed after ``as_of``); words in capitals (``KEY``, ``VALUE``, ``EVIDENCE``) are the
author's to fill in, since a nudge never makes up a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal, get_args

from schema.projections.as_of import open_period
from schema.projections.derive import model_as_of
from schema.projections.fold import build_models
from schema.projections.models import DAYS_PER_MONTH, Metric, Model, ProjectModel, TimelineEntry
from schema.projections.words import day_of, day_words, plural, series

__all__ = [
    "DEFAULT_EXPERIMENT_DAYS",
    "NUDGE_KINDS",
    "PRODUCTION_WAIT_DAYS",
    "QUIET_DAYS",
    "Nudge",
    "NudgeKind",
    "NudgeProject",
    "Nudges",
    "nudges",
    "nudges_from_events",
    "planned_days",
    "shell_quote",
]

PRODUCTION_WAIT_DAYS = 28
"""Four weeks: a deployment older than this without production numbers is nudged (29 days is)."""
QUIET_DAYS = 91
"""A quarter: a project with nothing recorded for more than this is nudged (92 days is)."""
DEFAULT_EXPERIMENT_DAYS = 28
"""The planned length of an experiment whose launch note gives none."""

NudgeKind = Literal[
    "no_production_metric", "no_business_metric", "chain_incomplete", "experiment_overdue", "quiet"
]
NUDGE_KINDS: tuple[str, ...] = get_args(NudgeKind)

_PLANNED = re.compile(r"\b(\d{1,3})[\s-]*(day|week|month)s?\b", re.IGNORECASE)
_SAFE_IN_DOUBLE_QUOTES = re.compile(r'^[^"$`\\!]*$')


class NudgeProject(Model, frozen=True, kw_only=True):
    id: str
    name: str


class Nudge(Model, frozen=True, kw_only=True):
    """One thing worth capturing now."""

    kind: NudgeKind
    project: NudgeProject
    reason: str
    """One sentence, with the recorded dates and figures it rests on."""
    command: str
    """The one ``winledger`` command line that resolves it (capitals are the author's to fill in)."""
    event_ids: list[str]
    """The events the reason rests on."""


class Nudges(Model, frozen=True, kw_only=True):
    as_of: str
    nudges: list[Nudge]


def nudges_from_events(events: Iterable[Mapping[str, Any]], as_of: date) -> Nudges:
    """``nudges`` of the project models folded from a user's events."""
    return nudges(build_models(events).values(), as_of)


def nudges(models: Iterable[ProjectModel], as_of: date) -> Nudges:
    """What is worth capturing as of the end of ``as_of`` (UTC), in a deterministic order: by project name
    (any case), project id, kind (in ``NUDGE_KINDS`` order), then what the nudge is about."""
    everything = [model for model in models if model.project_id is not None]
    now = {m.project_id: c for m in everything if (c := model_as_of(m, as_of)) is not None}
    names: dict[str, int] = {}
    for model in everything:
        if model.timeline.named:
            key = _folded(model.timeline.name)
            names[key] = names.get(key, 0) + 1
    found: list[tuple[tuple[str, str, int, str], Nudge]] = []
    for model in everything:
        current = now.get(model.project_id)
        if current is None:
            continue
        target = _target(current, model, names)
        for kind, about, item in _of(current, as_of, target):
            project_id = str(current.project_id)
            order = (_folded(current.timeline.name), project_id, NUDGE_KINDS.index(kind), about)
            found.append((order, item))
    found.sort(key=lambda pair: pair[0])
    return Nudges(as_of=as_of.isoformat(), nudges=[item for _, item in found])


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def shell_quote(text: str) -> str:
    """``text`` as one word of a POSIX shell command line, always quoted: in double quotes when nothing
    in it is special there, else in single quotes (a single quote written ``'"'"'``)."""
    if _SAFE_IN_DOUBLE_QUOTES.match(text):
        return f'"{text}"'
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _target(current: ProjectModel, full: ProjectModel, names: dict[str, int]) -> str:
    """How a command names the project: its name, quoted, when that name finds it today and is the name
    it had as of the day; else its id."""
    timeline = current.timeline
    usable = (
        timeline.named
        and full.timeline.name == timeline.name
        and names.get(_folded(timeline.name), 0) == 1
        and timeline.name.strip() == timeline.name
    )
    return shell_quote(timeline.name) if usable else str(current.project_id)


def planned_days(note: str | None) -> tuple[int, str] | None:
    """The planned length a launch note gives (``for 3 weeks`` -> 21 days), with the words it says it in."""
    match = _PLANNED.search(note or "")
    if match is None:
        return None
    count, unit = int(match.group(1)), match.group(2).lower()
    days = count * {"day": 1, "week": 7}.get(unit, 0) or int(count * DAYS_PER_MONTH)
    return days, match.group(0)


Found = tuple[NudgeKind, str, Nudge]
"""A nudge with its kind and what it is about (a metric key, or empty), for the order."""


class _Project:
    """One project as of the day, and what every rule reads of it."""

    def __init__(self, model: ProjectModel, as_of: date, target: str) -> None:
        self.model, self.as_of, self.target = model, as_of, target
        self.timeline = model.timeline
        self.name = model.timeline.name
        self.when = day_words(as_of.isoformat())
        by_layer: dict[str, list[Metric]] = {}
        for metric in model.chains.metrics:
            by_layer.setdefault(metric.layer, []).append(metric)
        self.production = by_layer.get("production", [])
        self.business = by_layer.get("business", [])

    def nudge(self, kind: NudgeKind, about: str, reason: str, command: str, ids: list[str]) -> Found:
        project = NudgeProject(id=str(self.model.project_id), name=self.name)
        item = Nudge(kind=kind, project=project, reason=reason, command=f"winledger {command}", event_ids=ids)
        return kind, about, item


def _of(model: ProjectModel, as_of: date, target: str) -> list[Found]:
    project = _Project(model, as_of, target)
    return [
        *_production(project),
        *_business(project),
        *_chains(project),
        *_experiment(project),
        *_quiet(project),
    ]


def _production(p: _Project) -> list[Found]:
    period = open_period(p.model, p.as_of)
    if period is None:
        return []
    days = _days(period.start, p.as_of)
    since = [o for m in p.production for o in m.history if day_of(o.occurred_at) >= day_of(period.start)]
    if days <= PRODUCTION_WAIT_DAYS or since:
        return []
    return [
        p.nudge(
            "no_production_metric",
            "",
            f"{p.name} was deployed on {day_words(period.start)}, {plural(days, 'day')} before {p.when}, "
            "and no production-layer number has been recorded since: capture the first production numbers.",
            f"metric {p.target} KEY VALUE --layer production",
            [period.start_id],
        )
    ]


def _business(p: _Project) -> list[Found]:
    ran = p.timeline.shipped and p.timeline.stage not in ("rolled_back", "abandoned")
    if not (p.production and not p.business and ran):
        return []
    latest = max(p.production, key=lambda m: (m.latest.occurred_at, m.key))
    return [
        p.nudge(
            "no_business_metric",
            "",
            f"{p.name} has production numbers ({latest.headline.text} on "
            f"{day_words(latest.latest.occurred_at)}) but no business-layer metric: record the outcome "
            "it moved.",
            f"metric {p.target} KEY VALUE --layer business",
            [latest.latest.id],
        )
    ]


def _chains(p: _Project) -> list[Found]:
    if not p.business:
        return []
    metrics = p.model.chains.metrics
    labels = {m.key: m.label for m in metrics}
    stops: dict[str, list[list[str]]] = {}
    ids: dict[str, list[str]] = {}
    for chain in p.model.chains.chains:
        if chain.complete or chain.layers[-1] == "business":
            continue
        end = chain.keys[-1]
        stops.setdefault(end, []).append(chain.keys)
        ids.setdefault(end, [])
        ids[end] += [i for i in chain.link_ids if i not in ids[end]]
    business_keys = sorted(m.key for m in p.business)
    effect = business_keys[0] if len(business_keys) == 1 else "BUSINESS_KEY"
    outcome = series([f"“{labels[key]}” ({key})" for key in business_keys])
    found: list[Found] = []
    for end, paths in sorted(stops.items()):
        layer = next((m.layer for m in metrics if m.key == end), None)
        longest = max(paths, key=lambda keys: (len(keys), keys))
        drawn = " → ".join(f"“{labels.get(key, key)}”" for key in longest)
        found.append(
            p.nudge(
                "chain_incomplete",
                end,
                f"The chain {drawn} of {p.name} stops at the {layer or 'an unrecorded'} layer, and the "
                f"project records the business metric{'s' if len(business_keys) > 1 else ''} {outcome}: "
                "link it to the outcome it moves.",
                f"link {p.target} {end} {effect} --evidence EVIDENCE",
                ids[end] or [m.latest.id for m in metrics if m.key == end],
            )
        )
    return found


def _experiment(p: _Project) -> list[Found]:
    launched = _open_launch(p.timeline.entries)
    if launched is None or p.timeline.stage == "abandoned":
        return []
    days = _days(launched.occurred_at, p.as_of)
    plan = planned_days(launched.note)
    planned = plan[0] if plan else DEFAULT_EXPERIMENT_DAYS
    if days <= planned:
        return []
    said = (
        f"planned for {plural(planned, 'day')} (its note says “{plan[1]}”)"
        if plan
        else f"with no planned length recorded (so {plural(planned, 'day')} is assumed)"
    )
    return [
        p.nudge(
            "experiment_overdue",
            "",
            f"The experiment of {p.name} was launched on {day_words(launched.occurred_at)}, {said}; "
            f"{plural(days, 'day')} later, as of {p.when}, no conclusion is recorded.",
            f"milestone {p.target} experiment_concluded",
            [launched.id],
        )
    ]


def _quiet(p: _Project) -> list[Found]:
    entries = p.timeline.entries
    if not entries or p.timeline.stage in ("retired", "abandoned"):
        return []
    last = entries[-1]
    days = _days(last.occurred_at, p.as_of)
    if days <= QUIET_DAYS:
        return []
    running = p.timeline.in_production
    question = (
        "is it still in production, or was it retired?"
        if running
        else "is it still going, or was it dropped?"
    )
    return [
        p.nudge(
            "quiet",
            "",
            f"Nothing has been recorded for {p.name} since {day_words(last.occurred_at)}, "
            f"{plural(days, 'day')} before {p.when}: {question}",
            f"milestone {p.target} {'retired' if running else 'abandoned'}",
            [last.id],
        )
    ]


def _open_launch(entries: list[TimelineEntry]) -> TimelineEntry | None:
    """The latest ``experiment_launched`` with no ``experiment_concluded`` after it."""
    launched: TimelineEntry | None = None
    for entry in entries:  # in time order
        if entry.milestone == "experiment_launched":
            launched = entry
        elif entry.milestone == "experiment_concluded":
            launched = None
    return launched


def _days(timestamp: str, as_of: date) -> int:
    """Whole days from the day of ``timestamp`` (UTC) to ``as_of``."""
    return (as_of - date.fromisoformat(day_of(timestamp))).days
