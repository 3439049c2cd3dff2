"""The store's tables (``client_sdk._store`` describes them) and their versions: the DDL of the newest
version, and the steps that bring an older store up to it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from client_sdk.errors import StoreError

__all__ = ["APPLICATION_ID", "DDL", "MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate"]

Migration = Callable[[sqlite3.Connection], None]

_ACCOUNT_DDL = """
CREATE TABLE account (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    server TEXT NOT NULL,
    user_name TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    recorded_at TEXT NOT NULL
)
"""


def _v2_account(conn: sqlite3.Connection) -> None:
    """Version 2: the account the journal belongs to. A bump, not a new ``meta`` key, so that an SDK
    from before it, which would sync the journal with any account's token, cannot open the file."""
    conn.execute(_ACCOUNT_DDL)


MIGRATIONS: tuple[Migration, ...] = (_v2_account,)
"""Step *i* upgrades a store from version *i* + 1 to *i* + 2, inside the opening transaction.

Append a step for every change to ``DDL`` (which always creates the newest version), never edit
one that shipped: a store of any earlier version is brought up one step at a time on open, so a
newer SDK opens an older store with every pending event, and an older SDK refuses a newer store.
Keep changes additive where possible (a new table, a new ``meta`` key needs no step at all), since
each version bump locks older SDKs out of the file. ``tests/client_sdk/test_store_migrations.py``
opens a store written by version 1 of the SDK.
"""
SCHEMA_VERSION = 1 + len(MIGRATIONS)
APPLICATION_ID = 0x574C4447  # "WLDG" in the SQLite header marks a winledger client store.

DDL = (
    """
CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    device_seq INTEGER NOT NULL,
    clock INTEGER NOT NULL,
    type TEXT NOT NULL,
    v INTEGER NOT NULL,
    project_id TEXT,
    body BLOB NOT NULL,
    hash TEXT NOT NULL,
    readable INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'synced', 'unconfirmed')),
    seq INTEGER,
    code TEXT,
    message TEXT,
    CHECK ((state = 'synced') = (seq IS NOT NULL))
);
CREATE INDEX events_order ON events (clock, device_id, device_seq);
CREATE INDEX events_state ON events (state, clock);
CREATE INDEX events_seq ON events (seq);
CREATE INDEX events_project ON events (project_id);
CREATE TABLE rejected (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    device_seq INTEGER NOT NULL,
    clock INTEGER NOT NULL,
    type TEXT NOT NULL,
    v INTEGER NOT NULL,
    project_id TEXT,
    body BLOB NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    rejected_at TEXT NOT NULL
);
CREATE TABLE aliases (old_id TEXT PRIMARY KEY, new_id TEXT NOT NULL) WITHOUT ROWID;
"""
    + _ACCOUNT_DDL
)


def migrate(conn: sqlite3.Connection, version: int, steps: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Run the steps from ``version`` on, in the caller's transaction; return the new version."""
    if version < 1:
        raise StoreError(f"Store version {version} is not one this SDK ever wrote.")
    for step in steps[version - 1 :]:
        step(conn)
        version += 1
        conn.execute(f"PRAGMA user_version = {version}")
    return version
