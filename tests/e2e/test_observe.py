"""Watching a real ``winledger serve``: JSON request lines without tokens or event text, /metrics behind
its own token, and ``winledger admin stats``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.factories import Device, new_id
from tests.support.process import ServerProcess, run_cli

pytestmark = pytest.mark.e2e

METRICS_TOKEN = "m" * 40
SECRET_TEXT = "The pricing model beat the heuristics by 11 points"


def test_json_logs_metrics_and_stats_of_a_real_server(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "watched.db",
        args=["--log-format", "json"],
        env={"WINLEDGER_METRICS_TOKEN": METRICS_TOKEN},
        log_level="info",
    )
    (token,) = server.create_users("ada")
    server.start()
    device, project = Device(), new_id()
    events = [
        device.event("project.started", project_id=project, data={"name": "Pricing", "kind": "model"}),
        device.event("win.captured", project_id=project, data={"text": SECRET_TEXT, "source": "text"}),
    ]
    try:
        with httpx.Client(base_url=server.url) as http:
            auth = {"Authorization": f"Bearer {token}"}
            assert http.post("/v1/events", json={"events": events}, headers=auth).status_code == 200
            assert http.get(f"/v1/events?after=0&token={token}", headers=auth).status_code == 200
            assert http.get("/v1/info", headers={"Authorization": "Bearer wl_nope"}).status_code == 401
            assert http.get("/metrics", headers=auth).status_code == 401
            scraped = http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            assert scraped.status_code == 200
            assert 'winledger_pushed_events_total{outcome="accepted"} 2' in scraped.text, scraped.text
            refused = 'winledger_http_requests_total{route="/v1/info",method="GET",status="401"} 1'
            assert refused in scraped.text
    finally:
        server.stop()

    log = server.log_path.read_text()
    assert token.split("_")[2] not in log and SECRET_TEXT not in log and METRICS_TOKEN not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    push = next(line for line in requests if line["method"] == "POST")
    assert push["route"] == "/v1/events" and push["status"] == 200 and push["pushed"] == 2
    assert push["user_id"] == 1 and push["request_bytes"] > 0 and push["duration_ms"] >= 0
    pull = next(line for line in requests if line["method"] == "GET" and line["route"] == "/v1/events")
    assert pull["pulled"] == 2 and "token" not in json.dumps(pull)
    refused = next(line for line in requests if line["route"] == "/v1/info")
    assert refused["status"] == 401 and "user_id" not in refused
    assert all({"ts", "level", "logger"} <= set(line) for line in lines)
    assert not [line for line in log.splitlines() if line.strip() and not line.startswith("{")]

    report = run_cli("admin", "stats", "--db", server.db_url).stdout
    assert "Users:       1" in report and "Events:      2" in report
    assert "Tokens:      1 active, 0 revoked, 0 expired" in report
    assert "Store size:  " in report and "Projector:   " in report
