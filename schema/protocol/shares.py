"""Shared review drafts (docs/protocol.md, section 14): the bodies of ``/v1/shares``.

A share is a read-only link (``/s/<token>``) to the review draft of one period, optionally of some
projects only, that a manager opens without an account. The token is in the answer to its creation
and nowhere else: the server keeps its SHA-256, and a list names shares by their public ``id``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, field

from schema.protocol.messages import Message
from schema.types import Timestamp, Uuid

MAX_SHARE_PROJECTS = 50
"""The most projects one link may be limited to."""
MIN_SHARE_SECONDS = 60
MAX_SHARE_SECONDS = 90 * 24 * 3600
"""A link lives from a minute to 90 days: it always expires."""
DEFAULT_SHARE_SECONDS = 14 * 24 * 3600
SHARE_ID_PATTERN = r"^[0-9a-f]{16}$"

Day = Annotated[
    str,
    Meta(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        min_length=10,
        max_length=10,
        description="A day, YYYY-MM-DD (UTC).",
        examples=["2026-01-01"],
    ),
]
ShareId = Annotated[
    str,
    Meta(pattern=SHARE_ID_PATTERN, min_length=16, max_length=16, description="A share's public id."),
]
ShareState = Literal["active", "expired", "revoked"]


class ShareRequest(Message, frozen=True, kw_only=True):
    """Body of ``POST /v1/shares``; unknown fields are ignored."""

    from_: Day = field(name="from")
    to: Day
    project_ids: Annotated[list[Uuid], Meta(max_length=MAX_SHARE_PROJECTS)] = field(default_factory=list)
    """Only these projects (yours); empty: every project of the period, and the wins without one."""
    expires_in: Annotated[
        int,
        Meta(
            ge=MIN_SHARE_SECONDS,
            le=MAX_SHARE_SECONDS,
            description="Seconds the link works for, from now.",
            extra_json_schema={"format": "int64"},
        ),
    ] = DEFAULT_SHARE_SECONDS


class Share(Message, frozen=True, kw_only=True):
    """One share as its owner sees it: never its token."""

    id: ShareId
    from_: Day = field(name="from")
    to: Day
    project_ids: list[Uuid]
    created_at: Timestamp
    expires_at: Timestamp
    revoked_at: Timestamp | None
    state: ShareState
    """At the time of the answer: ``revoked`` wins over ``expired``."""
    views: int
    last_viewed_at: Timestamp | None


class ShareCreated(Message, frozen=True, kw_only=True):
    """``POST /v1/shares``: the new share and its link's path, ``/s/<token>``, given this once."""

    share: Share
    path: str
    epoch: str


class SharesResponse(Message, frozen=True, kw_only=True):
    """``GET /v1/shares``: every share of yours, the newest first, revoked and expired ones too."""

    shares: list[Share]
    epoch: str


class ShareRevoked(Message, frozen=True, kw_only=True):
    """``POST /v1/shares/{id}/revoke``: the share, revoked (revoking it again changes nothing)."""

    share: Share
    epoch: str


SHARE_BODIES = (ShareRequest, ShareCreated, SharesResponse, ShareRevoked)
"""The bodies of ``/v1/shares``, in /openapi.json's components."""
