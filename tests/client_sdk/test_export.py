"""``winledger export``: the device's journal in the server's export format, written offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from client_sdk.cli import main
from tests.client_sdk.conftest import MakeClient
from tests.support.inprocess import InProcessServer


def lines_of(text: str | bytes) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {"export": [], "event": [], "read_model": [], "end": []}
    for line in (text.decode() if isinstance(text, bytes) else text).splitlines():
        value = msgspec.json.decode(line)
        grouped[value["kind"]].append(value)
    return grouped


def test_a_synced_device_exports_what_the_server_exports(
    make_client: MakeClient,
    server: InProcessServer,
    token: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    project = laptop.start_project("Demand forecast", kind="model")
    laptop.milestone(project, "deployed")
    laptop.metric(project, "waste", 18, layer="business", unit="%", direction="lower_is_better")
    phone.capture("Merchandising plans next quarter's orders from the forecast", project=project)
    phone.learning("Holiday weeks need their own features")
    for client in (laptop, phone, laptop):
        client.sync()

    out = tmp_path / "laptop.ndjson"
    assert main(["export", "--store", laptop.path, "--output", str(out)]) == 0
    assert "Exported 5 events" in capsys.readouterr().err
    device = lines_of(out.read_bytes())
    response = server.http.get(
        "/v1/export", params={"min_seq": 5}, headers={"Authorization": f"Bearer {token}"}
    )
    from_server = lines_of(response.content)

    assert device["export"][0]["source"] == "device" and device["export"][0]["epoch"] == server.epoch
    assert [(e["seq"], e["event"]) for e in device["event"]] == [
        (e["seq"], e["event"]) for e in from_server["event"]
    ]
    assert {e["status"] for e in device["event"]} == {"synced"}
    assert {m["project_id"]: m["model"] for m in device["read_model"]} == {
        m["project_id"]: m["model"] for m in from_server["read_model"]
    }
    assert {k: v for k, v in device["end"][0].items()} == from_server["end"][0]


def test_an_offline_device_exports_its_pending_events(
    make_client: MakeClient, capsys: pytest.CaptureFixture[str]
) -> None:
    phone = make_client("phone")
    win = phone.capture("Fraud model caught 96% of chargebacks in shadow")
    assert main(["export", "--store", phone.path]) == 0
    exported = lines_of(capsys.readouterr().out)
    assert [(e["status"], e["seq"], e["event"]["id"]) for e in exported["event"]] == [("pending", None, win)]
    assert exported["export"][0]["epoch"] is None
    assert exported["end"][0]["count"] == 1 and exported["end"][0]["read_models"] == 1
    notes = exported["read_model"][0]["model"]["notes"]
    assert [note["text"] for note in notes] == ["Fraud model caught 96% of chargebacks in shadow"]
