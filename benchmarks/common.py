"""What every benchmark shares: results, sizes, realistic events, a real ``winledger serve`` process and
the raw ``sqlite3`` baseline table with exactly the server's event columns and indexes."""

from __future__ import annotations

import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from client_sdk import uuid7
from schema import add_hash, event_hash, format_timestamp
from server.database.tables import EVENT_INSERT_COLUMNS

EMPTY_DIGEST = "0" * 32


@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs: ``full`` as the issue asks, ``quick`` about a tenth, ``smoke`` tiny."""

    name: str
    runs: int
    batch: int
    batch_events: int
    batch_devices: int
    small_devices: int
    small_syncs: int
    log: int
    capture_runs: int
    memory_devices: int
    peer_events: int


SIZES = {
    "full": Sizes("full", 3, 1000, 100_000, 4, 100, 20, 1_000_000, 15, 1000, 100_000),
    "quick": Sizes("quick", 3, 1000, 10_000, 4, 100, 3, 100_000, 7, 100, 10_000),
    "smoke": Sizes("smoke", 1, 100, 400, 2, 5, 2, 2_000, 2, 5, 500),
}


@dataclass
class Result:
    name: str
    unit: str
    values: list[float]
    baseline_name: str
    baseline_values: list[float]
    higher_is_better: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def value(self) -> float:
        return statistics.median(self.values)

    @property
    def baseline_value(self) -> float:
        return statistics.median(self.baseline_values)

    @property
    def ratio(self) -> float:
        """How many times the baseline (>1 is better than the baseline, whichever way the unit goes)."""
        if not self.baseline_value or not self.value:
            return 0.0
        if self.higher_is_better:
            return self.value / self.baseline_value
        return self.baseline_value / self.value

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "value": round(self.value, 3),
            "baseline_name": self.baseline_name,
            "baseline_value": round(self.baseline_value, 3),
            "ratio": round(self.ratio, 3),
            "runs": len(self.values),
            "min": round(min(self.values), 3),
            "max": round(max(self.values), 3),
            "notes": self.notes,
        }


# Events -----------------------------------------------------------------------------------------

_WORDS = [
    "churn",
    "model",
    "shadow",
    "deploy",
    "recall",
    "precision",
    "holdout",
    "retention",
    "calibrated",
    "threshold",
    "weekly",
    "review",
    "stakeholder",
    "decision",
    "forecast",
    "latency",
    "production",
    "business",
    "lift",
    "revenue",
    "pipeline",
    "feature",
    "drift",
]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(words)).capitalize() + "."


def make_events(
    count: int, *, device: str | None = None, start_seq: int = 1, ids: str = "v7", seed: int = 7
) -> list[dict[str, Any]]:
    """Realistic events of about 600 bytes of JSON each: wins, metrics, milestones, feedback.

    ``ids="v7"`` mints ids as the client SDK does (time-ordered); ``"v4"`` as a foreign client might.
    """
    rng = random.Random(seed)
    device = device or uuid7()
    projects = [uuid7() for _ in range(8)]
    events = []
    clock = (time.time_ns() // 1_000_000) << 10
    for index in range(count):
        clock += rng.randint(1, 5000)
        project = rng.choice(projects)
        roll = rng.random()
        data: dict[str, Any]
        if roll < 0.45:
            kind = "win.captured"
            data = {
                "text": _text(rng, 40),
                "source": rng.choice(["text", "voice"]),
                "tags": ["retention", "q3"],
            }
        elif roll < 0.75:
            kind = "metric.observed"
            data = {
                "key": rng.choice(["recall_at_30d", "p99_latency_ms", "saved_rate"]),
                "label": "Churners caught thirty days ahead",
                "layer": rng.choice(["model", "production", "business"]),
                "value": round(0.5 + 0.4 * rng.random(), 4),
                "unit": "%",
                "baseline": 0.61,
                "low": 0.5,
                "high": 0.9,
                "note": _text(rng, 22),
            }
        elif roll < 0.88:
            kind = "feedback.received"
            data = {"quote": _text(rng, 30), "source_name": "Dana Whitfield", "decision": _text(rng, 10)}
        else:
            kind = "milestone.reached"
            data = {"milestone": rng.choice(["trained", "deployed", "adopted"]), "note": _text(rng, 30)}
        event_id = uuid7() if ids == "v7" else str(uuid.UUID(int=rng.getrandbits(128), version=4))
        events.append(
            {
                "id": event_id,
                "device_id": device,
                "device_seq": start_seq + index,
                "clock": clock,
                # Normalized, as the client SDK writes it: the clock's milliseconds.
                "occurred_at": format_timestamp(datetime.fromtimestamp((clock >> 10) / 1000, UTC)),
                "type": kind,
                "v": 1,
                "project_id": project,
                "data": data,
            }
        )
    return events


def stored_rows(
    user_id: int, events: list[dict[str, Any]], first_seq: int = 1
) -> tuple[list[tuple[Any, ...]], str]:
    """The rows the server stores for these events (same columns, same bytes), and their digest."""
    received = format_timestamp_now()
    rows = []
    digest = EMPTY_DIGEST
    for offset, event in enumerate(events):
        value = event_hash(event)
        digest = add_hash(digest, value)
        rows.append(
            (
                user_id,
                first_seq + offset,
                event["id"],
                event["device_id"],
                event["device_seq"],
                event["type"],
                event["v"],
                event["project_id"],
                event["clock"],
                msgspec.json.encode(event),
                format(value, "032x"),
                received,
            )
        )
    return rows, digest


def add_digests(digest: str, rows: list[tuple[Any, ...]]) -> str:
    """``digest`` with the hashes of these stored rows added (the hash is the row's eleventh column)."""
    for row in rows:
        digest = add_hash(digest, int(row[10], 16))
    return digest


def format_timestamp_now() -> str:
    return format_timestamp(datetime.now(UTC))


# The raw baseline -------------------------------------------------------------------------------


def raw_connection(path: Path) -> sqlite3.Connection:
    """A plain ``sqlite3`` connection with the server's durability: WAL, ``synchronous=FULL``."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    return connection


def create_raw_events_table(connection: sqlite3.Connection) -> None:
    """The server's ``events`` table and its indexes, as SQLAlchemy emits them for SQLite."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from server.database import tables as db

    dialect = sqlite.dialect()
    connection.execute(str(CreateTable(db.events).compile(dialect=dialect)))
    for index in db.events.indexes:
        connection.execute(str(CreateIndex(index).compile(dialect=dialect)))


ROW_COLUMNS = tuple(name for name in EVENT_INSERT_COLUMNS if name != "target")
"""The columns of a row of ``stored_rows``, in order (no benchmark event is a redaction: no ``target``)."""
INSERT = f"INSERT INTO events ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' * len(ROW_COLUMNS))})"


# A real server ----------------------------------------------------------------------------------


def winledger_command() -> list[str]:
    script = Path(sys.executable).with_name("winledger")
    return [str(script)] if script.exists() else [sys.executable, "-m", "client_sdk.cli"]


def create_users(db_url: str, names: list[str], *, migrate: bool = False) -> list[str]:
    """Users as ``admin create-user`` makes them (after ``admin migrate`` if ``migrate``), in this process:
    a CLI process per step would cost a second each, most of a ``--quick`` run."""
    import asyncio

    from server.accounts.auth import Accounts
    from server.database import migrate as migrations
    from server.database import tables as db
    from server.eventlog import event_store

    async def create() -> list[str]:
        engine = db.create_engine(db_url)
        try:
            await migrations.open_store(engine, db_url, migrate=migrate)
            accounts = Accounts(event_store(engine))
            return [await accounts.create_user(name) for name in names]
        finally:
            await engine.dispose()

    return asyncio.run(create())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url

    def peak_rss_mb(self) -> float:
        """The server's peak resident memory (VmHWM), in MiB: with workers, the sum over the supervisor
        and every worker (an upper bound of their peak together)."""
        total = 0.0
        for pid in process_tree(self.process.pid):
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
            except OSError:  # a worker that just exited
                continue
        return total


def process_tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            found.extend(process_tree(int(child)))
    return found


@contextmanager
def serve(db_url: str, log: Path, **env: str) -> Iterator[Served]:
    """``winledger serve`` on a free loopback port, until the block ends.

    On PostgreSQL with ``--workers`` as many as the machine has cores, as docs/deploy.md advises; SQLite
    serves from one process whatever is asked (one writer at a time).
    """
    port = free_port()
    workers = [] if db_url.startswith("sqlite") else ["--workers", str(os.cpu_count() or 1)]
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                *winledger_command(),
                "serve",
                "--db",
                db_url,
                "--port",
                str(port),
                "--log-level",
                "warning",
                *workers,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "WINLEDGER_MAX_INFLIGHT": "0", "WINLEDGER_MAX_WRITE_QUEUE": "0", **env},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"winledger serve exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("winledger serve did not answer in 30 s")
            time.sleep(0.05)
        yield Served(process, url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def json_body(value: Any) -> bytes:
    return msgspec.json.encode(value)
