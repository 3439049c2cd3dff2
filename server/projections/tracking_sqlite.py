"""The tracking recorder on a SQLite file: the SQLAlchemy recorder, with the fold's large reads in one hop.

A rebuild reads whole projects, tens of thousands of rows per read; through SQLAlchemy's async
engine each row is processed and each statement is a hop to aiosqlite's thread. Here the read runs
whole as a plain ``sqlite3`` function on a reader thread of ``server.eventlog.direct`` (its own
connection, its own WAL snapshot), one hop for the whole read. Everything else, and every write,
is the SQLAlchemy recorder's: SQLite serializes the writers, and the rows and checkpoint are
written in the same statements on either path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from server.eventlog.direct import DirectReads
from server.eventlog.store import EventStore
from server.projections.bodies import TARGETING
from server.projections.reads import IN_CHUNK
from server.projections.rows import NO_PROJECT_KEY
from server.projections.tracking_sqlalchemy import SqlAlchemyTrackingRecorder


class SqliteTrackingRecorder(SqlAlchemyTrackingRecorder):
    def __init__(self, store: EventStore, direct: DirectReads) -> None:
        super().__init__(store)
        self.direct = direct

    async def project_bodies(self, user_id: int, keys: Iterable[str], upto: int) -> list[tuple[str, bytes]]:
        return await self.direct.run(_project_bodies, user_id, sorted(set(keys)), upto)


def _project_bodies(
    connection: sqlite3.Connection, user_id: int, keys: list[str], upto: int
) -> list[tuple[str, bytes]]:
    ids = [key for key in keys if key != NO_PROJECT_KEY]
    found: list[tuple[str, bytes]] = []
    base = "SELECT project_id, body FROM events WHERE user_id = ? AND type NOT IN (?, ?) AND seq <= ? AND "
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        rows = connection.execute(
            base + f"project_id IN ({', '.join('?' * len(chunk))})", (user_id, *TARGETING, upto, *chunk)
        )
        found += rows.fetchall()
    if NO_PROJECT_KEY in keys:
        rows = connection.execute(base + "project_id IS NULL", (user_id, *TARGETING, upto))
        found += [(NO_PROJECT_KEY, body) for _, body in rows.fetchall()]
    return found
