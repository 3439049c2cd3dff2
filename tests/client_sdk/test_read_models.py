"""The read models computed offline from a device's own store, with the same code as the server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest

from client_sdk import Client, NotFoundError, ValidationError
from schema.projections import PROJECTION_VERSION, build_models, resolve_period, review_draft
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
        == "Save rate rose at least 5 pp from a baseline of 25%"
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
    # The client draws the year like the server: as of its end or today, whichever is earlier.
    period = resolve_period(date(2026, 1, 1), date(2026, 12, 31), None, datetime.now(UTC).date())
    direct = review_draft(build_models(events).values(), *period)
    assert msgspec.json.encode(direct) == _year(laptop)
    assert direct.other_work == []  # the retracted win is hidden everywhere


def test_unknown_projects_and_bad_dates_are_clear_errors(make_client: MakeClient) -> None:
    client = make_client("laptop")
    with pytest.raises(NotFoundError, match="No project"):
        client.timeline("0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80")
    with pytest.raises(ValidationError, match="as_of"):
        client.timeline(client.start_project("X", "model"), as_of="31/12/2026")
    with pytest.raises(ValidationError, match="after it ends"):
        client.review_draft("2026-12-31", "2026-01-01")


# -- as of a point in time, and the draft's formats (issue 14) -----------------------------------


def _churn(client: Client) -> str:
    churn = client.start_project("Churn model", "model", occurred_at="2026-01-05T09:00:00Z")
    client.milestone(churn, "trained", occurred_at="2026-02-01T09:00:00Z")
    client.metric(churn, "auc", 0.84, layer="model", baseline=0.71, occurred_at="2026-02-02T09:00:00Z")
    client.milestone(churn, "deployed", occurred_at="2026-03-01T09:00:00Z")
    client.metric(churn, "save_rate", 34, layer="business", unit="%", baseline=25, low=30, high=38,
                  occurred_at="2026-05-01T09:00:00Z")  # fmt: skip
    client.link_metrics(churn, "auc", "save_rate", evidence="ab_test", occurred_at="2026-05-02T09:00:00Z")
    client.feedback(churn, "We work the list every Monday", source_name="Dana", decision="weekly review",
                    occurred_at="2026-05-03T09:00:00Z")  # fmt: skip
    client.capture("Ran the first model design review", occurred_at="2026-04-01T09:00:00Z")
    client.learning("Agree on the business metric before training", occurred_at="2026-04-02T09:00:00Z")
    client.update_project(churn, name="Churn model v2", occurred_at="2026-05-10T09:00:00Z")
    return churn


def test_the_offline_draft_is_the_servers_in_every_format(
    make_client: MakeClient, server: InProcessServer
) -> None:
    from schema.protocol.readmodels import ReviewDraftResponse

    laptop = make_client("laptop")
    _churn(laptop)
    report = laptop.sync()
    headers = {"Authorization": f"Bearer {laptop._token}"}
    this_year = datetime.now(UTC).year  # the server's default is drawn with its own clock, like the client's

    def served(**params: str) -> bytes:
        response = server.http.get(
            "/v1/review-draft", params={"min_seq": str(report.cursor), **params}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.content

    periods = [
        (("2026-01-01", "2026-06-30", None), {"from": "2026-01-01", "to": "2026-06-30"}),
        (("2026-01-01", "2026-04-15", "2026-06-30"), {"from": "2026-01-01", "to": "2026-04-15",
                                                      "as_of": "2026-06-30"}),
        # No period: this year so far, on both sides.
        ((None, None, None), {"from": f"{this_year}-01-01", "to": f"{this_year}-12-31"}),
    ]  # fmt: skip
    for (start, end, as_of), params in periods:
        for fmt in ("md", "text", "json"):
            for short, cite in ((False, True), (True, True), (False, False), (True, False)):
                options = {"format": fmt, "short": str(short).lower(), "cite": str(cite).lower()}
                answer = served(**params, **options)
                offline = laptop.review_draft(start, end, as_of, format=fmt, short=short, cite=cite)
                if fmt == "json":
                    assert not isinstance(offline, str)
                    body = msgspec.structs.asdict(offline)
                    offline = ReviewDraftResponse(
                        **body, as_of_seq=report.cursor, projection_version=PROJECTION_VERSION,
                        epoch=laptop.status().epoch or "",
                    )  # fmt: skip
                    assert msgspec.json.encode(offline) == answer, (params, options)
                else:
                    assert isinstance(offline, str) and offline.encode() == answer, (params, options)
    # What a reader sees in each: plain text has no Markdown, --short is shorter, no-cite has no refs.
    text = laptop.review_draft("2026-01-01", "2026-06-30", format="text")
    markdown = laptop.review_draft("2026-01-01", "2026-06-30", format="md")
    assert laptop.review_draft("2026-01-01", "2026-06-30", markdown=True) == markdown
    assert isinstance(text, str) and isinstance(markdown, str)
    assert "Churn model" in text and "**" not in text and "\\" not in text
    assert not [line for line in text.splitlines() if line.startswith("#")]
    short = laptop.review_draft("2026-01-01", "2026-06-30", format="md", short=True)
    assert isinstance(short, str) and len(short) < len(markdown)
    ids = [event.id[-8:] for event in laptop.events()]
    uncited = laptop.review_draft("2026-01-01", "2026-06-30", format="text", cite=False)
    assert any(ref in text for ref in ids) and not [ref for ref in ids if ref in str(uncited)]


def test_a_draft_timeline_and_chains_as_of_a_day_leave_out_what_occurred_after_it(
    make_client: MakeClient,
) -> None:
    laptop = make_client("laptop")
    churn = _churn(laptop)
    day = "2026-04-15"

    draft = laptop.review_draft("2026-01-01", as_of=day)  # --to defaults to --as-of
    assert not isinstance(draft, str)
    assert (draft.period_from, draft.period_to, draft.as_of) == ("2026-01-01", day, day)
    later_ids = {e.id for e in laptop.events() if e.occurred_at.date().isoformat() > day}
    encoded = msgspec.json.encode(draft).decode()
    assert len(later_ids) == 4 and not [i for i in later_ids if i in encoded]
    assert "Churn model v2" not in encoded and "Churn model" in encoded

    view = laptop.timeline(churn, day)
    assert view.timeline.name == "Churn model" and view.timeline.first_business_metric_at is None
    assert max(entry.occurred_at[:10] for entry in view.timeline.entries) <= day
    assert laptop.timeline(churn).timeline.name == "Churn model v2"  # as of today
    chains = laptop.metric_chains(churn, day)
    assert [m.key for m in chains.metrics] == ["auc"] and chains.links == []
    assert {m.key for m in laptop.metric_chains(churn).metrics} == {"auc", "save_rate"}

    for read in (laptop.timeline, laptop.metric_chains):
        with pytest.raises(NotFoundError, match=r"Nothing of project .* 2026-01-04"):
            read(churn, "2026-01-04")  # started on 5 January


def test_the_period_and_as_of_follow_the_servers_rules_and_name_the_argument(make_client: MakeClient) -> None:
    client = make_client("laptop")
    today = datetime.now(UTC).date()  # only the as_of after today depends on it, by a whole day
    tomorrow = (today + timedelta(days=1)).isoformat()
    cases = [
        ({"from_": "2026-01-01", "to": today.isoformat(), "as_of": tomorrow}, "as_of", "after today"),
        ({"from_": "2026-01-01", "to": "2026-06-30", "as_of": "2026-06-29"}, "as_of", "before the period"),
        ({"from_": tomorrow, "to": (today + timedelta(days=30)).isoformat()}, "from_", "after today"),
        ({"from_": "2026-06-30", "to": "2026-01-01"}, "from_", "after it ends"),
        ({"from_": "2026-01-01", "format": "pdf"}, "format", "'pdf'"),
        ({"from_": "2026-01-01", "format": "text", "markdown": True}, "markdown", "Markdown"),
        ({"from_": "2026-13-01"}, "from_", "2026-13-01"),
    ]
    for arguments, field, words in cases:
        with pytest.raises(ValidationError, match=words) as raised:
            client.review_draft(**arguments)  # type: ignore[arg-type]
        assert raised.value.field == field and raised.value.message.startswith(field), raised.value.message
    # The year in progress is drawn as of today, never a day to come.
    draft = client.review_draft(f"{today.year}-01-01", f"{today.year}-12-31")
    assert not isinstance(draft, str)
    assert draft.as_of == draft.period_to == min(today, date(today.year, 12, 31)).isoformat()
