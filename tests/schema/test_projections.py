"""The domain rules the read models encode, each on a small journal a person could have written."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from schema import validate_fields
from schema.projections import build_models, render_markdown, review_draft, summary_of, timeline_view
from schema.projections.models import ProjectModel, ReviewDraft
from tests import strategies
from tests.factories import new_id

YEAR = (date(2026, 1, 1), date(2026, 12, 31))


class Journal:
    """One device appending valid, normalized events with explicit dates."""

    def __init__(self, device_id: str | None = None, clock: int = 1_767_225_600_000 << 10) -> None:
        self.device_id = device_id or new_id()
        self.seq = 0
        self.clock = clock
        self.events: list[dict[str, Any]] = []

    def add(
        self,
        type: str,
        data: dict[str, Any],
        *,
        project: str | None = None,
        on: str = "2026-03-01",
        v: int = 1,
    ) -> str:
        self.seq += 1
        self.clock += 1
        fields = {
            "id": new_id(),
            "device_id": self.device_id,
            "device_seq": self.seq,
            "clock": self.clock,
            "occurred_at": f"{on}T10:00:00Z",
            "type": type,
            "v": v,
            "project_id": project,
            "data": data,
        }
        result = validate_fields(fields)
        assert not hasattr(result, "code"), result
        self.events.append(result.fields)  # type: ignore[union-attr]
        return str(fields["id"])

    def project(self, name: str, kind: str, on: str = "2026-01-10") -> str:
        project_id = new_id()
        self.add("project.started", {"name": name, "kind": kind}, project=project_id, on=on)
        return project_id

    def milestone(self, project: str, milestone: str, on: str, note: str | None = None) -> str:
        data = {"milestone": milestone} | ({"note": note} if note else {})
        return self.add("milestone.reached", data, project=project, on=on)

    def metric(
        self, project: str, key: str, layer: str, value: float, on: str = "2026-06-01", **extra: Any
    ) -> str:
        data = {"key": key, "layer": layer, "value": value, **extra}
        return self.add("metric.observed", data, project=project, on=on, v=2)

    def link(self, project: str, cause: str, effect: str, evidence: str = "ab_test") -> str:
        data = {"cause": cause, "effect": effect, "evidence": evidence}
        return self.add("metric.linked", data, project=project)


def draft_of(events: list[dict[str, Any]], as_of: date | None = None) -> ReviewDraft:
    return review_draft(build_models(events).values(), *YEAR, as_of=as_of)


def model_of(events: list[dict[str, Any]], project: str) -> ProjectModel:
    return build_models(events)[project]


def all_text(draft: ReviewDraft) -> str:
    return render_markdown(draft)


def test_a_level_with_an_interval_claims_the_conservative_change_and_never_calls_its_end_measured() -> None:
    j = Journal()
    churn = j.project("Churn model", "model")
    j.milestone(churn, "deployed", "2026-02-01")
    saved = j.metric(churn, "save_rate", "business", 34, unit="%", baseline=25, low=30, high=38)
    line = model_of(j.events, churn).chains.metrics[0].headline
    assert (line.figure, line.basis, line.unit, line.claimable, line.bound) == (
        5,
        "change",
        "pp",
        True,
        "at_least",
    )
    assert line.text == "Save rate rose at least 5 pp from a baseline of 25%"
    assert "from 25% to 30%" not in render_markdown(draft_of(j.events))  # 30% is an end, not the value
    assert line.measured == "measured 34% (+9 pp), with an interval of 30% to 38%"
    draft = draft_of(j.events)
    assert any("at least 5 pp" in c.text and saved in c.event_ids for c in draft.accomplishments)


def test_a_level_without_a_baseline_is_shown_as_a_level_without_a_sign() -> None:
    j = Journal()
    tool = j.project("Dispute packer", "infrastructure")
    j.milestone(tool, "deployed", "2026-02-01")
    j.metric(tool, "packed_share", "production", 78, unit="%", label="Disputes packed by the tool")
    j.add(
        "metric.observed",
        {"key": "coverage", "layer": "model", "value": 78.5, "unit": "%", "low": 77, "high": 80},
        project=tool,
    )  # a version 1 event reads as a level
    metrics = {m.key: m.headline for m in model_of(j.events, tool).chains.metrics}
    assert metrics["packed_share"].text == "Disputes packed by the tool stood at 78%"
    assert metrics["coverage"].text == "Coverage stood at 77% or more"
    assert "+78" not in render_markdown(draft_of(j.events))


def test_a_change_recorded_as_such_carries_its_sign() -> None:
    j = Journal()
    ab = j.project("Ranking A/B test", "experiment")
    j.metric(ab, "ctr_lift", "business", 14, unit="%", low=9, high=19, measure="change", label="CTR lift")
    line = model_of(j.events, ab).chains.metrics[0].headline
    assert (line.figure, line.basis, line.claimable, line.bound) == (9, "change", True, "at_least")
    assert line.text == "CTR lift: +9% or more"
    assert line.measured == "measured +14%; the claim is the conservative end of an interval reaching +19%"


def test_lower_is_better_uses_the_high_end() -> None:
    j = Journal()
    scoring = j.project("Scoring service", "infrastructure")
    j.metric(
        scoring,
        "p99_latency",
        "production",
        80,
        unit="ms",
        baseline=120,
        low=70,
        high=90,
        direction="lower_is_better",
    )
    line = model_of(j.events, scoring).chains.metrics[0].headline
    assert (line.figure, line.claimable) == (-30, True)
    assert line.text == "P99 latency fell at least 30 ms from a baseline of 120 ms"


def test_a_metric_without_a_direction_has_no_conservative_end() -> None:
    j = Journal()
    pricing = j.project("Elasticity study", "analysis")
    j.metric(
        pricing, "elasticity", "model", -1.4, low=-1.8, high=-1.0, direction="none", label="Price elasticity"
    )
    line = model_of(j.events, pricing).chains.metrics[0].headline
    assert (line.figure, line.bound, line.claimable) == (-1.4, None, True)
    assert line.text == "Price elasticity stood at -1.4"


def test_an_interval_too_wide_to_claim_is_not_claimed_and_the_author_is_told_why() -> None:
    j = Journal()
    test = j.project("Checkout test", "experiment")
    j.milestone(test, "experiment_concluded", "2026-05-01")
    wide = j.metric(test, "conversion_lift", "business", 1.5, unit="%", low=-0.5, high=3.5, measure="change")
    line = model_of(j.events, test).chains.metrics[0].headline
    assert (line.basis, line.claimable) == ("change", False)
    assert line.reason is not None and "too wide" in line.reason
    draft = draft_of(j.events)
    assert not any(wide in c.event_ids for c in draft.accomplishments)
    assert [i.kind for i in draft.checklist if i.event_ids == [wide] and i.kind != "no_label"] == [
        "interval_too_wide"
    ]
    # A concluded experiment whose result cannot be claimed is a scope reduction, not a failure.
    assert draft.sections[0].category == "scope_reduction"


def test_an_interval_wholly_on_the_wrong_side_is_a_decline_not_too_wide() -> None:
    """-5% in an interval of -8% to -2% was called "too wide to claim": every end of it says worse."""
    j = Journal()
    test = j.project("Checkout test", "experiment")
    j.metric(test, "neg", "business", -5, unit="%", low=-8, high=-2, measure="change")
    j.metric(test, "conversion", "business", 2.1, unit="%", baseline=2.5, low=1.9, high=2.3)
    lines = {m.key: m.headline for m in model_of(j.events, test).chains.metrics}
    assert lines["neg"].reason == "its whole interval shows no improvement over zero"
    assert lines["conversion"].reason == "its whole interval shows no improvement over the baseline 2.5%"
    assert not lines["neg"].claimable and not lines["conversion"].claimable


def test_every_claimable_metric_of_a_story_reaches_the_draft() -> None:
    """Of four business metrics the draft stated two; the other two showed only in the checklist."""
    j = Journal()
    pricing = j.project("Pricing", "model")
    j.milestone(pricing, "deployed", "2026-02-01")
    ids = [
        j.metric(pricing, "conv_lift", "business", 3, unit="pp", measure="change", on="2026-03-01"),
        j.metric(pricing, "margin", "business", 12, unit="%", baseline=10, on="2026-03-02"),
        j.metric(pricing, "cost", "business", 80, baseline=100, direction="lower_is_better", on="2026-03-03"),
        j.metric(pricing, "aov", "business", 52, baseline=50, on="2026-03-04"),
    ]
    text = all_text(draft_of(j.events))
    for phrase in ("Conv lift: +3 pp", "Margin went from 10% to 12% (+2 pp)", "Cost went from 100 to 80",
                   "Aov went from 50 to 52"):  # fmt: skip
        assert phrase in text or phrase.lower() in text, phrase
    also = next(c for s in draft_of(j.events).sections for c in s.story if c.text.startswith("Also measured"))
    assert set(also.event_ids) < set(ids) and len(also.event_ids) == 2


def test_a_model_that_never_shipped_is_a_technical_milestone_not_impact() -> None:
    j = Journal()
    pricing = j.project("Pricing model", "model")
    trained = j.milestone(pricing, "trained", "2026-03-01")
    j.milestone(pricing, "shadow_deployed", "2026-04-01")
    j.metric(pricing, "revenue_accuracy", "model", 0.82, baseline=0.71)
    draft = draft_of(j.events)
    (section,) = draft.sections
    assert section.category == "technical_milestone"
    (claim,) = [c for c in section.story if "technical milestone" in c.text]
    assert "had not shipped by 31 December 2026" in claim.text and trained in claim.event_ids
    assert "never_shipped" in [i.kind for i in draft.checklist]
    assert not any("Pricing model" in c.text for c in draft.accomplishments)


def test_a_chain_that_stops_before_the_business_layer_is_incomplete() -> None:
    j = Journal()
    intent = j.project("Intent classifier", "model")
    j.metric(intent, "accuracy", "model", 91, unit="%", baseline=73)
    j.milestone(intent, "deployed", "2026-04-01")
    j.metric(intent, "misrouted", "production", -62, unit="%", direction="lower_is_better", measure="change")
    link = j.link(intent, "accuracy", "misrouted", "before_after")
    chains = model_of(j.events, intent).chains.chains
    assert [(c.keys, c.complete) for c in chains] == [(["accuracy", "misrouted"], False)]
    draft = draft_of(j.events)
    assert [i.kind for i in draft.checklist if i.kind in ("chain_incomplete", "no_business_metric")] == [
        "no_business_metric"
    ]
    j.metric(intent, "hours_saved", "business", 14, unit="hours/week", measure="change")
    draft = draft_of(j.events)
    incomplete = [i for i in draft.checklist if i.kind == "chain_incomplete"]
    assert len(incomplete) == 1 and incomplete[0].event_ids == [link] and "production" in incomplete[0].text

    j.metric(intent, "hours_saved", "business", 14, unit="hours/week")
    j.link(intent, "misrouted", "hours_saved", "estimate")
    chains = model_of(j.events, intent).chains.chains
    assert [(c.keys, c.complete) for c in chains] == [(["accuracy", "misrouted", "hours_saved"], True)]


def test_a_cycle_in_the_links_is_cut_where_it_would_revisit_a_metric() -> None:
    j = Journal()
    p = j.project("Loop", "model")
    j.metric(p, "a", "model", 1)
    j.metric(p, "b", "production", 1)
    j.link(p, "a", "b")
    j.link(p, "b", "a")
    chains = model_of(j.events, p).chains.chains
    assert [c.keys for c in chains] == [["a", "b"]]


def test_a_chain_goes_on_through_a_business_metric_that_moves_another() -> None:
    """pr_auc -> chargeback_rate -> fraud_loss_saved: the draft told the whole attribution while the chains
    stopped at the first business metric."""
    j = Journal()
    fraud = j.project("Fraud scorer", "model")
    j.metric(fraud, "pr_auc", "model", 0.71, baseline=0.62)
    j.metric(fraud, "chargeback_rate", "business", 0.42, unit="%", baseline=0.61, direction="lower_is_better")
    j.metric(fraud, "fraud_loss_saved", "business", 1.2, unit="MUSD", measure="change")
    j.link(fraud, "pr_auc", "chargeback_rate", "ab_test")
    j.link(fraud, "chargeback_rate", "fraud_loss_saved", "counterfactual")
    chains = model_of(j.events, fraud).chains.chains
    assert [(c.keys, c.complete) for c in chains] == [
        (["pr_auc", "chargeback_rate", "fraud_loss_saved"], True)
    ]
    assert chains[0].evidence == ["ab_test", "counterfactual"]


def test_a_change_recorded_beside_a_baseline_reports_the_change_as_its_delta() -> None:
    """A change of +3 pp from a baseline of 5% showed delta -2 (value minus baseline) in the API beside the
    headline "+3 pp"."""
    j = Journal()
    pricing = j.project("Pricing", "model")
    j.metric(pricing, "conv_lift", "business", 3, unit="pp", baseline=5, measure="change")
    j.metric(pricing, "margin", "business", 12, unit="%", baseline=10)
    j.metric(pricing, "aov", "business", 52)
    metrics = {m.key: m for m in model_of(j.events, pricing).chains.metrics}
    assert (metrics["conv_lift"].delta, metrics["conv_lift"].headline.phrase) == (3, "+3 pp")
    assert (metrics["margin"].delta, metrics["aov"].delta) == (2, None)


def test_the_timeline_names_a_metric_as_the_chains_do_and_keeps_its_note() -> None:
    """A second observation recorded without a label read "chargeback_rate (business) measured ..." beside
    "Chargeback rate" everywhere else, and a measurement's note was null in the timeline."""
    j = Journal()
    fraud = j.project("Fraud scorer", "model")
    j.metric(fraud, "chargeback_rate", "business", 0.42, unit="%", label="Chargeback rate", on="2026-04-01")
    j.metric(fraud, "chargeback_rate", "business", 0.4, unit="%", note="Q2 against Q1", on="2026-07-01")
    j.metric(fraud, "p99_latency_ms", "production", 180, on="2026-05-01")
    entries = [e for e in model_of(j.events, fraud).timeline.entries if e.type == "metric.observed"]
    assert [(e.summary.split(" (")[0], e.note) for e in entries] == [
        ("Chargeback rate", None),
        ("P99 latency ms", None),
        ("Chargeback rate", "Q2 against Q1"),
    ]
    metrics = {m.key: m.label for m in model_of(j.events, fraud).chains.metrics}
    assert metrics == {"chargeback_rate": "Chargeback rate", "p99_latency_ms": "P99 latency ms"}


