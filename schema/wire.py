"""Messages of sync protocol v1 (see docs/protocol.md).

The server decodes request bodies element by element (an event is judged on
its own), so ``PushRequest`` and ``SyncRequest`` describe the shape for
documentation and code generation; ``RawPushBody`` is what it parses with.
"""

from __future__ import annotations

from typing import Any, Literal

from msgspec import UNSET, Raw, Struct, UnsetType

from schema.events import Event
from schema.projections.models import MetricChains, ProjectSummary, ReviewDraft, TimelineView
from schema.types import NonNegativeInt, PositiveInt, Timestamp

DEFAULT_MAX_BATCH = 1000
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_PAGE = 500
MAX_PAGE = 5000
DEFAULT_BODY_TIMEOUT_S = 30.0
MAX_DEPTH = 64
"""Most arrays and objects nested in one request body; an event nests five deep, with its batch."""

JSON = "application/json"
MSGPACK = "application/msgpack"
PROBLEM_JSON = "application/problem+json"
MARKDOWN = "text/markdown"
TEXT = "text/plain"

Status = Literal["accepted", "duplicate", "rejected"]


class Message(Struct, kw_only=True):
    """Base of every protocol message."""


class PushRequest(Message):
    """Body of ``POST /v1/events``; unknown top-level fields are ignored."""

    events: list[Event]


class SyncRequest(Message):
    """Body of ``POST /v1/sync``: push ``events``, then pull from ``after``."""

    events: list[Event]
    after: NonNegativeInt = 0
    limit: PositiveInt = DEFAULT_PAGE


class RawPushBody(Struct):
    events: list[Raw]
    after: Any = UNSET
    limit: Any = UNSET


class EventResult(Message):
    """The answer to event i of a push, at position i. All five keys are always present."""

    id: str | None
    status: Status
    seq: int | None
    code: str | None
    message: str | None


class StoredEvent(Message):
    """An event as pulled: the nine client fields in normalized form plus ``seq`` and ``received_at``."""

    id: str
    device_id: str
    device_seq: int
    clock: int
    occurred_at: Timestamp
    type: str
    v: int
    project_id: str | None
    data: dict[str, Any]
    seq: int
    received_at: Timestamp


class PushResponse(Message):
    results: list[EventResult]
    cursor: int
    epoch: str


class PullResponse(Message):
    """``count`` and ``digest`` are present exactly when ``more`` is false."""

    events: list[StoredEvent]
    cursor: int
    more: bool
    epoch: str
    count: int | UnsetType = UNSET
    digest: str | UnsetType = UNSET


class SyncResponse(Message):
    results: list[EventResult]
    events: list[StoredEvent]
    cursor: int
    more: bool
    epoch: str
    count: int | UnsetType = UNSET
    digest: str | UnsetType = UNSET


class Limits(Message):
    max_batch: int
    max_body_bytes: int
    body_timeout_seconds: float
    default_page: int
    max_page: int
    max_name: int
    max_label: int
    max_text: int
    max_quote: int
    max_tags: int
    max_tag: int
    max_integer: int
    max_depth: int


class Account(Message):
    """Whose a token is: its user's name and id (``account`` in ``GET /v1/info``; ``GET /v1/me``).

    A client records the account of a journal's first sync and refuses to sync it with another
    (docs/protocol.md, section 6.6). ``user_id`` names one user for the life of a store; after a
    user is erased, another user may be given the same name.
    """

    user: str
    user_id: int


class MeResponse(Account):
    """``GET /v1/me``: the account the bearer token belongs to, and the store's epoch."""

    epoch: str


class InfoResponse(Message):
    protocol: int
    epoch: str
    server_time: Timestamp
    limits: Limits
    event_types: dict[str, list[int]]
    account: Account


class Problem(Message):
    """RFC 9457 problem details, always ``application/problem+json``, with a stable ``code``."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    epoch: str | UnsetType = UNSET
    reason: Literal["expired", "revoked"] | UnsetType = UNSET
    """On a 401 only, and only to a caller whose token's secret matched: why it no longer works."""


# Read models (docs/protocol.md, section 12). Each response is its read model plus where it stands:
# `as_of_seq`, the user's checkpoint it reflects, and the `projection_version` that folded it.


class ProjectsResponse(Message):
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
