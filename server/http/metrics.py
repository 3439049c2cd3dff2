"""``GET /metrics``: Prometheus text exposition (format 0.0.4), written by hand.

Request counters and the commit latency come from this process
(``server/http/observe.py``); the store's figures and the projector lag from the
database at scrape time (``server/stats.py``). The route answers only a
bearer token equal to ``WINLEDGER_METRICS_TOKEN`` and is off (404) while that
is unset; docs/security.md says why.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from server import stats
from server.http.observe import Histogram, Metrics
from server.http.problems import ProblemError

if TYPE_CHECKING:
    from server.http.state import State

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(request: Request) -> Response:
    state: State = request.app.state.winledger
    expected = state.settings.metrics_token
    if not expected:
        raise ProblemError(
            404, "not_found", "GET /metrics is off on this server: set WINLEDGER_METRICS_TOKEN to turn it on"
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise ProblemError(
            401,
            "unauthorized",
            "GET /metrics needs `Authorization: Bearer <WINLEDGER_METRICS_TOKEN>`",
            headers={"WWW-Authenticate": 'Bearer realm="winledger-metrics"'},
        )
    facts = await stats.facts(state.engine, state.settings.db_url, top=0)
    return Response(render(state.metrics, facts), media_type=CONTENT_TYPE)


def render(metrics: Metrics, facts: stats.Facts) -> str:
    out: list[str] = []

    def family(name: str, kind: str, help: str) -> None:
        out.append(f"# HELP {name} {help}")
        out.append(f"# TYPE {name} {kind}")

    def sample(name: str, value: float, **labels: object) -> None:
        shown = ",".join(f'{key}="{_escape(str(v))}"' for key, v in labels.items())
        out.append(f"{name}{{{shown}}} {_number(value)}" if shown else f"{name} {_number(value)}")

    family("winledger_http_requests_total", "counter", "HTTP requests answered by this process.")
    for (route, method, status), count in sorted(metrics.requests.items()):
        sample("winledger_http_requests_total", count, route=route, method=method, status=status)
    family("winledger_pushed_events_total", "counter", "Events pushed to this process, by outcome.")
    for outcome in ("accepted", "duplicate", "rejected"):
        sample("winledger_pushed_events_total", metrics.pushed.get(outcome, 0), outcome=outcome)
    family("winledger_pulled_events_total", "counter", "Events served by pulls and syncs of this process.")
    sample("winledger_pulled_events_total", metrics.pulled)
    family(
        "winledger_push_commit_seconds",
        "histogram",
        "Time from a push's validated events to their commit (write queue included), in this process.",
    )
    _histogram(sample, "winledger_push_commit_seconds", metrics.commit)
    family("winledger_process_start_time_seconds", "gauge", "When this process started (Unix time).")
    sample("winledger_process_start_time_seconds", metrics.started)

    family("winledger_store_size_bytes", "gauge", "The database's size on disk (SQLite file and WAL).")
    if facts.size_bytes is not None:
        sample("winledger_store_size_bytes", facts.size_bytes)
    family("winledger_users", "gauge", "Users in the store.")
    sample("winledger_users", facts.users)
    family("winledger_events", "gauge", "Events stored, all users.")
    sample("winledger_events", facts.events)
    family("winledger_tokens", "gauge", "Tokens by state.")
    for state, count in sorted(facts.tokens.items()):
        sample("winledger_tokens", count, state=state)
    projection = {"projection": "project_models", "version": facts.projection_version}
    family(
        "winledger_projector_lag_events",
        "gauge",
        "Events stored but not yet in the read models (timelines, metric chains, review drafts).",
    )
    sample("winledger_projector_lag_events", facts.events_behind, **projection)
    family("winledger_projector_lag_seconds", "gauge", "Age of the oldest event not yet in the read models.")
    sample("winledger_projector_lag_seconds", facts.seconds_behind, **projection)
    family("winledger_projector_users_behind", "gauge", "Users whose read models are behind their log.")
    sample("winledger_projector_users_behind", facts.users_behind, **projection)
    family("winledger_rebuild_events_done", "gauge", "Events read by the running `admin rebuild`.")
    family("winledger_rebuild_events_total", "gauge", "Events the running `admin rebuild` will read.")
    family("winledger_rebuild_updated_seconds", "gauge", "Seconds since the running rebuild last reported.")
    if facts.rebuild is not None:
        sample("winledger_rebuild_events_done", facts.rebuild.done)
        sample("winledger_rebuild_events_total", facts.rebuild.total)
        sample("winledger_rebuild_updated_seconds", stats.seconds_since(facts.rebuild.updated_at))
    return "\n".join(out) + "\n"


def _histogram(sample: object, name: str, histogram: Histogram) -> None:
    assert callable(sample)
    for bound, count in zip(histogram.bounds, histogram.counts, strict=True):
        sample(f"{name}_bucket", count, le=_number(bound))
    sample(f"{name}_bucket", histogram.count, le="+Inf")
    sample(f"{name}_sum", histogram.sum)
    sample(f"{name}_count", histogram.count)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 2**53 else repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
