"""The turn to write a SQLite file among processes (``server.eventlog.direct.WriteTurn``): one holder at a
time, a waiter woken as soon as it is given back, and a waiter that gives up never keeps it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from server.eventlog.direct import WriteTurn


def test_a_second_process_waits_for_the_turn_until_it_is_given_back(tmp_path: Path) -> None:
    path = str(tmp_path / "log.db")
    mine = WriteTurn(path)
    mine.take()
    waiter = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from server.eventlog.direct import WriteTurn; "
            "t = WriteTurn(sys.argv[1]); t.take(); print(time.time(), flush=True); t.give()",
            path,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    assert waiter.poll() is None  # still waiting for the turn
    given = time.time()
    mine.give()
    out, _ = waiter.communicate(timeout=10)
    assert given <= float(out) < given + 0.5  # woken at once, not after a polling delay
    mine.close()


def test_a_waiter_that_is_cancelled_does_not_keep_the_turn(tmp_path: Path) -> None:
    path = str(tmp_path / "log.db")

    async def scenario() -> None:
        first, second, third = WriteTurn(path), WriteTurn(path), WriteTurn(path)
        await first.take_async()
        waiting = asyncio.create_task(second.take_async())
        await asyncio.sleep(0.2)
        assert not waiting.done()
        waiting.cancel()
        await asyncio.sleep(0.05)
        first.give()  # the cancelled waiter's thread takes it, then gives it back
        await asyncio.wait_for(third.take_async(), 5)
        third.give()
        for turn in (first, second, third):
            turn.close()

    asyncio.run(scenario())
