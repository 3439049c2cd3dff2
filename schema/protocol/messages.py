"""The messages of sync protocol v1 (docs/protocol.md, sections 6 and 7): one type each, for both sides.

The server encodes its answers with these types and the client decodes them with the same ones.
Readers ignore fields they do not know, so an older client reads a newer server. A field added
after version 1 shipped has a default (``UNSET``) so that a newer client still reads an older
server's answer without it; ``always_sent`` names such fields, which the published schemas
mark required, since a current server always sends them.

The server reads push and sync bodies element by element (an event is judged on its own), so
``PushRequest`` and ``SyncRequest`` describe their shape for documentation, code generation and
the client's encoding; ``RawPushBody`` is what the server parses with.

Class docstrings are the ``description`` of each schema in /openapi.json and the JSON Schema
files; the messages without one have none there.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from msgspec import UNSET, Raw, Struct, UnsetType

from schema.events import Event
from schema.protocol.constants import DEFAULT_PAGE
from schema.types import NonNegativeInt, PositiveInt, Timestamp

Status = Literal["accepted", "duplicate", "rejected"]


def spliced(encoded: bytes) -> Any:
    """JSON already encoded, written into a message as it is (``msgspec.Raw``): a pulled page's stored
    bodies, a client's pending events. Typed ``Any``: it stands for the value its field declares."""
    return Raw(encoded)


class Message(Struct, frozen=True, kw_only=True):
    """Base of every protocol message."""

    always_sent: ClassVar[tuple[str, ...]] = ()


class PushRequest(Message, frozen=True, kw_only=True):
    """Body of ``POST /v1/events``; unknown top-level fields are ignored."""

    events: list[Event]


class SyncRequest(Message, frozen=True, kw_only=True):
    """Body of ``POST /v1/sync``: push ``events``, then pull from ``after``."""

    events: list[Event]
    after: NonNegativeInt = 0
    limit: PositiveInt = DEFAULT_PAGE


class RawPushBody(Struct):
    # A push or sync body as the server first parses it: each event is judged later, on its own, and
    # `after` and `limit` are checked with the sentences of docs/protocol.md, section 6.4.
    events: list[Raw]
    after: Any = UNSET
    limit: Any = UNSET


class EventResult(Message, frozen=True, kw_only=True):
    """The answer to event i of a push, at position i. All five keys are always present."""

    id: str | None
    status: Status
    seq: int | None
    code: str | None
    message: str | None


class StoredEvent(Message, frozen=True, kw_only=True):
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


class PushResponse(Message, frozen=True, kw_only=True):
    results: list[EventResult]
    cursor: int
    epoch: str


class PullResponse(Message, frozen=True, kw_only=True):
    """``count`` and ``digest`` are present exactly when ``more`` is false."""

    events: list[StoredEvent]
    cursor: int
    more: bool
    count: int | UnsetType = UNSET
    digest: str | UnsetType = UNSET
    epoch: str


class SyncResponse(Message, frozen=True, kw_only=True):
    results: list[EventResult]
    events: list[StoredEvent]
    cursor: int
    more: bool
    count: int | UnsetType = UNSET
    digest: str | UnsetType = UNSET
    epoch: str


class Limits(Message, frozen=True, kw_only=True):
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
    max_depth: int | UnsetType = UNSET

    always_sent = ("max_depth",)


class Account(Message, frozen=True, kw_only=True):
    """Whose a token is: its user's name and id (``account`` in ``GET /v1/info``; ``GET /v1/me``).

    A client records the account of a journal's first sync and refuses to sync it with another
    (docs/protocol.md, section 6.6). ``user_id`` names one user for the life of a store; after a
    user is erased, another user may be given the same name.
    """

    user: str
    user_id: int


class MeResponse(Account, frozen=True, kw_only=True):
    """``GET /v1/me``: the account the bearer token belongs to, and the store's epoch."""

    epoch: str


class InfoResponse(Message, frozen=True, kw_only=True):
    protocol: int
    epoch: str
    server_time: Timestamp
    limits: Limits
    event_types: dict[str, list[int]]
    account: Account | UnsetType = UNSET
    # Absent from a server older than `GET /v1/me`, which a client refuses to sync with.

    always_sent = ("account",)


class Problem(Message, frozen=True, kw_only=True):
    """RFC 9457 problem details, always ``application/problem+json``, with a stable ``code``."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    epoch: str | UnsetType = UNSET
    reason: Literal["expired", "revoked"] | UnsetType = UNSET
    # On a 401 only, and only to a caller whose token's secret matched: why it no longer works.
