"""Two devices of one user, offline then synced through a real ``winledger serve`` process."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_sdk import Client
from tests.support.process import ServerProcess

pytestmark = pytest.mark.e2e


def _capture_offline(laptop: Client, phone: Client) -> None:
    churn = laptop.start_project("Churn early warning", "model")
    laptop.milestone(churn, "trained", note="Gradient boosting on usage logs")
    laptop.metric(churn, "recall_at_30d", 0.81, layer="model", baseline=0.52, low=0.78, high=0.84)
    phone.capture("Customer success reviews the flagged accounts every Monday", tags=["adoption"])
    phone.feedback(churn, "We changed the renewal playbook because of this list", source_name="Dana")


@pytest.mark.parametrize("order", ["laptop-first", "phone-first"])
def test_offline_devices_converge_and_other_users_see_nothing(
    live_server: ServerProcess, tmp_path: Path, order: str
) -> None:
    alice = live_server.create_user("alice")
    laptop = Client(tmp_path / "laptop.db")
    phone = Client(tmp_path / "phone.db")
    _capture_offline(laptop, phone)  # no server configured at all: appends never touch the network
    assert [e.status for e in laptop.events() + phone.events()] == ["pending"] * 5
    laptop.close()
    phone.close()

    laptop = Client(tmp_path / "laptop.db", server=live_server.url, token=alice)
    phone = Client(tmp_path / "phone.db", server=live_server.url, token=alice)
    first, second = (laptop, phone) if order == "laptop-first" else (phone, laptop)
    first.sync()
    second.sync()
    first.sync()

    held = [(e.id, e.type, e.data, e.seq) for e in laptop.events()]
    assert held == [(e.id, e.type, e.data, e.seq) for e in phone.events()]
    assert len(held) == 5 and all(e.status == "synced" for e in laptop.events())
    assert laptop.verify() and phone.verify()

    again = laptop.sync()
    assert (again.pushed, again.pulled) == (0, 0)

    with Client(tmp_path / "bob.db", server=live_server.url, token=live_server.create_user("bob")) as bob:
        bob.capture("Bob's own win")
        bob.sync()
        assert [e.data["text"] for e in bob.events()] == ["Bob's own win"]
    assert len(laptop.events()) == 5
    laptop.close()
    phone.close()


def test_events_survive_a_server_restart(live_server: ServerProcess, tmp_path: Path) -> None:
    token = live_server.create_user("carol")
    with Client(tmp_path / "one.db", server=live_server.url, token=token) as one:
        one.capture("Scoring service hit 400k predictions a day")
        assert one.sync().accepted == 1
    live_server.stop()
    live_server.start()
    with Client(tmp_path / "two.db", server=live_server.url, token=token) as two:
        assert two.sync().pulled == 1
        assert two.events()[0].data["text"] == "Scoring service hit 400k predictions a day"
        assert two.verify()
