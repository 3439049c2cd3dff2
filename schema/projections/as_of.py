"""A project as of a day: what was recorded by the end of that day (UTC), and what was in production."""

from __future__ import annotations

from datetime import date

from schema.projections.derive import model_as_of
from schema.projections.models import MetricChains, ProductionPeriod, ProjectModel, TimelineView
from schema.projections.words import day_of, months

__all__ = ["chains_as_of", "open_period", "production_days", "timeline_view"]


def chains_as_of(model: ProjectModel, as_of: date) -> MetricChains | None:
    """A project's metric chains from what was recorded by the end of ``as_of``."""
    current = model_as_of(model, as_of)
    return None if current is None else current.chains


def production_days(model: ProjectModel, as_of: date) -> int | None:
    """Whole days in production as of ``as_of`` (``None`` when not in production that day)."""
    day = as_of.isoformat()
    for period in model.timeline.production:
        if day_of(period.start) <= day and (period.end is None or day_of(period.end) > day):
            return (as_of - date.fromisoformat(day_of(period.start))).days
    return None


def timeline_view(model: ProjectModel, as_of: date) -> TimelineView | None:
    """The project's timeline as of the end of ``as_of``; ``None`` when nothing was recorded by then."""
    current = model_as_of(model, as_of)
    if current is None:
        return None
    days = production_days(current, as_of)
    return TimelineView(
        as_of=as_of.isoformat(),
        timeline=current.timeline,
        in_production=days is not None,
        in_production_days=days,
        in_production_months=None if days is None else months(days),
    )


def open_period(model: ProjectModel, as_of: date) -> ProductionPeriod | None:
    """The production period running at the end of ``as_of``, if any."""
    day = as_of.isoformat()
    for period in model.timeline.production:
        if day_of(period.start) <= day and (period.end is None or day_of(period.end) > day):
            return period
    return None
