"""The read-model routes: projects, timeline, metric chains and review draft, over the in-process app."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from schema.projections import PROJECTION_VERSION
from schema.protocol.jsonschema import schemas
from server.http import readmodels
from tests.factories import Device, an_event, new_id
from tests.schema.jsonschema_check import problems
from tests.server.conftest import Api, assert_problem, decode
from tests.support.inprocess import InProcessServer

DOCUMENTS = schemas()
# The server's today is the machine's (UTC): the parameters that must be after it are built from it.
TODAY = datetime.now(UTC).date().isoformat()
# Days still to come when the tests run, even if they were collected just before midnight (UTC).
AHEAD = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
NEXT_MONTH = (datetime.now(UTC).date() + timedelta(days=33)).isoformat()

pytestmark = pytest.mark.backends


def get(api: Api, path: str, accept: str | None = None, **params: Any) -> httpx.Response:
    return api.http.get(path, params=params, headers=api.headers(None, accept))


def ok(api: Api, path: str, **params: Any) -> dict[str, Any]:
    response = get(api, path, **params)
    assert response.status_code == 200, response.text
    assert response.headers["Winledger-Epoch"] == api.server.epoch
    body = decode(response)
    assert body["epoch"] == api.server.epoch
    return body  # type: ignore[no-any-return]


def churn_project(device: Device) -> tuple[str, list[dict[str, Any]]]:
    project = new_id()
    events = [
        device.event(
            "project.started",
            project_id=project,
            occurred_at="2026-01-05T10:00:00Z",
            data={"name": "Churn model", "kind": "model"},
        ),
        device.event(
            "milestone.reached",
            project_id=project,
            occurred_at="2026-02-01T10:00:00Z",
            data={"milestone": "trained"},
        ),
        device.event(
            "metric.observed",
            project_id=project,
            occurred_at="2026-02-02T10:00:00Z",
            data={"key": "auc", "layer": "model", "value": 0.84, "baseline": 0.71},
        ),
        device.event(
            "milestone.reached",
            project_id=project,
            occurred_at="2026-03-01T10:00:00Z",
            data={"milestone": "deployed"},
        ),
        device.event(
            "metric.observed",
            project_id=project,
            occurred_at="2026-05-01T10:00:00Z",
            data={
                "key": "churn_rate",
                "layer": "business",
                "value": 4.2,
                "unit": "%",
                "baseline": 5.0,
                "low": 3.9,
                "high": 4.6,
                "direction": "lower_is_better",
            },
        ),
        device.event(
            "metric.linked",
            project_id=project,
            occurred_at="2026-05-02T10:00:00Z",
            data={"cause": "auc", "effect": "churn_rate", "evidence": "ab_test"},
        ),
    ]
    return project, events


@pytest.fixture
def journal(api: Api) -> tuple[Api, str, int]:
    """A user with a shipped churn model and a win captured without a project; projected."""
    device = Device()
    project, events = churn_project(device)
    events.append(device.event("win.captured", occurred_at="2026-04-01T10:00:00Z"))
    cursor = api.push(events)["cursor"]
    assert ok(api, "/v1/projects", min_seq=cursor)["as_of_seq"] == cursor
    return api, project, cursor


def test_projects_appear_after_a_push_with_min_seq(api: Api) -> None:
    project, events = churn_project(Device())
    cursor = api.push(events)["cursor"]
    body = ok(api, "/v1/projects", min_seq=cursor)
    assert body["as_of_seq"] == cursor == 6
    assert body["projection_version"] == PROJECTION_VERSION
    assert body["projects"] == [
        {
            "id": project,
            "name": "Churn model",
            "named": True,
            "kind": "model",
            "stage": "deployed",
            "shipped": True,
            "last_activity": "2026-05-02T10:00:00.000000Z",
            "in_production": True,
        }
    ]


def test_the_bucket_of_wins_without_a_project_is_not_a_project(journal: tuple[Api, str, int]) -> None:
    api, project, _ = journal
    assert [summary["id"] for summary in ok(api, "/v1/projects")["projects"]] == [project]


def test_projects_are_listed_most_recent_activity_first(api: Api) -> None:
    device = Device()
    older, newer = new_id(), new_id()
    api.push(
        [
            device.event("win.captured", project_id=older, occurred_at="2026-01-01T00:00:00Z"),
            device.event("win.captured", project_id=newer, occurred_at="2026-06-01T00:00:00Z"),
        ]
    )
    body = ok(api, "/v1/projects", min_seq=2)
    assert [summary["id"] for summary in body["projects"]] == [newer, older]
    assert [summary["named"] for summary in body["projects"]] == [False, False]


def test_timeline_echoes_as_of_and_counts_time_in_production(journal: tuple[Api, str, int]) -> None:
    api, project, cursor = journal
    body = ok(api, f"/v1/projects/{project}/timeline", as_of="2026-09-01")
    assert body["as_of"] == "2026-09-01"
    assert body["as_of_seq"] == cursor
    assert body["timeline"]["project_id"] == project
    assert body["timeline"]["shipped"] is True
    assert body["in_production"] is True
    assert body["in_production_days"] == (date(2026, 9, 1) - date(2026, 3, 1)).days
    assert [entry["type"] for entry in body["timeline"]["entries"]][:2] == [
        "project.started",
        "milestone.reached",
    ]


def test_timeline_as_of_defaults_to_today_in_utc(journal: tuple[Api, str, int]) -> None:
    api, project, _ = journal
    before = datetime.now(UTC).date().isoformat()
    as_of = ok(api, f"/v1/projects/{project}/timeline")["as_of"]
    assert as_of in {before, datetime.now(UTC).date().isoformat()}


def test_metric_chains_of_a_project(journal: tuple[Api, str, int]) -> None:
    api, project, cursor = journal
    body = ok(api, f"/v1/projects/{project}/metric-chains")
    assert body["project_id"] == project
    assert body["as_of_seq"] == cursor
    assert {metric["key"] for metric in body["metrics"]} == {"auc", "churn_rate"}
    assert [chain["keys"] for chain in body["chains"]] == [["auc", "churn_rate"]]
    assert body["chains"][0]["complete"] is True


def test_review_draft_as_json_defaults_as_of_to_the_period_end(journal: tuple[Api, str, int]) -> None:
    api, project, cursor = journal
    body = ok(api, "/v1/review-draft", **{"from": "2026-01-01", "to": "2026-06-30"})
    assert (body["period_from"], body["period_to"], body["as_of"]) == (
        "2026-01-01",
        "2026-06-30",
        "2026-06-30",
    )
    assert body["as_of_seq"] == cursor
    assert body["projection_version"] == PROJECTION_VERSION
    assert [section["project_id"] for section in body["sections"]] == [project]
    assert body["other_work"], "the win captured without a project has its own section"


@pytest.mark.parametrize(
    ("accept", "params"),
    [("text/markdown", {}), (None, {"format": "markdown"}), ("application/json", {"format": "markdown"})],
)
def test_review_draft_as_markdown(
    journal: tuple[Api, str, int], accept: str | None, params: dict[str, str]
) -> None:
    api, _, cursor = journal
    period = {"from": "2026-01-01", "to": "2026-06-30", "as_of": "2026-06-30"}
    response = get(api, "/v1/review-draft", accept, **period, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["Winledger-Epoch"] == api.server.epoch
    assert response.headers["Winledger-As-Of-Seq"] == str(cursor)
    assert response.headers["Winledger-Projection-Version"] == str(PROJECTION_VERSION)
    assert response.text.startswith("#")
    assert "Churn model" in response.text


def test_review_draft_json_and_markdown_say_the_same(journal: tuple[Api, str, int]) -> None:
    from schema.projections import render_markdown
    from schema.projections.models import ReviewDraft

    api, _, _ = journal
    period = {"from": "2026-01-01", "to": "2026-12-31"}
    body = ok(api, "/v1/review-draft", **period)
    fields = {k: v for k, v in body.items() if k not in ("as_of_seq", "projection_version", "epoch")}
    draft = msgspec.convert(fields, ReviewDraft)
    assert get(api, "/v1/review-draft", format="markdown", **period).text == render_markdown(draft)


def test_msgpack_is_spoken_too(journal: tuple[Api, str, int]) -> None:
    api, project, _ = journal
    response = get(api, "/v1/projects", "application/msgpack")
    assert response.headers["content-type"] == "application/msgpack"
    assert [summary["id"] for summary in decode(response)["projects"]] == [project]


def test_another_users_project_and_a_malformed_id_are_not_found_like_a_missing_one(
    journal: tuple[Api, str, int],
) -> None:
    api, project, _ = journal
    other = Api(api.server, api.server.create_user(f"{api.name}-other"), f"{api.name}-other")
    missing = new_id()
    for route in ("timeline", "metric-chains"):
        theirs = assert_problem(get(other, f"/v1/projects/{project}/{route}"), 404, "not_found")
        absent = assert_problem(get(other, f"/v1/projects/{missing}/{route}"), 404, "not_found")
        assert theirs == {**absent, "detail": absent["detail"].replace(missing, project)}
        for malformed in ("not-a-uuid", project.upper(), "00000000-0000-0000-0000-00000000000"):
            body = assert_problem(get(api, f"/v1/projects/{malformed}/{route}"), 404, "not_found")
            assert body == {**absent, "detail": absent["detail"].replace(missing, malformed)}


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/v1/review-draft", {"to": "2026-12-31"}, "`from`"),
        ("/v1/review-draft", {"from": "2026-01-01"}, "`to`"),
        ("/v1/review-draft", {"from": "2026-02-30", "to": "2026-12-31"}, "`from`"),
        ("/v1/review-draft", {"from": "20260101", "to": "2026-12-31"}, "`from`"),
        ("/v1/review-draft", {"from": "2026-12-31", "to": "2026-01-01"}, "`from`"),
        ("/v1/review-draft", {"from": "2026-01-01", "to": "2026-12-31", "as_of": "yesterday"}, "`as_of`"),
        ("/v1/review-draft", {"from": "2026-01-01", "to": "2026-12-31", "format": "pdf"}, "`format`"),
        ("/v1/review-draft", {"from": "2026-01-01", "to": "2026-06-30", "format": "MD"}, "`format`"),
        ("/v1/review-draft", {"from": "2026-01-01", "to": "2026-06-30", "short": "yes"}, "`short`"),
        ("/v1/review-draft", {"from": "2026-01-01", "to": "2026-06-30", "cite": "0"}, "`cite`"),
        # as_of is a day that has happened, and a period may not end after it.
        ("/v1/review-draft", {"from": "2026-01-01", "to": TODAY, "as_of": AHEAD}, "`as_of`"),
        ("/v1/review-draft", {"from": "2026-01-01", "to": "2026-06-30", "as_of": "2026-06-29"}, "`as_of`"),
        ("/v1/review-draft", {"from": AHEAD, "to": NEXT_MONTH}, "`from`"),
        ("/v1/projects/{project}/timeline", {"as_of": "2026-1-1"}, "`as_of`"),
        ("/v1/projects/{project}/metric-chains", {"as_of": "2026-06-31"}, "`as_of`"),
        ("/v1/projects", {"min_seq": "-1"}, "`min_seq`"),
        ("/v1/projects", {"min_seq": "x"}, "`min_seq`"),
        ("/v1/projects", {"min_seq": str(2**53)}, "`min_seq`"),
        ("/v1/projects/{project}/metric-chains", {"min_seq": "1.5"}, "`min_seq`"),
        # More digits than int() reads (4,300): refused by length, not a 500.
        ("/v1/projects", {"min_seq": "9" * 5000}, "`min_seq`"),
        ("/v1/projects/{project}/timeline", {"min_seq": "0" * 5000}, "`min_seq`"),
    ],
)
def test_bad_parameters_are_invalid_parameter_naming_the_parameter(
    journal: tuple[Api, str, int], path: str, params: dict[str, str], named: str
) -> None:
    api, project, _ = journal
    body = assert_problem(get(api, path.format(project=project), **params), 400, "invalid_parameter")
    assert named in body["detail"]
    assert body["epoch"] == api.server.epoch


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_the_first_and_last_days_a_date_holds_are_answered_never_a_500(
    journal: tuple[Api, str, int], day: str
) -> None:
    api, project, cursor = journal
    for path in (f"/v1/projects/{project}/timeline", f"/v1/projects/{project}/metric-chains"):
        response = get(api, path, as_of=day, min_seq=cursor)
        assert response.status_code == (404 if day == "0001-01-01" else 200), response.text
    # A period to the last day is drawn to today; a draft as of the first day holds nothing yet.
    drawn = ok(api, "/v1/review-draft", **{"from": "0001-01-01", "to": day})["period_to"]
    assert drawn == min(day, datetime.now(UTC).date().isoformat())
    as_of = get(api, "/v1/review-draft", **{"from": "0001-01-01", "to": "0001-01-01", "as_of": day})
    if day == "0001-01-01":
        assert decode(as_of)["sections"] == []
    else:
        assert "`as_of`" in assert_problem(as_of, 400, "invalid_parameter")["detail"]


def test_read_model_routes_need_a_token(journal: tuple[Api, str, int]) -> None:
    api, project, _ = journal
    for path in ("/v1/projects", f"/v1/projects/{project}/timeline", "/v1/review-draft?from=x"):
        response = api.http.get(path)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_accept_naming_no_format_is_not_acceptable(journal: tuple[Api, str, int]) -> None:
    api, project, _ = journal
    assert_problem(get(api, "/v1/projects", "text/markdown"), 406, "not_acceptable")
    assert_problem(get(api, f"/v1/projects/{project}/timeline", "text/html"), 406, "not_acceptable")


def test_min_seq_beyond_the_newest_seq_answers_at_once(journal: tuple[Api, str, int]) -> None:
    api, _, cursor = journal
    started = time.monotonic()
    body = ok(api, "/v1/projects", min_seq=cursor + 100)
    assert time.monotonic() - started < 1
    assert body["as_of_seq"] == cursor


def test_min_seq_gives_up_after_the_wait_and_answers_with_what_it_has(
    server_factory: Callable[..., InProcessServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readmodels, "MAX_WAIT_S", 0.3)
    server = server_factory()
    api = Api(server, server.create_user("ada"))
    first = api.push([an_event()])["cursor"]
    assert ok(api, "/v1/projects", min_seq=first)["as_of_seq"] == first
    server.portal.call(server.state.projector.stop)
    second = api.push([an_event()])["cursor"]
    started = time.monotonic()
    body = ok(api, "/v1/projects", min_seq=second)
    assert 0.25 < time.monotonic() - started < 3
    assert body["as_of_seq"] == first < second


def test_a_user_with_no_events_has_no_projects(api: Api) -> None:
    body = ok(api, "/v1/projects", min_seq=0)
    assert (body["projects"], body["as_of_seq"]) == ([], 0)
    draft = ok(api, "/v1/review-draft", **{"from": "2026-01-01", "to": "2026-12-31"})
    assert draft["sections"] == []


def conforms(name: str, value: Any) -> None:
    assert problems(DOCUMENTS[f"{name}.json"], value) == [], value


def test_responses_conform_to_the_published_json_schema(journal: tuple[Api, str, int]) -> None:
    api, project, _ = journal
    conforms("ProjectsResponse", ok(api, "/v1/projects"))
    conforms("TimelineResponse", ok(api, f"/v1/projects/{project}/timeline", as_of="2026-07-01"))
    conforms("MetricChainsResponse", ok(api, f"/v1/projects/{project}/metric-chains"))
    conforms("ReviewDraftResponse", ok(api, "/v1/review-draft", **{"from": "2026-01-01", "to": "2026-12-31"}))
    conforms("Problem", decode(get(api, "/v1/projects/nope/timeline")))


# -- as_of is a point in time (issue 14) ---------------------------------------------------------

DAY = "2026-04-15"
"""The point in time of these tests: the churn model was deployed on 1 March; its business metric and
the link to it (1 and 2 May) come later."""


def _late_events(device: Device, project: str) -> list[dict[str, Any]]:
    """What happens to the churn project after DAY: a rename, a rollback, a stakeholder's decision."""
    return [
        device.event(
            "project.updated",
            project_id=project,
            occurred_at="2026-05-10T10:00:00Z",
            data={"name": "Churn model v2"},
        ),
        device.event(
            "milestone.reached",
            project_id=project,
            occurred_at="2026-05-20T10:00:00Z",
            data={"milestone": "rolled_back", "note": "the flagged list was too long to work"},
        ),
        device.event(
            "feedback.received",
            project_id=project,
            occurred_at="2026-05-21T10:00:00Z",
            data={"quote": "We stopped calling", "source_name": "Dana", "decision": "calls paused"},
        ),
    ]


