"""Each user's event log: the acceptance rules (``rules``), the order of writers and group commit
(``groupcommit``, ``store``), and one recorder per backend (``recorder``: ``postgres``, ``sqlalchemy``,
``sqlite``).

``event_store`` is the one place a backend's recorder is picked; every process that stores or reads
events (the server, its projector process, the admin commands) makes its store with it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from server.eventlog.direct import sqlite_path
from server.eventlog.postgres import PostgresRecorder
from server.eventlog.recorder import Recorder
from server.eventlog.sqlalchemy import SQLAlchemyRecorder
from server.eventlog.sqlite import SQLiteRecorder
from server.eventlog.store import EventStore

__all__ = ["EventStore", "event_store", "recorder_for"]


def recorder_for(engine: AsyncEngine) -> Recorder:
    """The recorder for an engine's database: a SQLite file is written and read through plain ``sqlite3``
    threads, one hop each (``server.eventlog.direct`` says why); PostgreSQL on asyncpg through plain
    ``asyncpg``, a handful of round trips a push (``server.eventlog.postgres``); an in-memory SQLite
    (which other threads cannot open) through the engine."""
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg":
        return PostgresRecorder(engine)
    path = sqlite_path(engine)
    return SQLAlchemyRecorder(engine) if path is None else SQLiteRecorder(engine, path)


def event_store(engine: AsyncEngine, *, max_write_queue: int = 0) -> EventStore:
    """The event store on ``engine``, with its backend's recorder."""
    return EventStore(recorder_for(engine), max_write_queue=max_write_queue)
