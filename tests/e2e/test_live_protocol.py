"""Protocol v1 against a real ``winledger serve`` process on loopback, spoken as a foreign client would."""

from __future__ import annotations

import select
import socket
import uuid
from pathlib import Path

import httpx
import msgspec
import pytest

from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e


def _event(device_id: str, device_seq: int, text: str, event_id: str | None = None) -> dict:
    return {
        "id": event_id or str(uuid.uuid4()),
        "device_id": device_id,
        "device_seq": device_seq,
        "clock": (1_767_225_600_000 << 10) + device_seq,
        "occurred_at": "2026-01-01T09:00:00+01:00",
        "type": "win.captured",
        "v": 1,
        "project_id": None,
        "data": {"text": text, "source": "text"},
    }


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_push_pull_duplicates_conflicts_and_isolation(live_server: ServerProcess) -> None:
    alice = _auth(live_server.create_user("alice"))
    bob = _auth(live_server.create_user("bob"))
    device = str(uuid.uuid4())
    first, second = _event(device, 1, "Churn model trained"), _event(device, 2, "Deployed to production")
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        pushed = http.post("/v1/events", json={"events": [first, second]}, headers=alice)
        assert pushed.status_code == 200
        assert [(r["status"], r["seq"]) for r in pushed.json()["results"]] == [
            ("accepted", 1),
            ("accepted", 2),
        ]

        again = http.post("/v1/events", json={"events": [first]}, headers=alice).json()
        assert again["results"] == [
            {"id": first["id"], "status": "duplicate", "seq": 1, "code": None, "message": None}
        ]

        reused = {**_event(device, 3, "other text"), "id": first["id"]}
        conflict = http.post("/v1/events", json={"events": [reused]}, headers=alice).json()["results"][0]
        assert (conflict["status"], conflict["code"], conflict["seq"]) == ("rejected", "id_conflict", None)

        malformed = http.post(
            "/v1/events", content=b'{"events": [', headers={**alice, "Content-Type": "application/json"}
        )
        assert malformed.status_code == 400
        assert malformed.headers["content-type"] == "application/problem+json"
        assert malformed.json()["code"] == "malformed_body"

        pulled = http.get("/v1/events", params={"after": 0}, headers=alice).json()
        assert [e["id"] for e in pulled["events"]] == [first["id"], second["id"]]
        assert pulled["events"][0]["occurred_at"] == "2026-01-01T08:00:00.000000Z"
        assert (pulled["cursor"], pulled["more"], pulled["count"]) == (2, False, 2)

        nothing = http.get("/v1/events", headers=bob).json()
        assert (nothing["events"], nothing["count"]) == ([], 0)
        # The same event id is bob's own event, stored apart from alice's.
        bobs = http.post("/v1/events", json={"events": [first]}, headers=bob).json()["results"][0]
        assert (bobs["status"], bobs["seq"]) == ("accepted", 1)


def test_messagepack_round_trip_is_the_same_event(live_server: ServerProcess) -> None:
    headers = {**_auth(live_server.create_user("carol")), "Content-Type": "application/msgpack"}
    event = _event(str(uuid.uuid4()), 1, "A/B test reached significance")
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        response = http.post("/v1/sync", content=msgspec.msgpack.encode({"events": [event]}), headers=headers)
        assert response.headers["content-type"] == "application/msgpack"
        body = msgspec.msgpack.decode(response.content)
        assert body["results"][0]["status"] == "accepted"
        assert body["events"][0]["data"] == event["data"]
        as_json = http.post(
            "/v1/events", json={"events": [event]}, headers=_auth(headers["Authorization"][7:])
        )
        assert as_json.json()["results"][0]["status"] == "duplicate"


def _raw_request(port: int, head: bytes, chunks: list[bytes], pause: float = 0.0) -> tuple[bytes, int]:
    """Send ``head``, then ``chunks`` one by one; return the response and how many chunks went out."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head)
        sent = 0
        for chunk in chunks:
            if select.select([conn], [], [], pause)[0]:
                break  # the server answered before the body was complete
            try:
                conn.sendall(chunk)
            except OSError:
                break
            sent += 1
        data = b""
        while not (b"\r\n\r\n" in data and data.endswith(b"}")):
            piece = conn.recv(65536)
            if not piece:
                break
            data += piece
        return data, sent


def test_slow_and_oversized_bodies_are_cut_off(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "limits.db", env={"WINLEDGER_BODY_TIMEOUT_S": "0.5", "WINLEDGER_MAX_BODY_BYTES": "2000"}
    ).start()
    try:
        token = server.create_user("dave")
        head = (
            b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            + token.encode()
            + b"\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        trickle = [b"1\r\n{\r\n"] * 100
        slow, sent = _raw_request(server.port, head, trickle, pause=0.1)
        assert b" 408 " in slow.split(b"\r\n", 1)[0]
        assert b'"code":"body_timeout"' in slow
        assert sent < len(trickle), "the server waited for the whole slow body"

        # No Content-Length: the limit is counted on the bytes received.
        big = [b"400\r\n" + b" " * 0x400 + b"\r\n"] * 8
        oversized, _ = _raw_request(server.port, head, big)
        assert b" 413 " in oversized.split(b"\r\n", 1)[0]
        assert b'"code":"body_too_large"' in oversized
        with httpx.Client(base_url=server.url) as http:
            assert http.get("/v1/events", headers=_auth(token)).json()["count"] == 0
    finally:
        server.stop()