def test_ongoing_value_counts_whole_months_in_production_as_of_the_period_end() -> None:
    j = Journal()
    churn = j.project("Churn model", "model")
    deployed = j.milestone(churn, "deployed", "2026-02-01")
    j.metric(churn, "flagged", "production", 1200, unit="count")
    draft = draft_of(j.events)
    (claim,) = draft.ongoing_value
    assert "10 months" in claim.text and deployed in claim.event_ids  # 333 days / 30.44
    view = timeline_view(model_of(j.events, churn), date(2026, 12, 31))
    assert view is not None
    assert (view.in_production, view.in_production_days, view.in_production_months) == (True, 333, 10)
    assert timeline_view(model_of(j.events, churn), date(2026, 1, 5)) is None  # nothing recorded yet
    early = timeline_view(model_of(j.events, churn), date(2026, 1, 15))
    assert early is not None and early.in_production is False

    j.milestone(churn, "rolled_back", "2026-06-01")
    timeline = model_of(j.events, churn).timeline
    assert (timeline.shipped, timeline.in_production, timeline.stage) == (True, False, "rolled_back")
    assert draft_of(j.events).ongoing_value == []
    assert draft_of(j.events).sections[0].category == "rolled_back"
    assert not any("Churn model" in c.text for c in draft_of(j.events).accomplishments)


