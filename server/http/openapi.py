"""The OpenAPI 3.1 description of the whole HTTP API, served at ``GET /openapi.json``.

Bodies come from the msgspec types the server speaks (``msgspec.json.schema_components``;
pushed and pulled events at every version ``schema.EVENT_TYPES`` knows, as ``oneOf`` unions of members
pinned by ``type`` and ``v``, from ``schema.protocol.jsonschema``), so the
document cannot drift from the code; paths, parameters, the security
scheme and the problem responses are written here. The limits in it are the
running server's settings. ``tests/e2e/test_fuzz.py`` runs schemathesis against it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from schema.jsonschema import sent_defaults
from schema.protocol import (
    EPOCH_HEADER,
    JSON,
    MARKDOWN,
    MSGPACK,
    NDJSON,
    PROBLEM_JSON,
    TEXT,
    InfoResponse,
    MeResponse,
    Problem,
    PullResponse,
    PushRequest,
    PushResponse,
    SyncRequest,
    SyncResponse,
)
from schema.protocol.jsonschema import message_components
from schema.protocol.readmodels import (
    MetricChainsResponse,
    ProjectsResponse,
    ReviewDraftResponse,
    TimelineResponse,
)
from schema.protocol.shares import SHARE_BODIES
from schema.types import MAX_INT
from server.settings import Settings

BODIES: tuple[type[msgspec.Struct], ...] = (
    PushRequest,
    SyncRequest,
    PushResponse,
    PullResponse,
    SyncResponse,
    InfoResponse,
    MeResponse,
    Problem,
    ProjectsResponse,
    TimelineResponse,
    MetricChainsResponse,
    ReviewDraftResponse,
    *SHARE_BODIES,
)

_PROBLEMS = {
    400: "`malformed_body` (the body does not parse, or nests deeper than `limits.max_depth`) "
    "or `invalid_parameter`",
    401: "`unauthorized`: the bearer token is missing, malformed, unknown, revoked or expired",
    404: "`not_found`: no such project (or share) of yours (another user's looks exactly the same)",
    406: "`not_acceptable`: `Accept` names no format this server speaks",
    408: "`body_timeout`: the body did not arrive in time",
    409: "`cursor_ahead`: `after` is beyond your newest seq; recover as protocol section 9 says",
    413: "`batch_too_large` or `body_too_large`",
    415: "`unsupported_media_type`: send application/json or application/msgpack",
    429: "`rate_limited`: wait `Retry-After` seconds",
    503: "`unavailable`: the database is busy or failing, or the server sheds load; wait `Retry-After`",
}
_DIGITS = {"type": "string", "pattern": "^[0-9]+$"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _epoch() -> dict[str, Any]:
    return {
        EPOCH_HEADER: {
            "description": "The store's epoch (protocol section 9)",
            "required": True,
            "schema": {"type": "string"},
        }
    }


def _ok(name: str, description: str, *, markdown: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {JSON: {"schema": _ref(name)}, MSGPACK: {"schema": _ref(name)}}
    if markdown:
        content[MARKDOWN] = {"schema": {"type": "string"}}
        content[TEXT] = {"schema": {"type": "string"}}
    return {"description": description, "headers": _epoch(), "content": content}


def _problem(status: int) -> dict[str, Any]:
    headers = _epoch()
    if status == 401:
        headers["WWW-Authenticate"] = {"required": True, "schema": {"type": "string", "pattern": "^Bearer"}}
    if status in (429, 503):
        headers["Retry-After"] = {"description": "Seconds to wait", "required": True, "schema": _DIGITS}
    return {
        "description": _PROBLEMS[status],
        "headers": headers,
        "content": {PROBLEM_JSON: {"schema": _ref("Problem")}},
    }


def _operation(
    operation_id: str,
    summary: str,
    ok: dict[str, Any],
    problems: tuple[int, ...],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: str | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": operation_id, "summary": summary}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": _ref(body)}, MSGPACK: {"schema": _ref(body)}},
        }
    statuses = sorted({401, 406, 429, 503, *problems})
    operation["responses"] = {"200": ok, **{str(status): _problem(status) for status in statuses}}
    return operation


def _query(name: str, schema: dict[str, Any], description: str, *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _integer(minimum: int) -> dict[str, Any]:
    return {"type": "integer", "format": "int64", "minimum": minimum, "maximum": MAX_INT}


_DATE = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
_BOOLEAN = {"type": "string", "enum": ["true", "false"]}
_AS_OF_DAY = (
    "The point in time: only events that occurred by the end of this day (UTC) count. "
    "Default: today (UTC). A project with nothing recorded by then is a 404"
)
_HEALTH = {"type": "object", "properties": {"status": {"const": "ok"}}, "required": ["status"]}
_MIN_SEQ = _query("min_seq", _integer(0), "Wait (at most 5 s) until the read models reflect this seq")
_PROJECT_ID = {
    "name": "project_id",
    "in": "path",
    "required": True,
    "description": "A project id (UUID); a malformed or another user's id is a 404",
    "schema": {"type": "string"},
}
_PUSH = (400, 408, 413, 415)


_REVIEW_PARAMETERS = [
    _query("from", _DATE, "First day of the period", required=True),
    _query(
        "to",
        _DATE,
        "Last day of the period (not before `from`). Past a defaulted `as_of` (the year in "
        "progress), the period is drawn to `as_of`",
        required=True,
    ),
    _query(
        "as_of",
        _DATE,
        "The point in time: only events that occurred by the end of this day (UTC) count. "
        "Default: `to` or today (UTC), whichever is earlier. An explicit `as_of` before `to` "
        "or after today is a 400",
    ),
    _query(
        "format",
        {"enum": ["md", "text", "json", "markdown"]},
        "Overrides `Accept`: md (text/markdown), text (text/plain, ready to paste into a "
        "review form: no Markdown syntax) or json; markdown is md",
    ),
    _query("short", _BOOLEAN, "true: the summary and the top accomplishments alone (default false)"),
    _query(
        "cite",
        _BOOLEAN,
        "false: md and text without the event citations (default true); JSON always keeps its event ids",
    ),
    _MIN_SEQ,
]


def build(settings: Settings) -> dict[str, Any]:
    """The document for a server running with ``settings``."""
    paths = {**_sync_paths(settings), **_read_model_paths(), **_export_path(), **_public_paths()}
    paths |= _share_paths()
    # A fuzzer (and a reader) finds real project ids in the list.
    project = {"project_id": "$response.body#/projects/0/id"}
    paths["/v1/projects"]["get"]["responses"]["200"]["links"] = {
        "timeline": {"operationId": "timeline", "parameters": project},
        "metricChains": {"operationId": "metricChains", "parameters": project},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "winledger sync protocol",
            "version": "1",
            "description": "Sync protocol v1 and the read models; docs/protocol.md is the full reference.",
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(settings),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "wl_<16 hex digits>_<64 hex digits>",
                }
            },
        },
        "security": [{"bearer": []}],
    }


def _schemas(settings: Settings) -> dict[str, Any]:
    """Every body's schema; a push may carry every version of every type this server knows."""
    _, components = message_components(BODIES, "#/components/schemas/{name}")
    # What the settings bound, so that a fuzzer's well-formed request is one the server takes.
    events = components["PushRequest"]["properties"]["events"]
    events |= {"minItems": 1, "maxItems": settings.max_batch}
    components["SyncRequest"]["properties"]["events"]["maxItems"] = settings.max_batch
    sent_defaults(components["ShareRequest"])  # what a client may leave out, in words (as for a push)
    return components


