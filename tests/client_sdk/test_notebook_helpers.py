"""The calls a notebook cell or the end of a training script makes: the CLI's journal, a project by name,
and a model's metrics with its ``trained`` milestone in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from client_sdk import Client, NotFoundError, ValidationError, _config
from tests.support.inprocess import InProcessServer


def test_default_opens_the_journal_and_sign_in_of_the_winledger_command(
    home: Path, server: InProcessServer, token: str
) -> None:
    _config.save_settings({"server": server.url})
    _config.save_token(token)
    with Client.default(transport=server.transport) as journal:
        assert journal.path == str(home / "data" / "winledger" / "journal.db")
        assert journal.server == server.url
        journal.capture("From a notebook")
        assert journal.sync().accepted == 1


def test_trained_records_the_milestone_and_the_metrics_at_one_moment(home: Path) -> None:
    with Client.default() as journal:
        journal.start_project("Churn early warning", "model")
        churn = journal.find_project("churn early warning")
        milestone = journal.trained(churn, {"auc": 0.91, "recall_at_30d": 0.81}, note="LightGBM, 18 months")
        events = journal.events(project=churn)
    trained = [e for e in events if e.type != "project.started"]
    assert [e.type for e in trained] == ["milestone.reached", "metric.observed", "metric.observed"]
    assert trained[0].id == milestone and trained[0].data == {
        "milestone": "trained",
        "note": "LightGBM, 18 months",
    }
    assert [(e.data["key"], e.data["value"], e.data["layer"]) for e in trained[1:]] == [
        ("auc", 0.91, "model"),
        ("recall_at_30d", 0.81, "model"),
    ]
    assert len({e.occurred_at for e in trained}) == 1


@pytest.mark.parametrize(
    ("metrics", "layer", "field"),
    [
        ({"auc": 0.9, "AUC": 0.9}, "model", "$.data.key"),
        ({"auc": 0.9, "loss": float("nan")}, "model", "$.data.value"),
        ({"auc": "0.9"}, "model", "$.data.value"),
        ({"auc": 0.9}, "offline", "$.data.layer"),
    ],
)
def test_trained_checks_everything_before_storing_anything(
    home: Path, metrics: dict[str, object], layer: str, field: str
) -> None:
    with Client.default() as journal:
        churn = journal.start_project("Churn", "model")
        with pytest.raises(ValidationError) as raised:
            journal.trained(churn, metrics, layer=layer)  # type: ignore[arg-type]
        assert raised.value.field == field
        assert [e.type for e in journal.events()] == ["project.started"]


def test_find_project_names_close_matches_when_it_cannot_decide(home: Path) -> None:
    with Client.default() as journal:
        churn = journal.start_project("Churn early warning", "model")
        assert journal.find_project(churn[:13]) == churn
        with pytest.raises(NotFoundError, match="Close matches:\n  Churn early warning  ") as raised:
            journal.find_project("Churn early warnings")
        assert churn in str(raised.value)
