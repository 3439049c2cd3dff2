"""GET /metrics: off until an operator sets its token, Prometheus text, no user's data, and the figures
an operator watches (requests, pushed and pulled events, commit latency, projector lag, a rebuild)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from server import stats
from tests.factories import Device, new_id
from tests.server.conftest import Api, assert_problem

METRICS_TOKEN = "scrape-" + "7" * 32


def scrape(api: Api, token: str = METRICS_TOKEN) -> dict[str, float]:
    response = api.http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[str, float] = {}
    for line in response.text.splitlines():
        if line.startswith("#"):
            assert re.fullmatch(r"# (HELP|TYPE) winledger_\w+ .+", line), line
            continue
        name, value = line.rsplit(" ", 1)
        samples[name] = float(value)
    return samples


@pytest.fixture
def watched(make_api: Callable[..., Api]) -> Api:
    return make_api(metrics_token=METRICS_TOKEN)


def test_metrics_are_off_until_the_operator_sets_a_token(api: Api) -> None:
    problem = assert_problem(api.http.get("/metrics"), 404, "not_found")
    assert "WINLEDGER_METRICS_TOKEN" in problem["detail"]


def test_metrics_refuse_anything_but_their_own_token_even_a_users(watched: Api) -> None:
    for headers in (
        {},
        {"Authorization": f"Bearer {watched.token}"},  # a user's token opens the user's journal only
        {"Authorization": f"Bearer {METRICS_TOKEN}x"},
        {"Authorization": f"Basic {METRICS_TOKEN}"},
    ):
        response = watched.http.get("/metrics", headers=headers)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == 'Bearer realm="winledger-metrics"'


def test_requests_events_and_commits_are_counted_by_route_template(watched: Api) -> None:
    device, project = Device(), new_id()
    events = [
        device.event("project.started", project_id=project, data={"name": "Secret churn", "kind": "model"}),
        device.event("win.captured", project_id=project),
        device.event("win.captured"),
    ]
    cursor = watched.push(events)["cursor"]
    watched.push(events[:1])  # a duplicate
    assert len(watched.pull(after=0)["events"]) == 3
    timeline = watched.http.get(
        f"/v1/projects/{project}/timeline", params={"min_seq": cursor}, headers=watched.headers(None)
    )
    assert timeline.status_code == 200
    watched.http.get("/v1/nowhere")

    samples = scrape(watched)
    text = " ".join(samples)
    assert project not in text and "Secret" not in text and "ada" not in text
    assert samples['winledger_pushed_events_total{outcome="accepted"}'] == 3
    assert samples['winledger_pushed_events_total{outcome="duplicate"}'] == 1
    assert samples["winledger_pulled_events_total"] == 3
    assert samples['winledger_http_requests_total{route="/v1/events",method="POST",status="200"}'] == 2
    timeline_labels = 'route="/v1/projects/{project_id}/timeline",method="GET",status="200"'
    assert samples["winledger_http_requests_total{" + timeline_labels + "}"] == 1
    assert samples['winledger_http_requests_total{route="unmatched",method="GET",status="404"}'] == 1
    assert samples["winledger_push_commit_seconds_count"] == 2
    assert samples['winledger_push_commit_seconds_bucket{le="+Inf"}'] == 2
    assert samples["winledger_users"] == 1 and samples["winledger_events"] == 3
    assert samples['winledger_tokens{state="active"}'] == 1
    assert samples["winledger_store_size_bytes"] > 0
    lag = f'winledger_projector_lag_events{{projection="project_models",version="{stats.code_version()}"}}'
    assert samples[lag] == 0  # the timeline waited for min_seq


def test_projector_lag_counts_events_and_seconds_behind_from_the_database(watched: Api) -> None:
    server = watched.server
    server.portal.call(server.state.projector.stop)
    device = Device()
    watched.push([device.event("win.captured") for _ in range(4)])
    labels = f'{{projection="project_models",version="{stats.code_version()}"}}'
    samples = scrape(watched)
    assert samples["winledger_projector_lag_events" + labels] == 4
    assert samples["winledger_projector_users_behind" + labels] == 1
    assert 0 <= samples["winledger_projector_lag_seconds" + labels] < 60
    facts: Any = server.portal.call(stats.facts, server.state.engine, server.settings.db_url)
    assert [(lag.user, lag.events) for lag in facts.most_behind] == [("ada", 4)]


def test_a_running_rebuild_reports_its_progress_until_it_ends(watched: Api) -> None:
    server = watched.server

    async def record_then_scrape() -> None:
        async with stats.rebuild_progress(server.state.store, 500, lambda: 120):
            await stats.asyncio.sleep(0.05)
            facts = await stats.facts(server.state.engine, server.settings.db_url)
            assert facts.rebuild is not None and (facts.rebuild.done, facts.rebuild.total) == (120, 500)

    server.portal.call(record_then_scrape)
    samples = scrape(watched)
    assert "winledger_rebuild_events_total" not in samples  # gone once the rebuild ended
