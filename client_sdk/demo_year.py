"""A deterministic year of one data scientist's win journal, captured on three devices.

``demo_year(year, seed)`` returns about 130 valid events (the nine client
fields, normalized by the schema) in the canonical order
``(clock, device_id, device_seq)``: ten projects and the loose wins and
learnings around them. The same arguments give the same list, byte for byte,
on every machine: the only randomness is a ``random.Random(seed)`` that
jitters times and fills the random bits of ids. The figures never depend on
the seed, so golden tests can be written against the default one.

Each event is stamped the way the client SDK stamps a real capture, on device wall clocks that
disagree (``client_sdk._demo_journal``). Which domain rule each project exercises is noted at its
function below.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from client_sdk._demo_journal import DEVICES, Journal
from schema import canonical_order

__all__ = ["DEVICES", "demo_year"]

L, P, W = "laptop", "phone", "workstation"


# The stories are laid out by hand, one event per statement with its arguments in reading
# order; the formatter would stretch each one over a dozen lines.
# fmt: off


def _churn(j: Journal) -> None:
    """Shipped, with the full chain model -> production -> business (random holdout), adopted by
    customer success, still in production at year end: impact, a defensible number, ongoing value."""
    p = j.start(L, j.at(1, 12, 10), "Churn early-warning model", "model",
                "Flag accounts likely to leave 30 days before renewal, so customer success calls first.",
                "Customer Analytics")
    j.learn(L, j.at(1, 13, 16), "next", "Agree a random holdout with customer success before shipping.", p)
    j.milestone(W, p, j.at(2, 9, 15), "trained", "Gradient boosting on 26 months of usage, tickets, billing.")
    j.milestone(W, p, j.at(2, 16, 11), "evaluated", "Out-of-time test on last year's Q4 renewals.")
    j.metric(W, p, j.at(2, 16, 12), "recall_at_30d", 78, layer="model", unit="%",
             label="Churners caught 30 days ahead", baseline=61, low=75, high=81,
             note="Baseline: the account health score on the same renewals. Interval: 1,000 bootstraps.")
    j.metric(W, p, j.at(2, 16, 13), "precision_at_threshold", 42, layer="model", unit="%",
             label="Flagged accounts that did churn", baseline=29)
    j.milestone(L, p, j.at(3, 2, 14), "shadow_deployed", "Scored nightly beside the health score.")
    j.milestone(L, p, j.at(3, 30, 9), "deployed", "The Monday list goes to customer success via the CRM.")
    j.link(L, p, j.at(3, 30, 10), "recall_at_30d", "accounts_flagged_weekly", "shadow",
           "Four weeks in shadow flagged the volume the offline operating point predicted.")
    j.win(P, j.at(4, 13, 12), "First Monday review run off the model: CS worked every flagged account.", p)
    flagged = {"layer": "production", "unit": "count", "label": "Accounts flagged per week"}
    j.metric(L, p, j.at(4, 20, 9), "accounts_flagged_weekly", 140, **flagged)
    j.milestone(P, p, j.at(5, 11, 13), "adopted", "The flagged list is a standing item of the CS review.")
    j.feedback(P, p, j.at(5, 11, 14),
               "It's the first thing we open on Monday. We stopped keeping our own at-risk spreadsheet.",
               "Dana Whitfield", "Customer Success",
               "We review the list every Monday and give each flagged account an owner that day.")
    j.metric(L, p, j.at(6, 15, 9), "accounts_flagged_weekly", 152, **flagged)
    j.metric(L, p, j.at(7, 6, 11), "save_rate_lift", 34, layer="business", unit="%",
             label="Save rate of flagged accounts", low=22, high=46, direction="higher_is_better",
             measure="change",
             note="First quarter live: relative lift over a 10% holdout flagged but not sent to CS.")
    j.link(L, p, j.at(7, 6, 12), "accounts_flagged_weekly", "save_rate_lift", "ab_test",
           "The holdout was drawn at random from each week's flagged accounts.")
    j.learn(L, j.at(7, 7, 17), "learned", "A holdout fixed before launch made the save rate defensible.", p)
    j.metric(L, p, j.at(9, 14, 9), "accounts_flagged_weekly", 147, **flagged)
    j.win(P, j.at(9, 28, 8), "six months live, one scheduled retrain, zero incidents", p, voice=True)
    j.milestone(W, p, j.at(10, 5, 15), "trained", "Quarterly retrain on fresh renewals; recall unchanged.",
                delay="backdated")
    j.metric(L, p, j.at(12, 7, 9), "accounts_flagged_weekly", 149, **flagged)
    j.learn(L, j.at(12, 9, 16), "next", "Add product-usage signals and stretch the horizon to 60 days.", p)
    j.win(L, j.at(12, 11, 15), "Eight months in production: the Monday review has not skipped a week.", p)


def _demand(j: Journal) -> None:
    """Adopted by merchandising; a lower-is-better business metric with a baseline and an interval
    (a model -> business chain); in production since April: ongoing value."""
    p = j.start(L, j.at(1, 19, 14), "Demand forecast for fresh categories", "model",
                "Weekly demand forecast per store for produce and bakery.", "Merchandising Analytics")
    j.milestone(W, p, j.at(3, 9, 18), "trained")
    j.milestone(W, p, j.at(3, 16, 10), "evaluated", "Backtest over the last 52 weeks.")
    j.metric(W, p, j.at(3, 16, 11), "forecast_wape", 18.5, layer="model", unit="%",
             label="Weighted absolute percentage error", baseline=26, direction="lower_is_better",
             note="Baseline: the buyers' moving-average rule.", delay="backdated")
    j.milestone(L, p, j.at(4, 13, 9), "deployed", "Live in 40 pilot stores.")
    j.milestone(P, p, j.at(6, 8, 15), "adopted", "Buyers set the weekly fresh orders from the forecast.")
    j.feedback(P, p, j.at(6, 8, 16), "We argue about promotions now, not about the base order.",
               "Ines Duarte", "Merchandising",
               "Weekly produce and bakery orders come from the forecast; buyers adjust for promotions only.")
    j.metric(L, p, j.at(7, 13, 10), "fresh_inventory_waste", 8.2, layer="business", unit="%",
             label="Fresh stock written off", baseline=10.0, low=7.8, high=8.7, direction="lower_is_better",
             note="First full quarter against the same quarter last year: 18% less waste.")
    j.link(L, p, j.at(7, 13, 11), "forecast_wape", "fresh_inventory_waste", "before_after",
           "Same stores and categories, year over year.")
    j.add(L, "project.updated", j.at(8, 10, 10),
          {"summary": "Weekly demand forecast for produce and bakery, now in all 212 stores."}, p)
    j.win(P, j.at(9, 9, 17), "merchandising director asked if we can do dairy next, taking that as a yes",
          p, voice=True)
    j.metric(W, p, j.at(10, 20, 11), "forecast_wape", 17.9, layer="model", unit="%",
             label="Weighted absolute percentage error", baseline=26, direction="lower_is_better",
             note="After adding the weather feed.")
    j.learn(L, j.at(10, 21, 10), "next", "Extend the forecast to dairy before the summer season.", p)


def _intent(j: Journal) -> None:
    """Replaced keyword rules: a model metric against that baseline, a lower-is-better production
    metric (typed wrong on the phone, retracted, re-entered), a business estimate, a team change."""
    p = j.start(L, j.at(2, 2, 11), "Support ticket intent classifier", "model",
                "Route incoming support tickets with a classifier instead of keyword rules.",
                "Support Platform")
    j.milestone(W, p, j.at(3, 20, 17), "trained", "Fine-tuned a small transformer on 140k labelled tickets.")
    j.milestone(W, p, j.at(3, 27, 10), "evaluated")
    j.metric(W, p, j.at(3, 27, 11), "routing_accuracy", 91, layer="model", unit="%",
             label="Tickets routed to the right queue", baseline=73, low=90.2, high=91.8,
             note="12,000 held-out tickets; the baseline is the keyword rules on the same tickets.")
    j.milestone(L, p, j.at(4, 6, 10), "shadow_deployed", "Two weeks of predictions logged beside the rules.")
    j.milestone(L, p, j.at(4, 20, 9), "deployed", "Routes every English ticket; keyword rules as fallback.")
    j.add(L, "project.updated", j.at(6, 1, 9), {"team": "Customer Operations ML"}, p)
    wrong = j.metric(P, p, j.at(6, 10, 15), "misrouted_tickets_weekly", 260, layer="production",
                     unit="count", label="Mis-routed tickets per week", baseline=420,
                     direction="lower_is_better", delay="soon")
    fixed = wrong.occurred_at + timedelta(hours=19)
    j.add(L, "event.retracted", fixed,
          {"target": wrong.id, "reason": "Typo on the phone: the dashboard shows 160 that week, not 260."},
          delay="soon")
    j.metric(L, p, fixed + timedelta(minutes=2), "misrouted_tickets_weekly", 160, layer="production",
             unit="count", label="Mis-routed tickets per week", baseline=420, direction="lower_is_better",
             note="Week of June 1 against the average week under keyword rules: 62% fewer.", delay="soon")
    j.link(L, p, fixed + timedelta(minutes=30), "routing_accuracy", "misrouted_tickets_weekly",
           "before_after", "Same queues and volume, eight weeks before and after the switch.")
    j.feedback(P, p, j.at(6, 24, 16),
               "My leads used to lose Monday morning re-routing the weekend queue. That job has mostly gone.",
               "Marco Ruiz", "Support Operations",
               "Moved the two agents who did the re-routing onto the billing queue.")
    j.metric(L, p, j.at(6, 25, 10), "rerouting_hours_saved", 14, layer="business", unit="hours/week",
             label="Re-routing time saved", measure="change",
             note="Support ops time tracking: about 19 hours a week before, 5 after.")
    j.link(L, p, j.at(6, 25, 11), "misrouted_tickets_weekly", "rerouting_hours_saved",
           "stakeholder_report", "Support operations measured the hours in their own tracker.")
    j.learn(L, j.at(7, 1, 17), "learned", "Benchmark against the rules in use today, not a dummy model.", p)
    j.win(P, j.at(7, 30, 12), "support ops lead called out the routing model at the all-hands", p, voice=True)
    j.metric(L, p, j.at(9, 7, 10), "misrouted_tickets_weekly", 160, layer="production", unit="count",
             label="Mis-routed tickets per week", baseline=420, direction="lower_is_better",
             note="Holding at the June level through the summer peak.")
    j.learn(L, j.at(10, 14, 16), "next", "Extend routing to Spanish and German tickets.", p)


def _search_test(j: Journal) -> None:
    """An A/B test with a claimable lift (the conservative end is above zero) and a decision."""
    p = j.start(L, j.at(4, 1, 14), "Search ranking A/B test", "experiment",
                "New learning-to-rank model against the current ranking, stratified by segment.", "Growth")
    j.milestone(L, p, j.at(4, 6, 9), "experiment_launched", "50/50 split; power analysis says three weeks.")
    j.milestone(L, p, j.at(4, 24, 16), "experiment_concluded", "Significant at 95% confidence after 18 days.")
    j.metric(L, p, j.at(4, 24, 17), "search_ctr_lift", 14, layer="business", unit="%",
             label="Search click-through lift", low=7, high=21, measure="change",
             note="Relative lift of treatment over control, from the stratified estimate.")
    j.feedback(P, p, j.at(4, 28, 11),
               "Clean result, and the segment split answered my first three questions before I asked them.",
               "Sam Lee", "Growth", "Rolled the new ranking out to all search traffic.")
    j.learn(L, j.at(5, 4, 10), "learned", "Stratifying up front settled the mobile-versus-desktop debate.", p)
    j.learn(L, j.at(5, 4, 11), "next", "Run the same design on category pages.", p)


def _scoring(j: Journal) -> None:
    """Infrastructure with production metrics only (an incomplete chain), in production since July;
    its first phone capture sorts before its laptop project.started (the project started late)."""
    kickoff = j.at(6, 1, 10)
    # The laptop records the start 20 minutes after the kickoff and shares the project link; the
    # phone takes a voice note 3 minutes later. The laptop's clock runs six minutes fast, so the
    # note sorts first.
    p = j.start(L, kickoff, "Real-time scoring service", "infrastructure",
                "Serve model scores online instead of in the nightly batch.", "ML Platform",
                captured=kickoff + timedelta(minutes=20))
    note = "kicked off the scoring service, um, target is p99 under a hundred millis, six weeks to prod"
    j.add(P, "win.captured", kickoff + timedelta(minutes=15), {"text": note, "source": "voice"}, p,
          captured=kickoff + timedelta(minutes=23))
    j.milestone(L, p, j.at(7, 6, 11), "shadow_deployed", "Mirroring production traffic; answers discarded.")
    j.milestone(L, p, j.at(7, 13, 10), "deployed", "Six weeks from prototype; the churn model is first.")

    def serving(month: int, day: int, volume: int, p99: int) -> None:
        j.metric(L, p, j.at(month, day, 10), "predictions_per_day", volume, layer="production",
                 unit="count", label="Predictions served per day")
        j.metric(L, p, j.at(month, day, 11), "p99_latency_ms", p99, layer="production", unit="ms",
                 label="p99 latency", direction="lower_is_better")

    serving(8, 3, 400_000, 80)
    j.win(P, j.at(8, 4, 9), "Scoring service took 400k predictions on Monday without a single page.", p)
    j.learn(L, j.at(8, 5, 10), "learned", "Load-test with production payload sizes, not toy requests.", p,
            delay="backdated")
    j.win(L, j.at(9, 15, 14), "Second client onboarded: the fraud score moved from batch to real time.", p)
    serving(11, 2, 455_000, 76)
    serving(12, 14, 480_000, 79)


def _pricing(j: Journal) -> None:
    """Strong model numbers and six weeks in shadow, never deployed: a technical milestone, not
    impact, and a chain that stops at the model layer."""
    p = j.start(L, j.at(6, 8, 10), "Marketplace pricing model", "model",
                "Model-based price suggestions to replace the margin heuristics.", "Pricing")
    j.milestone(W, p, j.at(8, 3, 18), "trained", "18 months of transactions, one model per category family.")
    j.milestone(W, p, j.at(8, 12, 11), "evaluated", delay="backdated")
    j.metric(W, p, j.at(8, 12, 12), "holdout_revenue_accuracy", 84, layer="model", unit="%",
             label="Hold-out revenue accuracy", baseline=73, low=82.6, high=85.3,
             note="Hold-out weeks with revenue predicted within 10%; the heuristics manage 73%: +11 pp.")
    j.milestone(L, p, j.at(9, 7, 10), "shadow_deployed", "Prices computed for every listing, never shown.")
    j.metric(L, p, j.at(10, 19, 14), "shadow_revenue_accuracy", 83, layer="model", unit="%",
             label="Revenue accuracy in shadow", baseline=72, note="Six weeks of live listings in shadow.")
    j.win(L, j.at(10, 19, 15), "Six weeks of shadow pricing done: ahead of the heuristics every week.", p)
    j.win(P, j.at(10, 28, 16), "walked finance through the shadow results, good questions, no blockers", p,
          voice=True)
    j.feedback(P, p, j.at(11, 2, 12),
               "Good numbers. Finance wants another quarter of shadow data before it sets real prices.",
               "Tomas Berg", "Pricing", None)
    j.learn(L, j.at(11, 3, 10), "next", "Go live in Q1 on 10% of traffic; margin per order is the KPI.", p)


def _gnn(j: Journal) -> None:
    """Research explored for six weeks and abandoned: what it ruled out and what that saved."""
    p = j.start(L, j.at(7, 20, 10), "Graph neural network for fraud rings", "research",
                "Would a GNN over the account-device-card graph catch rings the current model misses?",
                "Risk")
    j.milestone(W, p, j.at(8, 10, 18), "trained", "GraphSAGE on three months of graph, 40M edges.")
    j.metric(W, p, j.at(8, 17, 11), "fraud_pr_auc", 0.612, layer="model", label="PR-AUC on confirmed fraud",
             baseline=0.604, low=0.598, high=0.626, note="Baseline: the production gradient-boosted model.")
    j.milestone(W, p, j.at(8, 31, 16), "evaluated", "On par with gradient boosting; the gain is noise.")
    j.milestone(L, p, j.at(9, 1, 10), "abandoned",
                "Stopped after six weeks: no measurable gain, and serving it needs a real-time graph store.")
    j.learn(L, j.at(9, 1, 11), "learned",
            "GNNs are ruled out for fraud until we have labelled rings at scale. Not building the graph"
            " feature store saves roughly a quarter of platform work.", p)
    j.learn(L, j.at(9, 2, 10), "next", "Add two-hop aggregates (shared devices, cards) to the current model.",
            p)
    j.win(L, j.at(9, 4, 15), "GNN decision record written and signed off by two staff engineers.", p)


def _banner_test(j: Journal) -> None:
    """A concluded experiment whose interval straddles zero: a negative result, and a quarter saved."""
    p = j.start(L, j.at(8, 17, 10), "Free-shipping banner test", "experiment",
                "Does a free-shipping threshold banner raise checkout conversion?", "Growth")
    j.milestone(L, p, j.at(8, 24, 9), "experiment_launched")
    j.milestone(L, p, j.at(9, 21, 15), "experiment_concluded", "Full planned sample, four weeks.")
    j.metric(L, p, j.at(9, 21, 16), "checkout_conversion_lift", 1.2, layer="business", unit="%",
             label="Checkout conversion lift", low=-1.9, high=4.3, measure="change")
    j.learn(L, j.at(9, 22, 11), "learned",
            "Banner copy alone does not move conversion at our traffic; seeing a 1% effect would take five"
            " times the sample. Copy variants are off the table; the threshold itself is the next lever.", p)
    j.feedback(P, p, j.at(9, 28, 14), "Glad we know before spending Q4 on banner variants.",
               "Sam Lee", "Growth", "Dropped the three follow-up banner tests from the Q4 roadmap.")


def _eta(j: Journal) -> None:
    """Deployed, then rolled back the same day: shipped, but no longer in production."""
    p = j.start(L, j.at(9, 28, 10), "Delivery-time estimate v2", "model",
                "A more accurate delivery-time estimate at checkout.", "Logistics")
    j.milestone(W, p, j.at(10, 19, 17), "trained")
    j.milestone(W, p, j.at(10, 23, 11), "evaluated")
    j.metric(W, p, j.at(10, 23, 12), "eta_mae", 11.2, layer="model", unit="min",
             label="Mean absolute error of the estimate", baseline=13.8, direction="lower_is_better")
    j.milestone(L, p, j.at(11, 2, 10), "deployed", delay="soon")
    j.milestone(L, p, j.at(11, 2, 12), "rolled_back",
                "One region's estimates came out in the wrong timezone; the rollback workflow reverted in"
                " 4 minutes, before 0.2% of requests saw them.", delay="soon")
    j.learn(L, j.at(11, 3, 10), "learned", "Replay a day of production requests before switching models.", p)
    j.learn(L, j.at(11, 4, 11), "next", "Redeploy in January behind a 5% ramp, replay check in CI.", p)


def _attribution(j: Journal) -> None:
    """An analysis whose counterfactual dollar figure changed a decision: more investment."""
    p = j.start(L, j.at(10, 5, 10), "Recommender revenue attribution", "analysis",
                "Estimate what the recommendation system adds to revenue in a year.", "Personalization")
    j.metric(L, p, j.at(10, 26, 14), "rec_click_sessions", 23, layer="production", unit="%",
             label="Sessions with a recommendation click")
    j.metric(L, p, j.at(11, 9, 15), "recommender_revenue", 2_100_000, layer="business", unit="$",
             label="Incremental revenue from recommendations, per year", low=1_600_000, high=2_700_000,
             measure="change",
             note="Counterfactual: last year's two-week recommender outage against a synthetic control.")
    j.link(L, p, j.at(11, 9, 16), "rec_click_sessions", "recommender_revenue", "counterfactual",
           "Revenue of the affected sessions during the outage against the synthetic control, annualised.")
    j.feedback(P, p, j.at(11, 20, 17),
               "First time I've seen the recommender's value in dollars I can defend to finance.",
               "Helen Okafor", "Product", "More investment: two more engineers on recommendations next year.")
    j.learn(L, j.at(11, 23, 10), "learned", "Outages are natural experiments; keep a log of them.", p)
    j.learn(L, j.at(11, 23, 11), "next", "Redo the estimate every year with the same method.", p,
            delay="backdated")


def _loose_ends(j: Journal) -> None:
    """Wins and learnings outside any project, several spoken into the phone."""
    j.win(P, j.at(1, 23, 17), "so, um, the onboarding notebook for the new analysts, two of them shipped"
          " a query on day one", voice=True, tags=["mentoring"])
    j.win(L, j.at(2, 26, 16), "Power-analysis check in experiment review stopped three underpowered tests"
          " this quarter: about six weeks of exposure saved.", tags=["experimentation"], delay="backdated")
    j.win(P, j.at(3, 13, 13), "gave the lunch talk on calibration, forty people, fraud team wants the slides",
          voice=True, tags=["talk"])
    j.learn(L, j.at(3, 16, 17), "learned", "A calibration plot convinces stakeholders faster than an AUC.")
    j.win(L, j.at(4, 15, 16), "Reviewed the new hire's first six PRs; her feature pipeline is merged.",
          tags=["mentoring"])
    j.win(L, j.at(5, 22, 15), "Document dedup model: 50,000 documents a day at 96% precision, about"
          " 12,000 duplicates kept out of the catalog in three months.", tags=["catalog"])
    j.win(W, j.at(6, 18, 18), "Nightly feature build down from 3 hours to 40 minutes after the rewrite.",
          tags=["platform"])
    j.learn(L, j.at(7, 17, 16), "next", "Learn causal forests properly; two analyses this year needed them.")
    j.win(P, j.at(7, 24, 18), "on-call week done and not one page from the models I own", voice=True)
    j.win(P, j.at(8, 20, 12), "finished designing the ML interview loop, first candidate next week",
          voice=True, tags=["hiring"])
    j.win(L, j.at(9, 10, 11), "Published the experiment guidelines page; growth links it in every brief.",
          tags=["experimentation"])
    # No signal at the conference: these two waited on the phone until the trip home.
    j.win(P, j.at(10, 7, 12), "two teams at the conference want our churn holdout design, sending the doc",
          voice=True, tags=["conference"])
    j.learn(P, j.at(10, 8, 15), "learned", "Shadow-then-holdout is rarer than I thought; worth writing up.")
    j.win(W, j.at(11, 16, 14), "The rollback workflow earned its keep: a bad ETA model reverted in"
          " 4 minutes, under 0.2% of traffic touched.", tags=["platform"])
    j.win(L, j.at(12, 4, 11), "Mentored the summer intern's uplift model through to a merged PR.",
          delay="later", tags=["mentoring"])
    j.learn(L, j.at(12, 15, 10), "next", "Next year: agree the business metric before any model work.")


_STORIES = (_churn, _demand, _intent, _search_test, _scoring, _pricing, _gnn, _banner_test, _eta,
            _attribution, _loose_ends)

# fmt: on


def _check_late_start(events: list[dict[str, Any]]) -> None:
    """The stories promise unique ids and one project event that sorts before its project.started."""
    if len({event["id"] for event in events}) != len(events):
        raise AssertionError("Demo event ids collide")
    started = {e["project_id"]: canonical_order(e) for e in events if e["type"] == "project.started"}
    if not any(
        e["project_id"] in started and canonical_order(e) < started[e["project_id"]]
        for e in events
        if e["type"] != "project.started"
    ):
        raise AssertionError("No demo event sorts before its project's project.started")


def demo_year(year: int = 2026, seed: int = 7) -> list[dict[str, Any]]:
    """A year of one person's wins on three devices, as normalized events in canonical order.

    Pure and deterministic: ``seed`` moves times and id bits, never the figures.
    """
    if not 1971 <= year <= 2098:
        raise ValueError(f"year must be between 1971 and 2098, got {year!r}")
    journal = Journal(year, seed)
    for story in _STORIES:
        story(journal)
    events = journal.events()
    _check_late_start(events)
    return events
