"""A project's model from its recorded facts: the header its revisions leave, its timeline (stage,
production periods, lags) and its metric chains, and the same model as of a day."""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol, TypeVar, get_args

from schema.canonical import parse_timestamp
from schema.projections.chains import build_chains
from schema.projections.models import (
    DAYS_PER_MONTH,
    Feedback,
    Lags,
    Link,
    MetricChains,
    Note,
    Observation,
    ProductionPeriod,
    ProjectModel,
    Revision,
    Timeline,
    TimelineEntry,
)
from schema.types import Stage

__all__ = ["STAGE_ORDER", "derive", "model_as_of", "placeholder_name"]


class _HasDate(Protocol):
    @property
    def occurred_at(self) -> str: ...


_Dated = TypeVar("_Dated", bound=_HasDate)

STAGE_ORDER: tuple[str, ...] = get_args(Stage)
_STAGE_RANK = {name: rank for rank, name in enumerate(STAGE_ORDER)}


def derive(
    project_id: str | None,
    *,
    revisions: list[Revision],
    entries: list[TimelineEntry],
    history: dict[str, list[Observation]],
    links: list[Link],
    feedback: list[Feedback],
    notes: list[Note],
    chains: MetricChains | None = None,
) -> ProjectModel:
    """A project's model from its recorded facts, each list in fold order.

    The facts are what a model keeps of its events, so that ``model_as_of`` can draw the model again
    from those recorded by a given day, without the events. ``chains``: ``build_chains(project_id,
    history, links)`` when the caller has it already (a fold forward whose batch added no metric).
    """
    header: dict[str, Any] = {"name": None, "kind": None, "summary": None, "team": None}
    started_at: str | None = None
    for revision in revisions:
        if revision.started:
            if started_at is not None:
                continue  # the first start in canonical order counts; a second one does not
            started_at = revision.occurred_at
            header.update(
                name=revision.name, kind=revision.kind, summary=revision.summary, team=revision.team
            )
    for revision in revisions:
        if not revision.started:
            fields = {
                "name": revision.name,
                "kind": revision.kind,
                "summary": revision.summary,
                "team": revision.team,
            }
            header.update({name: value for name, value in fields.items() if value is not None})
    timeline = _timeline(project_id, header, started_at, entries, history)
    return ProjectModel(
        project_id=project_id,
        timeline=timeline,
        chains=build_chains(project_id, history, links) if chains is None else chains,
        feedback=feedback,
        notes=notes,
        revisions=revisions,
    )


def model_as_of(model: ProjectModel, as_of: date) -> ProjectModel | None:
    """The model drawn from what was recorded by the end of ``as_of`` (UTC); ``None`` if nothing was.

    Equal to folding only the events that occurred by then (retractions and redactions apply whatever
    their date: they correct the record; ``schema.projections.period``).
    """
    day = as_of.isoformat()

    def by(items: list[_Dated]) -> list[_Dated]:
        return [item for item in items if item.occurred_at[:10] <= day]

    entries = by(model.timeline.entries)
    if not entries:
        return None
    if len(entries) == len(model.timeline.entries):
        return model
    history = {metric.key: kept for metric in model.chains.metrics if (kept := by(metric.history))}
    return derive(
        model.project_id,
        revisions=by(model.revisions),
        entries=entries,
        history=history,
        links=by(model.chains.links),
        feedback=by(model.feedback),
        notes=by(model.notes),
    )


def placeholder_name(project_id: str | None) -> str:
    if project_id is None:
        return "Without a project"
    return f"Unnamed project {project_id[:8]}"


def _timeline(
    project_id: str | None,
    header: dict[str, Any],
    started_at: str | None,
    entries: list[TimelineEntry],
    history: dict[str, list[Observation]],
) -> Timeline:
    stage: str | None = None
    production: list[ProductionPeriod] = []
    ended: str | None = None
    first: dict[str, str] = {}
    for entry in entries:  # in time order
        name = entry.milestone
        if name is None:
            continue
        first.setdefault(name, entry.occurred_at)
        if name in _STAGE_RANK and (stage is None or _STAGE_RANK[name] > _STAGE_RANK[stage]):
            stage = name
        if name == "deployed":
            ended = None
            if not production or production[-1].end is not None:
                production.append(ProductionPeriod(start=entry.occurred_at, start_id=entry.id))
        elif name in ("rolled_back", "retired"):
            ended = name
            if production and production[-1].end is None:
                last = production[-1]
                production[-1] = ProductionPeriod(
                    start=last.start,
                    start_id=last.start_id,
                    end=entry.occurred_at,
                    end_id=entry.id,
                    ended_by="rolled_back" if name == "rolled_back" else "retired",
                )
        elif name == "abandoned":
            ended = name
    first_metric = _first_by_layer(history)
    trained_at, deployed_at = first.get("trained"), first.get("deployed")
    return Timeline(
        project_id=project_id,
        name=header["name"] or placeholder_name(project_id),
        named=header["name"] is not None,
        kind=header["kind"],
        summary=header["summary"],
        team=header["team"],
        started_at=started_at,
        stage=ended or stage,
        shipped="deployed" in first,
        in_production=bool(production) and production[-1].end is None,
        abandoned=ended == "abandoned",
        trained_at=trained_at,
        deployed_at=deployed_at,
        first_production_metric_at=first_metric.get("production"),
        first_business_metric_at=first_metric.get("business"),
        production=production,
        lags=_lags(trained_at, deployed_at, first_metric),
        entries=entries,
        last_activity=max((entry.occurred_at for entry in entries), default=None),
    )


def _first_by_layer(history: dict[str, list[Observation]]) -> dict[str, str]:
    """When each layer's first metric was observed."""
    first_metric: dict[str, str] = {}
    for observed in history.values():
        for observation in observed:
            layer = observation.layer
            if layer not in first_metric or observation.occurred_at < first_metric[layer]:
                first_metric[layer] = observation.occurred_at
    return first_metric


def _lags(trained_at: str | None, deployed_at: str | None, first_metric: dict[str, str]) -> Lags:
    to_deploy = _days(trained_at, deployed_at)
    to_business = _days(deployed_at, first_metric.get("business"))
    to_outcome = _days(trained_at, first_metric.get("business"))
    return Lags(
        trained_to_deployed_days=to_deploy,
        deployed_to_first_production_metric_days=_days(deployed_at, first_metric.get("production")),
        deployed_to_first_business_metric_days=to_business,
        trained_to_first_business_metric_days=to_outcome,
        trained_to_deployed_months=_months(to_deploy),
        deployed_to_first_business_metric_months=_months(to_business),
        trained_to_first_business_metric_months=_months(to_outcome),
    )


def _days(start: str | None, end: str | None) -> int | None:
    if start is None or end is None:
        return None
    return (parse_timestamp(end) - parse_timestamp(start)).days


def _months(days: int | None) -> int | None:
    return None if days is None else int(days // DAYS_PER_MONTH)
