"""``/v1/shares``: make, list and revoke read-only links to a review draft (docs/protocol.md, section 14).

The same order of checks as every /v1 route: the bearer token first, then Content-Type, Accept,
the body's size, time and syntax, then each field. Bad input is a 400 naming the field, and
changes nothing. Another user's share id is answered exactly like a missing one: 404.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import msgspec
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schema.protocol import MAX_DEPTH
from schema.protocol.shares import (
    SHARE_ID_PATTERN,
    Share,
    ShareCreated,
    ShareRequest,
    ShareRevoked,
    SharesResponse,
)
from server.accounts.shares import ShareRow, Shares
from server.database import tables as db
from server.eventlog.store import utc_now
from server.http import readmodels
from server.http.auth import authenticate
from server.http.depth import json_depth, msgpack_depth
from server.http.problems import ProblemError, encode, read_body, request_format, response_format
from server.http.state import state_of

MAX_SHARE_BODY = 16 * 1024
_SHARE_ID = re.compile(SHARE_ID_PATTERN)
_AT = re.compile(r"^(.*?)(?: - at `\$(\.[^`]*|\[[^`]*)`)?$", re.DOTALL)


def share_path(token: str) -> str:
    return f"/s/{token}"


def share_body(row: ShareRow, now: str) -> Share:
    return Share(
        id=row.id,
        from_=row.period_from.isoformat(),
        to=row.period_to.isoformat(),
        project_ids=list(row.project_ids),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        state=row.state(now),  # type: ignore[arg-type]
        views=row.views,
        last_viewed_at=row.last_viewed_at,
    )


def _shares(request: Request) -> Shares:
    return Shares(state_of(request).store)


async def shares(request: Request) -> Response:
    """``/v1/shares``: GET lists, POST creates. One route, so that a 405 lists both in ``Allow``."""
    return await (create(request) if request.method == "POST" else list_shares(request))


async def create(request: Request) -> Response:
    user_id = await authenticate(request)
    state = state_of(request)
    fmt = request_format(request)
    out = response_format(request, fmt)
    body = await read_body(
        request, min(MAX_SHARE_BODY, state.settings.max_body_bytes), state.settings.body_timeout_s
    )
    asked = _decode(body, fmt)
    start, end = _day(asked.from_, "from"), _day(asked.to, "to")
    readmodels.period(start, end, None)  # the same rules as GET /v1/review-draft: a 400 naming the field
    await _check_projects(request, user_id, asked.project_ids)
    row, token = await _shares(request).create(
        user_id, start, end, asked.project_ids, timedelta(seconds=asked.expires_in)
    )
    created = ShareCreated(share=share_body(row, utc_now()), path=share_path(token), epoch=state.epoch)
    return encode(created, out, state.epoch)


async def list_shares(request: Request) -> Response:
    user_id = await authenticate(request)
    state = state_of(request)
    fmt = response_format(request, "json")
    now = utc_now()
    rows = await _shares(request).list(user_id)
    return encode(
        SharesResponse(shares=[share_body(row, now) for row in rows], epoch=state.epoch), fmt, state.epoch
    )


async def revoke(request: Request) -> Response:
    user_id = await authenticate(request)
    state = state_of(request)
    fmt = response_format(request, "json")
    share_id = request.path_params["share_id"]
    row = await _shares(request).revoke(user_id, share_id) if _SHARE_ID.match(share_id) else None
    if row is None:
        # A malformed id, a missing one and another user's: one answer.
        raise ProblemError(404, "not_found", f"You have no share {share_id!r}; GET /v1/shares lists yours")
    return encode(ShareRevoked(share=share_body(row, utc_now()), epoch=state.epoch), fmt, state.epoch)


def _decode(body: bytes, fmt: str) -> ShareRequest:
    depth = json_depth(body) if fmt == "json" else msgpack_depth(body, MAX_DEPTH)
    if depth > MAX_DEPTH:
        raise ProblemError(400, "malformed_body", f"The body nests more than {MAX_DEPTH} levels deep")
    try:
        if fmt == "json":
            return msgspec.json.decode(body, type=ShareRequest)
        return msgspec.msgpack.decode(body, type=ShareRequest)
    except msgspec.ValidationError as exc:
        raise ProblemError(400, "invalid_parameter", _naming(str(exc))) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(400, "malformed_body", f"The body is not valid {fmt.upper()}: {exc}") from None


def _naming(message: str) -> str:
    """msgspec's "Expected ... - at `$.from`" as "`from`: Expected ..."; a missing field is named by it."""
    match = _AT.match(message)
    assert match is not None
    text, where = match.group(1), match.group(2)
    if where:
        return f"`{where.lstrip('.')}`: {text}"
    return text.replace("Object missing required field", "The body is missing the required field")


def _day(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ProblemError(
            400, "invalid_parameter", f"`{name}` is not a day of the calendar: {raw!r}"
        ) from None


async def _check_projects(request: Request, user_id: int, project_ids: list[str]) -> None:
    """Every id names a project of the user's journal (another user's is named like a missing one)."""
    if not project_ids:
        return
    e = db.events.c
    async with state_of(request).engine.connect() as connection:
        found = set(
            (
                await connection.execute(
                    select(e.project_id)
                    .where(e.user_id == user_id, e.project_id.in_(set(project_ids)))
                    .distinct()
                )
            ).scalars()
        )
    for index, project_id in enumerate(project_ids):
        if project_id not in found:
            raise ProblemError(
                400,
                "invalid_parameter",
                f"`project_ids[{index}]`: there is no project {project_id!r} in your journal "
                "(sync it first?)",
            )


ROUTES = [
    Route("/v1/shares", shares, methods=["GET", "POST"]),
    Route("/v1/shares/{share_id}/revoke", revoke, methods=["POST"]),
]
