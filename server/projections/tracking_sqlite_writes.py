"""The projector's writes on a SQLite file: each a plain ``sqlite3`` function of the writer thread's
connection, run inside its write transaction (``BEGIN IMMEDIATE``) by ``tracking_sqlite``. The statements
are those of the SQLAlchemy recorder (server/projections/tracking_sqlalchemy.py and leases.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from server.projections import leases
from server.projections.rows import EncodedRow
from server.projections.stored import read_checkpoint
from server.projections.tracking import BatchOutcome, Checkpoint, CheckpointMoved
from server.projections.tracking_sqlite_reads import chunks, log_head, marks


def take_lease(
    connection: sqlite3.Connection, user_id: int, holder: str, ttl_s: float, request: bool
) -> bool:
    # BEGIN IMMEDIATE made this transaction the only writer: the row is created if missing (expired),
    # read, and decided on alone (leases.lease_decision, as on every backend).
    now = leases.now_ms()
    connection.execute(
        "INSERT OR IGNORE INTO projection_leases (user_id, holder, expires_at_ms) VALUES (?, ?, 0)",
        (user_id, holder),
    )
    row = connection.execute(
        "SELECT holder, expires_at_ms, requested_by FROM projection_leases WHERE user_id = ?", (user_id,)
    ).fetchone()
    taken, requested_by = leases.lease_decision(row, holder, now, request=request)
    if not taken:
        if requested_by != row[2]:
            connection.execute(
                "UPDATE projection_leases SET requested_by = ? WHERE user_id = ?", (requested_by, user_id)
            )
        return False
    connection.execute(
        "UPDATE projection_leases SET holder = ?, expires_at_ms = ?, requested_by = ? WHERE user_id = ?",
        (holder, now + int(ttl_s * 1000), requested_by, user_id),
    )
    return True


def take_leases(connection: sqlite3.Connection, user_ids: list[int], holder: str, ttl_s: float) -> list[bool]:
    return [take_lease(connection, user_id, holder, ttl_s, False) for user_id in user_ids]


def commit_batch(
    connection: sqlite3.Connection,
    user_id: int,
    holder: str,
    ttl_s: float,
    rows: list[EncodedRow],
    keys: list[str],
    new: Checkpoint,
    expected: Checkpoint | None,
) -> BatchOutcome:
    # TrackingWrites.commit_batch, step for step, in one hop.
    if not take_lease(connection, user_id, holder, ttl_s, False):
        return "lost"
    if read_checkpoint(connection, user_id) != expected:
        release(connection, holder, [user_id])
        return "moved"
    record(connection, user_id, rows, keys, new, expected)
    caught_up = new.seq == log_head(connection, user_id)
    if hand_over(connection, user_id, holder, ttl_s):
        return "busy"
    if caught_up:
        release(connection, holder, [user_id])
        return "caught_up"
    return "more"


def hand_over(connection: sqlite3.Connection, user_id: int, holder: str, ttl_s: float) -> bool:
    row = connection.execute(
        "SELECT requested_by FROM projection_leases WHERE user_id = ? AND holder = ?", (user_id, holder)
    ).fetchone()
    if row is None or row[0] is None or row[0] == holder:
        return False
    connection.execute(
        "UPDATE projection_leases SET holder = ?, expires_at_ms = ?, requested_by = NULL WHERE user_id = ?",
        (row[0], leases.now_ms() + int(ttl_s * 1000), user_id),
    )
    return True


def release(connection: sqlite3.Connection, holder: str, user_ids: list[int] | None) -> None:
    query = "UPDATE projection_leases SET expires_at_ms = 0 WHERE holder = ?"
    if user_ids is None:
        connection.execute(query, (holder,))
        return
    for chunk in chunks(user_ids):
        connection.execute(f"{query} AND user_id IN ({marks(chunk)})", (holder, *chunk))


def insert_rows(connection: sqlite3.Connection, user_id: int, rows: Sequence[EncodedRow]) -> None:
    connection.executemany(
        "INSERT INTO project_models (user_id, project_key, model, summary) VALUES (?, ?, ?, ?)",
        [(user_id, key, model, summary) for key, model, summary in rows],
    )


def record(
    connection: sqlite3.Connection,
    user_id: int,
    rows: list[EncodedRow],
    keys: list[str],
    new: Checkpoint,
    expected: Checkpoint | None,
) -> None:
    for chunk in chunks(keys):
        connection.execute(
            f"DELETE FROM project_models WHERE user_id = ? AND project_key IN ({marks(chunk)})",
            (user_id, *chunk),
        )
    insert_rows(connection, user_id, rows)
    if new == expected:
        return
    if expected is None:
        if read_checkpoint(connection, user_id) is not None:
            raise CheckpointMoved(f"user {user_id} has a checkpoint already")
        connection.execute(
            "INSERT INTO projection_checkpoints (user_id, seq, version) VALUES (?, ?, ?)",
            (user_id, new.seq, new.version),
        )
        return
    moved = connection.execute(
        "UPDATE projection_checkpoints SET seq = ?, version = ? "
        "WHERE user_id = ? AND seq = ? AND version = ?",
        (new.seq, new.version, user_id, expected.seq, expected.version),
    )
    if moved.rowcount != 1:
        raise CheckpointMoved(f"the checkpoint of user {user_id} is no longer at seq {expected.seq}")


def set_checkpoint(connection: sqlite3.Connection, user_id: int, checkpoint: Checkpoint) -> None:
    connection.execute(
        "INSERT INTO projection_checkpoints (user_id, seq, version) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, version = excluded.version",
        (user_id, checkpoint.seq, checkpoint.version),
    )


def delete_rows(connection: sqlite3.Connection, user_id: int) -> None:
    connection.execute("DELETE FROM project_models WHERE user_id = ?", (user_id,))