def _sync_paths(settings: Settings) -> dict[str, Any]:
    paging = [
        _query("after", _integer(0), "Return events with a seq above this (default 0)"),
        _query(
            "limit",
            _integer(1),
            f"Most events to return (default {settings.default_page}, "
            f"above {settings.max_page} treated as {settings.max_page})",
        ),
    ]
    return {
        "/v1/events": {
            "get": _operation(
                "pull",
                "Pull the events after a cursor",
                _ok("PullResponse", "A page of events"),
                (400, 409),
                parameters=paging,
            ),
            "post": _operation(
                "push",
                "Push a batch of events; each gets its own result",
                _ok("PushResponse", "One result per event, in request order"),
                _PUSH,
                body="PushRequest",
            ),
        },
        "/v1/sync": {
            "post": _operation(
                "sync",
                "Push, then pull, in one round trip",
                _ok("SyncResponse", "The push's results and a page of events"),
                (*_PUSH, 409),
                body="SyncRequest",
            )
        },
        "/v1/info": {
            "get": _operation(
                "info",
                "Limits, known event types and versions, epoch, server time and the token's account",
                _ok("InfoResponse", "What this server takes"),
                (),
            )
        },
        "/v1/me": {
            "get": _operation(
                "me",
                "The account the token belongs to (user name and id), and the epoch: a client keeps "
                "each journal to one account (protocol section 6.6)",
                _ok("MeResponse", "The token's account"),
                (),
            )
        },
    }


