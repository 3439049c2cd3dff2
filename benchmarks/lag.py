"""How soon the read models follow the log, measured from outside as a user sees it.

- ``projector_lag``: under the push_small load (``small_devices`` devices syncing 1-5 events at a time),
  one device in ten reads its writes after each sync: ``GET /v1/projects?min_seq=S``, where ``S`` is the
  highest ``seq`` the sync's answer gave its events (protocol section 12.1), repeated until ``as_of_seq``
  reaches ``S``. The lag is from the sync's answer (its commit came just before) to that read's answer.
- ``projector_recovery``: the same load, every process of the server SIGKILLed in the middle of it, then
  ``winledger serve`` started again on the same database; the time from the kill until every user's
  ``min_seq`` read, with ``min_seq`` the last seq the server acknowledged to that user, is answered 200
  and caught up (``as_of_seq`` at least that seq). Its notes say how much of it the restart itself took.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import statistics
import time
from pathlib import Path

import msgspec

from benchmarks.backends import Backend
from benchmarks.common import Result, Sizes, create_users, json_body, make_events, process_tree, serve
from benchmarks.loadgen import Connection

PROBE_EVERY = 10
"""One device in this many reads its writes after each sync (the others only sync)."""
LAG_TARGET_MS = 1000.0
RECOVERY_TARGET_S = 5.0
DEVICE_SYNCS = 60
"""Most syncs of a device before the kill (about three times what one makes in the warm-up)."""
GIVE_UP_S = 120.0
"""A read model that has not caught up after this long fails the benchmark instead of hanging it."""


class _Result(msgspec.Struct):
    status: str
    seq: int | None = None


class _Sync(msgspec.Struct):
    results: list[_Result]
    cursor: int


class _Standing(msgspec.Struct):
    as_of_seq: int


_decode_sync = msgspec.json.Decoder(_Sync).decode
_decode_standing = msgspec.json.Decoder(_Standing).decode


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def _sync(connection: Connection, events: list[dict[str, object]], after: int) -> tuple[int, int]:
    """One sync of ``events`` from cursor ``after``: the new cursor and the highest seq of the events."""
    response = await connection.post("/v1/sync", json_body({"events": events, "after": after, "limit": 100}))
    assert response.status == 200, response.text
    answer = _decode_sync(response.body)
    seqs = [result.seq for result in answer.results if result.seq is not None]
    assert len(seqs) == len(events), answer.results
    return answer.cursor, max(seqs)


async def read_your_writes(connection: Connection, min_seq: int) -> None:
    """Ask ``/v1/projects`` with ``min_seq`` until its answer reflects ``min_seq``."""
    deadline = time.monotonic() + GIVE_UP_S
    while True:
        response = await connection.get("/v1/projects", {"min_seq": min_seq})
        if response.status == 200 and _decode_standing(response.body).as_of_seq >= min_seq:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the read models did not reach seq {min_seq} in {GIVE_UP_S:.0f} s")
        if response.status != 200:
            await asyncio.sleep(0.05)  # a 503 while the models are rebuilt: ask again


# projector_lag -----------------------------------------------------------------------------------


async def warm_up(url: str, tokens: list[str]) -> None:
    """One sync per user and its read, before the measured load: then the projector process has
    started and made its first rounds (the first second after a start is ``projector_recovery``'s)."""

    async def user(token: str, seed: int) -> None:
        async with Connection(url, token) as connection:
            _, seq = await _sync(connection, make_events(1, seed=seed), 0)
            await read_your_writes(connection, seq)

    await asyncio.gather(*(user(token, 9000 + index) for index, token in enumerate(tokens)))


async def _lag_load(url: str, tokens: list[str], devices: int, syncs: int) -> list[float]:
    lags: list[float] = []
    await warm_up(url, tokens)

    made = [make_events(5 * syncs, seed=1000 + index) for index in range(devices)]  # before the load

    async def device(connection: Connection, index: int) -> None:
        # One device in PROBE_EVERY, spread over the users (device i is user i modulo their number):
        # 0, 11, 22, ... rather than 0, 10, 20, ..., which would all be two users of twenty.
        probe = index % PROBE_EVERY == (index // PROBE_EVERY) % PROBE_EVERY
        rng = random.Random(index)
        events = made[index]
        sent = after = 0
        for _ in range(syncs):
            count = rng.randint(1, 5)
            after, seq = await _sync(connection, events[sent : sent + count], after)
            sent += count
            if probe:
                answered = time.perf_counter()
                await read_your_writes(connection, seq)
                lags.append((time.perf_counter() - answered) * 1000)

    async with contextlib.AsyncExitStack() as stack:
        connections = [
            await stack.enter_async_context(Connection(url, tokens[i % len(tokens)])) for i in range(devices)
        ]
        await asyncio.gather(*(device(connection, i) for i, connection in enumerate(connections)))
    return lags


def projector_lag(sizes: Sizes, folder: Path, backend: Backend) -> Result:
    syncs = max(10, sizes.small_syncs)  # enough reads for a p99
    p50: list[float] = []
    p99: list[float] = []
    users = max(1, sizes.small_devices // 5)
    samples = 0
    for _ in range(sizes.runs):
        url, first = backend.fresh_store("lag")
        tokens = [first, *create_users(url, [f"bench-{i}" for i in range(1, users)])]
        with serve(url, folder / "server.log") as server:
            lags = asyncio.run(_lag_load(server.url, tokens, sizes.small_devices, syncs))
        samples += len(lags)
        p50.append(statistics.median(lags))
        p99.append(_percentile(lags, 0.99))
    note = (
        f"{sizes.small_devices} devices x {syncs} syncs of 1-5 events, {users} users, after one sync and "
        f"read per user to warm up; one device in "
        f"{PROBE_EVERY} reads /v1/projects?min_seq=<its seq> after each sync ({samples} reads in all): "
        f"from the sync's answer to the caught-up read, p50 {statistics.median(p50):.0f} ms, "
        f"p99 {statistics.median(p99):.0f} ms (each run's p99: {', '.join(f'{v:.0f}' for v in p99)})"
    )
    return Result(
        "projector_lag",
        "ms",
        p99,
        f"target: {LAG_TARGET_MS:,.0f} ms",
        [LAG_TARGET_MS],
        higher_is_better=False,
        notes=[note],
    )


# projector_recovery ------------------------------------------------------------------------------


def kill_server(pid: int) -> None:
    """SIGKILL every process of the server: stopped first, all of them, so that none sees another die
    (a projector told of its parent's death would release its leases, which a crash never does)."""
    pids = process_tree(pid)
    for each in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(each, signal.SIGSTOP)
    pids = sorted(set(pids) | set(process_tree(pid)))  # any child started meanwhile
    for each in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(each, signal.SIGKILL)


async def _load_until_killed(
    url: str, tokens: list[str], devices: int, pid: int, warm_s: float
) -> tuple[dict[str, int], float, int]:
    """Devices sync until the server is killed after ``warm_s``: the last seq acknowledged to each user,
    the moment of the kill (``perf_counter``) and the syncs answered."""
    acked: dict[str, int] = {}
    answered = 0
    killed = asyncio.Event()

    async def device(connection: Connection, token: str, index: int, events: list[dict[str, object]]) -> None:
        nonlocal answered
        rng = random.Random(index)
        sent = after = 0
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            while not killed.is_set() and sent + 5 <= len(events):
                count = rng.randint(1, 5)
                after, seq = await _sync(connection, events[sent : sent + count], after)
                sent += count
                answered += 1
                acked[token] = max(acked.get(token, 0), seq)

    async with contextlib.AsyncExitStack() as stack:
        connections = [
            await stack.enter_async_context(Connection(url, tokens[i % len(tokens)])) for i in range(devices)
        ]
        # Made before the load starts: making them is CPU work the server would not see as load.
        events = [make_events(5 * DEVICE_SYNCS, seed=2000 + i) for i in range(devices)]
        tasks = [
            asyncio.ensure_future(device(connection, tokens[i % len(tokens)], i, events[i]))
            for i, connection in enumerate(connections)
        ]
        await asyncio.sleep(warm_s)
        kill_server(pid)
        killed_at = time.perf_counter()
        killed.set()
        await asyncio.gather(*tasks)
    return acked, killed_at, answered


async def _caught_up(url: str, acked: dict[str, int]) -> None:
    async def user(token: str, seq: int) -> None:
        async with Connection(url, token) as connection:
            await read_your_writes(connection, seq)

    await asyncio.gather(*(user(token, seq) for token, seq in acked.items()))


def projector_recovery(sizes: Sizes, folder: Path, backend: Backend) -> Result:
    from_kill: list[float] = []
    from_restart: list[float] = []
    startup: list[float] = []
    users = max(1, sizes.small_devices // 5)
    warm_s = 0.5 if sizes.name == "smoke" else 2.0
    syncs = 0
    for _ in range(sizes.runs):
        url, first = backend.fresh_store("recovery")
        tokens = [first, *create_users(url, [f"bench-{i}" for i in range(1, users)])]
        with serve(url, folder / "server.log") as server:
            acked, killed_at, answered = asyncio.run(
                _load_until_killed(server.url, tokens, sizes.small_devices, server.process.pid, warm_s)
            )
        syncs += answered
        restarted_at = time.perf_counter()
        with serve(url, folder / "server.log") as again:
            up_at = time.perf_counter()
            asyncio.run(_caught_up(again.url, acked))
            done_at = time.perf_counter()
        from_kill.append(done_at - killed_at)
        from_restart.append(done_at - restarted_at)
        startup.append(up_at - restarted_at)
    note = (
        f"{sizes.small_devices} devices syncing 1-5 events ({users} users, {syncs} syncs answered before the "
        f"kills), SIGKILL of every server process after {warm_s:.1f} s, `winledger serve` restarted on the "
        f"same database: from the kill {statistics.median(from_kill):.2f} s "
        f"({', '.join(f'{v:.2f}' for v in from_kill)}), from the restart "
        f"{statistics.median(from_restart):.2f} s, of which {statistics.median(startup):.2f} s until "
        "/healthz answered; until every user's /v1/projects?min_seq=<last acknowledged seq> is caught up"
    )
    return Result(
        "projector_recovery",
        "s",
        from_kill,
        f"target: {RECOVERY_TARGET_S:.0f} s",
        [RECOVERY_TARGET_S],
        higher_is_better=False,
        notes=[note],
    )
