"""The composition root: ``create_app(settings)`` turns configuration into a running Starlette app."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.eventlog.store import Overloaded
from server.http import export, readmodels, routes, shares, web
from server.http.metrics import metrics
from server.http.observe import Observe
from server.http.problems import (
    SHED_RETRY_AFTER_S,
    Admission,
    Endpoint,
    ProblemError,
    problem_response,
)
from server.http.state import State
from server.settings import Settings

log = logging.getLogger("winledger.server")


def _epoch_for(request: Request) -> str | None:
    """The epoch a problem carries: on the API (``/v1``), once the store is open."""
    epoch: str = request.app.state.winledger.epoch
    return epoch if request.url.path.startswith("/v1") and epoch else None


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, _epoch_for(request))


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    # No route raises another; were the framework to (a form it could not parse), the code is still one
    # of the protocol's (section 7), which /openapi.json lists as a closed enum.
    fallback = "internal_error" if exc.status_code >= 500 else "malformed_body"
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, fallback)
    error = ProblemError(
        exc.status_code, code, f"{request.method} {request.url.path}: {exc.detail}", headers=exc.headers
    )
    return problem_response(error, _epoch_for(request))


async def _on_operational(request: Request, exc: Exception) -> Response:
    # OperationalError: locked, disk I/O error, disk full; TimeoutError: no pooled connection in time.
    # The failed transaction was rolled back; statement parameters never reach the log (hide_parameters).
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    error = ProblemError(
        503, "unavailable", "The database is busy or unavailable; retry later", retry_after=1
    )
    return problem_response(error, _epoch_for(request))


async def _on_overloaded(request: Request, exc: Exception) -> Response:
    error = ProblemError(
        503, "unavailable", f"The server is busy ({exc}); retry later", retry_after=SHED_RETRY_AFTER_S
    )
    return problem_response(error, _epoch_for(request))


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    error = ProblemError(
        500, "internal_error", "The server failed on this request; nothing was changed by it"
    )
    return problem_response(error, _epoch_for(request))


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    state = State(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await state.open()
        try:
            yield
        finally:
            await state.close()

    app = Starlette(
        routes=[
            # First, as the router tries each route in turn: these two take every device's sync.
            Route("/v1/sync", Endpoint(routes.sync), methods=["POST"], name="sync"),
            Route("/v1/events", Endpoint(routes.events), methods=["GET", "POST"], name="events"),
            Route("/healthz", routes.healthz, methods=["GET"]),
            Route("/openapi.json", routes.openapi_document, methods=["GET"]),
            # For Prometheus, behind its own token; not part of the API (docs/operations.md).
            Route("/metrics", metrics, methods=["GET"]),
            Route("/v1/info", routes.info, methods=["GET"]),
            Route("/v1/me", routes.me, methods=["GET"]),
            *readmodels.ROUTES,
            *export.ROUTES,
            *shares.ROUTES,
            # The review pages (server/http/web): HTML behind a session cookie, outside /v1 and its API.
            *web.ROUTES,
        ],
        exception_handlers={
            ProblemError: _on_problem,
            HTTPException: _on_http,
            OperationalError: _on_operational,
            PoolTimeout: _on_operational,
            Overloaded: _on_overloaded,
            Exception: _on_unexpected,
        },
        middleware=[
            # Counts and logs every request, what Admission sheds too.
            Middleware(
                Observe,
                metrics=state.metrics,
                log_json=settings.log_format == "json",
                admission=Admission(limit=settings.max_inflight, epoch=lambda: state.epoch),
            ),
        ],
        lifespan=lifespan,
    )
    app.state.winledger = state
    return app
