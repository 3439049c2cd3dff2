"""The values the client hands back: events as the store holds them, sync reports, status."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from msgspec import Struct

EventStatus = Literal["pending", "synced", "unconfirmed", "rejected"]


class Event(Struct, frozen=True, kw_only=True):
    """One event of the local store.

    The nine client fields in normalized form (``occurred_at`` as an aware UTC
    datetime, ``data`` a plain dict), the server's ``seq`` (``None`` until the
    server has confirmed it in its current epoch), and the event's ``status``:
    ``pending`` (waiting in the outbox), ``synced`` (the server holds it, at
    ``seq``), ``unconfirmed`` (synced before the server's epoch changed, being
    checked again) or ``rejected`` (refused for good; ``code`` and ``message``
    say why). A pending event that a too-old server refused carries that
    ``code`` and ``message`` too, until a newer server accepts it.
    """

    id: str
    device_id: str
    device_seq: int
    clock: int
    occurred_at: datetime
    type: str
    v: int
    project_id: str | None
    data: dict[str, Any]
    seq: int | None
    status: EventStatus
    code: str | None = None
    message: str | None = None


class Account(Struct, frozen=True, kw_only=True):
    """Whose a journal is: the ``server`` URL it syncs with and the account there, ``user`` (the
    name) and ``user_id``, as the server says of a token (``GET /v1/me``; docs/protocol.md 6.6)."""

    server: str
    user: str
    user_id: int

    def __str__(self) -> str:
        return f"{self.user} (user {self.user_id}) at {self.server}"


class SyncReport(Struct, frozen=True, kw_only=True):
    """What one ``sync()`` did.

    ``pushed`` counts events sent and answered (an event offered twice in one
    call counts twice), split into ``accepted``, ``duplicates`` (the server
    already held them), ``rejected`` (refused for good, see
    ``Client.rejected()``), ``deferred`` (``unknown_type`` or
    ``unsupported_version``: the server is older than this client; they stay
    pending) and ``reminted`` (``device_seq_conflict``: re-created under a new
    device id, then pushed again). ``pulled`` counts events new to this store
    that came from the server. ``epoch_changed`` is true when this sync
    checked everything again from the start: ``new_epoch`` (the server's store
    was restored or recreated since the last sync: its epoch changed), or the
    server's log turned out shorter than, or different from, what the journal
    had seen it hold (``cursor_ahead``, or a count and digest that differed: a
    store restored by hand, or a damaged journal). ``requeued`` counts the
    events the server lacked that are being pushed to it again.
    """

    pushed: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    deferred: int = 0
    reminted: int = 0
    pulled: int = 0
    requeued: int = 0
    epoch_changed: bool = False
    new_epoch: bool = False
    cursor: int = 0


class Status(Struct, frozen=True, kw_only=True):
    """A snapshot of the local store.

    ``unreadable`` counts events of a type or version this SDK does not know
    (pulled from a newer device): they are kept and synced, but ``events()``
    skips them unless asked. ``last_sync`` is when a ``sync()`` last finished.
    When the latest ``sync()`` failed, ``sync_error_code`` says how (``token_expired``,
    ``token_revoked``, ``unauthorized``, ``network``, ``protocol``, or the server's problem code),
    ``sync_error`` is the error's message and ``sync_error_at`` when; a successful one clears them.
    ``account`` is the server and account the journal belongs to, from its first sync on.
    """

    path: str
    device_id: str
    server: str | None
    pending: int
    synced: int
    unconfirmed: int
    rejected: int
    unreadable: int
    cursor: int
    epoch: str | None
    last_sync: datetime | None
    sync_error_code: str | None = None
    sync_error: str | None = None
    sync_error_at: datetime | None = None
    account: Account | None = None
