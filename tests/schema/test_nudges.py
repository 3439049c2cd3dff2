"""Nudges: each kind appears exactly when its condition holds as of the day asked, says the recorded dates
and figures it rests on, and names a command that resolves it."""

from __future__ import annotations

import random
import shlex
from datetime import date, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from schema.projections import build_models
from schema.projections.nudges import Nudges, nudges, nudges_from_events, planned_days, shell_quote
from tests.schema.test_projections import Journal

START = date(2026, 1, 10)


def day(offset: int, base: date = START) -> str:
    return (base + timedelta(days=offset)).isoformat()


def of(journal: Journal, as_of: str) -> Nudges:
    return nudges_from_events(journal.events, date.fromisoformat(as_of))


def kinds(journal: Journal, as_of: str) -> list[str]:
    return [item.kind for item in of(journal, as_of).nudges]


def deployed(name: str = "Churn model", on: str = "2026-03-01") -> tuple[Journal, str, str]:
    journal = Journal()
    project = journal.project(name, "model", on=day(0))
    deploy = journal.add("milestone.reached", {"milestone": "deployed"}, project=project, on=on)
    return journal, project, deploy


def metric(journal: Journal, project: str, key: str, layer: str, value: float, on: str, **more: Any) -> str:
    return journal.add(
        "metric.observed", {"key": key, "layer": layer, "value": value, **more}, project=project, on=on
    )


# -- a deployment without production numbers: four weeks, 28 days then 29 ------------------------


def test_a_deployment_asks_for_production_numbers_from_its_29th_day() -> None:
    journal, project, deploy = deployed()
    assert "no_production_metric" not in kinds(journal, "2026-03-29")  # 28 days
    found = of(journal, "2026-03-30")  # 29 days
    [item] = [n for n in found.nudges if n.kind == "no_production_metric"]
    assert item.project.id == project and item.project.name == "Churn model"
    assert item.reason == (
        "Churn model was deployed on 1 March 2026, 29 days before 30 March 2026, and no production-layer "
        "number has been recorded since: capture the first production numbers."
    )
    assert item.command == 'winledger metric "Churn model" KEY VALUE --layer production'
    assert item.event_ids == [deploy]


def test_production_numbers_since_the_deployment_resolve_it_but_only_from_the_day_they_were_recorded() -> (
    None
):
    journal, project, _ = deployed()
    metric(journal, project, "scored_per_day", "production", 50_000, "2026-04-10")
    assert "no_production_metric" in kinds(journal, "2026-04-09")
    assert "no_production_metric" not in kinds(journal, "2026-04-10")


def test_shadow_numbers_from_before_the_deployment_do_not_count_as_its_production_numbers() -> None:
    journal, project, _ = deployed()
    metric(journal, project, "scored_per_day", "production", 40_000, "2026-02-15")
    assert "no_production_metric" in kinds(journal, "2026-04-01")


def test_a_rolled_back_or_retracted_deployment_is_not_in_production() -> None:
    journal, project, _ = deployed()
    journal.add("milestone.reached", {"milestone": "rolled_back"}, project=project, on="2026-03-03")
    assert "no_production_metric" not in kinds(journal, "2026-05-01")
    # Deployed again: the four weeks run from the new deployment.
    again = journal.add("milestone.reached", {"milestone": "deployed"}, project=project, on="2026-04-01")
    assert "no_production_metric" not in kinds(journal, "2026-04-29")
    [item] = [n for n in of(journal, "2026-04-30").nudges if n.kind == "no_production_metric"]
    assert item.event_ids == [again] and "deployed on 1 April 2026, 29 days" in item.reason

    retracted, _, deploy2 = deployed()
    assert "no_production_metric" in kinds(retracted, "2026-05-01")
    retracted.add("event.retracted", {"target": deploy2}, on="2026-05-01")
    assert "no_production_metric" not in kinds(retracted, "2026-05-01")


# -- production numbers without a business metric ---------------------------------------------------


