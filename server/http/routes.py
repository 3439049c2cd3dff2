"""The routes of protocol v1. Order of checks in every /v1 route:
authentication (before the body is read), Content-Type, Accept, body size and
time, syntax, then each event on its own."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from schema import EVENT_TYPES, format_timestamp
from schema.protocol import (
    JSON,
    MAX_DEPTH,
    PROTOCOL_VERSION,
    Account,
    InfoResponse,
    Limits,
    MeResponse,
    RawPushBody,
)
from schema.types import MAX_INT, MAX_LABEL, MAX_NAME, MAX_QUOTE, MAX_TAG, MAX_TAGS, MAX_TEXT
from server.eventlog.store import CursorAhead, Outcome, Page
from server.http import protocol
from server.http.auth import authenticate, unknown_token
from server.http.problems import Format, ProblemError, encode, read_body, request_format, response_format
from server.http.state import state_of

if TYPE_CHECKING:
    from server.http.state import State
    from server.settings import Settings


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def openapi_document(request: Request) -> Response:
    """The OpenAPI description (``server/http/openapi.py``); public, like the protocol it describes."""
    return Response(state_of(request).openapi, media_type=JSON)


async def _account(request: Request) -> Account:
    """The account of the request's token: authenticated, then named."""
    user_id = await authenticate(request)
    name = await state_of(request).accounts.user_name(user_id)
    if name is None:  # erased (`admin delete-user`) since its token was checked
        raise unknown_token()
    return Account(user=name, user_id=user_id)


async def me(request: Request) -> Response:
    """``GET /v1/me``: whose the token is, so that a client keeps a journal to one account."""
    account = await _account(request)
    state = state_of(request)
    fmt = response_format(request, "json")
    return encode(MeResponse(user=account.user, user_id=account.user_id, epoch=state.epoch), fmt, state.epoch)


async def info(request: Request) -> Response:
    account = await _account(request)
    state = state_of(request)
    fmt = response_format(request, "json")
    body = InfoResponse(
        protocol=PROTOCOL_VERSION,
        epoch=state.epoch,
        server_time=format_timestamp(datetime.now(UTC)),
        limits=_limits(state.settings),
        event_types={name: sorted(versions) for name, versions in EVENT_TYPES.items()},
        account=account,
    )
    return encode(body, fmt, state.epoch)


def _limits(s: Settings) -> Limits:
    return Limits(
        max_batch=s.max_batch,
        max_body_bytes=s.max_body_bytes,
        body_timeout_seconds=s.body_timeout_s,
        default_page=s.default_page,
        max_page=s.max_page,
        max_name=MAX_NAME,
        max_label=MAX_LABEL,
        max_text=MAX_TEXT,
        max_quote=MAX_QUOTE,
        max_tags=MAX_TAGS,
        max_tag=MAX_TAG,
        max_integer=MAX_INT,
        max_depth=MAX_DEPTH,
    )


async def events(request: Request) -> Response:
    """``/v1/events``: GET pulls, POST pushes. One route, so that a 405 lists both in ``Allow``."""
    return await (push(request) if request.method == "POST" else pull(request))


async def pull(request: Request) -> Response:
    user_id = await authenticate(request)
    state = state_of(request)
    fmt = response_format(request, "json")
    after = protocol.query_int(request.query_params.get("after"), "after", 0, 0)
    limit = protocol.query_int(request.query_params.get("limit"), "limit", state.settings.default_page, 1)
    page = await _pull(state, user_id, after, min(limit, state.settings.max_page), request)
    return encode(protocol.pull_response(page, fmt, state.epoch), fmt, state.epoch)


async def push(request: Request) -> Response:
    user_id = await authenticate(request)
    state = state_of(request)
    parsed, fmt, out = await _read_push(request, state)
    if not parsed.events:
        raise ProblemError(400, "invalid_parameter", "`events` must hold at least one event - at `$.events`")
    outcomes, last_seq = await _push(request, state, user_id, protocol.decode_events(parsed, fmt))
    return encode(protocol.push_response(outcomes, last_seq, state.epoch), out, state.epoch)


async def sync(request: Request) -> Response:
    user_id = await authenticate(request)
    state = state_of(request)
    parsed, fmt, out = await _read_push(request, state)
    after = protocol.body_int(parsed.after, "after", 0, 0)
    limit = protocol.body_int(parsed.limit, "limit", state.settings.default_page, 1)
    outcomes: list[Outcome] = []
    head: int | None = None  # the newest seq the push saw: most syncs then pull a page of a few events
    if parsed.events:
        try:
            outcomes, head = await _push(request, state, user_id, protocol.decode_events(parsed, fmt), after)
        except CursorAhead as exc:
            raise _cursor_ahead(exc) from None
    page = await _pull(state, user_id, after, min(limit, state.settings.max_page), request, head)
    return encode(protocol.sync_response(outcomes, page, out, state.epoch), out, state.epoch)


async def _read_push(request: Request, state: State) -> tuple[RawPushBody, Format, Format]:
    fmt = request_format(request)
    out = response_format(request, fmt)
    body = await read_body(request, state.settings.max_body_bytes, state.settings.body_timeout_s)
    parsed = protocol.decode_push_body(body, fmt)
    if len(parsed.events) > state.settings.max_batch:
        raise ProblemError(
            413,
            "batch_too_large",
            f"The batch holds {len(parsed.events)} events; "
            f"the limit is {state.settings.max_batch} per request",
        )
    return parsed, fmt, out


async def _push(
    request: Request, state: State, user_id: int, events: Any, after: int | None = None
) -> tuple[list[Outcome], int]:
    """The store's push, timed for ``winledger_push_commit_seconds``, its outcomes left for the access log."""
    started = time.perf_counter()
    outcomes, last_seq = await state.store.push(user_id, events, after=after)
    state.metrics.commit.observe(time.perf_counter() - started)
    request.scope["winledger.pushed"] = Counter(outcome.status for outcome in outcomes)
    return outcomes, last_seq


async def _pull(
    state: State, user_id: int, after: int, limit: int, request: Request, known_head: int | None = None
) -> Page:
    try:
        page = await state.store.pull(user_id, after, limit, known_head=known_head)
    except CursorAhead as exc:
        raise _cursor_ahead(exc) from None
    request.scope["winledger.pulled"] = page.count
    return page


def _cursor_ahead(exc: CursorAhead) -> ProblemError:
    return ProblemError(
        409,
        "cursor_ahead",
        f"{exc}; this store may have been restored: pull again from 0 and re-push what the server lacks",
    )