def _read_model_paths() -> dict[str, Any]:
    as_of = _query("as_of", _DATE, _AS_OF_DAY)
    return {
        "/v1/projects": {
            "get": _operation(
                "listProjects",
                "Your projects, most recent activity first",
                _ok("ProjectsResponse", "Project summaries"),
                (400,),
                parameters=[_MIN_SEQ],
            )
        },
        "/v1/projects/{project_id}/timeline": {
            "get": _operation(
                "timeline",
                "A project's timeline",
                _ok("TimelineResponse", "The timeline as of a date"),
                (400, 404),
                parameters=[_PROJECT_ID, as_of, _MIN_SEQ],
            )
        },
        "/v1/projects/{project_id}/metric-chains": {
            "get": _operation(
                "metricChains",
                "A project's metrics, links and chains as of a day",
                _ok("MetricChainsResponse", "The metric chains"),
                (400, 404),
                parameters=[_PROJECT_ID, as_of, _MIN_SEQ],
            )
        },
        "/v1/review-draft": {
            "get": _operation(
                "reviewDraft",
                "The review draft of a period as of a day, as JSON, Markdown or plain text",
                _ok("ReviewDraftResponse", "The draft", markdown=True),
                (400,),
                parameters=_REVIEW_PARAMETERS,
            )
        },
    }


def _export_path() -> dict[str, Any]:
    lines = {
        "description": (
            "One JSON object per line, told apart by `kind`: one `export` header, one `event` "
            "line per event, one `read_model` line per project, and an `end` line with the "
            "count and digest of the events (a stream without it was cut short)"
        ),
        "headers": _epoch(),
        "content": {NDJSON: {"schema": {"type": "string"}}},
    }
    summary = "All of your events in seq order, then your read models, as NDJSON (protocol section 13)"
    return {"/v1/export": {"get": _operation("export", summary, lines, ())}}


def _share_paths() -> dict[str, Any]:
    """Read-only links to a review draft (protocol section 14); the token is in the create answer alone."""
    share_id = {"name": "share_id", "in": "path", "required": True, "schema": {"type": "string"}}
    share_id["description"] = "A share's id; a malformed, missing or another user's id is a 404"
    created = _ok("ShareCreated", "The share, and its link's path `/s/<token>`: given this once")
    created["links"] = {
        "revokeShare": {"operationId": "revokeShare", "parameters": {"share_id": "$response.body#/share/id"}}
    }
    return {
        "/v1/shares": {
            "get": _operation("listShares", "Your shared links, newest first (never their tokens)",
                              _ok("SharesResponse", "Your shares, with their state and views"), ()),
            "post": _operation("createShare", "Make a read-only link to the review draft of a period",
                               created, (400, 408, 413, 415), body="ShareRequest"),
        },
        "/v1/shares/{share_id}/revoke": {
            "post": _operation("revokeShare", "Revoke a link: it stops working at once (again: no change)",
                               _ok("ShareRevoked", "The share, revoked"), (404,), parameters=[share_id])
        },
    }  # fmt: skip


def _public_paths() -> dict[str, Any]:
    """The two routes without a token."""
    return {
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "Liveness",
                "security": [],
                "responses": {"200": {"description": "Alive", "content": {JSON: {"schema": _HEALTH}}}},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {JSON: {"schema": {}}}}},
            }
        },
    }