def test_production_numbers_without_a_business_metric_ask_for_the_outcome() -> None:
    journal, project, _ = deployed()
    observed = metric(
        journal, project, "scored_per_day", "production", 50_000, "2026-03-10", label="Scored a day"
    )
    [item] = [n for n in of(journal, "2026-03-10").nudges if n.kind == "no_business_metric"]
    assert item.reason == (
        "Churn model has production numbers (Scored a day stood at 50,000 on 10 March 2026) but no "
        "business-layer metric: record the outcome it moved."
    )
    assert item.command == 'winledger metric "Churn model" KEY VALUE --layer business'
    assert item.event_ids == [observed]
    metric(journal, project, "saved_rate", "business", 34, "2026-04-02", unit="%")
    assert "no_business_metric" in kinds(journal, "2026-04-01")
    assert "no_business_metric" not in kinds(journal, "2026-04-02")


def test_a_rolled_back_model_is_not_asked_for_its_business_outcome() -> None:
    journal, project, _ = deployed()
    metric(journal, project, "scored_per_day", "production", 50_000, "2026-03-10")
    journal.add("milestone.reached", {"milestone": "rolled_back"}, project=project, on="2026-03-12")
    assert "no_business_metric" in kinds(journal, "2026-03-11")
    assert "no_business_metric" not in kinds(journal, "2026-03-12")


def test_shadow_numbers_of_a_model_never_deployed_ask_for_no_business_outcome() -> None:
    journal = Journal()
    project = journal.project("Pricing", "model", on=day(0))
    journal.add("milestone.reached", {"milestone": "shadow_deployed"}, project=project, on="2026-02-01")
    metric(journal, project, "hold_out_accuracy", "production", 0.8, "2026-02-10")
    assert "no_business_metric" not in kinds(journal, "2026-02-20")


# -- a chain that stops before the business layer ----------------------------------------------------


def test_a_chain_stopping_at_production_asks_for_the_link_to_the_business_metric() -> None:
    journal, project, _ = deployed()
    metric(journal, project, "auc", "model", 0.91, "2026-02-01", label="AUC")
    metric(journal, project, "flagged", "production", 1200, "2026-03-10", label="Accounts flagged")
    metric(journal, project, "saved_rate", "business", 34, "2026-04-01", label="Saved rate", unit="%")
    link = journal.add(
        "metric.linked", {"cause": "auc", "effect": "flagged", "evidence": "shadow"}, project=project
    )
    assert "chain_incomplete" not in kinds(journal, "2026-03-31")  # no business metric yet to link to
    [item] = [n for n in of(journal, "2026-04-01").nudges if n.kind == "chain_incomplete"]
    assert item.reason == (
        "The chain “AUC” → “Accounts flagged” of Churn model stops at the production layer, and the "
        "project records the business metric “Saved rate” (saved_rate): link it to the outcome it moves."
    )
    assert item.command == 'winledger link "Churn model" flagged saved_rate --evidence EVIDENCE'
    assert item.event_ids == [link]
    journal.add(
        "metric.linked",
        {"cause": "flagged", "effect": "saved_rate", "evidence": "ab_test"},
        project=project,
        on="2026-04-02",
    )
    assert "chain_incomplete" not in kinds(journal, "2026-04-02")


# -- an experiment past its planned length -------------------------------------------------------------


def test_an_experiment_is_overdue_after_the_length_its_launch_note_plans() -> None:
    journal = Journal()
    project = journal.project("Checkout test", "experiment", on=day(0))
    launch = journal.add(
        "milestone.reached",
        {"milestone": "experiment_launched", "note": "A 3-week A/B test on checkout."},
        project=project,
        on="2026-03-01",
    )
    assert "experiment_overdue" not in kinds(journal, "2026-03-22")  # 21 days: as planned
    [item] = [n for n in of(journal, "2026-03-23").nudges if n.kind == "experiment_overdue"]
    assert item.reason == (
        "The experiment of Checkout test was launched on 1 March 2026, planned for 21 days (its note says "
        "“3-week”); 22 days later, as of 23 March 2026, no conclusion is recorded."
    )
    assert item.command == 'winledger milestone "Checkout test" experiment_concluded'
    assert item.event_ids == [launch]
    journal.add("milestone.reached", {"milestone": "experiment_concluded"}, project=project, on="2026-03-24")
    assert "experiment_overdue" in kinds(journal, "2026-03-23")
    assert "experiment_overdue" not in kinds(journal, "2026-03-24")


