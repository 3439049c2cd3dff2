"""Which tracking recorder a store gets: the one place that chooses a backend.

A SQLite file, whose event log is plain ``sqlite3`` (``server.eventlog.sqlite``), gets ``tracking_sqlite``
on the same reader threads and writer thread; a PostgreSQL database, whose event log is plain ``asyncpg``
(``server.eventlog.postgres``), gets ``tracking_postgres`` on the same pool; anything else (an in-memory
SQLite) the SQLAlchemy recorder. The projector picks once, when it is built; a rebuild or a batch given a
store picks here too.
"""

from __future__ import annotations

from server.eventlog.postgres import PostgresRecorder
from server.eventlog.sqlite import SQLiteRecorder
from server.eventlog.store import EventStore
from server.projections.tracking import TrackingRecorder
from server.projections.tracking_postgres import PostgresTrackingRecorder
from server.projections.tracking_sqlalchemy import SqlAlchemyTrackingRecorder
from server.projections.tracking_sqlite import SqliteTrackingRecorder


def recorder_for(source: EventStore | TrackingRecorder) -> TrackingRecorder:
    """The tracking recorder of a store (a recorder is returned as it is)."""
    if isinstance(source, TrackingRecorder):
        return source
    if isinstance(source.recorder, SQLiteRecorder):
        return SqliteTrackingRecorder(source)
    if isinstance(source.recorder, PostgresRecorder):
        return PostgresTrackingRecorder(source)
    return SqlAlchemyTrackingRecorder(source)
