"""The read models' shapes. Stored models hold nothing that depends on ``as_of``;
views computed from them for a given date echo that date."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

PROJECTION_VERSION = 1
"""Version of the folded project model; a server with another stored version rebuilds."""

DAYS_PER_MONTH = 30.44


class Model(Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Base of every read model."""


class TimelineEntry(Model, frozen=True, kw_only=True):
    id: str
    type: str
    occurred_at: str
    summary: str
    milestone: str | None = None
    note: str | None = None
    """A milestone's note in full (the summary is clipped to one line)."""


class ProductionPeriod(Model, frozen=True, kw_only=True):
    """From a ``deployed`` milestone until a later ``rolled_back`` or ``retired`` (open: ``end`` null)."""

    start: str
    start_id: str
    end: str | None = None
    end_id: str | None = None


class Lags(Model, frozen=True, kw_only=True):
    """Whole days between doing the work and seeing its outcome (null where a side is missing)."""

    trained_to_deployed_days: int | None = None
    deployed_to_first_production_metric_days: int | None = None
    deployed_to_first_business_metric_days: int | None = None
    trained_to_first_business_metric_days: int | None = None
    trained_to_deployed_months: int | None = None
    deployed_to_first_business_metric_months: int | None = None
    trained_to_first_business_metric_months: int | None = None
    """Months are whole days / 30.44, rounded down: the time between doing the work and seeing its outcome."""


class Timeline(Model, frozen=True, kw_only=True):
    project_id: str | None
    name: str
    named: bool
    """False while the project's ``project.started`` has not arrived: ``name`` is a placeholder."""
    kind: str | None
    summary: str | None = None
    team: str | None = None
    started_at: str | None = None
    stage: str | None = None
    """The furthest milestone reached on the way to production (rollbacks do not undo it)."""
    shipped: bool = False
    abandoned: bool = False
    trained_at: str | None = None
    deployed_at: str | None = None
    first_production_metric_at: str | None = None
    first_business_metric_at: str | None = None
    production: list[ProductionPeriod] = []
    lags: Lags = Lags()
    entries: list[TimelineEntry] = []
    last_activity: str | None = None


class Observation(Model, frozen=True, kw_only=True):
    id: str
    occurred_at: str
    value: float
    baseline: float | None = None
    low: float | None = None
    high: float | None = None
    note: str | None = None


HeadlineBasis = Literal["change", "lift", "level"]


class Headline(Model, frozen=True, kw_only=True):
    """The most defensible figure of a metric, and whether it can be claimed."""

    figure: float
    """The number claimed: a change from the baseline, a lift, or a level."""
    basis: HeadlineBasis
    unit: str | None
    text: str
    context: str | None = None
    """The interval and where the figure comes from, never in the headline itself."""
    claimable: bool = True
    collapsed: bool = False
    """An interval was collapsed to its conservative end."""
    reason: str | None = None
    """Why the figure cannot be claimed."""
    source_id: str


class Metric(Model, frozen=True, kw_only=True):
    key: str
    label: str
    layer: str
    unit: str | None = None
    direction: str = "higher_is_better"
    history: list[Observation] = []
    latest: Observation
    baseline: float | None = None
    delta: float | None = None
    interval: list[float] | None = None
    headline: Headline


class Link(Model, frozen=True, kw_only=True):
    id: str
    occurred_at: str
    cause: str
    effect: str
    evidence: str
    note: str | None = None


class Chain(Model, frozen=True, kw_only=True):
    keys: list[str]
    layers: list[str | None]
    complete: bool
    """The path reaches a business-layer metric."""
    link_ids: list[str] = []
    evidence: list[str] = []


class MetricChains(Model, frozen=True, kw_only=True):
    project_id: str | None
    metrics: list[Metric] = []
    links: list[Link] = []
    chains: list[Chain] = []


class Feedback(Model, frozen=True, kw_only=True):
    id: str
    occurred_at: str
    quote: str
    source_name: str | None = None
    source_team: str | None = None
    decision: str | None = None


class Note(Model, frozen=True, kw_only=True):
    """A win or a learning, as the author wrote it."""

    id: str
    occurred_at: str
    type: str
    text: str
    kind: str | None = None
    tags: list[str] = []


class ProjectModel(Model, frozen=True, kw_only=True):
    """Everything about one project that does not depend on a date; what the server stores.

    ``project_id`` null is the bucket of wins and learnings captured without a project.
    """

    project_id: str | None
    timeline: Timeline
    chains: MetricChains
    feedback: list[Feedback] = []
    notes: list[Note] = []
    version: int = PROJECTION_VERSION


class ProjectSummary(Model, frozen=True, kw_only=True):
    id: str
    name: str
    named: bool
    kind: str | None
    stage: str | None
    shipped: bool
    last_activity: str | None


class TimelineView(Model, frozen=True, kw_only=True):
    """A timeline as of a date: adds time in production."""

    as_of: str
    timeline: Timeline
    in_production: bool
    in_production_days: int | None
    in_production_months: int | None


class Claim(Model, frozen=True, kw_only=True):
    text: str
    event_ids: list[str]


class Evidence(Model, frozen=True, kw_only=True):
    kind: Literal["metric", "feedback", "adoption"]
    text: str
    event_ids: list[str]
    how_measured: str | None = None


SectionCategory = Literal[
    "shipped_with_outcome", "shipped", "experiment", "scope_reduction", "technical_milestone", "other"
]


class ProjectSection(Model, frozen=True, kw_only=True):
    project_id: str
    name: str
    kind: str | None
    category: SectionCategory
    did: list[Claim] = []
    impact: list[Claim] = []
    next: list[Claim] = []
    evidence: list[Evidence] = []


class ChecklistItem(Model, frozen=True, kw_only=True):
    kind: Literal[
        "never_shipped", "no_business_metric", "chain_incomplete", "interval_collapsed", "interval_too_wide"
    ]
    text: str
    project_id: str | None
    event_ids: list[str]


class ReviewDraft(Model, frozen=True, kw_only=True):
    period_from: str
    period_to: str
    as_of: str
    accomplishments: list[Claim] = []
    sections: list[ProjectSection] = []
    ongoing_value: list[Claim] = []
    unassigned_wins: list[Claim] = []
    learnings: list[Claim] = []
    checklist: list[ChecklistItem] = []