def test_an_abandoned_direction_is_framed_as_scope_reduction() -> None:
    j = Journal()
    gnn = j.project("Graph network approach", "research")
    stop = j.milestone(gnn, "abandoned", "2026-04-15", note="no lift over gradient boosting after six weeks")
    draft = draft_of(j.events)
    (section,) = draft.sections
    assert section.category == "scope_reduction"
    assert any(
        c.text == "No lift over gradient boosting after six weeks." and stop in c.event_ids
        for c in section.story
    )
    assert "fail" not in all_text(draft).lower()
    assert "saved for other work" not in all_text(draft)  # nothing the author did not record
    (ask,) = [i for i in draft.checklist if i.kind == "no_saving"]
    assert "What did stopping Graph network approach save" in ask.text


def test_a_retraction_hides_its_target_whether_it_arrives_before_or_after_it() -> None:
    laptop, phone = Journal(), Journal(clock=(1_767_225_600_000 << 10) + 10_000)
    p = laptop.project("Churn model", "model")
    wrong = laptop.metric(p, "auc", "model", 0.99)
    phone.add("event.retracted", {"target": wrong, "reason": "typo"})
    # The phone's retraction is later in canonical order; now make one that sorts first.
    early = Journal(clock=1_767_225_600_000 << 10)
    early.add("event.retracted", {"target": laptop.metric(p, "auc", "model", 0.42)})
    model = model_of(laptop.events + phone.events + early.events, p)
    assert model.chains.metrics == []
    assert all(entry.type != "metric.observed" for entry in model.timeline.entries)


