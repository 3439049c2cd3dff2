"""Read-model throughput: the incremental projector against a full rebuild, on one user's log.

Measures, on a fresh SQLite file (WAL, synchronous=FULL, as served):

- ``push``: storing the log through ``EventStore.push`` in batches of 500 (the baseline every
  other number is read against: the projector should keep up with pushes);
- ``projector``: the incremental projector catching up from checkpoint 0 in write transactions of
  ``--batch`` events (each re-folds the projects its events touch, from all of their events);
- ``projector, one batch per push``: as a server runs, after each push of 50 events spread over
  every project (the worst case: each batch re-folds every project), and after each push of 10
  events of one project (a capture session, the usual case);
- ``rebuild``: ``admin rebuild``'s path, pages read in short transactions, one fold in memory,
  one swap transaction.

Run: ``python -m benchmarks.projector [--events 5000] [--projects 20] [--batch 2000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from schema import ValidEvent, validate_fields
from server.accounts.auth import Accounts
from server.database import migrate
from server.database import tables as db
from server.eventlog import EventStore, event_store
from server.projections.leases import new_holder
from server.projections.projector import project_batch
from server.projections.rebuild import rebuild_user
from server.projections.states import States

MILESTONES = ["trained", "evaluated", "shadow_deployed", "deployed", "adopted"]


def make_log(count: int, projects: int, seed: int = 7, run: int = 1) -> list[dict[str, Any]]:
    """A plausible log: projects with metrics, milestones, wins and feedback, a few retractions.

    ``run`` events in a row go to the same project (a capture session on one device).
    """
    rng = random.Random(seed)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(projects)]
    devices = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(3)]
    seqs = dict.fromkeys(devices, 0)
    clock = 1_767_225_600_000 << 10
    events: list[dict[str, Any]] = []
    for project_id in ids:
        events.append(
            _event(rng, devices, seqs, clock, "project.started", project_id, {"name": "P", "kind": "model"})
        )
    current = ids[0]
    while len(events) < count:
        clock += rng.randint(1, 10_000_000)
        if len(events) % run == 0:
            current = rng.choice(ids)
        project_id = current
        roll = rng.random()
        if roll < 0.4:
            key = rng.choice(["auc", "latency_ms", "churn_rate"])
            layer = {"auc": "model", "latency_ms": "production", "churn_rate": "business"}[key]
            data: dict[str, Any] = {"key": key, "layer": layer, "value": rng.random(), "baseline": 0.5}
            kind = "metric.observed"
        elif roll < 0.55:
            kind, data = "milestone.reached", {"milestone": rng.choice(MILESTONES)}
        elif roll < 0.65:
            kind, data = "metric.linked", {"cause": "auc", "effect": "churn_rate", "evidence": "ab_test"}
        elif roll < 0.8:
            kind, data = "feedback.received", {"quote": "We use it every week.", "decision": "Kept it."}
        elif roll < 0.97:
            kind, data = "win.captured", {"text": "A win.", "source": "text"}
            project_id = project_id if rng.random() < 0.7 else None
        else:
            kind, data = "event.retracted", {"target": rng.choice(events)["id"]}
            project_id = None
        events.append(_event(rng, devices, seqs, clock, kind, project_id, data))
    return events


def _event(
    rng: random.Random,
    devices: list[str],
    seqs: dict[str, int],
    clock: int,
    kind: str,
    project_id: str | None,
    data: dict[str, Any],
) -> dict[str, Any]:
    device = rng.choice(devices)
    seqs[device] += 1
    day = 1 + (clock >> 10) // 86_400_000 % 28
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "device_id": device,
        "device_seq": seqs[device],
        "clock": clock,
        "occurred_at": f"2026-{1 + seqs[device] % 12:02d}-{day:02d}T10:00:00Z",
        "type": kind,
        "v": 1,
        "project_id": project_id,
        "data": data,
    }


async def _setup(path: Path) -> tuple[EventStore, int]:
    engine = db.create_engine(f"sqlite+aiosqlite:///{path}")
    await migrate.upgrade(engine)
    store = event_store(engine)
    await Accounts(store).create_user("bench")
    return store, 1


def _valid(events: list[dict[str, Any]]) -> list[ValidEvent]:
    items = [validate_fields(event) for event in events]
    assert all(isinstance(item, ValidEvent) for item in items)
    return items  # type: ignore[return-value]


async def main(count: int, projects: int, batch: int) -> None:
    log = _valid(make_log(count, projects))
    with tempfile.TemporaryDirectory() as tmp:
        store, user = await _setup(Path(tmp) / "a.db")
        started = time.perf_counter()
        for start in range(0, len(log), 500):
            await store.push(user, log[start : start + 500])
        report("push", count, time.perf_counter() - started)

        holder = new_holder("bench")
        started = time.perf_counter()
        states = States()  # as the server's projector keeps them
        while (await project_batch(store, user, holder, batch=batch, states=states)).status == "more":
            pass
        report(f"projector (batches of {batch})", count, time.perf_counter() - started)

        started = time.perf_counter()
        outcome = await rebuild_user(store, user, holder)
        report(f"rebuild ({outcome.projects} projects)", count, time.perf_counter() - started)
        await store.engine.dispose()

        # As a server runs: one projector batch after each push. Worst case, a push of 50 events
        # spread over every project; usual case, a capture session of 10 events on one project.
        for name, size, events in (
            ("50 events over all projects", 50, log),
            ("10 events on one project", 10, _valid(make_log(count, projects, run=10))),
        ):
            store, user = await _setup(Path(tmp) / f"{size}.db")
            pushing = projecting = 0.0
            states = States()
            for start in range(0, len(events), size):
                mark = time.perf_counter()
                await store.push(user, events[start : start + size])
                pushing += time.perf_counter() - mark
                mark = time.perf_counter()
                await project_batch(store, user, holder, batch=batch, states=states)
                projecting += time.perf_counter() - mark
            report(f"push, {name}", count, pushing)
            report("projector, one batch per push", count, projecting)
            await store.engine.dispose()


def report(name: str, count: int, seconds: float) -> None:
    print(f"{name:<46} {count:>7,} events {seconds:8.2f} s {count / seconds:>10,.0f} events/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.projects, args.batch))
