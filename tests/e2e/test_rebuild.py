"""``winledger admin rebuild`` as an admin runs it: a real process beside a live ``winledger serve``
that keeps taking pushes, then ``--verify`` against the live read models."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from tests.factories import Device, new_id
from tests.support.process import ServerProcess, run_cli

pytestmark = pytest.mark.e2e


def log_of(device: Device, projects: list[str], count: int, start: int = 0) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for index in range(start, start + count):
        project = projects[index % len(projects)]
        if index < len(projects):
            events.append(
                device.event(
                    "project.started", project_id=project, data={"name": f"P{index}", "kind": "model"}
                )
            )
        elif index % 7 == 0:
            data = {"key": "auc", "layer": "model", "value": index / 10_000}
            events.append(device.event("metric.observed", project_id=project, data=data))
        elif index % 11 == 0 and events:
            events.append(device.event("event.retracted", data={"target": events[-1]["id"]}))
        else:
            events.append(device.event("win.captured", project_id=project if index % 5 else None))
    return events


class Pusher(threading.Thread):
    """Pushes small batches to the live server until stopped; remembers the last cursor."""

    def __init__(self, server: ServerProcess, token: str, device: Device, projects: list[str]) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.device, self.projects = device, projects
        self.stop = threading.Event()
        self.cursor = 0
        self.pushes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                events = log_of(self.device, self.projects, 20, start=10_000 + 20 * self.pushes)
                response = self.client.post("/v1/events", json={"events": events})
                response.raise_for_status()
                self.cursor = response.json()["cursor"]
                self.pushes += 1
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.client.close()


def test_rebuild_beside_a_live_server_taking_pushes_then_verify(live_server: ServerProcess) -> None:
    token = live_server.create_user("ada")
    device, projects = Device(), [new_id() for _ in range(8)]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=30) as client:
        log = log_of(device, projects, 3000)
        for start in range(0, len(log), 1000):
            client.post("/v1/events", json={"events": log[start : start + 1000]}).raise_for_status()

        pusher = Pusher(live_server, token, device, projects)
        pusher.start()
        try:
            rebuilt = run_cli("admin", "rebuild", "--db", live_server.db_url)
            while pusher.pushes < 3 and pusher.error is None and pusher.is_alive():
                time.sleep(0.01)
        finally:
            pusher.stop.set()
            pusher.join(30)
        assert pusher.error is None, pusher.error
        assert pusher.pushes >= 3
        assert "Rebuilt the read models of 1 user" in rebuilt.stdout
        assert "events/s" in rebuilt.stdout

        verified = run_cli("admin", "rebuild", "--verify", "--db", live_server.db_url, check=False)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "the live read models equal a rebuild from the log" in verified.stdout

        # The live server's projections caught up with every push, and it still serves them.
        listing = client.get("/v1/projects", params={"min_seq": pusher.cursor}).json()
        assert listing["as_of_seq"] == pusher.cursor
        assert {summary["id"] for summary in listing["projects"]} == set(projects)


def test_rebuild_of_an_unknown_user_fails_and_says_so(live_server: ServerProcess) -> None:
    result = run_cli("admin", "rebuild", "--user", "nobody", "--db", live_server.db_url, check=False)
    assert result.returncode == 1
    assert "No user named 'nobody'" in result.stderr
