"""`winledger serve` folds read models in a process of its own: read models follow pushes, a projector
that dies is replaced, and one whose server is killed does not outlive it."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.factories import Device
from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _projectors(pid: int) -> list[int]:
    def command(child: int) -> bytes:
        try:
            return Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            return b""

    return [child for child in _children(pid) if b"server.projections.process" in command(child)]


def _environment(pid: int) -> dict[str, str]:
    pairs = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
    return dict(pair.split("=", 1) for pair in pairs if "=" in pair)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status  # a zombie has exited: only its parent has not reaped it yet


def _wait(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout} s")


def _push_and_read(server: ServerProcess, token: str, device: Device, count: int) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"}
    pushed = httpx.post(f"{server.url}/v1/events", json={"events": device.events(count)}, headers=headers)
    assert pushed.status_code == 200, pushed.text
    cursor = pushed.json()["cursor"]
    answer = httpx.get(f"{server.url}/v1/projects", params={"min_seq": cursor}, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    assert body["as_of_seq"] == cursor, body  # the models include every event pushed
    return body


def test_the_projector_runs_beside_the_server_is_replaced_when_it_dies_and_ends_with_it(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "server.db").start()
    try:
        assert server.process is not None
        token = server.create_user("dana")
        device = Device()
        _wait(lambda: len(_projectors(server.process.pid)) == 1)
        (first,) = _projectors(server.process.pid)
        # It looks for work every 50 ms, not every WINLEDGER_PROJECTOR_POLL_S default (1 s), which is
        # for an inline projector that pushes wake up.
        assert _environment(first)["WINLEDGER_PROJECTOR_POLL_S"] == "0.05"
        _push_and_read(server, token, device, 3)

        os.kill(first, signal.SIGKILL)  # a crashed projector: pushes go on, and it is replaced
        pushed = httpx.post(
            f"{server.url}/v1/events",
            json={"events": device.events(2)},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert pushed.status_code == 200
        _wait(lambda: [p for p in _projectors(server.process.pid) if p != first])
        _push_and_read(server, token, device, 1)
        assert "the projector process exited" in server.log_path.read_text()

        (second,) = _projectors(server.process.pid)
        server.kill()  # SIGKILL: no shutdown runs in the server
        _wait(lambda: not _alive(second), timeout=5)
    finally:
        server.stop()


def test_a_poll_interval_that_is_set_reaches_the_projector_process(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server.db", env={"WINLEDGER_PROJECTOR_POLL_S": "0.3"}).start()
    try:
        assert server.process is not None
        _wait(lambda: len(_projectors(server.process.pid)) == 1)
        (projector,) = _projectors(server.process.pid)
        assert _environment(projector)["WINLEDGER_PROJECTOR_POLL_S"] == "0.3"
        _push_and_read(server, server.create_user("dana"), Device(), 2)
    finally:
        server.stop()


def test_inline_projects_in_the_server_process_and_starts_no_other(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server.db", args=["--projector", "inline"]).start()
    try:
        assert server.process is not None
        token = server.create_user("dana")
        _push_and_read(server, token, Device(), 3)
        assert _projectors(server.process.pid) == []
    finally:
        server.stop()