def _draft_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("as_of_seq", "projection_version", "epoch")}


def test_a_draft_as_of_a_day_is_what_was_recorded_by_its_end_and_later_events_never_change_it(
    api: Api,
) -> None:
    device = Device()
    project, events = churn_project(device)
    early = [e for e in events if e["occurred_at"][:10] <= DAY]
    late = [e for e in events if e["occurred_at"][:10] > DAY] + _late_events(device, project)
    period = {"from": "2026-01-01", "to": DAY}

    cursor = api.push(early)["cursor"]
    before = ok(api, "/v1/review-draft", min_seq=cursor, **period)
    markdown_before = get(api, "/v1/review-draft", format="md", min_seq=cursor, **period).text
    assert before["as_of"] == DAY and before["sections"], before

    cursor = api.push(late)["cursor"]
    after = ok(api, "/v1/review-draft", min_seq=cursor, **period)
    assert after["as_of_seq"] == cursor
    # The same draft, to the byte: the rename, the rollback, the metric, the link and the decision
    # all occurred after the end of DAY.
    assert _draft_fields(after) == _draft_fields(before)
    assert get(api, "/v1/review-draft", format="md", min_seq=cursor, **period).text == markdown_before
    assert "Churn model v2" not in markdown_before and "calls paused" not in markdown_before
    cited = msgspec.json.encode(after).decode()
    assert not [e["id"] for e in late if e["id"] in cited], "an event after DAY is cited"

    # Drawn as of a later day (the period still ends on DAY), the later events count.
    later = ok(api, "/v1/review-draft", as_of="2026-06-30", **period)
    assert later["as_of"] == "2026-06-30" and _draft_fields(later) != _draft_fields(after)


