"""Read models: pure folds from a user's events to timelines, metric chains and review drafts.

One implementation, used by the server's projector and by the client SDK
offline. Nothing here does I/O, reads the clock or draws random numbers:
anything relative to a date takes ``as_of`` from the caller.
"""

from schema.projections.chains import format_number, headline
from schema.projections.fold import build_models, build_project, readable_events, summary_of
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
from schema.projections.review import review_draft, timeline_view

__all__ = [
    "PROJECTION_VERSION",
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
    "format_number",
    "headline",
    "readable_events",
    "render_markdown",
    "review_draft",
    "summary_of",
    "timeline_view",
]
