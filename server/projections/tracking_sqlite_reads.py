"""The projector's reads on a SQLite file: each a plain ``sqlite3`` function of a connection, run inside the
caller's read (or write) transaction by ``tracking_sqlite``. The statements are those of the SQLAlchemy
recorder (server/projections/tracking_sqlalchemy.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from server.projections.bodies import RETRACTED, TARGETING
from server.projections.reads import IN_CHUNK
from server.projections.rows import NO_PROJECT_KEY, key_of
from server.projections.tracking import Checkpoint, LogRow


def chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (values[start : start + IN_CHUNK] for start in range(0, len(values), IN_CHUNK))


def marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def checkpoint(row: tuple[Any, Any] | None) -> Checkpoint | None:
    return None if row is None or row[0] is None else Checkpoint(int(row[0]), int(row[1]))


def standing(connection: sqlite3.Connection, user_id: int) -> tuple[int, Checkpoint | None]:
    row = connection.execute(
        "SELECT u.last_seq, c.seq, c.version FROM users AS u "
        "LEFT JOIN projection_checkpoints AS c ON c.user_id = u.id WHERE u.id = ?",
        (user_id,),
    ).fetchone()
    return (0, None) if row is None else (int(row[0]), checkpoint(row[1:]))


def log_head(connection: sqlite3.Connection, user_id: int) -> int:
    row = connection.execute("SELECT last_seq FROM users WHERE id = ?", (user_id,)).fetchone()
    return 0 if row is None else int(row[0] or 0)


_BEHIND = (
    "SELECT u.id, u.last_seq, c.seq, c.version FROM users AS u "
    "LEFT JOIN projection_checkpoints AS c ON c.user_id = u.id "
    "WHERE ((c.user_id IS NULL AND u.last_seq > 0) OR u.last_seq > c.seq OR c.version != ?)"
)


def behind_users(
    connection: sqlite3.Connection, version: int, only: list[int] | None
) -> list[tuple[int, int, Checkpoint | None]]:
    if only is None:
        rows = connection.execute(_BEHIND, (version,)).fetchall()
    else:
        rows = []
        for chunk in chunks(only):
            rows += connection.execute(f"{_BEHIND} AND u.id IN ({marks(chunk)})", (version, *chunk))
    rows.sort(key=lambda row: row[0])
    return [(int(user_id), int(last), checkpoint((seq, ver))) for user_id, last, seq, ver in rows]


def events_after(
    connection: sqlite3.Connection, user_id: int, after: int, upto: int | None, limit: int | None
) -> list[LogRow]:
    query = "SELECT seq, type, project_id, body FROM events WHERE user_id = ? AND seq > ?"
    args: list[Any] = [user_id, after]
    if upto is not None:
        query += " AND seq <= ?"
        args.append(upto)
    query += " ORDER BY seq"
    if limit is not None:
        query += " LIMIT ?"
        args.append(limit)
    return connection.execute(query, args).fetchall()


def keys_of_targets(connection: sqlite3.Connection, user_id: int, targets: list[str], upto: int) -> set[str]:
    keys: set[str] = set()
    for chunk in chunks(targets):
        rows = connection.execute(
            f"SELECT type, project_id FROM events WHERE user_id = ? AND event_id IN ({marks(chunk)}) "
            "AND seq <= ?",
            (user_id, *chunk, upto),
        )
        keys |= {key_of(project_id) for kind, project_id in rows if kind not in TARGETING}
    return keys


def retraction_bodies(connection: sqlite3.Connection, user_id: int, upto: int) -> list[bytes]:
    rows = connection.execute(
        "SELECT body FROM events WHERE user_id = ? AND type = ? AND seq <= ?", (user_id, RETRACTED, upto)
    )
    return [body for (body,) in rows]


def project_bodies(
    connection: sqlite3.Connection, user_id: int, keys: list[str], upto: int
) -> list[tuple[str, bytes]]:
    ids = [key for key in keys if key != NO_PROJECT_KEY]
    found: list[tuple[str, bytes]] = []
    base = "SELECT project_id, body FROM events WHERE user_id = ? AND type NOT IN (?, ?) AND seq <= ? AND "
    for chunk in chunks(ids):
        found += connection.execute(
            base + f"project_id IN ({marks(chunk)})", (user_id, *TARGETING, upto, *chunk)
        ).fetchall()
    if NO_PROJECT_KEY in keys:
        rows = connection.execute(base + "project_id IS NULL", (user_id, *TARGETING, upto))
        found += [(NO_PROJECT_KEY, body) for _, body in rows]
    return found


def project_sizes(connection: sqlite3.Connection, user_id: int) -> list[tuple[str, int]]:
    # Counted from the (user_id, project_id) index alone.
    rows = connection.execute(
        "SELECT project_id, count(*) FROM events WHERE user_id = ? GROUP BY project_id", (user_id,)
    )
    return sorted((key_of(project_id), int(count)) for project_id, count in rows)


def model_keys(connection: sqlite3.Connection, user_id: int) -> list[str]:
    rows = connection.execute("SELECT project_key FROM project_models WHERE user_id = ?", (user_id,))
    return [str(key) for (key,) in rows]
