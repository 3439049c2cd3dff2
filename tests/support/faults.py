"""Injected database faults: an error raised before each statement that starts with a prefix, on every
connection the server writes through (the engine's, the push writer's own on SQLite, the event log's own
on PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from server.eventlog.postgres import PostgresRecorder
from server.eventlog.sqlite import SQLiteRecorder


class Faults:
    """Raises ``error(message)`` before each statement that starts with ``prefix``, as SQLite does when
    the disk fails under it; ``clear()`` mends the disk. ``statements`` counts what ran, by prefix."""

    def __init__(self, state: Any, error: Callable[[str], Exception] = sqlite3.OperationalError) -> None:
        self.error = error
        self.message: str | None = None
        self.prefix = ""
        self.raised = 0
        self.commits = 0
        event.listen(state.engine.sync_engine, "before_cursor_execute", self._before)
        recorder = state.store.recorder
        if isinstance(recorder, PostgresRecorder):
            recorder.before_statement.append(self.check)
        if isinstance(recorder, SQLiteRecorder):
            faults = self

            class Faulty(sqlite3.Connection):
                def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
                    faults.check(sql)
                    return super().execute(sql, *args)

                def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
                    faults.check(sql)
                    return super().executemany(sql, *args)

            recorder.writer.factory = Faulty

    def fail(self, message: str, prefix: str) -> None:
        self.message, self.prefix = message, prefix.upper()

    def clear(self) -> None:
        self.message = None

    def check(self, statement: str) -> None:
        if statement.strip().upper() == "COMMIT":
            self.commits += 1
        if self.message is not None and statement.lstrip().upper().startswith(self.prefix):
            self.raised += 1
            raise self.error(self.message)

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.check(statement)