def test_a_retraction_of_a_retraction_or_of_an_unknown_id_does_nothing() -> None:
    j = Journal()
    p = j.project("Churn model", "model")
    kept = j.metric(p, "auc", "model", 0.8)
    first = j.add("event.retracted", {"target": kept})
    j.add("event.retracted", {"target": first})
    j.add("event.retracted", {"target": new_id()})
    assert model_of(j.events, p).chains.metrics == []


def test_a_project_started_late_shows_under_a_placeholder_until_its_start_arrives() -> None:
    phone = Journal()
    project_id = new_id()
    win = phone.add("milestone.reached", {"milestone": "trained"}, project=project_id, on="2026-02-01")
    placeholder = model_of(phone.events, project_id).timeline
    assert (placeholder.named, placeholder.name) == (False, f"Unnamed project {project_id[:8]}")
    laptop = Journal(clock=(1_767_225_600_000 << 10) + 50)
    laptop.add(
        "project.started", {"name": "Demand forecast", "kind": "model"}, project=project_id, on="2026-01-05"
    )
    named = model_of(phone.events + laptop.events, project_id).timeline
    assert (named.named, named.name, named.kind) == (True, "Demand forecast", "model")
    assert win in [entry.id for entry in named.entries]


def test_the_first_start_in_canonical_order_counts_and_same_names_stay_two_projects() -> None:
    a, b = Journal(clock=1000 << 10), Journal(clock=2000 << 10)
    shared = new_id()
    a.add("project.started", {"name": "First", "kind": "model"}, project=shared)
    b.add("project.started", {"name": "Second", "kind": "analysis"}, project=shared)
    a.project("Twin", "analysis")
    b.project("Twin", "analysis")
    models = build_models(a.events + b.events)
    assert models[shared].timeline.name == "First"
    assert sorted(m.timeline.name for m in models.values()) == ["First", "Twin", "Twin"]


