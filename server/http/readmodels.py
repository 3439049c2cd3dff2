"""The read-model routes: projects, a project's timeline and metric chains, the review draft.

Same rules as the other /v1 routes (bearer auth first, problem+json errors,
the epoch in the body and in ``Winledger-Epoch``). Every answer says which
checkpoint it reflects (``as_of_seq``) and which projection version folded it.
With ``min_seq=N`` a route first waits (at most 5 s) for the user's read models
to reflect seq N, so that a client reads its own writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from schema.projections import (
    PeriodError,
    ProjectModel,
    ProjectSummary,
    ReviewDraft,
    chains_as_of,
    render_markdown,
    render_text,
    resolve_period,
    review_draft,
    shorten,
    timeline_view,
)
from schema.projections.nudges import Nudges, nudges
from schema.protocol import (
    AS_OF_SEQ_HEADER,
    EPOCH_HEADER,
    JSON,
    MARKDOWN,
    MSGPACK,
    MSGPACK_ALIAS,
    PROJECTION_VERSION_HEADER,
    TEXT,
)
from schema.protocol.readmodels import (
    MetricChainsResponse,
    ProjectsResponse,
    ReviewDraftResponse,
    TimelineResponse,
    by_recent_activity,
)
from schema.types import MAX_INT
from server.http.auth import authenticate
from server.http.problems import ProblemError, encode, negotiate, response_format
from server.http.state import state_of
from server.projections import stored
from server.projections.projector import MAX_WAIT_S
from server.projections.tracking import Checkpoint, code_version

if TYPE_CHECKING:
    from server.http.state import State

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

DraftFormat = Literal["json", "msgpack", "md", "text"]
_DRAFT_FORMATS: dict[str, DraftFormat] = {
    JSON: "json",
    MSGPACK: "msgpack",
    MSGPACK_ALIAS: "msgpack",
    MARKDOWN: "md",
    TEXT: "text",
}
_FORMAT_PARAM: dict[str, DraftFormat] = {"json": "json", "md": "md", "markdown": "md", "text": "text"}
"""``format=``: md, text or json (``markdown``, the older spelling of md, is still taken)."""
_TEXT_MEDIA = {"md": MARKDOWN, "text": TEXT}


def _to_dict(value: msgspec.Struct) -> dict[str, Any]:
    return msgspec.structs.asdict(value)


async def projects(request: Request) -> Response:
    user_id, state, fmt = await _begin(request)
    await _wait(request, state, user_id)
    summaries, seq, version = await load_projects(state, user_id)
    body = ProjectsResponse(projects=summaries, as_of_seq=seq, projection_version=version, epoch=state.epoch)
    return encode(body, fmt, state.epoch)


async def timeline(request: Request) -> Response:
    user_id, state, fmt = await _begin(request)
    as_of = date_param(request, "as_of") or today()
    await _wait(request, state, user_id)
    model, seq, version = await _project(request, state, user_id)
    view = timeline_view(model, as_of)
    if view is None:
        raise _nothing_yet(model, as_of)
    body = TimelineResponse(**_to_dict(view), as_of_seq=seq, projection_version=version, epoch=state.epoch)
    return encode(body, fmt, state.epoch)


async def metric_chains(request: Request) -> Response:
    user_id, state, fmt = await _begin(request)
    as_of = date_param(request, "as_of") or today()
    await _wait(request, state, user_id)
    model, seq, version = await _project(request, state, user_id)
    chains = chains_as_of(model, as_of)
    if chains is None:
        raise _nothing_yet(model, as_of)
    body = MetricChainsResponse(
        **_to_dict(chains), as_of_seq=seq, projection_version=version, epoch=state.epoch
    )
    return encode(body, fmt, state.epoch)


def _nothing_yet(model: ProjectModel, as_of: date) -> ProblemError:
    return ProblemError(
        404,
        "not_found",
        f"Nothing of project {model.project_id!r} was recorded by the end of {as_of.isoformat()} (UTC): "
        "its first event is dated later; ask as of a later day",
    )


async def review(request: Request) -> Response:
    user_id = await authenticate(request)
    state = state_of(request)
    fmt = _draft_format(request)
    start = date_param(request, "from", required=True)
    end = date_param(request, "to", required=True)
    as_of = date_param(request, "as_of")
    short = bool_param(request, "short", False)
    cite = bool_param(request, "cite", True)
    assert start is not None and end is not None
    start, end, as_of = period(start, end, as_of)
    await _wait(request, state, user_id)
    draft, seq, version = await load_draft(state, user_id, start, end, as_of)
    if fmt == "md" or fmt == "text":
        headers = {
            EPOCH_HEADER: state.epoch,
            AS_OF_SEQ_HEADER: str(seq),
            PROJECTION_VERSION_HEADER: str(version),
        }
        render = render_markdown if fmt == "md" else render_text
        text = render(draft, cite=cite, short=short)
        return Response(text, headers=headers, media_type=f"{_TEXT_MEDIA[fmt]}; charset=utf-8")
    if short:
        draft = shorten(draft)
    body = ReviewDraftResponse(
        **_to_dict(draft), as_of_seq=seq, projection_version=version, epoch=state.epoch
    )
    return encode(body, fmt, state.epoch)


def today() -> date:
    """Today in UTC: the default ``as_of`` of every read-model route and page."""
    return datetime.now(UTC).date()


def period(start: date, end: date, as_of: date | None) -> tuple[date, date, date]:
    """``resolve_period`` with today (UTC); a period that cannot be drawn is a 400 naming the parameter."""
    try:
        return resolve_period(start, end, as_of, today())
    except PeriodError as exc:
        raise ProblemError(400, "invalid_parameter", _naming(exc.field, exc.message)) from None


def _naming(field: str, message: str) -> str:
    """The message with the parameter it is about in backticks, first."""
    if message.startswith(f"{field} "):
        return f"`{field}`{message[len(field) :]}"
    return f"`{field}`: {message}"


async def _begin(request: Request) -> tuple[int, State, Literal["json", "msgpack"]]:
    """Authenticate, then negotiate the response format: the order of checks of every /v1 route.

    Each route then checks its parameters, and only then waits for ``min_seq``.
    """
    user_id = await authenticate(request)
    return user_id, state_of(request), response_format(request, "json")


def _draft_format(request: Request) -> DraftFormat:
    raw = request.query_params.get("format")
    if raw is None:
        return negotiate(request, _DRAFT_FORMATS, "json")
    if raw not in _FORMAT_PARAM:
        raise ProblemError(
            400, "invalid_parameter", f"`format` must be md, text or json (markdown: md), got {raw!r}"
        )
    return _FORMAT_PARAM[raw]


async def _wait(request: Request, state: State, user_id: int) -> None:
    raw = request.query_params.get("min_seq")
    if raw is None:
        return
    # The length first: int() refuses a string of more than 4,300 digits with a ValueError.
    if not raw.isascii() or not raw.isdigit() or len(raw) > 16 or int(raw) > MAX_INT:
        raise ProblemError(
            400, "invalid_parameter", f"`min_seq` must be an integer from 0 to {MAX_INT}, got {raw!r}"
        )
    await state.projector.wait_for(user_id, int(raw), MAX_WAIT_S)


def _standing(checkpoint: Checkpoint | None) -> tuple[int, int]:
    return (checkpoint.seq, checkpoint.version) if checkpoint else (0, code_version())


async def _project(request: Request, state: State, user_id: int) -> tuple[ProjectModel, int, int]:
    project_id = request.path_params["project_id"]
    model, seq, version = await load_project(state, user_id, project_id)
    if model is None:
        raise ProblemError(404, "not_found", f"There is no project {project_id!r} in your journal")
    return model, seq, version


# The loaders below are shared with the web pages (server/http/web): one reading of the read models, whatever
# the answer's format. Each returns what it read with the checkpoint (as_of_seq, projection version) it
# reflects, from one snapshot.


async def load_projects(state: State, user_id: int) -> tuple[list[ProjectSummary], int, int]:
    """The user's projects, the most recently active first (ties by id)."""
    checkpoint, summaries = await stored.summaries(state.store, user_id)
    return by_recent_activity(summaries), *_standing(checkpoint)


