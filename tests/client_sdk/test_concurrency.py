"""Several processes of one person append to one store at once (the CLI and a notebook)."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

from client_sdk import Client
from tests.client_sdk.conftest import MakeClient

PER_PROCESS = 60


def _append_many(path: str, name: str, start: Any) -> None:
    start.wait()
    with Client(path) as client:
        for index in range(PER_PROCESS):
            client.capture(f"{name} win {index}")


def test_two_processes_appending_to_one_store_never_share_a_device_seq(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with Client(path) as first:
        first.capture("before the others")
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [
        context.Process(target=_append_many, args=(str(path), name, start)) for name in ("cli", "notebook")
    ]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    with Client(path) as client:
        events = client.events()
    assert len(events) == 1 + 2 * PER_PROCESS
    assert len({event.device_id for event in events}) == 1
    # Canonical order is clock order, and on one device clocks rise with device_seq, without gaps.
    assert [event.device_seq for event in events] == list(range(1, len(events) + 1))
    assert len({event.clock for event in events}) == len(events)
    texts = {event.data["text"] for event in events}
    assert {f"cli win {i}" for i in range(PER_PROCESS)} <= texts
    assert {f"notebook win {i}" for i in range(PER_PROCESS)} <= texts


def test_two_handles_on_one_store_can_append_and_sync_at_the_same_time(make_client: MakeClient) -> None:
    """Each thread opens its own handle, as two processes would."""
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            client = make_client("shared")
            for index in range(15):
                client.capture(f"{name} {index}")
                if index % 4 == 0:
                    client.sync()
            client.sync()
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("cli", "notebook")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    cli, notebook = make_client("shared"), make_client("shared")
    cli.sync()
    events = cli.events()
    assert len(events) == 30 and {e.status for e in events} == {"synced"}
    assert sorted(e.seq for e in events if e.seq is not None) == list(range(1, 31))
    assert cli.verify() and notebook.verify()


def test_one_handle_can_be_shared_between_threads(tmp_path: Path) -> None:
    with Client(tmp_path / "journal.db") as client:
        threads = [
            threading.Thread(target=lambda: [client.capture("from a thread") for _ in range(20)])
            for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert [event.device_seq for event in client.events()] == list(range(1, 61))


def _open_and_report(path: Path, start: threading.Barrier, devices: list[str]) -> None:
    start.wait()
    with Client(path) as client:
        devices.append(client.device_id)


def test_handles_racing_to_create_a_store_agree_on_one_device(tmp_path: Path) -> None:
    for attempt in range(10):
        start = threading.Barrier(4)
        devices: list[str] = []
        args = (tmp_path / f"fresh-{attempt}.db", start, devices)
        threads = [threading.Thread(target=_open_and_report, args=args) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(devices) == 4 and len(set(devices)) == 1
