"""The read-model routes' answers (docs/protocol.md, section 12), and the order of the project list.

Each answer is its read model (``schema.projections``) plus where it stands: ``as_of_seq``, the
user's checkpoint it reflects, the ``projection_version`` that folded it, and the store's epoch.
The read models forbid unknown fields (a stored model of another projection version must not
read as this one), and so do the answers built on them.
"""

from __future__ import annotations

from collections.abc import Iterable

from schema.projections import MetricChains, ProjectSummary, ReviewDraft, TimelineView
from schema.protocol.messages import Message


class ProjectsResponse(Message, frozen=True, kw_only=True):
    """``GET /v1/projects``: the user's projects, most recent activity first."""

    projects: list[ProjectSummary]
    as_of_seq: int
    projection_version: int
    epoch: str


class TimelineResponse(TimelineView, frozen=True, kw_only=True):
    """``GET /v1/projects/{id}/timeline``: the project's timeline as of a date."""

    as_of_seq: int
    projection_version: int
    epoch: str


class MetricChainsResponse(MetricChains, frozen=True, kw_only=True):
    """``GET /v1/projects/{id}/metric-chains``."""

    as_of_seq: int
    projection_version: int
    epoch: str


class ReviewDraftResponse(ReviewDraft, frozen=True, kw_only=True):
    """``GET /v1/review-draft`` as JSON (the Markdown form carries the same two numbers in headers)."""

    as_of_seq: int
    projection_version: int
    epoch: str


def by_recent_activity(summaries: Iterable[ProjectSummary]) -> list[ProjectSummary]:
    """The order of ``projects`` (and of the client's offline list): newest activity first, ties by id."""
    ordered = sorted(summaries, key=lambda summary: summary.id)
    ordered.sort(key=lambda summary: summary.last_activity or "", reverse=True)
    return ordered
