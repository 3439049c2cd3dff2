"""The local store: one SQLite file holding a device's replica of the user's log and its outbox.

Several processes of one person may open the same file at once (the CLI and a
notebook), so the file runs in WAL mode with ``synchronous=FULL`` (an append
that returned survives a power cut) and a busy timeout, and every change is
one ``BEGIN IMMEDIATE`` transaction: ``device_seq`` and ``clock`` are read and
advanced under the write lock, so two processes never mint the same
``device_seq``, and the answer to one request is committed all at once, so a
``sync()`` interrupted anywhere leaves a state the next one continues from.

Tables
------
``meta``: ``device_id`` (fixed until a ``device_seq_conflict`` proves another
store claims it), ``device_seq`` (the last one minted under ``device_id``),
``clock`` (the largest clock created or pulled), ``cursor`` (pull position in
the server's seq space), ``epoch`` (the server store's id last seen),
``server_count``/``server_digest``/``server_cursor`` (the server's set at the
end of the last complete pull), ``last_sync``; ``sync_error_code``, ``sync_error`` and
``sync_error_at`` while the latest ``sync()`` has failed (401 reasons included).

``events``: every event the store knows, one row per id, with its normalized
JSON ``body`` (the nine client fields, byte-identical to what the server
returns minus ``seq`` and ``received_at``), its digest ``hash``, whether this
SDK can ``readable`` it (known type and version, valid), and its sync state:

    pending      in the outbox: created here, or lost by the server (see epochs).
                 seq IS NULL. ``code``/``message`` hold the last deferral
                 (``unknown_type``/``unsupported_version`` from an older server).
    synced       the server holds it in the current epoch, at ``seq``.
                 seq IS NOT NULL; it came back from a push or a pull.
    unconfirmed  it was synced, then the server's epoch changed (or a pull
                 answered ``cursor_ahead``); seq IS NULL. A pull from 0 is
                 under way: each event it returns goes back to synced, and when
                 it completes, every event still unconfirmed is one the server
                 lost and becomes pending, to be pushed again.

``rejected``: events the server refused for good (``invalid_event``,
``id_conflict``, a ``device_seq_conflict`` on another device's event, an event
too large for any request), with ``code`` and ``message``. Kept, never pushed.

``aliases``: ``old_id -> new_id`` for events re-minted after a
``device_seq_conflict``, so that an id handed out earlier still resolves.

``account`` (store version 2): at most one row, the journal's owner: the
``server`` URL and the account (``user_name``, ``user_id``) that its first sync
signed in as, recorded in that sync's first transaction. Every later sync
compares what the server says of its token with it first (``client_sdk._owner``,
docs/protocol.md section 6.6). A store that synced before version 2 has no row
until its next sync.

Invariants
----------
- state = 'synced' exactly when seq IS NOT NULL.
- Every event the server holds with seq <= ``cursor`` is in ``events`` (in the
  current epoch), unless state 'unconfirmed' rows exist: then ``cursor`` counts
  from the reset to 0 and the pull that re-confirms them is in progress.
- Events minted here under one ``device_id`` have device_seq 1, 2, 3, ... with
  no gaps, and clocks that strictly increase with device_seq.
- ``clock`` >= the clock of every event in ``events``.
- Nothing is ever deleted, except a pending event re-minted under a new id
  (its content lives on under the new id; ``aliases`` records the move).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import schema
from client_sdk._rows import (
    EVENT_COLUMNS,
    Normalized,
    event_of,
    json_decode,
    settle_redactions,
    validation_error,
)
from client_sdk._store_schema import APPLICATION_ID, DDL, SCHEMA_VERSION, migrate
from client_sdk._types import Account, Event
from client_sdk.errors import JournalNotFoundError, StoreError

__all__ = ["Store", "now_ms", "read_account", "set_meta", "utc_now", "write_account"]


_FAILURE_KEYS = ("sync_error_code", "sync_error", "sync_error_at")
_MARKS = ", ".join("?" * 10)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def utc_now() -> str:
    return schema.format_timestamp(datetime.now(UTC))


class Store:
    """The SQLite file; every method is one short transaction unless it says otherwise."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], int] | None = None,
        create: bool = True,
    ) -> None:
        self.path = os.path.expanduser(os.fspath(path))
        self.now_ms: Callable[[], int] = clock or now_ms
        """The device's wall clock in unix milliseconds (the HLC's ``now``; tests inject skew)."""
        self._lock = threading.RLock()
        self._create = create
        if self.path != ":memory:" and create:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        if not create and os.path.isfile(self.path) and os.path.getsize(self.path) == 0:
            raise JournalNotFoundError(f"There is no journal at {self.path!r} (an empty file).")
        try:
            # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so the lock is taken up front.
            # Without `create`, mode=rw opens only a file that exists: nothing is made, not even a folder.
            target = self.path if create else Path(self.path).absolute().as_uri() + "?mode=rw"
            self.conn = sqlite3.connect(
                target, timeout=busy_timeout, isolation_level=None, check_same_thread=False, uri=not create
            )
        except sqlite3.Error as exc:
            if not create and not os.path.exists(self.path):
                raise JournalNotFoundError(f"There is no journal at {self.path!r}.") from None
            raise StoreError(f"Cannot open the store {self.path!r}: {exc}.") from exc
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._enable_wal(busy_timeout)
            self.conn.execute("PRAGMA synchronous = FULL")
            self._open()
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(f"{self.path!r} is not a usable winledger store: {exc}.") from exc
        except BaseException:
            self.conn.close()
            raise

    def _enable_wal(self, timeout: float) -> None:
        # Switching a new file to WAL answers "locked" at once, without the busy handler, while
        # another process does the same: retry until the timeout. The mode then sticks to the file.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def _open(self) -> None:
        with self.transaction() as conn:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if app_id == 0 and version == 0:
                if conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    raise StoreError(f"{self.path!r} is an SQLite database of another application.")
                if not self._create:
                    raise JournalNotFoundError(f"There is no journal at {self.path!r} (an empty file).")
                # One statement at a time: executescript() would COMMIT the open transaction.
                for statement in DDL.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.executemany(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    [("device_id", str(uuid.uuid4())), ("device_seq", 0), ("clock", 0), ("cursor", 0)],
                )
            elif app_id != APPLICATION_ID:
                raise StoreError(f"{self.path!r} is an SQLite database of another application.")
            elif version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path!r} was written by a newer winledger (store version {version}, "
                    f"this one reads up to {SCHEMA_VERSION}); upgrade the client."
                )
            elif version < SCHEMA_VERSION:
                migrate(conn, version)

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; the thread lock keeps other threads of this handle out of it."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A consistent read (joins the transaction already open in this thread, if any)."""
        with self._lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                self.conn.execute("COMMIT")

    # -- meta --------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        with self.snapshot() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def record_sync_failure(self, code: str | None, message: str = "") -> None:
        """Remember why the last ``sync()`` failed (``code`` None: it succeeded, forget it)."""
        with self.transaction() as conn:
            if code is None:
                conn.execute("DELETE FROM meta WHERE key IN (?, ?, ?)", _FAILURE_KEYS)
            else:
                set_meta(conn, sync_error_code=code, sync_error=message, sync_error_at=utc_now())

    def sync_failure(self) -> dict[str, Any]:
        """``sync_error_code``, ``sync_error`` and ``sync_error_at`` of the last failed ``sync()``, if any."""
        with self.snapshot() as conn:
            rows = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'sync_error%'").fetchall())
        at = rows.get("sync_error_at")
        return {
            "sync_error_code": rows.get("sync_error_code"),
            "sync_error": rows.get("sync_error"),
            "sync_error_at": None if at is None else schema.parse_timestamp(at),
        }

    def account(self) -> Account | None:
        """The server and account this journal belongs to, once a sync has recorded them."""
        with self.snapshot() as conn:
            return read_account(conn)

    @property
    def device_id(self) -> str:
        return str(self.get("device_id"))

    @property
    def cursor(self) -> int:
        return int(self.get("cursor", 0))

    # -- appends -----------------------------------------------------------------

    def append(self, build: Callable[[str, int, int], dict[str, Any]]) -> schema.ValidEvent:
        """Mint the next event of this device: ``build(device_id, device_seq, clock)`` gives its fields.

        Raises ``ValidationError`` (storing nothing) when the schema refuses them.
        """
        with self.transaction() as conn:
            device_id = self.device_id
            device_seq = int(self.get("device_seq")) + 1
            clock = schema.next_clock(self.now_ms(), int(self.get("clock")))
            fields = build(device_id, device_seq, clock)
            result = schema.validate_fields(fields)
            if isinstance(result, schema.Rejection):
                raise validation_error(result, fields)
            row = Normalized(result.fields, result.body, format(result.hash, "032x"), True).row()
            conn.execute(f"INSERT INTO events ({EVENT_COLUMNS}, state) VALUES ({_MARKS}, 'pending')", row)
            settle_redactions(conn, [result.fields])
            set_meta(conn, device_seq=device_seq, clock=clock)
        return result

    def resolve(self, event_id: str) -> str:
        """The current id of an event that may have been re-minted since ``event_id`` was handed out."""
        with self.snapshot() as conn:
            row = conn.execute("SELECT new_id FROM aliases WHERE old_id = ?", (event_id,)).fetchone()
        return event_id if row is None else str(row[0])

    # -- reads -------------------------------------------------------------------

    def events(
        self, project: str | None, include_unreadable: bool, types: Collection[str] = ()
    ) -> list[Event]:
        where = ["1 = 1"]
        params: list[Any] = []
        if project is not None:
            where.append("project_id = ?")
            params.append(project)
        if types:
            where.append(f"type IN ({', '.join('?' * len(types))})")
            params.extend(types)
        if not include_unreadable:
            where.append("readable = 1")
        with self.snapshot() as conn:
            rows = conn.execute(
                f"SELECT body, seq, state, code, message FROM events WHERE {' AND '.join(where)} "
                "ORDER BY clock, device_id, device_seq",
                params,
            ).fetchall()
        return [event_of(body, seq, state, code, message) for body, seq, state, code, message in rows]

    def event(self, event_id: str) -> Event | None:
        """The event held under ``event_id`` (pending, synced or unconfirmed), if any."""
        with self.snapshot() as conn:
            row = conn.execute(
                "SELECT body, seq, state, code, message FROM events WHERE id = ?", (event_id,)
            ).fetchone()
        return None if row is None else event_of(*row)

    def project_ids(self) -> list[str]:
        """Every project id that a readable event carries."""
        with self.snapshot() as conn:
            rows = conn.execute(
                "SELECT DISTINCT project_id FROM events WHERE project_id IS NOT NULL AND readable = 1"
            ).fetchall()
        return [str(project_id) for (project_id,) in rows]

    def bodies(self) -> list[dict[str, Any]]:
        """Every event the store holds (pending, synced, unconfirmed), as its normalized fields."""
        with self.snapshot() as conn:
            rows = conn.execute("SELECT body FROM events").fetchall()
        return [json_decode(body) for (body,) in rows]

    def rejected(self) -> list[Event]:
        with self.snapshot() as conn:
            rows = conn.execute(
                "SELECT body, code, message FROM rejected ORDER BY clock, device_id, device_seq, rid"
            ).fetchall()
        return [event_of(body, None, "rejected", code, message) for body, code, message in rows]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("pending", "synced", "unconfirmed", "rejected", "unreadable"), 0)
        with self.snapshot() as conn:
            counts.update(conn.execute("SELECT state, count(*) FROM events GROUP BY state").fetchall())
            counts["rejected"] = conn.execute("SELECT count(*) FROM rejected").fetchone()[0]
            counts["unreadable"] = conn.execute("SELECT count(*) FROM events WHERE readable = 0").fetchone()[
                0
            ]
        return counts

    def pending(self, limit: int) -> list[tuple[str, str, bytes]]:
        """(id, device_id, body) of the oldest pending events, in canonical order."""
        with self.snapshot() as conn:
            return conn.execute(
                "SELECT id, device_id, body FROM events WHERE state = 'pending' "
                "ORDER BY clock, device_id, device_seq LIMIT ?",
                (limit,),
            ).fetchall()

    def synced_digest(self, upto: int) -> tuple[int, str]:
        """Count and digest of the synced events with seq <= ``upto``, from the stored hashes."""
        with self.snapshot() as conn:
            rows = conn.execute(
                "SELECT hash FROM events WHERE state = 'synced' AND seq <= ?", (upto,)
            ).fetchall()
        return len(rows), schema.digest_of(int(h, 16) for (h,) in rows)


def read_account(conn: sqlite3.Connection) -> Account | None:
    row = conn.execute("SELECT server, user_name, user_id FROM account").fetchone()
    return None if row is None else Account(server=row[0], user=row[1], user_id=row[2])


def write_account(conn: sqlite3.Connection, account: Account) -> None:
    conn.execute(
        "INSERT INTO account (id, server, user_name, user_id, recorded_at) VALUES (1, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET server = excluded.server, user_name = excluded.user_name, "
        "user_id = excluded.user_id, recorded_at = excluded.recorded_at",
        (account.server, account.user, account.user_id, utc_now()),
    )


def set_meta(conn: sqlite3.Connection, **values: Any) -> None:
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        list(values.items()),
    )