def test_a_timeline_and_the_chains_as_of_a_day_leave_out_what_occurred_after_it(api: Api) -> None:
    device = Device()
    project, events = churn_project(device)
    late = _late_events(device, project)
    cursor = api.push(events + late)["cursor"]

    view = ok(api, f"/v1/projects/{project}/timeline", as_of=DAY, min_seq=cursor)
    timeline = view["timeline"]
    assert view["as_of"] == DAY
    assert timeline["name"] == "Churn model"  # renamed on 10 May
    assert timeline["stage"] == "deployed" and view["in_production"] is True  # rolled back on 20 May
    assert [e["occurred_at"][:10] for e in timeline["entries"]] == ["2026-01-05", "2026-02-01", "2026-02-02",
                                                                     "2026-03-01"]  # fmt: skip
    assert timeline["first_business_metric_at"] is None

    now = ok(api, f"/v1/projects/{project}/timeline")
    assert now["timeline"]["name"] == "Churn model v2"
    assert now["timeline"]["stage"] == "rolled_back" and now["in_production"] is False

    chains = ok(api, f"/v1/projects/{project}/metric-chains", as_of=DAY)
    assert [metric["key"] for metric in chains["metrics"]] == ["auc"]  # churn_rate: first on 1 May
    assert chains["links"] == []  # linked on 2 May
    assert all(not chain["complete"] for chain in chains["chains"])
    chains = ok(api, f"/v1/projects/{project}/metric-chains", as_of="2026-05-02")
    assert {metric["key"] for metric in chains["metrics"]} == {"auc", "churn_rate"}
    assert [chain["keys"] for chain in chains["chains"] if chain["complete"]] == [["auc", "churn_rate"]]


