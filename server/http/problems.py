"""HTTP plumbing of protocol v1: problems, content negotiation, bounded body reading."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal, TypeVar

import msgspec
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from schema.protocol import EPOCH_HEADER, JSON, MSGPACK, MSGPACK_ALIAS, PROBLEM_JSON, Problem
from server.exceptions import ServerError

Format = Literal["json", "msgpack"]
T = TypeVar("T")

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_problem_encoder = msgspec.json.Encoder()
_json_encoder = msgspec.json.Encoder()
_msgpack_encoder = msgspec.msgpack.Encoder()


class ProblemError(ServerError):
    """Raised anywhere in a request to answer it with ``application/problem+json``."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        retry_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        reason: Literal["expired", "revoked"] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.reason = status, code, detail, reason
        self.headers = dict(headers or {})
        if retry_after is not None:
            self.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))


def problem_response(error: ProblemError, epoch: str | None = None) -> Response:
    body = Problem(
        type=f"urn:winledger:problem:{error.code}",
        title=_TITLES.get(error.status, "Error"),
        status=error.status,
        code=error.code,
        detail=error.detail,
        epoch=epoch if epoch is not None else msgspec.UNSET,
        reason=error.reason if error.reason is not None else msgspec.UNSET,
    )
    headers = dict(error.headers)
    if epoch is not None:
        headers[EPOCH_HEADER] = epoch
    return Response(_problem_encoder.encode(body), error.status, headers=headers, media_type=PROBLEM_JSON)


SHED_RETRY_AFTER_S = 1


class Admission:
    """At most ``limit`` requests to ``/v1`` at once; the next ones get 503 at once.

    A shed request costs almost nothing (no token lookup, no body read), so a
    burst of devices is answered quickly, each told when to retry, instead of
    piling up bodies in memory and waiting until its client times out. Not a
    middleware of its own: ``server.http.observe.Observe``, around the whole
    app, admits each request (one layer less on every request).
    """

    def __init__(self, *, limit: int, epoch: Callable[[], str]) -> None:
        self.limit, self.epoch = limit, epoch
        self.active = 0

    def counts(self, scope: Scope) -> bool:
        """Whether the request is one that the limit counts (every request to ``/v1``, when it is set)."""
        return bool(self.limit) and scope["path"].startswith("/v1")

    def refusal(self) -> Response:
        """The 503 of a request beyond the limit."""
        error = ProblemError(
            503,
            "unavailable",
            f"The server is handling {self.active} requests, its limit; retry later",
            retry_after=SHED_RETRY_AFTER_S,
        )
        return problem_response(error, self.epoch() or None)


def encode(value: msgspec.Struct, fmt: Format, epoch: str) -> Response:
    """A message of the protocol as the body of a 200, with the epoch in its header too."""
    if fmt == "msgpack":
        return Encoded(_msgpack_encoder.encode(value), MSGPACK, epoch)
    return Encoded(_json_encoder.encode(value), JSON, epoch)


_EPOCH_KEY = EPOCH_HEADER.lower().encode("latin-1")


class Encoded(Response):
    """A 200 with a body of ``media_type`` and the epoch header: the headers ``Response`` gives it, in
    its order, built without its general path (this answers every sync)."""

    def __init__(self, body: bytes, media_type: str, epoch: str) -> None:
        self.status_code, self.media_type, self.background, self.body = 200, media_type, None, body
        self.raw_headers = [
            (_EPOCH_KEY, epoch.encode("latin-1")),
            (b"content-length", b"%d" % len(body)),
            (b"content-type", media_type.encode("latin-1")),
        ]


class Endpoint:
    """A route's handler as a plain ASGI app, for the routes every sync takes.

    Starlette wraps a function endpoint in one more exception-handling layer, with the same handlers as
    the app's own ``ExceptionMiddleware``, which then handles what this raises, as it would have.
    """

    def __init__(self, handler: Callable[[Request], Awaitable[Response]]) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive, send))
        await response(scope, receive, send)


def request_format(request: Request) -> Format:
    """The format of the request body, from Content-Type; anything unknown is a 415."""
    raw = request.headers.get("content-type")
    if raw is None:
        raise ProblemError(
            415,
            "unsupported_media_type",
            "Content-Type is missing; send application/json or application/msgpack",
        )
    media = raw.split(";", 1)[0].strip().lower()
    if media == JSON:
        return "json"
    if media in (MSGPACK, MSGPACK_ALIAS):
        return "msgpack"
    raise ProblemError(
        415,
        "unsupported_media_type",
        f"Content-Type {raw!r} is not supported; send application/json or application/msgpack",
    )


def response_format(request: Request, default: Format) -> Format:
    """The response format from Accept; ``default`` is the request's own format (JSON for a GET)."""
    return negotiate(request, _FORMATS, default)


_FORMATS: dict[str, Format] = {JSON: "json", MSGPACK: "msgpack", MSGPACK_ALIAS: "msgpack"}


def negotiate(request: Request, offers: Mapping[str, T], default: T) -> T:
    """The offer (media type -> value) Accept prefers; a missing Accept or ``*/*`` gives ``default``."""
    raw = request.headers.get("accept")
    if raw is None or not raw.strip():
        return default
    best: tuple[float, int, T] | None = None
    for position, part in enumerate(raw.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if quality <= 0:
            continue
        if media in offers:
            offer = offers[media]
        elif media in ("*/*", "application/*"):
            offer = default
        else:
            continue
        # Highest quality wins; among equals, the earlier entry.
        if best is None or quality > best[0]:
            best = (quality, position, offer)
    if best is None:
        named = ", ".join(media for media in offers if media != MSGPACK_ALIAS)
        raise ProblemError(
            406, "not_acceptable", f"Accept {raw!r} names no format this server speaks: {named}"
        )
    return best[2]


async def read_body(request: Request, max_bytes: int, timeout_s: float) -> bytes:
    """The whole body, refused as soon as it passes ``max_bytes`` or takes longer than ``timeout_s``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise ProblemError(
                400, "malformed_body", f"Content-Length {declared!r} is not a number"
            ) from None
        if size > max_bytes:
            raise _too_large(max_bytes, size)
    chunks: list[bytes] = []
    received = 0
    receive, more = request.receive, True
    try:
        async with asyncio.timeout(timeout_s):
            # The messages as `request.stream()` reads them, without an async generator per request.
            while more:
                message = await receive()
                if message["type"] != "http.request":
                    if message["type"] == "http.disconnect":
                        raise ClientDisconnect()
                    continue
                chunk, more = message.get("body", b""), message.get("more_body", False)
                received += len(chunk)
                if received > max_bytes:
                    raise _too_large(max_bytes, received)
                chunks.append(chunk)
    except TimeoutError:
        raise ProblemError(
            408,
            "body_timeout",
            f"The request body did not arrive within {timeout_s:g} s ({received} bytes received)",
        ) from None
    return b"".join(chunks)


def _too_large(max_bytes: int, size: int) -> ProblemError:
    return ProblemError(
        413,
        "body_too_large",
        f"The body is over the limit of {max_bytes} bytes (at least {size} bytes); split the batch and retry",
    )
