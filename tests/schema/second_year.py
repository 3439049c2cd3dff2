"""A second year, written by hand: an analytics-heavy data scientist at a subscription business.

Unlike the demo year it has no model in production for long: an A/B test that changed a pricing
page, a demand forecaster dropped after a negative result, an internal tool that saves hours, a
churn-driver analysis, and talks and mentoring outside any project. Every figure is one a person
would type through the CLI.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from schema import validate_fields

DEVICE = "01900000-0000-7000-8000-00000000a11c"
_BASE_CLOCK = 1_767_225_600_000 * 1024


class Year:
    """One device appending valid, normalized events on given days, with ids and clocks in order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.seq = 0

    def add(
        self, type: str, on: str | date, data: dict[str, Any], project: str | None = None, v: int = 1
    ) -> str:
        self.seq += 1
        event_id = f"01900000-0000-7000-8000-{self.seq:012x}"
        fields = {
            "id": event_id,
            "device_id": DEVICE,
            "device_seq": self.seq,
            "clock": _BASE_CLOCK + self.seq,
            "occurred_at": f"{on}T10:00:00Z" if isinstance(on, str) else f"{on.isoformat()}T12:00:00Z",
            "type": type,
            "v": v,
            "project_id": project,
            "data": data,
        }
        result = validate_fields(fields)
        assert not hasattr(result, "code"), result
        self.events.append(result.fields)  # type: ignore[union-attr]
        return event_id

    def project(self, on: str, name: str, kind: str, summary: str, team: str) -> str:
        project_id = f"01900000-0000-7000-9000-{len(self.events) + 1:012x}"
        self.add(
            "project.started", on, {"name": name, "kind": kind, "summary": summary, "team": team}, project_id
        )
        return project_id

    def milestone(self, project: str, on: str, milestone: str, note: str | None = None) -> None:
        self.add(
            "milestone.reached", on, {"milestone": milestone} | ({"note": note} if note else {}), project
        )

    def metric(self, project: str, on: str, key: str, value: float, **fields: Any) -> None:
        self.add("metric.observed", on, {"key": key, "value": value, **fields}, project, v=2)

    def link(
        self, project: str, on: str, cause: str, effect: str, evidence: str, note: str | None = None
    ) -> None:
        data = {"cause": cause, "effect": effect, "evidence": evidence} | ({"note": note} if note else {})
        self.add("metric.linked", on, data, project)


def second_year() -> list[dict[str, Any]]:
    y = Year()
    pricing = y.project(
        "2025-02-03",
        "Annual-plan pricing page test",
        "experiment",
        "Does showing the monthly equivalent on the annual plan lift annual sign-ups?",
        "Growth",
    )
    y.milestone(
        pricing, "2025-02-17", "experiment_launched", "50/50 on new visitors; planned for four weeks."
    )
    y.milestone(
        pricing, "2025-03-17", "experiment_concluded", "Ran the planned four weeks; significant at 95%."
    )
    y.metric(
        pricing,
        "2025-03-17",
        "annual_share",
        31,
        layer="business",
        unit="%",
        baseline=26,
        low=28,
        high=34,
        label="Share of sign-ups on the annual plan",
        note="Sign-ups over the four weeks, treatment against control.",
    )
    y.add(
        "feedback.received",
        "2025-03-20",
        {
            "quote": "Clear enough that we shipped it the same week.",
            "source_name": "Priya Natarajan",
            "source_team": "Growth",
            "decision": "Show the monthly equivalent on every annual plan.",
        },
        pricing,
    )
    y.add(
        "learning.noted",
        "2025-03-21",
        {"text": "Agree the stopping rule before launch.", "kind": "learned"},
        pricing,
    )

    forecast = y.project(
        "2025-04-07",
        "Support volume forecaster",
        "model",
        "Forecast weekly ticket volume so support can staff ahead.",
        "Support Operations",
    )
    y.milestone(forecast, "2025-05-05", "trained", "Gradient boosting on three years of weekly volume.")
    y.metric(
        forecast,
        "2025-05-12",
        "volume_mape",
        14.1,
        layer="model",
        unit="%",
        baseline=13.6,
        low=12.9,
        high=15.3,
        direction="lower_is_better",
        label="Weekly volume error (MAPE)",
        note="Backtest over 52 weeks; the baseline is the seasonal naive forecast.",
    )
    y.milestone(forecast, "2025-05-19", "evaluated", "No better than the seasonal naive forecast.")
    y.milestone(
        forecast,
        "2025-05-26",
        "abandoned",
        "Dropped: the seasonal naive forecast is as good, and it needs no upkeep.",
    )
    y.add(
        "learning.noted",
        "2025-05-27",
        {
            "text": "Keeping the naive forecast saves about two engineer-months of pipeline work a year.",
            "kind": "learned",
        },
        forecast,
    )

    tool = y.project(
        "2025-06-02",
        "Experiment readout generator",
        "infrastructure",
        "Writes the standard readout for every finished A/B test.",
        "Analytics",
    )
    y.milestone(tool, "2025-07-07", "deployed", "Every finished test gets its readout the next morning.")
    y.metric(
        tool,
        "2025-09-01",
        "readout_hours_saved",
        6,
        layer="business",
        unit="hours/week",
        measure="change",
        label="Analyst time saved on readouts",
        note="Three analysts' own estimate of the time they spent before.",
    )
    y.link(tool, "2025-09-01", "readout_hours_saved", "readout_hours_saved", "stakeholder_report")
    y.metric(
        tool, "2025-09-01", "readouts_per_month", 22, layer="production", label="Readouts written per month"
    )
    y.milestone(
        tool, "2025-09-15", "adopted", "Growth and Pricing read every test from the generated readout."
    )

    churn = y.project(
        "2025-08-04",
        "Churn-driver analysis",
        "analysis",
        "Which onboarding steps predict cancellation in the first 90 days?",
        "Product",
    )
    y.metric(
        churn,
        "2025-09-22",
        "price_elasticity",
        -0.42,
        layer="business",
        direction="none",
        label="Price elasticity of cancellations",
        low=-0.61,
        high=-0.23,
        note="Instrumented with last spring's regional price change.",
    )
    y.add(
        "feedback.received",
        "2025-10-06",
        {
            "quote": "This moved onboarding to the top of next quarter's plan.",
            "source_name": "Tom Becker",
            "source_team": "Product",
            "decision": "Fund the onboarding checklist next quarter.",
        },
        churn,
    )

    y.add(
        "win.captured",
        "2025-03-05",
        {
            "text": "um, gave the causal inference lunch talk, uh, thirty people",
            "source": "voice",
            "tags": ["talk"],
        },
    )
    y.add(
        "win.captured",
        "2025-06-20",
        {
            "text": "Mentored two new analysts through their first A/B test readouts.",
            "source": "text",
            "tags": ["mentoring"],
        },
    )
    y.add(
        "win.captured",
        "2025-11-12",
        {
            "text": "Rewrote the metric definitions page; three teams now link it.",
            "source": "text",
            "tags": ["writing"],
        },
    )
    y.add(
        "win.captured",
        "2025-12-01",
        {"text": "Ran the team's quarterly data-quality review.", "source": "text"},
    )
    y.add(
        "learning.noted",
        "2025-12-10",
        {"text": "Write the decision down before the analysis.", "kind": "next"},
    )
    return y.events
