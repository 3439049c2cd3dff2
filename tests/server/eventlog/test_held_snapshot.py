"""A read transaction held across awaits (``DirectReads.snapshot``): a caller cancelled while its statement
runs on a reader thread leaves it to finish there before the snapshot ends, on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from server.eventlog.direct import DirectReads


def test_a_cancelled_read_finishes_before_its_snapshot_ends(tmp_path: Path) -> None:
    path = tmp_path / "held.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x)")
        setup.execute("INSERT INTO t VALUES (1)")
    order: list[str] = []
    started = threading.Event()

    def slow(connection: sqlite3.Connection) -> int:
        started.set()
        time.sleep(0.3)
        value = connection.execute("SELECT x FROM t").fetchone()[0]
        order.append("read")
        return int(value)

    def still_open(connection: sqlite3.Connection) -> bool:
        return connection.in_transaction

    def value(connection: sqlite3.Connection) -> int:
        return int(connection.execute("SELECT x FROM t").fetchone()[0])

    async def main() -> None:
        reads = DirectReads(str(path))
        try:
            async with reads.snapshot() as held:
                task = asyncio.ensure_future(held.run(slow))
                await asyncio.to_thread(started.wait, 5)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                assert task.cancelled()
            order.append("ended")
            # The connection went back to the pool with no transaction open, and serves the next snapshot.
            async with reads.snapshot() as held:
                assert await held.run(still_open)
                assert await held.run(value) == 1
        finally:
            reads.close()

    asyncio.run(main())
    assert order == ["read", "ended"], "the snapshot ended only once its statement had finished"