def test_metric_chains_default_to_today_like_the_timeline(journal: tuple[Api, str, int]) -> None:
    api, project, _ = journal
    assert ok(api, f"/v1/projects/{project}/metric-chains") == ok(
        api, f"/v1/projects/{project}/metric-chains", as_of=datetime.now(UTC).date().isoformat()
    )


@pytest.mark.parametrize("route", ["timeline", "metric-chains"])
def test_a_project_with_nothing_recorded_by_as_of_is_not_found_and_says_so(
    journal: tuple[Api, str, int], route: str
) -> None:
    api, project, _ = journal  # started on 2026-01-05
    body = assert_problem(get(api, f"/v1/projects/{project}/{route}", as_of="2026-01-04"), 404, "not_found")
    assert "Nothing" in body["detail"] and "2026-01-04" in body["detail"], body
    assert ok(api, f"/v1/projects/{project}/{route}", as_of="2026-01-05")


def test_the_draft_of_the_year_in_progress_is_drawn_as_of_today(journal: tuple[Api, str, int]) -> None:
    api, _, _ = journal
    today = datetime.now(UTC).date()
    start = (today - timedelta(days=400)).isoformat()
    body = ok(api, "/v1/review-draft", **{"from": start, "to": (today + timedelta(days=60)).isoformat()})
    drawn = {today.isoformat(), datetime.now(UTC).date().isoformat()}  # midnight may pass meanwhile
    assert body["as_of"] in drawn and body["period_to"] == body["as_of"]
    assert body["period_from"] == start
    # An explicit as_of of today, for a period that ends today, is the same draft.
    same = ok(api, "/v1/review-draft", **{"from": start, "to": body["as_of"], "as_of": body["as_of"]})
    assert _draft_fields(same) == _draft_fields(body)


