"""Read models: pure folds from a user's events to timelines, metric chains and review drafts.

One implementation, used by the server's projector and by the client SDK
offline. Nothing here does I/O, reads the clock or draws random numbers:
anything relative to a date takes ``as_of`` from the caller.
"""

from schema.projections.as_of import chains_as_of, timeline_view
from schema.projections.chains import format_number, headline
from schema.projections.derive import model_as_of
from schema.projections.fold import build_models, build_project, readable_events, summary_of
from schema.projections.labels import STAGE_LABELS, stage_label
from schema.projections.markdown import render_markdown
from schema.projections.models import (
    PROJECTION_VERSION,
    Chain,
    ChecklistItem,
    Claim,
    Evidence,
    Headline,
    Metric,
    MetricChains,
    ProjectModel,
    ProjectSection,
    ProjectSummary,
    ReviewDraft,
    Timeline,
    TimelineView,
)
from schema.projections.period import PeriodError, resolve_period
from schema.projections.review import review_draft, shorten
from schema.projections.text import render_text

__all__ = [
    "PROJECTION_VERSION",
    "STAGE_LABELS",
    "PeriodError",
    "Chain",
    "ChecklistItem",
    "Claim",
    "Evidence",
    "Headline",
    "Metric",
    "MetricChains",
    "ProjectModel",
    "ProjectSection",
    "ProjectSummary",
    "ReviewDraft",
    "Timeline",
    "TimelineView",
    "build_models",
    "build_project",
    "chains_as_of",
    "format_number",
    "headline",
    "model_as_of",
    "readable_events",
    "render_markdown",
    "render_text",
    "resolve_period",
    "review_draft",
    "shorten",
    "stage_label",
    "summary_of",
    "timeline_view",
]
