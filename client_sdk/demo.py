"""``winledger demo``: a real server, two offline devices, one sync each, and what they hold.

It starts ``winledger serve`` as a separate process on a free loopback port
with a fresh SQLite database, creates a user with the admin command, captures
wins on a laptop store and a phone store while neither can reach the server,
syncs both, and prints each device's events, the digest check and what a
second user sees. Everything is real: processes, HTTP, SQLite files.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from client_sdk._client import Client
from client_sdk.demo_year import DEVICES, demo_year

YEAR = 2026


def _winledger() -> list[str]:
    script = Path(sys.executable).with_name("winledger")
    return [str(script)] if script.exists() else [sys.executable, "-m", "client_sdk.cli"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _describe(event: object) -> str:
    data = getattr(event, "data", {})
    kind = getattr(event, "type", "?")
    detail = {
        "project.started": lambda: f"project {data.get('name')!r} ({data.get('kind')})",
        "win.captured": lambda: repr(data.get("text")),
        "milestone.reached": lambda: f"milestone {data.get('milestone')}",
        "metric.observed": lambda: (
            f"{data.get('key')} = {data.get('value'):g}{data.get('unit') or ''} ({data.get('layer')})"
        ),
        "feedback.received": lambda: f"{data.get('source_name')}: {data.get('quote')!r}",
        "learning.noted": lambda: f"{data.get('kind')}: {data.get('text')!r}",
    }.get(kind, lambda: "")()
    return f"{kind:<18} {detail}"


def _show(title: str, client: Client) -> None:
    events = client.events()
    print(f"\n{title}: {len(events)} events")
    for event in events:
        origin = "here " if event.device_id == client.device_id else "other"
        seq = "-" if event.seq is None else str(event.seq)
        day = event.occurred_at.strftime("%Y-%m-%d")
        print(f"  seq {seq:>2}  {origin}  {day}  {_describe(event)}")


def run_demo(keep: Path | None = None) -> int:
    workdir = keep or Path(tempfile.mkdtemp(prefix="winledger-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite+aiosqlite:///{workdir / 'server.db'}"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"

    def admin(*args: str) -> str:
        done = subprocess.run([*_winledger(), "admin", *args, "--db", db_url], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(done.stderr.strip())
        return done.stdout.strip().splitlines()[-1]

    print(f"Server database: {workdir / 'server.db'}")
    alice_token = admin("create-user", "alice", "--label", "demo", "--create")  # a new database
    bob_token = admin("create-user", "bob", "--label", "demo")
    dana_token = admin("create-user", "dana", "--label", "demo")
    print("Created users alice, bob and dana with `winledger admin create-user`.")

    server = subprocess.Popen(
        [*_winledger(), "serve", "--db", db_url, "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_until_up(server, url)
        print(f"Started `winledger serve` on {url} (pid {server.pid}).")
        _walk_through(workdir, url, alice_token, bob_token)
        _year_in_review(workdir, url, dana_token)
    finally:
        server.terminate()
        server.wait(timeout=15)
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(
        "\nRun your own server:\n"
        "  winledger serve --host 127.0.0.1 --port 8750  # creates ./winledger.db here (or --db URL)\n"
        "  winledger admin create-user YOUR_NAME       # same directory (or --db URL): prints your token\n"
        "Then point a client at it: Client('my.db', server='http://127.0.0.1:8750', token=TOKEN)."
    )
    return 0


def _year_in_review(workdir: Path, url: str, token: str) -> None:
    """A year of dana's work, pushed by her three devices, synced to a fresh store, drafted offline."""
    events = demo_year(YEAR)
    headers = {"Authorization": f"Bearer {token}"}
    names = {device_id: name for name, device_id in DEVICES.items()}
    print(f"\nA year of work: dana's devices push {len(events)} events captured through {YEAR}.")
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        for device_id in sorted({e["device_id"] for e in events}, key=lambda d: names.get(d, d)):
            batch = [e for e in events if e["device_id"] == device_id]
            results = http.post("/v1/events", json={"events": batch}).raise_for_status().json()["results"]
            accepted = sum(r["status"] == "accepted" for r in results)
            print(f"  {names.get(device_id, device_id):<12} pushed {len(batch)}, accepted {accepted}")
        with Client(workdir / "dana-review.db", server=url, token=token) as review:
            report = review.sync()
            draft = review.review_draft(f"{YEAR}-01-01", f"{YEAR}-12-31", markdown=True)
            params = {"from": f"{YEAR}-01-01", "to": f"{YEAR}-12-31", "min_seq": str(report.cursor)}
            served = http.get("/v1/review-draft", params=params, headers={"Accept": "text/markdown"})
    print(f"A new store on her laptop pulled {report.pulled} events and drafted her review offline:\n")
    print(draft)
    same = served.status_code == 200 and served.text == draft
    print(f"The server's own read model (GET /v1/review-draft) gives the same draft: {same}")


def _wait_until_up(server: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(
                f"winledger serve exited: {server.stderr.read().decode() if server.stderr else ''}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit("winledger serve did not start within 20 s")


def _walk_through(workdir: Path, url: str, alice_token: str, bob_token: str) -> None:
    now = datetime.now(UTC)
    # Both devices start offline: a store with no server configured at all.
    laptop = Client(workdir / "laptop.db")
    phone = Client(workdir / "phone.db")

    churn = laptop.start_project(
        "Churn early warning",
        "model",
        summary="Flags at-risk accounts 30 days before renewal",
        occurred_at=now - timedelta(days=150),
    )
    laptop.milestone(
        churn, "trained", note="Gradient boosting on 2 years of usage", occurred_at=now - timedelta(days=120)
    )
    laptop.metric(
        churn, "recall_at_30d", 0.81, layer="model", baseline=0.52, occurred_at=now - timedelta(days=119)
    )
    laptop.milestone(churn, "deployed", occurred_at=now - timedelta(days=90))
    phone.capture("Customer success now reviews the churn list every Monday", tags=["adoption"])
    phone.learning("Calibrate scores before handing them to a non-technical team", kind="learned")
    _show("Laptop, offline", laptop)
    _show("Phone, offline", phone)

    laptop.close()
    phone.close()
    laptop = Client(workdir / "laptop.db", server=url, token=alice_token)
    phone = Client(workdir / "phone.db", server=url, token=alice_token)
    print("\nBack online. Syncing the phone, then the laptop, then the phone again:")
    for name, client in (("phone", phone), ("laptop", laptop), ("phone", phone)):
        report = client.sync()
        print(f"  {name:<6} pushed {report.pushed} (accepted {report.accepted}), pulled {report.pulled}")
    _show("Laptop, synced", laptop)
    _show("Phone, synced", phone)
    same = [e.id for e in laptop.events()] == [e.id for e in phone.events()]
    print(f"\nBoth devices hold the same events in the same order: {same}")
    print(f"Digest check against the server: laptop {laptop.verify()}, phone {phone.verify()}")

    with Client(workdir / "bob.db", server=url, token=bob_token) as bob:
        bob.sync()
        print(f"Bob, another user of the same server, sees {len(bob.events())} of alice's events.")
    laptop.close()
    phone.close()