def test_an_experiment_without_a_planned_length_is_given_four_weeks_and_says_so() -> None:
    journal = Journal()
    project = journal.project("Checkout test", "experiment", on=day(0))
    journal.add("milestone.reached", {"milestone": "experiment_launched"}, project=project, on="2026-03-01")
    assert "experiment_overdue" not in kinds(journal, "2026-03-29")
    [item] = [n for n in of(journal, "2026-03-30").nudges if n.kind == "experiment_overdue"]
    assert "with no planned length recorded (so 28 days is assumed)" in item.reason
    journal.add("milestone.reached", {"milestone": "abandoned"}, project=project, on="2026-03-30")
    assert "experiment_overdue" not in kinds(journal, "2026-03-30")


def test_planned_lengths_read_from_a_note() -> None:
    assert planned_days("run for 14 days") == (14, "14 days")
    assert planned_days("a 2-week test") == (14, "2-week")
    assert planned_days("3 months of traffic") == (91, "3 months")
    assert planned_days("no length here") is None and planned_days(None) is None


# -- a quarter with nothing recorded --------------------------------------------------------------------


def test_a_project_quiet_for_more_than_a_quarter_is_asked_about() -> None:
    journal, project, deploy = deployed(on="2026-02-01")
    assert "quiet" not in kinds(journal, "2026-05-03")  # 91 days
    [item] = [n for n in of(journal, "2026-05-04").nudges if n.kind == "quiet"]  # 92 days
    assert item.reason == (
        "Nothing has been recorded for Churn model since 1 February 2026, 92 days before 4 May 2026: is it "
        "still in production, or was it retired?"
    )
    assert item.command == 'winledger milestone "Churn model" retired' and item.event_ids == [deploy]
    journal.add("milestone.reached", {"milestone": "retired"}, project=project, on="2026-05-04")
    assert "quiet" not in kinds(journal, "2026-05-04") and "quiet" not in kinds(journal, "2026-12-01")

    idle = Journal()
    idle.project("Graph idea", "research", on="2026-01-01")
    [item] = [n for n in of(idle, "2026-04-03").nudges if n.kind == "quiet"]
    assert item.command == 'winledger milestone "Graph idea" abandoned'


# -- names, order, as of -------------------------------------------------------------------------------


def test_every_command_names_its_project_so_a_shell_gives_the_cli_the_name_back() -> None:
    for name in ("Churn model", 'Bob\'s $HOME `x` "q" \\ !', "it's"):
        quoted = shell_quote(name)
        assert shlex.split(f"winledger milestone {quoted} retired") == [
            "winledger",
            "milestone",
            name,
            "retired",
        ]
    journal, _, _ = deployed(name="Ann's $5 model")
    [item] = [n for n in of(journal, "2026-04-01").nudges if n.kind == "no_production_metric"]
    assert shlex.split(item.command)[2] == "Ann's $5 model"


def test_a_name_two_projects_share_or_one_renamed_since_is_given_as_the_id() -> None:
    journal, first, _ = deployed(name="Churn")
    second = journal.project("churn", "model", on=day(1))
    journal.add("milestone.reached", {"milestone": "deployed"}, project=second, on="2026-03-01")
    commands = [n.command for n in of(journal, "2026-04-01").nudges if n.kind == "no_production_metric"]
    assert sorted(shlex.split(c)[2] for c in commands) == sorted([first, second])

    renamed, project, _ = deployed(name="Old name")
    renamed.add("project.updated", {"name": "New name"}, project=project, on="2026-05-01")
    [item] = [n for n in of(renamed, "2026-04-01").nudges if n.kind == "no_production_metric"]
    assert item.project.name == "Old name" and shlex.split(item.command)[2] == project  # nothing later shows


