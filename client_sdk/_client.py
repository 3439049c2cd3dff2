"""``Client``: append win events to a local store, offline, and sync them with a winledger server.

Its appends are in ``client_sdk._appends``, its reads and offline read models in ``client_sdk._reads``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import schema
from client_sdk._appends import Appends
from client_sdk._reads import Reads
from client_sdk._store import Store
from client_sdk._types import Account, Status, SyncReport
from client_sdk.errors import (
    AccountMismatchError,
    AuthError,
    ConfigurationError,
    NetworkError,
    ServerError,
    SyncError,
)

# httpx (with the sync code) is imported where it is used, as are the read models (client_sdk._reads): an
# append, such as `winledger win "..."` from a terminal, then never pays for them (httpx alone takes about
# 0.25 s).
if TYPE_CHECKING:
    import httpx

    from client_sdk._transport import Transport


class Client(Appends, Reads):
    """A device's replica of one user's win journal, stored in the SQLite file at ``path``.

    Appends work with no server at all. ``server`` and ``token`` (default: the
    ``WINLEDGER_SERVER`` and ``WINLEDGER_TOKEN`` environment variables) are
    needed only by ``sync()`` and ``verify()``. ``transport`` replaces the
    network (tests pass one that drives the server in-process). ``clock``
    replaces the device's wall clock (a callable returning unix milliseconds):
    it is the ``now`` of the hybrid logical clock and of the default
    ``occurred_at``, so tests can skew it or make it jump backwards.
    ``create=False`` opens only an existing journal (``JournalNotFoundError``
    otherwise): nothing is created, not even a folder.

    A journal belongs to the server and account of its first sync: ``sync()``
    with a token of another account, or with another server, raises
    ``AccountMismatchError`` and changes nothing (``account``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        server: str | None = None,
        token: str | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 120.0,
        batch_size: int = 1000,
        page_size: int = 1000,
        busy_timeout: float = 30.0,
        clock: Callable[[], int] | None = None,
        create: bool = True,
    ) -> None:
        if batch_size < 1 or page_size < 1:
            raise ConfigurationError(
                f"batch_size and page_size must be >= 1, got {batch_size} and {page_size}."
            )
        self._store = Store(path, busy_timeout=busy_timeout, clock=clock, create=create)
        self.server = server or os.environ.get("WINLEDGER_SERVER") or None
        self._token = token or os.environ.get("WINLEDGER_TOKEN") or None
        self._http_options: dict[str, Any] = {
            "transport": transport,
            "timeout": timeout,
            "retries": retries,
            "backoff": backoff,
            "max_backoff": max_backoff,
            "max_retry_after": max_retry_after,
        }
        self._http: Transport | None = None
        self._batch_size = batch_size
        self._page_size = page_size

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @classmethod
    def default(cls, **options: Any) -> Self:
        """The journal of the ``winledger`` command, with the server and token ``winledger login`` saved.

        The store is ``$WINLEDGER_STORE``, else ``journal.db`` in the user's data directory; ``options``
        are ``Client``'s keyword arguments.
        """
        from client_sdk import _config

        return cls(_config.store_path(), _config.server_url(), _config.read_token(), **options)

    @property
    def path(self) -> str:
        return self._store.path

    @property
    def device_id(self) -> str:
        """This store's device id (a new one after a ``device_seq_conflict``)."""
        return self._store.device_id

    @property
    def account(self) -> Account | None:
        """The server and account this journal belongs to (recorded by its first sync), else ``None``."""
        return self._store.account()

    # -- appends -----------------------------------------------------------------

    def status(self) -> Status:
        store = self._store
        counts = store.counts()
        last_sync = store.get("last_sync")
        failure = store.sync_failure()
        return Status(
            path=store.path,
            device_id=store.device_id,
            server=self.server,
            cursor=store.cursor,
            epoch=store.get("epoch"),
            last_sync=None if last_sync is None else schema.parse_timestamp(last_sync),
            sync_error_code=failure["sync_error_code"],
            sync_error=failure["sync_error"],
            sync_error_at=failure["sync_error_at"],
            account=store.account(),
            **counts,
        )

    # -- sync --------------------------------------------------------------------

    def _transport(self) -> Transport:
        from client_sdk._transport import Transport

        if self._http is None:
            if not self.server:
                raise ConfigurationError(
                    "No server to sync with: pass server='https://...' to Client() or set WINLEDGER_SERVER."
                )
            if not self._token:
                raise ConfigurationError(
                    "No token to sync with: pass token=... to Client() or set WINLEDGER_TOKEN."
                )
            self._http = Transport(self.server, self._token, **self._http_options)
        return self._http

    def sync(self) -> SyncReport:
        """Push the outbox and pull until the server has nothing more; safe to interrupt and re-run.

        Raises ``ConfigurationError`` without a server or token, ``AuthError``
        on 401, ``AccountMismatchError`` when the token is another account's
        or the server another one than the journal's (nothing is synced), and
        another ``SyncError`` when the server stays unreachable or answers out
        of protocol; what was answered before is kept.
        """
        from client_sdk._sync import run_sync

        try:
            report = run_sync(
                self._store, self._transport(), batch_size=self._batch_size, page_size=self._page_size
            )
        except SyncError as exc:
            self._store.record_sync_failure(_failure_code(exc), str(exc))
            raise
        self._store.record_sync_failure(None)
        return report

    def verify(self) -> bool:
        """Sync, then compare the server's count and digest of the user's events with this store's."""
        from client_sdk._sync import matches_server

        self.sync()
        return matches_server(self._store)


def _failure_code(error: SyncError) -> str:
    """What ``Status.sync_error_code`` says about a failed ``sync()``."""
    if isinstance(error, AuthError):
        return f"token_{error.reason}" if error.reason else "unauthorized"
    if isinstance(error, AccountMismatchError):
        return "account_mismatch"
    if isinstance(error, ServerError):
        return error.code or f"http_{error.status}"
    return "network" if isinstance(error, NetworkError) else "protocol"
