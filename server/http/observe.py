"""What the server tells its operator: one JSON log line per request, and per-process request metrics.

``Observe`` is a pure ASGI middleware around the whole app. It times each
request, reads its status from the response start, and after the answer
reads what the route left in the scope: ``winledger.user_id`` (set on
authentication), ``winledger.pushed`` (outcome -> count) and
``winledger.pulled``. The route is named by its template (``/v1/projects/{project_id}/timeline``),
never by the raw path, so a log line or a metric label carries no id, query
string or token, and metric labels stay few. Nothing of an event's text is
ever seen here.

The counters live in this process. With ``serve --workers N`` each worker
keeps its own, and a scrape reaches whichever worker accepts the connection
(docs/operations.md, *Watching the server*); the figures computed from the
database (``server/stats.py``) are the whole server's.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.http.problems import Admission

access_log = logging.getLogger("winledger.access")

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Histogram:
    """Cumulative buckets, a sum and a count, as Prometheus exposes them."""

    def __init__(self, buckets: Iterable[float] = LATENCY_BUCKETS_S) -> None:
        self.bounds = tuple(buckets)
        self.counts = [0] * len(self.bounds)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[index] += 1
        self.sum += value
        self.count += 1


class Metrics:
    """This process's counters since it started."""

    def __init__(self) -> None:
        self.started = time.time()
        self.requests: Counter[tuple[str, str, int]] = Counter()  # (route, method, status)
        self.pushed: Counter[str] = Counter()  # outcome -> events
        self.pulled = 0
        self.commit = Histogram()

    def record(self, route: str, method: str, status: int, scope: Scope) -> None:
        self.requests[(route, method, status)] += 1
        self.pushed.update(scope.get("winledger.pushed") or {})
        self.pulled += scope.get("winledger.pulled", 0)


class Observe:
    """ASGI middleware: count every HTTP request, and log it as one JSON line when ``log_json``; and
    admit it first (``admission``), so that what is shed is counted and logged too."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, log_json: bool, admission: Admission) -> None:
        self.app, self.metrics, self.log_json, self.admission = app, metrics, log_json, admission
        self.templates: dict[Any, str] | None = None  # endpoint -> route template, from the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before starting its response
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
            return message

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if self.templates is None:
            self.templates = dict(_templates(scope["app"].routes))
        app, admission = self.app, self.admission
        counted = admission.counts(scope)
        if counted:
            if admission.active >= admission.limit:
                app, counted = admission.refusal(), False
            else:
                admission.active += 1
        try:
            await app(scope, counting_receive, recording_send)
        finally:
            if counted:
                admission.active -= 1
            route = self.templates.get(scope.get("endpoint"), "unmatched")
            method = scope["method"]
            self.metrics.record(route, method, status, scope)
            if self.log_json:
                line: dict[str, Any] = {
                    "route": route,
                    "method": method,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "request_bytes": received,
                }
                if "winledger.user_id" in scope:
                    line["user_id"] = scope["winledger.user_id"]
                if scope.get("winledger.pushed"):
                    line["pushed"] = sum(scope["winledger.pushed"].values())
                if "winledger.pulled" in scope:
                    line["pulled"] = scope["winledger.pulled"]
                access_log.info("request", extra={"request": line})


def _templates(routes: list[BaseRoute], prefix: str = "") -> Iterable[tuple[Any, str]]:
    for route in routes:
        if isinstance(route, Route):
            yield route.endpoint, prefix + route.path
        elif isinstance(route, Mount):
            yield route.app, prefix + route.path
            yield from _templates(route.routes, prefix + route.path)


class JsonFormatter(logging.Formatter):
    """Every log line as one JSON object: ``ts``, ``level``, ``logger``, and the request's fields or
    ``message``. Used by ``winledger serve --log-format json``; ``RedactTokens`` runs before it."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        request = getattr(record, "request", None)
        if isinstance(request, dict):
            line["event"] = "request"
            line.update(request)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)