def test_the_headline_prefers_business_then_stronger_evidence() -> None:
    j = Journal()
    p = j.project("Recommender", "model")
    j.milestone(p, "deployed", "2026-02-01")
    j.metric(p, "ndcg", "model", 0.42, baseline=0.35)
    j.metric(p, "revenue", "business", 2.1e6, unit="$")
    j.metric(p, "basket", "business", 3, unit="%")
    j.link(p, "ndcg", "revenue", "counterfactual")
    j.link(p, "ndcg", "basket", "ab_test")
    draft = draft_of(j.events)
    assert draft.accomplishments[0].text == "Recommender: basket stood at 3% (an A/B test)"
    assert draft.sections[0].category == "shipped_with_outcome"


def test_projects_are_ordered_by_impact_and_loose_wins_have_their_own_section() -> None:
    j = Journal()
    research = j.project("Dead end", "research")
    j.milestone(research, "abandoned", "2026-03-01")
    shipped = j.project("Shipped thing", "model")
    j.milestone(shipped, "deployed", "2026-03-01")
    j.metric(shipped, "cost", "business", 10, baseline=20, direction="lower_is_better", unit="$")
    proto = j.project("Prototype", "model")
    j.milestone(proto, "trained", "2026-03-01")
    loose = j.add(
        "win.captured",
        {"text": "um, taught the team power analysis, uh", "source": "voice", "tags": ["teaching"]},
    )
    draft = draft_of(j.events)
    assert [s.name for s in draft.sections] == ["Shipped thing", "Dead end", "Prototype"]
    (area,) = draft.other_work
    assert area.title == "Mentoring and teaching" and [c.event_ids for c in area.wins] == [[loose]]
    assert area.wins[0].text == "1 March 2026: Taught the team power analysis. (tags: teaching)"


