"""A real ``winledger serve`` process on a loopback port, and the admin CLI run as a user would."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx


def winledger_command() -> list[str]:
    script = Path(sys.executable).with_name("winledger")
    return [str(script)] if script.exists() else [sys.executable, "-m", "client_sdk.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_cli(
    *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*winledger_command(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(f"winledger {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


class ServerProcess:
    """``winledger serve --db sqlite+aiosqlite:///<db_path> --port <free port>`` in a subprocess.

    ``db_url`` serves another database instead (its log still goes beside ``db_path``); ``args``
    are more ``serve`` options, such as ``--workers 3``.
    """

    def __init__(
        self,
        db_path: Path,
        *,
        db_url: str | None = None,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        log_level: str = "warning",
    ) -> None:
        self.db_path = db_path
        self.db_url = db_url or f"sqlite+aiosqlite:///{db_path}"
        self.args = list(args)
        self.env = env or {}
        self.log_level = log_level
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = db_path.with_suffix(".log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, same_port: bool = False) -> ServerProcess:
        """Start serving; ``same_port`` restarts on the port of the last run (clients keep their URL)."""
        if not (same_port and self.port):
            self.port = free_port()
        with self.log_path.open("ab") as log:
            command = [
                *winledger_command(),
                "serve",
                "--db",
                self.db_url,
                "--port",
                str(self.port),
                *self.args,
            ]
            self.process = subprocess.Popen(
                [*command, "--log-level", self.log_level],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env},
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"winledger serve exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError(f"winledger serve did not answer within 20 s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as in a crash or a power cut of the process."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def create_users(self, *names: str) -> list[str]:
        """Users made straight in the store, as the admin command does, without a process per user."""
        from server.accounts.auth import Accounts
        from server.database import migrate
        from server.database import tables as db
        from server.eventlog import event_store

        async def create() -> list[str]:
            engine = db.create_engine(self.db_url)
            try:
                await migrate.upgrade(engine)
                accounts = Accounts(event_store(engine))
                return [await accounts.create_user(name) for name in names]
            finally:
                await engine.dispose()

        return asyncio.run(create())

    def create_user(self, name: str, label: str | None = None) -> str:
        args = ["admin", "create-user", name, "--db", self.db_url]
        if label:
            args += ["--label", label]
        return run_cli(*args).stdout.strip().splitlines()[-1]