async def load_project(state: State, user_id: int, project_id: str) -> tuple[ProjectModel | None, int, int]:
    """The user's project ``project_id``; ``None`` when it is missing, malformed or another user's."""
    # A malformed id is answered exactly like another user's project: not found.
    keys = [project_id] if _UUID.match(project_id) else []
    checkpoint, models = await _guarded(stored.models(state.store, user_id, keys))
    return (models[0] if models else None), *_standing(checkpoint)


async def load_draft(
    state: State, user_id: int, start: date, end: date, as_of: date, projects: Iterable[str] = ()
) -> tuple[ReviewDraft, int, int]:
    """The review draft of the user's journal for ``start``..``end``; of ``projects`` alone when given
    (a shared link limited to them: then no win captured without a project either)."""
    only = set(projects) or None
    checkpoint, models = await _guarded(stored.models(state.store, user_id, only))
    return review_draft(models, start, end, as_of), *_standing(checkpoint)


async def load_nudges(state: State, user_id: int, as_of: date) -> Nudges:
    """What to capture next as of ``as_of``, from the user's stored models, with the function
    ``winledger nudge`` runs on the journal."""
    _, models = await _guarded(stored.models(state.store, user_id))
    return nudges(models, as_of)


async def _guarded(pending: Any) -> Any:
    try:
        return await pending
    except msgspec.ValidationError:
        # Rows of an older projection version this code cannot read: the rebuild is under way.
        raise ProblemError(
            503,
            "unavailable",
            "The read models are being rebuilt for a new projection version; retry shortly",
            retry_after=2,
        ) from None


def date_param(request: Request, name: str, *, required: bool = False) -> date | None:
    raw = request.query_params.get(name)
    if raw is None:
        if required:
            raise ProblemError(400, "invalid_parameter", f"`{name}` is required, as YYYY-MM-DD")
        return None
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ProblemError(
            400, "invalid_parameter", f"`{name}` must be a date written YYYY-MM-DD, got {raw!r}"
        ) from None


def bool_param(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw not in ("true", "false"):
        raise ProblemError(400, "invalid_parameter", f"`{name}` must be true or false, got {raw!r}")
    return raw == "true"


ROUTES = [
    Route("/v1/projects", projects, methods=["GET"]),
    Route("/v1/projects/{project_id}/timeline", timeline, methods=["GET"]),
    Route("/v1/projects/{project_id}/metric-chains", metric_chains, methods=["GET"]),
    Route("/v1/review-draft", review, methods=["GET"]),
]
