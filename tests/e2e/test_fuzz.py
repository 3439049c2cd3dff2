"""schemathesis against a live ``winledger serve``: no 500s, and every answer matches /openapi.json.

The run is the ``st run`` command line in a subprocess, as CI would use it:
bounded (``tests/e2e/schemathesis.toml``: 15 examples per operation, every
phase) and deterministic (``generation.deterministic``), with a real token,
MessagePack bodies through ``schemathesis_hooks.py``, and a journal that
already holds a project, so that the project routes are reached through the
document's links and not only answered 404.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.factories import Device, new_id
from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "fuzz.db").start()
    try:
        (token,) = server.create_users("fuzz")
        auth = {"Authorization": f"Bearer {token}"}
        device, project = Device(), new_id()
        events = [
            device.event("project.started", project_id=project, data={"name": "Churn", "kind": "model"}),
            device.event("milestone.reached", project_id=project, data={"milestone": "deployed"}),
            device.event("metric.observed", project_id=project),
        ]
        assert httpx.post(f"{server.url}/v1/events", json={"events": events}, headers=auth).status_code == 200
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "--no-color",
                "--config-file",
                str(HERE / "schemathesis.toml"),
                "run",
                f"{server.url}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "schemathesis_hooks.py")},
        )
        summary = run.stdout[run.stdout.rfind("SUMMARY") :] if "SUMMARY" in run.stdout else run.stdout
        print(summary)
        assert run.returncode == 0, f"schemathesis found problems:\n{run.stdout[-20000:]}\n{run.stderr}"
        assert "No issues found" in run.stdout
        assert server.process is not None and server.process.poll() is None, "the server died"
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert "unexpected error" not in log and "Traceback" not in log, log
