"""Crash safety: SIGKILL at random moments, the server's and the client SDK's.

The server test is a set test, as Jepsen runs them. Client threads push
batches of events with unique ids and pull, while the server is killed with
SIGKILL at seeded random moments and restarted. Each push is logged as
acknowledged (200), failed (refused, or never connected) or unknown (no
answer: the connection died with the server). The final full pull is then
checked: every acknowledged event present (lost = 0), none twice
(duplicated = 0), none that was never sent (unexpected = 0), and no batch
partly there (a request's events commit in one transaction). Unknown events
that turn out present are "recovered": reported, and allowed.

``WINLEDGER_CRASH_SEED`` picks another seed; the figures are printed (``-s`` or
``-rA``) and recorded as test properties (``--junitxml``).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from client_sdk import Client
from tests.factories import Device
from tests.server.conftest import independent_digest
from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e

SEED = int(os.environ.get("WINLEDGER_CRASH_SEED", "20260527"))
KILLS = 5
WORKERS = 4


@dataclass
class Push:
    ids: list[str]
    outcome: str  # acknowledged, failed or unknown


@dataclass
class History:
    pushes: list[Push] = field(default_factory=list)
    pulls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def log(self, push: Push) -> None:
        with self.lock:
            self.pushes.append(push)


def _client(server: ServerProcess, token: str, history: History, stop: threading.Event, seed: int) -> None:
    """One device: push a batch of 1-5 new events, pull what is new, again, until told to stop."""
    rng = random.Random(seed)
    device = Device()
    cursor = 0
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=5) as http:
        while not stop.is_set():
            batch = [device.event() for _ in range(rng.randint(1, 5))]
            ids = [event["id"] for event in batch]
            try:
                response = http.post("/v1/events", json={"events": batch})
            except httpx.ConnectError:
                history.log(Push(ids, "failed"))  # nothing was sent
                time.sleep(0.1)
                continue
            except httpx.TransportError:
                history.log(Push(ids, "unknown"))  # sent, and the answer died with the server
                continue
            if response.status_code == 200:
                statuses = [result["status"] for result in response.json()["results"]]
                assert statuses == ["accepted"] * len(batch), response.text
                history.log(Push(ids, "acknowledged"))
            else:
                assert response.status_code in (429, 503), response.text
                history.log(Push(ids, "failed"))
            try:
                page = http.get("/v1/events", params={"after": cursor, "limit": 1000})
            except httpx.TransportError:
                continue
            if page.status_code == 200:
                seqs = [event["seq"] for event in page.json()["events"]]
                assert seqs == list(range(cursor + 1, cursor + 1 + len(seqs))), "a pull skipped or repeated"
                cursor = page.json()["cursor"]
                with history.lock:
                    history.pulls += 1


def test_sigkill_at_random_moments_loses_no_acknowledged_event(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    rng = random.Random(SEED)
    server = ServerProcess(tmp_path / "crash.db")
    (token,) = server.create_users("ada")
    server.start()
    history, stop = History(), threading.Event()
    failures: list[BaseException] = []

    def run(seed: int) -> None:
        try:
            _client(server, token, history, stop, seed)
        except BaseException as exc:  # reported below
            failures.append(exc)

    clients = [threading.Thread(target=run, args=(rng.randrange(2**32),)) for _ in range(WORKERS)]
    started = time.monotonic()
    try:
        for thread in clients:
            thread.start()
        try:
            for _ in range(KILLS):
                time.sleep(rng.uniform(0.3, 1.2))
                server.kill()
                time.sleep(rng.uniform(0.0, 0.3))
                server.start(same_port=True)
            time.sleep(0.5)
        finally:
            stop.set()
            for thread in clients:
                thread.join(30)
        assert not failures, failures
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
            pulled, last = _pull_all(http)
    finally:
        server.stop()

    present = [event["id"] for event in pulled]
    present_set = set(present)
    sent = {event_id for push in history.pushes for event_id in push.ids}
    by_outcome = {
        outcome: {event_id for push in history.pushes if push.outcome == outcome for event_id in push.ids}
        for outcome in ("acknowledged", "failed", "unknown")
    }
    figures = {
        "seed": SEED,
        "kills": KILLS,
        "pushes": len(history.pushes),
        "pulls": history.pulls,
        "events_sent": len(sent),
        "acknowledged": len(by_outcome["acknowledged"]),
        "failed": len(by_outcome["failed"]),
        "unknown": len(by_outcome["unknown"]),
        "lost": len(by_outcome["acknowledged"] - present_set),
        "duplicated": len(present) - len(present_set),
        "unexpected": len(present_set - sent),
        "recovered": len(by_outcome["unknown"] & present_set),
        "failed_but_present": len(by_outcome["failed"] & present_set),
        "half_visible_batches": sum(
            1 for push in history.pushes if 0 < len(present_set.intersection(push.ids)) < len(push.ids)
        ),
        "seconds": round(time.monotonic() - started, 1),
    }
    for name, value in figures.items():
        record_property(name, value)
    print("crash test: " + ", ".join(f"{name} {value}" for name, value in figures.items()))

    assert len(sent) == sum(len(push.ids) for push in history.pushes), "an id was sent twice"
    assert figures["acknowledged"] > 0 and figures["pulls"] > 0
    assert (figures["lost"], figures["duplicated"], figures["unexpected"]) == (0, 0, 0), figures
    assert (figures["failed_but_present"], figures["half_visible_batches"]) == (0, 0), figures
    assert [event["seq"] for event in pulled] == list(range(1, len(pulled) + 1))
    assert last["count"] == len(pulled) and last["digest"] == independent_digest(pulled)


# -- the client SDK ---------------------------------------------------------------------------

_APPEND = """
import sys
from client_sdk import Client
client = Client(sys.argv[1])
for index in range(100000):
    event_id = client.capture(f"win {index}")
    print(event_id, flush=True)