def test_the_order_is_deterministic_and_the_same_from_models_or_events_in_any_order() -> None:
    journal = Journal()
    for name in ("beta", "Alpha", "gamma"):
        project = journal.project(name, "model", on=day(0))
        journal.add("milestone.reached", {"milestone": "deployed"}, project=project, on="2026-02-01")
    found = of(journal, "2026-06-01")
    assert [(n.project.name, n.kind) for n in found.nudges] == [
        (name, kind) for name in ("Alpha", "beta", "gamma") for kind in ("no_production_metric", "quiet")
    ]
    shuffled = list(journal.events)
    random.Random(7).shuffle(shuffled)
    assert nudges_from_events(shuffled, date(2026, 6, 1)) == found
    assert nudges(build_models(journal.events).values(), date(2026, 6, 1)) == found
    assert found.as_of == "2026-06-01"


def test_nothing_recorded_by_the_day_asks_for_nothing() -> None:
    journal, _, _ = deployed()
    assert of(journal, "2026-01-09").nudges == []  # the project starts on 10 January
    assert of(Journal(), "2026-06-01").nudges == []


# -- the property: each kind exactly when its condition holds --------------------------------------------

AS_OF = date(2026, 6, 30)
maybe_ago = st.one_of(st.none(), st.integers(0, 200))


@given(
    start=st.integers(0, 200),
    deploy=maybe_ago,
    rollback_after=st.one_of(st.none(), st.integers(0, 60)),
    production=maybe_ago,
    business=maybe_ago,
    launch=maybe_ago,
    planned_weeks=st.one_of(st.none(), st.integers(1, 8)),
    conclude_after=st.one_of(st.none(), st.integers(0, 60)),
)
def test_each_kind_appears_exactly_when_its_condition_holds(
    start: int,
    deploy: int | None,
    rollback_after: int | None,
    production: int | None,
    business: int | None,
    launch: int | None,
    planned_weeks: int | None,
    conclude_after: int | None,
) -> None:
    """Days are counted back from ``AS_OF``; each event is no older than the project's start."""

    def on(ago: int) -> str:
        return (AS_OF - timedelta(days=ago)).isoformat()

    journal = Journal()
    project = journal.project("P", "model", on=on(start))
    dates = [start]

    def clip(ago: int | None) -> int | None:
        return None if ago is None else min(ago, start)

    deploy, production, business, launch = clip(deploy), clip(production), clip(business), clip(launch)
    rollback = None if deploy is None or rollback_after is None else max(deploy - rollback_after, 0)
    conclude = None if launch is None or conclude_after is None else max(launch - conclude_after, 0)
    steps: list[tuple[int | None, str, dict[str, Any]]] = [
        (deploy, "milestone.reached", {"milestone": "deployed"}),
        (rollback, "milestone.reached", {"milestone": "rolled_back"}),
        (production, "metric.observed", {"key": "volume", "layer": "production", "value": 1.0}),
        (business, "metric.observed", {"key": "saved", "layer": "business", "value": 2.0}),
        (
            launch,
            "milestone.reached",
            {"milestone": "experiment_launched"}
            | ({"note": f"for {planned_weeks} weeks"} if planned_weeks else {}),
        ),
        (conclude, "milestone.reached", {"milestone": "experiment_concluded"}),
    ]
    for ago, type, data in steps:  # in this order: a rollback on its deployment's day comes after it
        if ago is not None:
            journal.add(type, data, project=project, on=on(ago))
            dates.append(ago)

    in_production = deploy is not None and rollback is None
    expected = {
        "no_production_metric": in_production
        and deploy is not None
        and deploy > 28
        and not (production is not None and production <= deploy),
        "no_business_metric": production is not None and business is None and in_production,
        "chain_incomplete": production is not None and business is not None,
        "experiment_overdue": launch is not None
        and conclude is None
        and launch > (7 * planned_weeks if planned_weeks else 28),
        "quiet": min(dates) > 91,
    }
    found = kinds(journal, AS_OF.isoformat())
    assert sorted(found) == sorted(kind for kind, holds in expected.items() if holds)
    for item in of(journal, AS_OF.isoformat()).nudges:
        assert item.command.startswith("winledger ") and shlex.split(item.command)[2] == "P"
