"""winledger's Python client: append win events to a local store, offline, and sync them.

    from client_sdk import Client

    with Client("~/.winledger/journal.db", server="https://wins.example", token="wl_...") as client:
        churn = client.start_project("Churn model", "model")
        client.metric(churn, "recall_at_30d", 0.81, layer="model", baseline=0.64)
        client.capture("Customer success now reviews the flagged accounts every Monday.", churn)
        client.sync()

See docs/client.md for every method, the sync states and the error hierarchy.
"""

from client_sdk._client import Client
from client_sdk._ids import uuid7
from client_sdk._types import Account, Event, EventStatus, Status, SyncReport
from client_sdk.errors import (
    AccountMismatchError,
    AuthError,
    ConfigurationError,
    JournalNotFoundError,
    NetworkError,
    NotFoundError,
    PayloadTooLargeError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    StoreError,
    SyncError,
    TokenExpiredError,
    TokenRevokedError,
    UnrecordedMetricWarning,
    ValidationError,
    WinledgerError,
)

__all__ = [
    "Account",
    "AccountMismatchError",
    "AuthError",
    "Client",
    "ConfigurationError",
    "Event",
    "EventStatus",
    "JournalNotFoundError",
    "NetworkError",
    "NotFoundError",
    "PayloadTooLargeError",
    "ProtocolError",
    "RateLimitedError",
    "ServerError",
    "Status",
    "StoreError",
    "SyncError",
    "SyncReport",
    "TokenExpiredError",
    "TokenRevokedError",
    "UnrecordedMetricWarning",
    "ValidationError",
    "WinledgerError",
    "uuid7",
]