def test_every_claim_cites_events_of_the_journal() -> None:
    j = Journal()
    p = j.project("Churn model", "model")
    j.milestone(p, "deployed", "2026-02-01")
    j.metric(p, "save_rate", "business", 34, unit="%", low=30, high=38)
    j.add("feedback.received", {"quote": "We review it every Monday", "decision": "weekly review"}, project=p)
    draft = draft_of(j.events)
    ids = {e["id"] for e in j.events}
    claims = (
        draft.summary
        + draft.accomplishments
        + draft.ongoing_value
        + [c for s in draft.sections for c in s.story]
    )
    assert claims and all(c.event_ids and set(c.event_ids) <= ids for c in claims)
    assert all(set(i.event_ids) <= ids for i in draft.checklist)


def _journal_strategy() -> st.SearchStrategy[list[dict[str, Any]]]:
    """A small journal: a few projects, milestones, metrics with links, and retractions."""

    @st.composite
    def build(draw: st.DrawFn) -> list[dict[str, Any]]:
        devices = [Journal(clock=(1_767_225_600_000 << 10) + i * 7) for i in range(draw(st.integers(1, 3)))]
        projects = [new_id() for _ in range(draw(st.integers(1, 3)))]
        ids: list[str] = []
        for _ in range(draw(st.integers(1, 25))):
            device = draw(st.sampled_from(devices))
            project = draw(st.sampled_from(projects))
            day = f"2026-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}"
            kind = draw(st.sampled_from(["start", "milestone", "metric", "link", "retract", "win"]))
            if kind == "start":
                data = {
                    "name": draw(st.sampled_from(["A", "B"])),
                    "kind": draw(st.sampled_from(["model", "experiment"])),
                }
                ids.append(device.add("project.started", data, project=project, on=day))
            elif kind == "milestone":
                milestone = draw(
                    st.sampled_from(["trained", "deployed", "rolled_back", "abandoned", "adopted"])
                )
                ids.append(device.milestone(project, milestone, day))
            elif kind == "metric":
                layer = draw(st.sampled_from(["model", "production", "business"]))
                value = draw(st.floats(-100, 100, allow_nan=False))
                ids.append(
                    device.metric(project, draw(st.sampled_from(["m", "p", "b"])), layer, value, on=day)
                )
            elif kind == "link":
                ids.append(device.link(project, draw(st.sampled_from("mpb")), draw(st.sampled_from("mpb"))))
            elif kind == "retract" and ids:
                device.add("event.retracted", {"target": draw(st.sampled_from(ids))}, on=day)
            else:
                ids.append(device.add("win.captured", {"text": "win", "source": "text"}, on=day))
        return [event for device in devices for event in device.events]

    return build()


