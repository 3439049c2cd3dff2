"""The projects page ends with what to capture next: the nudges of the signed-in user's own journal, as
``winledger nudge`` lists them, escaped like every other text of the page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schema.projections import build_models
from schema.projections.nudges import nudges
from tests.factories import Device, new_id
from tests.server.conftest import Api
from tests.support.inprocess import InProcessServer
from tests.support.web import MARKUP, WebClient, assert_only_text, hostile_journal


def _signed_in(server: InProcessServer, name: str, events: list[dict[str, Any]]) -> WebClient:
    token = server.create_user(name)
    api = Api(server, token, name)
    if events:
        cursor = api.push(events)["cursor"]
        api.http.get("/v1/projects", params={"min_seq": cursor}, headers=api.headers(None))
    browser = WebClient(server)
    browser.sign_in(token)
    return browser


def _nudge_items(document: str) -> list[tuple[str, str]]:
    """Each item of the list, as (kind, text) the reader sees."""
    section = document.split('<div id="nudges">', 1)[1].split("</div>", 1)[0]
    items = []
    for chunk in section.split("<li ")[1:]:
        kind = chunk.split('data-kind="', 1)[1].split('"', 1)[0]
        items.append((kind, chunk.split("</li>", 1)[0]))
    return items


def test_the_projects_page_lists_the_users_nudges_with_their_commands_as_text(
    shared_server: InProcessServer,
) -> None:
    project, events = hostile_journal()  # deployed on 1 March 2026, no production numbers since
    browser = _signed_in(shared_server, "nudged", events)
    page = browser.get("/")
    assert page.status_code == 200
    parsed = assert_only_text(page.text)
    text = "".join(parsed.text)
    assert "What to capture next" in text
    expected = nudges(build_models(events).values(), datetime.now(UTC).date())
    assert [kind for kind, _ in _nudge_items(page.text)] == [n.kind for n in expected.nudges]
    [deployed] = [n for n in expected.nudges if n.kind == "no_production_metric"]
    assert deployed.reason.startswith(f"Churn {MARKUP} was deployed on 1 March 2026, ")
    # The reason and the command read as the pure function wrote them, markup included, as text.
    assert deployed.reason in text and deployed.command in text
    assert deployed.command.startswith("winledger metric 'Churn <script>")
    assert (
        f'data-kind="no_production_metric" data-project="{project}"><strong>Churn &lt;script&gt;' in page.text
    )


def test_a_journal_with_nothing_to_capture_says_so_and_another_users_nudges_never_show(
    shared_server: InProcessServer,
) -> None:
    _signed_in(shared_server, "other-nudged", hostile_journal()[1])
    device, project = Device(), new_id()
    today = datetime.now(UTC).date().isoformat()
    fresh = [
        device.event(
            "project.started",
            project_id=project,
            occurred_at=f"{today}T00:00:00Z",
            data={"name": "Fresh work", "kind": "analysis"},
        )
    ]
    browser = _signed_in(shared_server, "calm", fresh)
    page = browser.get("/")
    text = "".join(assert_only_text(page.text).text)
    assert _nudge_items(page.text) == []
    assert f"Nothing to capture right now (as of {today})." in text
    assert "Churn" not in text and "Fresh work" in text