def _json_draft(body: dict[str, Any]) -> Any:
    from schema.projections.models import ReviewDraft

    return msgspec.convert(_draft_fields(body), ReviewDraft)


PERIOD = {"from": "2026-01-01", "to": "2026-06-30"}


@pytest.mark.parametrize(
    ("accept", "params"),
    [("text/plain", {}), (None, {"format": "text"}), ("text/markdown", {"format": "text"})],
)
def test_review_draft_as_plain_text_to_paste_into_a_review_form(
    journal: tuple[Api, str, int], accept: str | None, params: dict[str, str]
) -> None:
    from schema.projections import render_text

    api, _, cursor = journal
    response = get(api, "/v1/review-draft", accept, **PERIOD, **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["Winledger-Epoch"] == api.server.epoch
    assert response.headers["Winledger-As-Of-Seq"] == str(cursor)
    text = response.text
    assert text == render_text(_json_draft(ok(api, "/v1/review-draft", **PERIOD)))
    assert "Churn model" in text
    # No Markdown syntax: no heading, emphasis, checkbox or escaping backslash.
    assert "**" not in text and "[ ]" not in text and "\\" not in text
    assert not [line for line in text.splitlines() if line.lstrip().startswith(("#", "_"))], text


def test_md_is_markdown_and_markdown_is_still_taken(journal: tuple[Api, str, int]) -> None:
    api, _, _ = journal
    md = get(api, "/v1/review-draft", format="md", **PERIOD)
    assert md.headers["content-type"] == "text/markdown; charset=utf-8"
    assert md.text == get(api, "/v1/review-draft", format="markdown", **PERIOD).text
    assert md.text.startswith("#")


def test_short_keeps_the_summary_and_the_top_accomplishments_alone(journal: tuple[Api, str, int]) -> None:
    from schema.projections import render_markdown, render_text, shorten

    api, _, _ = journal
    full = ok(api, "/v1/review-draft", **PERIOD)
    short = ok(api, "/v1/review-draft", short="true", **PERIOD)
    assert ok(api, "/v1/review-draft", short="false", **PERIOD) == full
    assert full["sections"] and full["accomplishments"]
    assert _json_draft(short) == shorten(_json_draft(full))
    assert short["accomplishments"] == full["accomplishments"] and short["summary"] == full["summary"]
    assert short["sections"] == [] and short["checklist"] == [] and short["learnings"] == []
    draft = _json_draft(full)
    for fmt, render in (("md", render_markdown), ("text", render_text)):
        whole = get(api, "/v1/review-draft", format=fmt, **PERIOD).text
        brief = get(api, "/v1/review-draft", format=fmt, short="true", **PERIOD).text
        assert brief == render(draft, short=True)
        assert len(brief) < len(whole)


def test_cite_false_drops_the_citations_from_md_and_text_and_json_keeps_its_ids(
    journal: tuple[Api, str, int],
) -> None:
    api, _, _ = journal
    body = ok(api, "/v1/review-draft", **PERIOD)
    cited = {event_id[-8:] for event_id in _event_ids(body)}
    assert cited
    for fmt in ("md", "text"):
        with_refs = get(api, "/v1/review-draft", format=fmt, **PERIOD).text
        without = get(api, "/v1/review-draft", format=fmt, cite="false", **PERIOD).text
        assert any(ref in with_refs for ref in cited), fmt
        assert not [ref for ref in cited if ref in without], without
        assert get(api, "/v1/review-draft", format=fmt, cite="true", **PERIOD).text == with_refs
    assert ok(api, "/v1/review-draft", cite="false", **PERIOD) == body


def _event_ids(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = set(value.get("event_ids", []))
        return found.union(*(_event_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_event_ids(v) for v in value))
    return set()
