"""Every error the client SDK raises, under one root.

    WinledgerError
    ├── ValidationError        an append was refused locally; nothing was stored
    ├── NotFoundError          no such project in the local store
    ├── StoreError             the local SQLite store cannot be used
    │   └── JournalNotFoundError  Client(create=False) on a path with no journal
    ├── ConfigurationError     sync() was called without a server URL or a token
    └── SyncError              sync() could not finish; everything stays in the store
        ├── AccountMismatchError  the token is another account's, or the server another one
        ├── NetworkError       no usable answer after the retries (connection, timeout)
        ├── ProtocolError      the server answered something the protocol does not allow
        └── ServerError        the server answered with an error status (``status``, ``code``)
            ├── AuthError          401: the token is missing, wrong, revoked or expired
            │   ├── TokenExpiredError  the server says this token has expired
            │   └── TokenRevokedError  the server says this token was revoked
            ├── RateLimitedError   429 or 503 still refused after the retries (``retry_after``)
            └── PayloadTooLargeError  413 that splitting the batch could not fix

and one warning, also under the root (given to ``warnings.warn``: what it names was stored all the same):

    WinledgerError
    └── UnrecordedMetricWarning  a metric link names a metric this store does not hold in that project

A ``SyncError`` never loses an event: whatever the server answered before the
failure is committed locally, and the rest is still pending for the next
``sync()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from client_sdk._types import Account


class WinledgerError(Exception):
    """Root of every error raised by ``client_sdk``."""


class ValidationError(WinledgerError, ValueError):
    """An append was refused by the schema; the store is unchanged.

    ``code`` is the rejection code (``invalid_event`` for almost everything),
    ``field`` the JSON path of the bad field (``$.data.text``) when known.
    """

    def __init__(self, message: str, *, code: str = "invalid_event", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


class NotFoundError(WinledgerError, LookupError):
    """The store holds no project with that id (retracted, never synced here, or mistyped)."""


class StoreError(WinledgerError):
    """The local store is unusable: written by a newer SDK, not a winledger store, or corrupt."""


class JournalNotFoundError(StoreError):
    """``Client(path, create=False)`` where there is no journal: nothing was created."""


class ConfigurationError(WinledgerError):
    """A setting needed for the call is missing (the server URL or the token)."""


class SyncError(WinledgerError):
    """``sync()`` stopped before finishing; run it again later."""


class AccountMismatchError(SyncError):
    """The journal belongs to ``journal``; the token signs in as ``offered``. Nothing was synced.

    ``reason``: ``"user"`` (another account), ``"user_id"`` (the journal's user name, erased and
    given to a new user in the same epoch) or ``"server"`` (another server: another URL and another
    epoch). The ways forward: a token of the journal's account, or another journal (a new path) for
    the other account (docs/client.md, *A journal belongs to one account*).
    """

    def __init__(
        self,
        message: str,
        *,
        journal: Account,
        offered: Account,
        reason: Literal["user", "user_id", "server"],
        path: str,
    ) -> None:
        super().__init__(message)
        self.journal = journal
        self.offered = offered
        self.reason = reason
        self.path = path


class NetworkError(SyncError):
    """The server could not be reached, or did not answer in time, after ``attempts`` tries."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class ProtocolError(SyncError):
    """The server's answer does not follow sync protocol v1 (a server bug or the wrong URL)."""


class ServerError(SyncError):
    """The server answered with an error status.

    ``code`` is the problem's stable code (``unavailable``, ``malformed_body``,
    ...) when the body was ``application/problem+json``, else ``None``;
    ``epoch`` the server store's epoch when the problem carried it.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        detail: str | None = None,
        retry_after: float | None = None,
        epoch: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.detail = detail
        self.retry_after = retry_after
        self.epoch = epoch


class AuthError(ServerError):
    """401: the server does not accept the token. Every pending event stays pending.

    ``reason`` is ``"expired"`` or ``"revoked"`` when the server said so (it says so only to the
    token's holder), else ``None``: the token is unknown, mistyped or for another server.
    """

    reason: str | None = None


class TokenExpiredError(AuthError):
    """401 with reason ``expired``: sign in again with a new token (``winledger login``)."""

    reason = "expired"


class TokenRevokedError(AuthError):
    """401 with reason ``revoked``: sign in again with a new token (``winledger login``)."""

    reason = "revoked"


class RateLimitedError(ServerError):
    """429 or 503 with a ``Retry-After`` longer than the client is willing to wait, or too many times."""


class PayloadTooLargeError(ServerError):
    """413 that the client could not avoid by sending smaller batches."""


class UnrecordedMetricWarning(WinledgerError, UserWarning):
    """``link_metrics`` named a metric (``role``: ``cause`` or ``effect``, ``key``) that this store holds no
    observation of in ``project``: a mistyped key, or a metric recorded on a device not synced yet, so the
    link (``link_id``) is stored all the same. ``known`` lists the keys the project does have here."""

    def __init__(self, project: str, role: str, key: str, known: list[str], link_id: str) -> None:
        self.project, self.role, self.key, self.known, self.link_id = project, role, key, known, link_id
        listed = f"its metrics here: {', '.join(known)}" if known else "it has no metrics here yet"
        super().__init__(
            f"the {role} of link {link_id}, {key!r}, is no metric recorded in project {project} on this "
            f"device ({listed}); the link is stored, since the metric may come from another device"
        )
