"""``winledger mlflow import`` against a real MLflow tracking store (SQLite), made here with MLflow's own
client: experiments, finished and running runs with metrics, registered versions, aliases set and moved.

One store serves the module (MLflow is slow to set up); each test imports its own registered model, and
only the alias test changes one, its own.
"""

from __future__ import annotations

import io
import sqlite3
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow  # the mlflow extra, which the test extra includes: a missing one fails, never skips
import msgspec
import pytest

from client_sdk import Client
from tests.support.cli import Result, run_main


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def at(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, UTC)


@contextmanager
def quiet() -> Iterator[None]:
    """MLflow's dependencies warn of their own deprecations (SQLAlchemy's ``noload``): not ours to test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class Store(msgspec.Struct):
    uri: str
    ends: dict[str, int]
    runs: dict[str, str]


def _run(client: Any, experiment: str, name: str, start: str, end: str | None, **metrics: Any) -> str:
    run = client.create_run(experiment, start_time=ms(start), run_name=name)
    for metric, values in metrics.items():
        for step, value in enumerate(values if isinstance(values, list) else [values]):
            client.log_metric(run.info.run_id, metric.replace("__", "/"), value, step=step)
    if end is not None:
        client.set_terminated(run.info.run_id, end_time=ms(end))
    return str(run.info.run_id)


def _version(client: Any, model: str, run_id: str) -> int:
    return int(client.create_model_version(model, source=f"runs:/{run_id}/model", run_id=run_id).version)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    with quiet():
        client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
        churn = client.create_experiment("churn")
        runs = {
            "first": _run(
                client,
                churn,
                "first",
                "2026-03-09T15:00:00Z",
                "2026-03-09T16:41:07.930Z",
                val_auc=[0.80, 0.91],
                val__log_loss=0.35,
            ),
            "second": _run(
                client, churn, "second", "2026-04-01T09:00:00Z", "2026-04-01T10:30:00Z", val_auc=0.93
            ),
            "running": _run(client, churn, "running", "2026-04-02T09:00:00Z", None, val_auc=0.5),
        }
        client.create_registered_model("Churn Early Warning")
        for name in ("first", "second", "running"):
            _version(client, "Churn Early Warning", runs[name])
        client.set_registered_model_alias("Churn Early Warning", "champion", 1)
        client.set_registered_model_alias("Churn Early Warning", "challenger", 2)

        pricing = client.create_experiment("pricing")
        client.create_registered_model("Pricing engine")
        for number in (1, 2):
            day = f"2026-05-0{number}"
            run_id = _run(client, pricing, f"p{number}", f"{day}T08:00:00Z", f"{day}T09:00:00Z", mape=4.0)
            _version(client, "Pricing engine", run_id)
        client.set_registered_model_alias("Pricing engine", "champion", 1)

        client.create_registered_model("ticket-router")
        run_id = _run(client, churn, "router", "2026-06-01T08:00:00Z", "2026-06-01T09:00:00Z", f1=0.88)
        _version(client, "ticket-router", run_id)

        client.create_registered_model("Fraud scorer")
        runs["fraud"] = _run(
            client,
            churn,
            "fraud",
            "2026-07-01T08:00:00Z",
            "2026-07-01T09:00:00Z",
            precision=0.96,
            recall=float("nan"),
        )
        _version(client, "Fraud scorer", runs["fraud"])
        client.create_registered_model("Demand forecast")
        for number in (1, 2):
            run_id = _run(
                client, pricing, f"d{number}", "2026-08-01T08:00:00Z", "2026-08-01T09:00:00Z", mae=3.0
            )
            _version(client, "Demand forecast", run_id)
        client.transition_model_version_stage("Demand forecast", "1", "Production")  # MLflow 2's stages
        client.set_registered_model_alias("Demand forecast", "live", 2)
    ends = {name: int(client.get_run(run_id).info.end_time or 0) for name, run_id in runs.items()}
    return Store(uri=uri, ends=ends, runs=runs)


def version_updated(store: Store, model: str, version: int) -> datetime:
    with quiet():
        client = mlflow.MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)
        return at(int(client.get_model_version(model, str(version)).last_updated_timestamp))


def move_alias(store: Store, model: str, alias: str, version: int) -> None:
    with quiet():
        client = mlflow.MlflowClient(tracking_uri=store.uri, registry_uri=store.uri)
        client.set_registered_model_alias(model, alias, version)


# -- running the command ---------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def journal(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal, as under CI
    return home / "journal.db"


def mlflow_import(capsys: pytest.CaptureFixture[str], journal: Path, store: Store, *args: str) -> Result:
    return run_main(capsys, "mlflow", "import", "--tracking-uri", store.uri, "--store", str(journal), *args)


def start(capsys: pytest.CaptureFixture[str], journal: Path, name: str) -> str:
    result = run_main(capsys, "project", "start", name, "--kind", "model", "--store", str(journal))
    assert result.code == 0, result.err
    return result.out.split()[-1]


def events(journal: Path, event_type: str | None = None) -> list[Any]:
    with Client(journal) as client:
        held = client.events()
    return [e for e in held if event_type is None or e.type == event_type]


def milestones(journal: Path) -> list[tuple[str, datetime]]:
    found = events(journal, "milestone.reached")
    return sorted(((e.data["milestone"], e.occurred_at) for e in found), key=lambda item: item[1])


def mlflow_rows(journal: Path) -> int:
    with sqlite3.connect(journal) as conn:
        return int(conn.execute("SELECT count(*) FROM meta WHERE key LIKE 'mlflow:%'").fetchone()[0])


# -- the tests --------------------------------------------------------------------------------------


def test_finished_runs_become_trained_with_their_metrics_and_aliases_deployments(
    capsys: pytest.CaptureFixture[str], journal: Path, store: Store
) -> None:
    project = start(capsys, journal, "churn early warning")  # the model's name in another case
    result = mlflow_import(capsys, journal, store, "--model", "Churn Early Warning")
    assert result.code == 0, result.err
    assert "Imported 7 events from MLflow, pending sync." in result.out

    assert milestones(journal) == [
        ("trained", at(store.ends["first"])),
        ("trained", at(store.ends["second"])),  # the running run's version is not trained
        ("deployed", version_updated(store, "Churn Early Warning", 1)),  # champion
        ("shadow_deployed", version_updated(store, "Churn Early Warning", 2)),  # challenger
    ]
    assert at(store.ends["first"]) == datetime(2026, 3, 9, 16, 41, 7, 930000, tzinfo=UTC)
    metrics = {(e.data["key"], e.occurred_at): e for e in events(journal, "metric.observed")}
    assert set(metrics) == {
        ("val_auc", at(store.ends["first"])),
        ("val_log_loss", at(store.ends["first"])),
        ("val_auc", at(store.ends["second"])),
    }
    auc = metrics["val_auc", at(store.ends["first"])]
    assert auc.project_id == project and auc.status == "pending"
    assert auc.data["value"] == 0.91 and auc.data["layer"] == "model"  # the last value logged
    assert auc.data["label"] == "val_auc" and "direction" not in auc.data
    loss = metrics["val_log_loss", at(store.ends["first"])].data
    assert loss["label"] == "val/log_loss" and loss["direction"] == "lower_is_better"
    assert all(e.project_id == project for e in events(journal) if e.type != "project.started")
    [trained] = [e for e in events(journal, "milestone.reached") if e.occurred_at == at(store.ends["first"])]
    assert store.runs["first"] in trained.data["note"]

    before = [e.id for e in events(journal)]
    again = mlflow_import(capsys, journal, store, "--model", "Churn Early Warning")
    assert again.code == 0, again.err
    assert "Imported 0 events" in again.out and "7 already in the journal" in again.out
    assert [e.id for e in events(journal)] == before


def test_a_dry_run_prints_what_it_would_record_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], journal: Path, store: Store
) -> None:
    start(capsys, journal, "Churn early warning")
    held = [e.id for e in events(journal)]
    result = mlflow_import(capsys, journal, store, "--model", "Churn Early Warning", "--dry-run")
    assert result.code == 0, result.err
    assert result.out.count("Would record") == 7
    assert 'Would record milestone trained for "Churn early warning" at 2026-03-09 16:41 UTC' in result.out
    assert "Would record model metric val_auc = 0.91" in result.out
    assert "Dry run: 7 events would be recorded. Nothing was written." in result.out
    assert [e.id for e in events(journal)] == held and mlflow_rows(journal) == 0  # not even the mapping

    assert mlflow_import(capsys, journal, store, "--model", "Churn Early Warning").code == 0
    assert len(events(journal)) == 8  # the dry run held nothing back either


def test_a_moved_production_alias_is_a_new_deployment_forward_and_a_rollback_backward(
    capsys: pytest.CaptureFixture[str], journal: Path, store: Store
) -> None:
    start(capsys, journal, "Pricing engine")
    assert mlflow_import(capsys, journal, store, "--model", "Pricing engine").code == 0
    first_deployed = version_updated(store, "Pricing engine", 1)
    assert [m for m in milestones(journal) if m[0] != "trained"] == [("deployed", first_deployed)]

    move_alias(store, "Pricing engine", "champion", 2)
    forward = mlflow_import(capsys, journal, store, "--model", "Pricing engine")
    assert forward.code == 0 and "Imported 1 events" in forward.out, forward.out + forward.err
    second_deployed = version_updated(store, "Pricing engine", 2)
    assert [m for m in milestones(journal) if m[0] != "trained"] == [
        ("deployed", first_deployed),
        ("deployed", second_deployed),
    ]

    seen = datetime.now(UTC)
    move_alias(store, "Pricing engine", "champion", 1)
    back = mlflow_import(capsys, journal, store, "--model", "Pricing engine")
    assert back.code == 0 and "Recorded milestone rolled_back" in back.out, back.out + back.err
    *_, (last, when) = milestones(journal)
    assert last == "rolled_back" and when > second_deployed and when >= seen.replace(microsecond=0)
    [rollback] = [e for e in events(journal, "milestone.reached") if e.data["milestone"] == "rolled_back"]
    assert "moved back from version 2 to version 1" in rollback.data["note"]
    with Client(journal) as client:
        [project] = client.projects()
    assert project.stage == "rolled_back"

    count = len(events(journal))
    assert "Imported 0 events" in mlflow_import(capsys, journal, store, "--model", "Pricing engine").out
    assert len(events(journal)) == count


def test_a_model_no_project_fits_stops_without_a_terminal_and_asks_in_one(
    capsys: pytest.CaptureFixture[str], journal: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(capsys, journal, "Support tickets")
    held = [e.id for e in events(journal)]
    refused = mlflow_import(capsys, journal, store, "--model", "ticket-router")
    assert refused.code == 1
    assert "argument --project" in refused.err and "'ticket-router' fits no project" in refused.err
    assert "Number:" not in refused.err  # no question where nobody can answer it
    assert [e.id for e in events(journal)] == held and mlflow_rows(journal) == 0

    forced = mlflow_import(capsys, journal, store, "--model", "ticket-router", "--project", "support tickets")
    assert forced.code == 0 and 'for "Support tickets"' in forced.out, forced.err
    # The mapping is remembered: no terminal, no --project, and nothing new or asked.
    again = mlflow_import(capsys, journal, store, "--model", "ticket-router")
    assert again.code == 0 and "Imported 0 events" in again.out, again.err

    other = journal.with_name("other.db")
    start(capsys, other, "Support tickets")
    monkeypatch.setattr(sys, "stdin", Terminal("0\n"))
    asked = mlflow_import(capsys, other, store, "--model", "ticket-router")
    assert asked.code == 0, asked.err
    assert "1) Support tickets" in asked.err and "0) a new project named 'ticket-router'" in asked.err
    with Client(other) as client:
        names = {p.name: p.id for p in client.projects()}
    assert set(names) == {"Support tickets", "ticket-router"}
    assert {e.project_id for e in events(other, "milestone.reached")} == {names["ticket-router"]}


def test_an_event_the_journal_refuses_is_reported_and_the_rest_recorded(
    capsys: pytest.CaptureFixture[str], journal: Path, store: Store
) -> None:
    start(capsys, journal, "Fraud scorer")
    result = mlflow_import(capsys, journal, store, "--model", "Fraud scorer")
    assert result.code == 1
    assert "Not recorded: model metric recall = nan" in result.err and "finite number" in result.err
    assert "1 events from MLflow were refused and not recorded" in result.err
    assert [e.data["key"] for e in events(journal, "metric.observed")] == ["precision"]
    assert [m for m, _ in milestones(journal)] == ["trained"]


def test_filters_and_bad_arguments_are_named(
    capsys: pytest.CaptureFixture[str], journal: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(capsys, journal, "Churn early warning")
    later = mlflow_import(capsys, journal, store, "--model", "Churn Early Warning", "--since", "2026-03-10")
    assert later.code == 0, later.err
    assert at(store.ends["first"]) not in [when for _, when in milestones(journal)]
    assert ("trained", at(store.ends["second"])) in milestones(journal)

    none = mlflow_import(capsys, journal, store, "--experiment", "no such experiment")
    assert none.code == 1 and "argument --experiment: MLflow has no experiment named" in none.err
    missing = mlflow_import(capsys, journal, store, "--model", "no such model")
    assert missing.code == 1 and "argument --model: MLflow has no registered model" in missing.err
    typo = run_main(capsys, "mlflow", "import", "--tracking-uri", "sqlite:///nowhere/mlflow.db")
    assert typo.code == 1 and "argument --tracking-uri: there is no MLflow database" in typo.err
    assert not Path("nowhere").exists()

    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if the extra were not installed
    monkeypatch.setitem(sys.modules, "mlflow.exceptions", None)
    without = mlflow_import(capsys, journal, store)
    assert without.code == 1 and 'pip install "winledger[mlflow]"' in without.err


def test_the_stage_production_and_a_named_alias_mean_production(
    capsys: pytest.CaptureFixture[str], journal: Path, store: Store
) -> None:
    start(capsys, journal, "Demand forecast")
    assert mlflow_import(capsys, journal, store, "--model", "Demand forecast").code == 0
    deployed = [m for m in milestones(journal) if m[0] != "trained"]
    assert deployed == [("deployed", version_updated(store, "Demand forecast", 1))]  # 'live' means nothing

    named = mlflow_import(capsys, journal, store, "--model", "Demand forecast", "--production-alias", "live")
    assert named.code == 0 and "Imported 1 events" in named.out, named.out + named.err
    deployed = [m for m in milestones(journal) if m[0] != "trained"]
    assert sorted(deployed) == sorted(
        [("deployed", version_updated(store, "Demand forecast", n)) for n in (1, 2)]
    )