"""

_SYNC = """
import sys
from client_sdk import Client
client = Client(sys.argv[1], server=sys.argv[2], token=sys.argv[3], batch_size=25, page_size=25)
print("syncing", flush=True)
client.sync()
print("synced", flush=True)
"""


def _spawn(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )


def test_a_client_killed_while_appending_or_syncing_loses_nothing(
    live_server: ServerProcess, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    rng = random.Random(SEED)
    (token,) = live_server.create_users("ada")
    path = str(tmp_path / "phone.db")

    # Killed while appending, at a random moment after the first 300 appends: every id it printed (its
    # append had returned) is in the store.
    appending = _spawn(_APPEND, path)
    assert appending.stdout is not None and appending.stderr is not None
    appended: list[str] = []
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        appended.append(appending.stdout.readline().strip())
        if deadline is None and len(appended) == 300:
            deadline = time.monotonic() + rng.uniform(0.0, 0.5)
    appending.send_signal(signal.SIGKILL)
    appending.wait()
    appended += appending.stdout.read().split()
    appending.stdout.close()
    appending.stderr.close()
    with Client(path) as reopened:
        held = {event.id for event in reopened.events()}
        assert set(appended) <= held and reopened.status().pending == len(held)

    # Killed mid-sync, several times: each run gets some batches in (the server's count grows), then dies
    # at a random moment of its sync.
    cut: list[int] = []
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(3):
            before = len(_server_ids(http))
            syncing = _spawn(_SYNC, path, live_server.url, token)
            assert syncing.stdout is not None and syncing.stderr is not None
            assert syncing.stdout.readline().strip() == "syncing"
            while syncing.poll() is None:
                if http.get("/v1/events", params={"after": before, "limit": 1}).json()["events"]:
                    time.sleep(rng.uniform(0.0, 0.2))
                    break
                time.sleep(0.01)
            syncing.send_signal(signal.SIGKILL)
            syncing.wait()
            syncing.stdout.close()
            syncing.stderr.close()
            cut.append(len(_server_ids(http)))
            if cut[-1] == len(held):
                break  # this run finished its sync before the kill: nothing left to cut

    with Client(path, server=live_server.url, token=token) as reopened:
        reopened.sync()
        assert reopened.status().pending == 0 and reopened.verify()
        held_ids = [event.id for event in reopened.events()]
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        on_server = _server_ids(http)
    assert set(appended) <= set(on_server) and len(on_server) == len(set(on_server)) == len(held_ids)
    print(
        f"client crash test: {len(appended)} appends acknowledged locally before the kill, "
        f"{len(held)} in the store; the server held {cut} after each mid-sync kill, then {len(on_server)}"
    )
    record_property("client_appended", len(held))
    record_property("client_server_counts_at_kills", cut)
    assert any(0 < count < len(held) for count in cut), f"no kill landed mid-sync: {cut}"


def _pull_all(http: httpx.Client) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every event of the user, and the last page (with ``count`` and ``digest``)."""
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = http.get("/v1/events", params={"after": after, "limit": 5000}).json()
        events += page["events"]
        after = page["cursor"]
        if not page["more"]:
            return events, page


def _server_ids(http: httpx.Client) -> list[str]:
    return [event["id"] for event in _pull_all(http)[0]]
