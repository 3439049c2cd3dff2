"""The read models' shapes. Stored models hold nothing that depends on ``as_of``;
views computed from them for a given date echo that date."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

PROJECTION_VERSION = 3
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
    """A milestone's or a measurement's note in full (the summary is clipped to one line)."""


class ProductionPeriod(Model, frozen=True, kw_only=True):
    """From a ``deployed`` milestone until a later ``rolled_back`` or ``retired`` (open: ``end`` null)."""

    start: str
    start_id: str
    end: str | None = None
    end_id: str | None = None
    ended_by: Literal["rolled_back", "retired"] | None = None


class Revision(Model, frozen=True, kw_only=True):
    """A ``project.started`` or ``project.updated``: the project's header as it was set, in fold order.

    Kept so that the header as of any day can be drawn again from the model alone.
    """

    id: str
    occurred_at: str
    started: bool
    name: str | None = None
    kind: str | None = None
    summary: str | None = None
    team: str | None = None


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
    """Where the project stands after its whole milestone history: the furthest milestone reached on
    the way to production, unless a later ``rolled_back``, ``retired`` or ``abandoned`` ended it."""
    shipped: bool = False
    """Deployed at least once (whatever happened after)."""
    in_production: bool = False
    """Deployed, and not rolled back or retired since."""
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
    """One ``metric.observed``, as recorded (a v1 event reads as a v2 level)."""

    id: str
    occurred_at: str
    value: float
    baseline: float | None = None
    low: float | None = None
    high: float | None = None
    note: str | None = None
    """How the number was measured, in the author's words."""
    measure: Literal["level", "change"] = "level"
    label: str | None = None
    unit: str | None = None
    direction: str | None = None
    layer: str = "model"


HeadlineBasis = Literal["change", "level"]
Bound = Literal["at_least", "at_most"]


class Headline(Model, frozen=True, kw_only=True):
    """The one defensible figure of a metric's latest observation, and whether it can be claimed."""

    figure: float
    """The number claimed: a level as recorded, a change recorded as such, or the difference from a
    recorded baseline (arithmetic the text names as a change)."""
    basis: HeadlineBasis
    unit: str | None
    text: str
    """The claim: the label and ``phrase``."""
    phrase: str
    """The claim without the label: a level ``stood at 149``, ``stood at 75% or more``; a change from a
    baseline ``went from 61% to 78% (+17 pp)``, ``rose at least 14 pp from a baseline of 61%``; a change
    recorded as such ``+34%``, ``+22% or more``."""
    bound: Bound | None = None
    """The figure is the conservative end of an interval: at least (or at most) this much."""
    measured: str | None = None
    """The measured point and the interval, for the evidence; null when the claim already says it all."""
    claimable: bool = True
    reason: str | None = None
    """Why the figure cannot be claimed."""
    source_id: str


class Metric(Model, frozen=True, kw_only=True):
    key: str
    label: str
    labelled: bool = True
    """False when no observation carried a label: ``label`` is the key made readable."""
    layer: str
    unit: str | None = None
    measure: Literal["level", "change"] = "level"
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
    revisions: list[Revision] = []
    version: int = PROJECTION_VERSION


class ProjectSummary(Model, frozen=True, kw_only=True):
    id: str
    name: str
    named: bool
    kind: str | None
    stage: str | None
    shipped: bool
    last_activity: str | None
    in_production: bool = False


class TimelineView(Model, frozen=True, kw_only=True):
    """A timeline as of a date: adds time in production."""

    as_of: str
    timeline: Timeline
    in_production: bool
    in_production_days: int | None
    in_production_months: int | None


class Claim(Model, frozen=True, kw_only=True):
    """One sentence of the draft and the events it comes from."""

    text: str
    event_ids: list[str]


class Evidence(Model, frozen=True, kw_only=True):
    """What backs a claim: a measured point and its interval, how a number was measured, how an effect
    was attributed (a link's evidence), a stakeholder's words, an adoption."""

    kind: Literal["metric", "attribution", "feedback", "adoption"]
    text: str
    event_ids: list[str]


SectionCategory = Literal[
    "shipped_with_outcome",
    "shipped",
    "experiment",
    "scope_reduction",
    "rolled_back",
    "technical_milestone",
    "other",
]


class ProjectSection(Model, frozen=True, kw_only=True):
    """One project: a first-person paragraph telling its chain, then what comes next, then evidence."""

    project_id: str
    name: str
    kind: str | None
    category: SectionCategory
    stage: str | None = None
    summary: str | None = None
    team: str | None = None
    story: list[Claim] = []
    """The paragraph, one claim a sentence: what was built and for whom, when it shipped, what moved
    at each layer and how that was attributed, who uses it, how long from the work to the outcome."""
    next: list[Claim] = []
    evidence: list[Evidence] = []


class Area(Model, frozen=True, kw_only=True):
    """Wins captured without a project, grouped by their tags into an area reviews ask about."""

    title: str
    wins: list[Claim] = []


ChecklistKind = Literal[
    "never_shipped",
    "no_business_metric",
    "chain_incomplete",
    "interval_too_wide",
    "no_label",
    "no_user",
    "no_saving",
    "not_attributed",
]


class ChecklistItem(Model, frozen=True, kw_only=True):
    """Something the author can do before submitting: each names the fact missing and how to add it."""

    kind: ChecklistKind
    text: str
    project_id: str | None
    event_ids: list[str]


class ReviewDraft(Model, frozen=True, kw_only=True):
    period_from: str
    period_to: str
    as_of: str
    summary: list[Claim] = []
    """The opening paragraph, first person, one claim a sentence."""
    accomplishments: list[Claim] = []
    sections: list[ProjectSection] = []
    ongoing_value: list[Claim] = []
    other_work: list[Area] = []
    learnings: list[Claim] = []
    checklist: list[ChecklistItem] = []