def _rendered(events: list[dict[str, Any]]) -> bytes:
    models = build_models(events)
    draft = review_draft(models.values(), *YEAR)
    keyed = sorted(models.items(), key=lambda item: item[0] or "")
    return msgspec.json.encode([keyed, draft]) + render_markdown(draft).encode()


@given(_journal_strategy(), st.randoms(use_true_random=False), st.data())
def test_any_permutation_and_duplication_gives_byte_identical_read_models(
    events: list[dict[str, Any]], rng: random.Random, data: st.DataObject
) -> None:
    expected = _rendered(events)
    shuffled = list(events)
    rng.shuffle(shuffled)
    doubled = shuffled + data.draw(st.lists(st.sampled_from(events), max_size=5))
    rng.shuffle(doubled)
    assert _rendered(doubled) == expected


def test_the_timeline_gives_the_lag_from_the_work_to_its_outcome() -> None:
    j = Journal()
    p = j.project("Churn model", "model")
    j.milestone(p, "trained", "2026-01-10")
    j.milestone(p, "deployed", "2026-03-10")
    j.metric(p, "flagged", "production", 120, on="2026-03-17")
    j.metric(p, "save_rate", "business", 34, unit="%", on="2026-07-01")
    lags = model_of(j.events, p).timeline.lags
    assert (lags.trained_to_deployed_days, lags.deployed_to_first_production_metric_days) == (59, 7)
    outcome = (lags.trained_to_first_business_metric_days, lags.trained_to_first_business_metric_months)
    assert outcome == (172, 5)


# Every read model, not only the stored ones: projects, timelines as of a date, chains, drafts --------


def _every_read_model(events: list[dict[str, Any]]) -> bytes:
    """Each read model a client or the server shows, for every project, two dates and two periods."""
    models = build_models(events)
    summaries = sorted((summary_of(m) for key, m in models.items() if key is not None), key=lambda s: s.id)
    summaries.sort(key=lambda s: s.last_activity or "", reverse=True)  # the server's order
    parts = [msgspec.json.encode(summaries)]
    for _, model in sorted(models.items(), key=lambda item: item[0] or ""):
        parts.append(msgspec.json.encode(model.chains))
        parts += [
            msgspec.json.encode(timeline_view(model, day)) for day in (date(2026, 6, 30), date(2099, 12, 31))
        ]
    for start, end in ((date(1970, 1, 1), date(2099, 12, 31)), YEAR):
        draft = review_draft(models.values(), start, end)
        parts += [msgspec.json.encode(draft), render_markdown(draft).encode()]
    return b"\n".join(parts)


@given(strategies.user_logs(max_events=25), st.randoms(use_true_random=False), st.data())
def test_every_read_model_is_a_function_of_the_set_of_events(
    log: list[dict[str, Any]], rng: random.Random, data: st.DataObject
) -> None:
    """Any event of every type, with colliding clocks, any timestamps and retractions of anything."""
    events = [validate_fields(event).fields for event in log]  # type: ignore[union-attr]
    expected = _every_read_model(events)
    doubled = events + data.draw(st.lists(st.sampled_from(events), max_size=5))
    rng.shuffle(doubled)
    assert _every_read_model(doubled) == expected
