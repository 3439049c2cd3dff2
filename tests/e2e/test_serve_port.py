"""``winledger serve`` on a port already in use fails before it says it is serving (issue 15): one line
naming the port and ``--port``, exit status 1, no traceback, no database created."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.process import ServerProcess, run_cli

pytestmark = pytest.mark.e2e


def in_use(port: int) -> str:
    return (
        f"winledger: port {port} on 127.0.0.1 is already in use (another `winledger serve`?): stop what "
        "listens there, or choose another --port\n"
    )


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port some other program listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_serve_on_a_port_in_use_fails_before_serving(tmp_path: Path, taken_port: int) -> None:
    db = tmp_path / "server.db"
    result = run_cli("serve", "--db", f"sqlite+aiosqlite:///{db}", "--port", str(taken_port), check=False)
    assert result.returncode == 1
    assert result.stdout == ""  # never "winledger: serving ..."
    assert result.stderr == in_use(taken_port)
    assert not db.exists()


def test_a_second_serve_on_the_port_of_a_running_one_fails_and_leaves_it_serving(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "first.db").start()
    try:
        second = tmp_path / "second.db"
        result = run_cli(
            "serve", "--db", f"sqlite+aiosqlite:///{second}", "--port", str(first.port), check=False
        )
        assert (result.returncode, result.stdout, result.stderr) == (1, "", in_use(first.port))
        assert not second.exists()
        assert httpx.get(f"{first.url}/healthz", timeout=5).status_code == 200
    finally:
        first.stop()
