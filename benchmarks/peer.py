"""The closest Python peer: the ``eventsourcing`` library's SQLite persistence (WAL, like ours), fed the
same events. Appends go through ``Application.save()`` 1,000 events at a time; the typed read is
``select_notifications`` plus ``to_domain_event``, the way a projection of that library reads."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Journal(Aggregate):
    """One person's journal: every captured event is an event of this aggregate."""

    @event("Created")
    def __init__(self) -> None:
        pass

    @event("Recorded")
    def record(self, payload: dict[str, Any]) -> None:
        pass


class Journals(Application[uuid.UUID]):
    pass


def eventsourcing_round(path: Path, events: list[dict[str, Any]]) -> tuple[float, float]:
    """Seconds to save the events, and seconds to read them back as domain events."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    app = Journals(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            "SQLITE_LOCK_TIMEOUT": "10",
        }
    )
    journal = Journal()
    app.save(journal)
    started = time.perf_counter()
    for start in range(0, len(events), 1000):
        for payload in events[start : start + 1000]:
            journal.record(payload)
        app.save(journal)
    saved = time.perf_counter() - started

    started = time.perf_counter()
    read = 0
    position: int | None = 1
    while True:
        notifications = app.recorder.select_notifications(start=position, limit=1000)  # type: ignore[attr-defined]
        if not notifications:
            break
        for notification in notifications:
            app.mapper.to_domain_event(notification)
            read += 1
        position = notifications[-1].id + 1
    elapsed = time.perf_counter() - started
    app.close()
    assert read == len(events) + 1, read
    return saved, elapsed
