"""The benchmarks of ``python -m benchmarks``: each one beside its baseline, in the same run, interleaved."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from benchmarks.backends import Backend, Log
from benchmarks.common import (
    Result,
    Sizes,
    create_users,
    json_body,
    make_events,
    raw_connection,
    serve,
    stored_rows,
    winledger_command,
)
from benchmarks.loadgen import Connection

_decode = msgspec.json.Decoder().decode


class _Page(msgspec.Struct):
    """What the load generator needs of a pull page: the events stay raw, as the raw baseline's rows do
    (a device decodes them as it stores them; that is the device's cost, not the server's)."""

    events: list[msgspec.Raw]
    cursor: int
    more: bool


_decode_page = msgspec.json.Decoder(_Page).decode


# 1. push_batch ----------------------------------------------------------------------------------


async def _push_batches(url: str, token: str, per_device: list[list[dict[str, Any]]], batch: int) -> float:
    bodies = [
        [json_body({"events": events[start : start + batch]}) for start in range(0, len(events), batch)]
        for events in per_device
    ]

    async def device(connection: Connection, requests: list[bytes]) -> None:
        for body in requests:
            response = await connection.post("/v1/events", body)
            assert response.status == 200, response.text
            statuses = {r["status"] for r in _decode(response.body)["results"]}
            assert statuses == {"accepted"}, statuses

    async with contextlib.AsyncExitStack() as stack:
        connections = [await stack.enter_async_context(Connection(url, token)) for _ in bodies]
        started = time.perf_counter()
        await asyncio.gather(*(device(c, requests) for c, requests in zip(connections, bodies, strict=True)))
        return time.perf_counter() - started


def push_batch(sizes: Sizes, folder: Path, backend: Backend, ids: str) -> Result:
    total = sizes.batch_events
    per = total // sizes.batch_devices
    ours: list[float] = []
    raw: list[float] = []
    for run in range(sizes.runs):
        per_device = [make_events(per, ids=ids, seed=run * 100 + d) for d in range(sizes.batch_devices)]
        url, token = backend.fresh_store(f"push-{ids}")
        with serve(url, folder / "server.log") as server:
            seconds = asyncio.run(_push_batches(server.url, token, per_device, sizes.batch))
        ours.append(total / seconds)

        baseline = backend.raw(f"push-{ids}")
        rows, _ = stored_rows(1, [event for events in per_device for event in events])
        raw.append(total / baseline.insert_batches(rows, sizes.batch))
        baseline.close()
    label = "UUIDv7 ids, as the client SDK mints" if ids == "v7" else "UUIDv4 ids, a foreign client"
    return Result(
        f"push_batch ({ids})",
        "events/s",
        ours,
        f"{backend.baseline} executemany, same rows, indexes, {backend.durability}",
        raw,
        notes=[f"{sizes.batch_devices} devices, batches of {sizes.batch}, {label}, projector running"],
    )


# 2. push_small ----------------------------------------------------------------------------------


async def _small_syncs(url: str, tokens: list[str], sizes: Sizes) -> tuple[float, int, list[float]]:
    latencies: list[float] = []
    events_sent = 0

    async def device(connection: Connection, seed: int) -> None:
        nonlocal events_sent
        rng = random.Random(seed)
        events = make_events(5 * sizes.small_syncs, seed=seed)
        sent = 0
        after = 0
        for _ in range(sizes.small_syncs):
            count = rng.randint(1, 5)
            body = json_body({"events": events[sent : sent + count], "after": after, "limit": 100})
            started = time.perf_counter()
            response = await connection.post("/v1/sync", body)
            latencies.append(time.perf_counter() - started)
            assert response.status == 200, response.text
            after = _decode(response.body)["cursor"]
            sent += count
            events_sent += count

    async with contextlib.AsyncExitStack() as stack:
        connections = [
            await stack.enter_async_context(Connection(url, tokens[i % len(tokens)]))
            for i in range(sizes.small_devices)
        ]
        started = time.perf_counter()
        await asyncio.gather(*(device(connection, i) for i, connection in enumerate(connections)))
        return time.perf_counter() - started, events_sent, latencies


def push_small(sizes: Sizes, folder: Path, backend: Backend) -> list[Result]:
    syncs = sizes.small_devices * sizes.small_syncs
    ours_syncs: list[float] = []
    ours_events: list[float] = []
    raw_syncs: list[float] = []
    raw_events: list[float] = []
    p50: list[float] = []
    p99: list[float] = []
    users = max(1, sizes.small_devices // 5)
    for run in range(sizes.runs):
        url, first = backend.fresh_store("small")
        tokens = [first, *create_users(url, [f"bench-{i}" for i in range(1, users)])]
        with serve(url, folder / "server.log") as server:
            seconds, sent, latencies = asyncio.run(_small_syncs(server.url, tokens, sizes))
        ours_syncs.append(syncs / seconds)
        ours_events.append(sent / seconds)
        latencies.sort()
        p50.append(statistics.median(latencies) * 1000)
        p99.append(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000)

        raw_table = backend.raw("small")
        rng = random.Random(run)
        requests = [rng.randint(1, 5) for _ in range(syncs)]
        rows, _ = stored_rows(1, make_events(sum(requests), seed=run))
        elapsed = raw_table.insert_requests(rows, requests)
        raw_syncs.append(syncs / elapsed)
        raw_events.append(len(rows) / elapsed)
        raw_table.close()
    note = (
        f"{sizes.small_devices} concurrent devices x {sizes.small_syncs} syncs of 1-5 events; "
        f"latency p50 {statistics.median(p50):.1f} ms, p99 {statistics.median(p99):.1f} ms"
    )
    baseline = f"{backend.baseline}, one transaction per request, {backend.durability}"
    return [
        Result("push_small", "syncs/s", ours_syncs, baseline, raw_syncs, notes=[note]),
        Result("push_small events", "events/s", ours_events, baseline, raw_events),
        Result("push_small p99", "ms", p99, "target: 100 ms", [100.0], higher_is_better=False),
    ]


# The big log, shared by pull_catchup, rebuild and memory --------------------------------------------


def _timed_process(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of a command run to its end.

    The peak is the process's own ``VmHWM``, read every 10 ms until it exits, not ``wait4``'s
    ``ru_maxrss``: Linux counts in that the resident size of the process before ``exec`` replaced it,
    which is this benchmark process's (about 500 MiB after seeding a 1,000,000-event log).
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status_file = Path(f"/proc/{process.pid}/status")
    peak_kib = 0
    while process.poll() is None:
        try:
            for line in status_file.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kib = max(peak_kib, int(line.split()[1]))
        except (OSError, ValueError, IndexError):  # exiting: its last reading stands
            pass
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}")
    return elapsed, peak_kib / 1024


def rebuild(sizes: Sizes, backend: Backend, log: Log) -> list[Result]:
    ours: list[float] = []
    raw: list[float] = []
    memory: list[float] = []
    for _ in range(sizes.runs):
        seconds, peak = _timed_process([*winledger_command(), "admin", "rebuild", "--db", log.url])
        ours.append(sizes.log / seconds)
        memory.append(peak)
        raw.append(sizes.log / log.read_all())
    return [
        Result(
            "rebuild",
            "events/s",
            ours,
            f"{backend.baseline} read of the same events",
            raw,
            notes=[
                f"`winledger admin rebuild` of {sizes.log:,} events, whole command (process start included)"
            ],
        ),
        Result("rebuild peak memory", "MiB", memory, "target: 300 MiB", [300.0], higher_is_better=False),
    ]


# 3. pull_catchup --------------------------------------------------------------------------------


async def _pull_all(url: str, token: str, limit: int) -> tuple[float, int]:
    count = 0
    after = 0
    async with Connection(url, token) as connection:
        started = time.perf_counter()
        while True:
            response = await connection.get("/v1/events", {"after": after, "limit": limit})
            assert response.status == 200, response.text
            page = _decode_page(response.body)
            count += len(page.events)
            after = page.cursor
            if not page.more:
                return time.perf_counter() - started, count


def pull_catchup(sizes: Sizes, folder: Path, backend: Backend, log: Log) -> Result:
    from schema.protocol import MAX_PAGE

    ours: list[float] = []
    raw: list[float] = []
    with serve(log.url, folder / "server.log") as server:
        for _ in range(sizes.runs):
            seconds, count = asyncio.run(_pull_all(server.url, log.token, MAX_PAGE))
            assert count == sizes.log, count
            ours.append(count / seconds)
            raw.append(sizes.log / log.read_pages(MAX_PAGE))
    return Result(
        "pull_catchup",
        "events/s",
        ours,
        f"{backend.baseline} paging seq > ? through the same table",
        raw,
        notes=[f"a new device pulls {sizes.log:,} events, {MAX_PAGE} a page"],
    )


# 7. memory --------------------------------------------------------------------------------------


async def _many_devices(url: str, token: str, devices: int, head: int) -> None:

    async def device(index: int) -> None:
        events = make_events(2, seed=10_000 + index)
        after = max(0, head - 50)  # a device that was in sync a little while ago
        async with Connection(url, token) as connection:
            for _ in range(2):
                body = json_body({"events": events, "after": after, "limit": 500})
                response = await connection.post("/v1/sync", body)
                assert response.status == 200, response.text
                after = _decode(response.body)["cursor"]

    await asyncio.gather(*(device(i) for i in range(devices)))


def memory(sizes: Sizes, folder: Path, url: str, token: str) -> Result:
    peaks: list[float] = []
    idle: list[float] = []
    for _ in range(sizes.runs):
        with serve(url, folder / "server.log", WINLEDGER_PROJECTOR_POLL_S="0.5") as server:
            time.sleep(0.5)
            idle.append(server.peak_rss_mb())
            asyncio.run(_many_devices(server.url, token, sizes.memory_devices, sizes.log))
            peaks.append(server.peak_rss_mb())
    return Result(
        "memory",
        "MiB",
        peaks,
        "the same server idle (peak RSS before the load)",
        idle,
        higher_is_better=False,
        notes=[
            f"server peak RSS while {sizes.memory_devices} devices sync against {sizes.log:,} events; "
            "target 300"
        ],
    )


# 6. capture_cli ---------------------------------------------------------------------------------


def capture_cli(sizes: Sizes, folder: Path) -> list[Result]:
    from client_sdk import Client

    store = folder / "journal.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    with Client(store) as journal:
        project = journal.start_project("Churn early warning", "model")
        for index in range(2000):
            journal.capture(f"win number {index}", project=project if index % 2 else None)
    env = {
        **os.environ,
        "WINLEDGER_STORE": str(store),
        "XDG_CONFIG_HOME": str(folder),
        "WINLEDGER_SERVER": "",
    }
    win = [*winledger_command(), "win", "Shipped the churn model"]
    baseline = [sys.executable, "-c", "pass"]

    def timed(command: list[str]) -> float:
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        return (time.perf_counter() - started) * 1000

    timed(win)
    ours: list[float] = []
    base: list[float] = []
    for _ in range(sizes.capture_runs):
        ours.append(timed(win))
        base.append(timed(baseline))

    appends: list[float] = []
    raw_appends: list[float] = []
    connection = raw_connection(folder / "append.raw.db")
    connection.execute("CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, body BLOB) WITHOUT ROWID")
    with Client(store) as journal:
        for index in range(max(20, sizes.capture_runs * 10)):
            started = time.perf_counter()
            journal.capture(f"appended win {index}")
            appends.append((time.perf_counter() - started) * 1000)
            event = make_events(1, seed=index)[0]
            started = time.perf_counter()
            connection.execute("INSERT INTO events VALUES (?, ?)", (event["id"], json_body(event)))
            raw_appends.append((time.perf_counter() - started) * 1000)
    connection.close()
    appends.sort()
    cli_p99 = sorted(ours)[min(len(ours) - 1, int(len(ours) * 0.99))]
    return [
        Result(
            "capture_cli",
            "ms",
            ours,
            "python -c pass (the interpreter's start)",
            base,
            higher_is_better=False,
            notes=[f"`winledger win` offline, p99 {cli_p99:.0f} ms"],
        ),
        Result(
            "sdk_append",
            "ms",
            appends,
            "sqlite3 insert + commit of one row, WAL+FULL",
            raw_appends,
            higher_is_better=False,
            notes=[f"Client.capture, p99 {appends[min(len(appends) - 1, int(len(appends) * 0.99))]:.2f} ms"],
        ),
    ]


# 5. peer_eventsourcing --------------------------------------------------------------------------


def peer_eventsourcing(sizes: Sizes, folder: Path, backend: Backend) -> list[Result]:
    try:
        import eventsourcing  # noqa: F401
    except ImportError:
        return []
    from benchmarks.peer import eventsourcing_round

    count = sizes.peer_events
    ours_push: list[float] = []
    ours_pull: list[float] = []
    peer_save: list[float] = []
    peer_read: list[float] = []
    for run in range(sizes.runs):
        events = make_events(count, seed=run)
        url, token = backend.fresh_store("peer")
        with serve(url, folder / "server.log") as server:
            seconds = asyncio.run(_push_batches(server.url, token, [events], 1000))
            ours_push.append(count / seconds)
            seconds, pulled = asyncio.run(_pull_all(server.url, token, 1000))
            ours_pull.append(pulled / seconds)
        save, read = eventsourcing_round(folder / "peer.es.db", events)
        peer_save.append(count / save)
        peer_read.append(count / read)
    return [
        Result(
            "peer append",
            "events/s",
            ours_push,
            "eventsourcing Application.save(), 1,000 events a save",
            peer_save,
            notes=["ours: POST /v1/events over HTTP, batches of 1,000"],
        ),
        Result(
            "peer read",
            "events/s",
            ours_pull,
            "eventsourcing select_notifications + to_domain_event",
            peer_read,
            notes=["ours: GET /v1/events over HTTP, pages of 1,000"],
        ),
    ]
