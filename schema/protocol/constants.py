"""The protocol's numbers and names that both sides use: version, defaults, limits, media types, headers."""

from __future__ import annotations

PROTOCOL_VERSION = 1
"""``protocol`` in ``GET /v1/info``; the ``v1`` of every path."""

DEFAULT_MAX_BATCH = 1000
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_PAGE = 500
MAX_PAGE = 5000
DEFAULT_BODY_TIMEOUT_S = 30.0
MAX_DEPTH = 64
"""Most arrays and objects nested in one request body; an event nests five deep, with its batch."""

JSON = "application/json"
MSGPACK = "application/msgpack"
MSGPACK_ALIAS = "application/x-msgpack"
"""The older name of MessagePack's media type: taken in ``Content-Type`` and ``Accept``, never named."""
PROBLEM_JSON = "application/problem+json"
MARKDOWN = "text/markdown"
TEXT = "text/plain"
NDJSON = "application/x-ndjson"

TOKEN_FORMAT = r"wl_([0-9a-f]{16})_([0-9a-f]{64})"
"""A bearer token (protocol section 2): ``wl_``, the token's id (16 hex digits), ``_``, its secret (64)."""

EPOCH_HEADER = "Winledger-Epoch"
"""The store's epoch (protocol section 9), on every answer of a /v1 route."""
AS_OF_SEQ_HEADER = "Winledger-As-Of-Seq"
"""The review draft as Markdown or text: the checkpoint it reflects (``as_of_seq`` in JSON)."""
PROJECTION_VERSION_HEADER = "Winledger-Projection-Version"
"""The review draft as Markdown or text: the projection version that folded it."""
