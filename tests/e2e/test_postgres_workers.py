"""Several `winledger serve` processes on one PostgreSQL database: one user's log stays gap-free and
in commit order under concurrent pushes from many connections, a reader that pulls meanwhile misses
nothing, and the read models stay right when a worker is killed in the middle of the traffic."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.factories import Device, new_id
from tests.server.conftest import independent_digest
from tests.support.databases import PostgresDatabases
from tests.support.process import ServerProcess, run_cli

pytestmark = pytest.mark.e2e

WORKERS = 3
DEVICES = 40
PUSHES = 10_000
"""Push requests in all, each of 1 or 2 events, from ``DEVICES`` concurrent connections."""


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    url = postgres_databases.create()
    yield url
    postgres_databases.drop(url)


def workers_of(server: ServerProcess) -> list[int]:
    """The pids of the worker processes under ``winledger serve --workers``."""
    assert server.process is not None
    pid = server.process.pid
    children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    # multiprocessing's resource tracker is a child too; the workers are the spawned ones.
    return [child for child in children if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()]


async def hammer(url: str, token: str, kill: Any) -> tuple[dict[str, int], list[str], list[int], int]:
    """Push ``PUSHES`` requests from ``DEVICES`` devices while one reader pulls.

    Returns the acknowledged ids (with their seqs), what the reader found wrong, the seqs it read in
    order, and how many requests had to be retried (their connection was cut by the kill).
    """
    headers = {"Authorization": f"Bearer {token}"}
    json = {**headers, "Content-Type": "application/json"}
    acknowledged: dict[str, int] = {}
    problems: list[str] = []
    read: list[int] = []
    retried = 0
    pushes = iter(range(PUSHES))
    writing = True

    async def device(client: httpx.AsyncClient) -> None:
        nonlocal retried
        maker, project = Device(), new_id()  # each device works on a project of its own
        for index in pushes:
            kind = random.choice(["win.captured", "metric.observed", "feedback.received"])
            events = [maker.event(kind, project_id=project) for _ in range(random.randint(1, 2))]
            body = msgspec.json.encode({"events": events})
            while True:
                try:
                    response = await client.post("/v1/events", content=body, headers=json)
                except httpx.TransportError:
                    retried += 1  # the worker died under this request: the client sends it again
                    await asyncio.sleep(0.05)
                    continue
                if response.status_code == 503:
                    retried += 1
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")) / 10)
                    continue
                break
            assert response.status_code == 200, response.text
            for result in response.json()["results"]:
                assert result["status"] in ("accepted", "duplicate"), result
                assert result["id"] not in acknowledged or acknowledged[result["id"]] == result["seq"]
                acknowledged[result["id"]] = result["seq"]
            if index == PUSHES // 3:
                kill()

    async def reader(client: httpx.AsyncClient) -> None:
        after = 0
        while True:
            finished = not writing  # read before the request: the page then holds every push
            try:
                response = await client.get(
                    "/v1/events", params={"after": after, "limit": 97}, headers=headers
                )
            except httpx.TransportError:
                await asyncio.sleep(0.05)
                continue
            if response.status_code == 503:
                await asyncio.sleep(0.1)
                continue
            page = response.json()
            seqs = [event["seq"] for event in page["events"]]
            if seqs != list(range(after + 1, after + 1 + len(seqs))):
                problems.append(f"after {after}: got seqs {seqs[:5]}...")
            read.extend(seqs)
            after = page["cursor"]
            if finished and not page["more"]:
                return
            if not page["events"]:
                await asyncio.sleep(0.01)

    limits = httpx.Limits(max_connections=DEVICES + 1, max_keepalive_connections=DEVICES + 1)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        reading = asyncio.create_task(reader(client))
        try:
            await asyncio.gather(*(device(client) for _ in range(DEVICES)))
        except BaseException:
            reading.cancel()
            raise
        writing = False
        await reading
    return acknowledged, problems, read, retried


def test_ten_thousand_concurrent_pushes_through_several_workers_skip_and_duplicate_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    run_cli("admin", "migrate", "--db", postgres_url)
    token = run_cli("admin", "create-user", "ada", "--db", postgres_url).stdout.strip().splitlines()[-1]
    server = ServerProcess(
        tmp_path / "workers.db",
        db_url=postgres_url,
        args=["--workers", str(WORKERS)],
        env={"WINLEDGER_PROJECTOR_LEASE_S": "3", "WINLEDGER_PROJECTOR_POLL_S": "0.2"},
    ).start()
    killed: list[int] = []
    try:
        started = time.monotonic()
        workers = workers_of(server)
        assert len(workers) == WORKERS, workers

        def kill_a_worker() -> None:
            victim = random.Random(7).choice(workers)
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

        acknowledged, problems, read, retried = asyncio.run(hammer(server.url, token, kill_a_worker))
        elapsed = time.monotonic() - started

        # The reader, pulling while the pushes went on, saw every seq once and in order.
        assert problems == []
        assert read == list(range(1, len(read) + 1))
        # Every acknowledged event is stored exactly once, and nothing else is.
        with httpx.Client(base_url=server.url, timeout=60) as http:
            events: list[dict[str, Any]] = []
            after = 0
            while True:
                page = http.get(
                    "/v1/events",
                    params={"after": after, "limit": 5000},
                    headers={"Authorization": f"Bearer {token}"},
                ).json()
                events += page["events"]
                after = page["cursor"]
                if not page["more"]:
                    break
        ids = [event["id"] for event in events]
        assert len(ids) == len(set(ids)) == page["count"]
        assert set(ids) == set(acknowledged)
        assert {event["id"]: event["seq"] for event in events} == acknowledged
        assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
        assert len(read) == len(events)
        assert page["digest"] == independent_digest(events)
        # uvicorn replaced the killed worker.
        assert killed and killed[0] not in workers_of(server)
        assert len(workers_of(server)) == WORKERS
        print(
            f"{PUSHES} pushes ({len(events)} events) from {DEVICES} connections through {WORKERS} workers "
            f"in {elapsed:.1f} s, one worker killed, {retried} retried: 0 skipped, 0 duplicated"
        )

        # The read models equal a rebuild from the log, though a worker died holding its lease.
        verified = run_cli("admin", "rebuild", "--verify", "--db", postgres_url, check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "equal a rebuild from the log" in verified.stdout
    finally:
        server.stop()
    assert "Traceback" not in server.log_path.read_text()


def test_sqlite_serve_with_workers_explains_and_runs_one_process(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "one.db", args=["--workers", "4"]).start()
    try:
        assert workers_of(server) == []  # no supervisor: the process serves itself
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert "serving with 1 process, not 4" in log and "SQLite lets one process write" in log
