"""The read models computed offline from a device's own store, with the same code as the server."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from client_sdk import Client, NotFoundError, ValidationError
from schema.projections import build_models, review_draft
from tests.client_sdk.conftest import MakeClient
from tests.support.inprocess import InProcessServer


def _year(client: Client) -> bytes:
    draft = client.review_draft("2026-01-01", "2026-12-31")
    return msgspec.json.encode(draft)


def test_read_models_work_offline_and_agree_across_synced_devices(make_client: MakeClient) -> None:
    laptop, phone = make_client("laptop"), make_client("phone")
    churn = laptop.start_project("Churn model", "model", occurred_at="2026-01-05T09:00:00Z")
    laptop.milestone(churn, "deployed", occurred_at="2026-02-01T09:00:00Z")
    laptop.metric(churn, "save_rate", 34, layer="business", unit="%", baseline=25, low=30, high=38)
    phone.feedback(churn, "We review it every Monday", source_name="Dana", decision="weekly review")

    # Offline, the laptop already sees its own project; the phone only a placeholder for it.
    assert laptop.timeline(churn, "2026-12-31").in_production_months == 10
    assert phone.timeline(churn).timeline.named is False
    assert (
        laptop.metric_chains(churn).metrics[0].headline.text
        == "save_rate: +5 pp (from 25% to 30%, +20% relative)"
    )

    for client in (laptop, phone, laptop):
        client.sync()
    assert _year(laptop) == _year(phone)
    assert phone.timeline(churn).timeline.name == "Churn model"
    (summary,) = phone.projects()
    assert (summary.id, summary.shipped, summary.stage) == (churn, True, "deployed")

    markdown = laptop.review_draft("2026-01-01", "2026-12-31", markdown=True)
    assert isinstance(markdown, str) and "Dana changed a decision because of it: weekly review" in markdown


def test_the_client_and_a_direct_fold_of_the_servers_events_agree(
    make_client: MakeClient, server: InProcessServer
) -> None:
    laptop = make_client("laptop")
    p = laptop.start_project("Intent classifier", "model", occurred_at="2026-03-01T00:00:00Z")
    laptop.metric(p, "accuracy", 91, layer="model", unit="%", baseline=73, occurred_at="2026-04-01T00:00:00Z")
    laptop.retract(laptop.capture("typo win", occurred_at="2026-04-02T00:00:00Z"))
    laptop.sync()
    token = laptop._token  # the token the fixture gave this client
    pulled = server.http.get("/v1/events", headers={"Authorization": f"Bearer {token}"}).json()["events"]
    events = [{k: v for k, v in e.items() if k not in ("seq", "received_at")} for e in pulled]
    direct = review_draft(build_models(events).values(), date(2026, 1, 1), date(2026, 12, 31))
    assert msgspec.json.encode(direct) == _year(laptop)
    assert direct.unassigned_wins == []  # the retracted win is hidden everywhere


def test_unknown_projects_and_bad_dates_are_clear_errors(make_client: MakeClient) -> None:
    client = make_client("laptop")
    with pytest.raises(NotFoundError, match="No project"):
        client.timeline("0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80")
    with pytest.raises(ValidationError, match="as_of"):
        client.timeline(client.start_project("X", "model"), as_of="31/12/2026")
    with pytest.raises(ValidationError, match="after it ends"):
        client.review_draft("2026-12-31", "2026-01-01")
