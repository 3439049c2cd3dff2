"""Make the legacy-schema fixtures of ``test_migrations.py`` with an old release's own code.

    git worktree add /tmp/v1 6a41664      # schema version 1: users, tokens, events
    python tests/server/legacy/make_dumps.py /tmp/v1 1
    git worktree add /tmp/v2 3eae6aa      # schema version 2: + read models (before Alembic)
    python tests/server/legacy/make_dumps.py /tmp/v2 2

The old checkout's ``winledger`` creates the database (SQLite and PostgreSQL, the latter on
``WINLEDGER_TEST_POSTGRES_URL``), makes two users and serves it; this script pushes the same
events as each user through its HTTP API, then dumps each database as SQL beside this file, with
the users' tokens and events in ``v<N>.json``. Nothing of the current code touches the databases.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.factories import Device, new_id  # noqa: E402
from tests.support.databases import PostgresDatabases, postgres_url  # noqa: E402


def journal() -> list[dict[str, object]]:
    device, project = Device(), new_id()
    events = [
        device.event("project.started", project_id=project),
        device.event("milestone.reached", project_id=project, data={"milestone": "trained"}),
        device.event("metric.observed", project_id=project),
        device.event(
            "metric.observed",
            project_id=project,
            data={"key": "churn_rate", "layer": "business", "value": -1.5, "unit": "pp"},
        ),
        device.event("metric.linked", project_id=project),
        device.event("milestone.reached", project_id=project, data={"milestone": "deployed"}),
        device.event("feedback.received", project_id=project),
        device.event("win.captured", project_id=project),
        device.event(
            "win.captured", project_id=None, data={"text": "Taught the team calibration.", "source": "voice"}
        ),
    ]
    events.append(device.event("event.retracted", project_id=None, data={"target": events[-2]["id"]}))
    return events


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def winledger(old: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(old)}
    code = "import sys; from client_sdk.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=old, text=True, **popen)  # type: ignore[call-overload]


def fill(old: Path, url: str, users: dict[str, list[dict[str, object]]]) -> dict[str, str]:
    tokens = {}
    for name in users:
        done = winledger(old, "admin", "create-user", name, "--db", url, stdout=subprocess.PIPE)
        out, _ = done.communicate()
        assert done.returncode == 0, out
        tokens[name] = out.strip().splitlines()[-1]
    port = free_port()
    server = winledger(old, "serve", "--db", url, "--port", str(port))
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        for name, events in users.items():
            response = httpx.post(
                f"{base}/v1/events",
                json={"events": events},
                headers={"Authorization": f"Bearer {tokens[name]}"},
            )
            assert response.status_code == 200, response.text
    finally:
        server.terminate()
        server.wait()
    return tokens


def main() -> None:
    old, version = Path(sys.argv[1]), sys.argv[2]
    users = {"ada": journal(), "grace": journal()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "legacy.db"
        tokens = fill(old, f"sqlite+aiosqlite:///{path}", users)
        with sqlite3.connect(path) as connection:
            (HERE / f"v{version}.sqlite.sql").write_text("\n".join(connection.iterdump()) + "\n")
    admin = postgres_url()
    assert admin, "set WINLEDGER_TEST_POSTGRES_URL"
    databases = PostgresDatabases(admin)
    url = databases.create()
    try:
        pg_tokens = fill(old, url, users)
        dump = subprocess.run(
            [
                "pg_dump",
                "--inserts",
                "--no-owner",
                "--no-privileges",
                "--no-comments",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                url.rsplit("/", 1)[1],
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        # psql's meta-commands (pg_dump's \\restrict guard) are not SQL: the tests run the dump as SQL.
        dump = "".join(line for line in dump.splitlines(keepends=True) if not line.startswith("\\"))
        (HERE / f"v{version}.postgresql.sql").write_text(dump)
    finally:
        databases.close()
    fixture = {"sqlite": tokens, "postgresql": pg_tokens, "events": users}
    (HERE / f"v{version}.json").write_bytes(msgspec.json.format(msgspec.json.encode(fixture)) + b"\n")


if __name__ == "__main__":
    main()
