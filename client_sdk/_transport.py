"""HTTP for sync protocol v1: one httpx client, retries with backoff, errors mapped to ``client_sdk.errors``.

Answers are decoded with the server's own message types (``schema.protocol``). Retrying a push is
safe because the protocol is idempotent: an event the server committed before the answer got lost
comes back as ``duplicate``.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import httpx
import msgspec

from client_sdk.errors import (
    AuthError,
    ConfigurationError,
    NetworkError,
    PayloadTooLargeError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    TokenExpiredError,
    TokenRevokedError,
)
from schema.protocol import EPOCH_HEADER, JSON, InfoResponse, Problem, SyncRequest, SyncResponse

T = TypeVar("T")
_TOKEN_ENDED: dict[str | None, tuple[type[AuthError], str]] = {
    "expired": (TokenExpiredError, "has expired"),
    "revoked": (TokenRevokedError, "was revoked"),
}
USER_AGENT = "winledger-client-sdk/0.1"

_info_decoder = msgspec.json.Decoder(InfoResponse)
_sync_decoder = msgspec.json.Decoder(SyncResponse)
_problem_decoder = msgspec.json.Decoder(Problem)
_encoder = msgspec.json.Encoder()


class Refusal(NamedTuple):
    """What an error answer says: a problem of the protocol's, or a proxy's page read as ``detail``."""

    code: str | None
    detail: str | None
    epoch: str | None
    reason: str | None


def refusal(response: httpx.Response) -> Refusal:
    """The problem an error answer carries; a body that is no problem of this protocol is its detail."""
    try:
        problem = _problem_decoder.decode(response.content)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return Refusal(None, response.text[:200] or None, None, None)
    return Refusal(problem.code, problem.detail, problem.epoch or None, problem.reason or None)


# Worth another try: the server may be restarting, overloaded or briefly unreachable.
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_RETRY_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delay-seconds or an HTTP-date (RFC 9110, 10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class Transport:
    """``retries`` extra attempts after the first, sleeping ``backoff * 2**n`` (capped at
    ``max_backoff``, with jitter) between them, or what ``Retry-After`` asks for when that is
    longer; an answer asking to wait more than ``max_retry_after`` seconds is raised instead."""

    def __init__(
        self,
        server: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None,
        timeout: float,
        retries: int,
        backoff: float,
        max_backoff: float,
        max_retry_after: float,
    ) -> None:
        if not server.startswith(("http://", "https://")):
            raise ConfigurationError(f"The server URL {server!r} must start with http:// or https://.")
        try:
            self._http = httpx.Client(
                base_url=server,
                transport=transport,
                timeout=timeout,
                headers={
                    "Authorization": f"Bearer {token}",
                    "User-Agent": USER_AGENT,
                    "Accept": JSON,
                },
            )
        except (httpx.InvalidURL, ValueError) as exc:
            raise ConfigurationError(f"The server URL {server!r} is not valid: {exc}.") from exc
        self.server = server
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.sleep: Callable[[float], None] = time.sleep

    def close(self) -> None:
        self._http.close()

    def info(self) -> InfoResponse:
        return self._decode(_info_decoder, self.request("GET", "/v1/info"))

    def sync(self, message: SyncRequest) -> SyncResponse:
        return self._decode(_sync_decoder, self.request("POST", "/v1/sync", _encoder.encode(message)))

    def _decode(self, decoder: msgspec.json.Decoder[T], response: httpx.Response) -> T:
        try:
            return decoder.decode(response.content)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ProtocolError(
                f"{response.request.method} {response.request.url} answered a body that is not "
                f"sync protocol v1: {exc}."
            ) from exc

    def _delay(self, attempt: int) -> float:
        capped = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return capped * random.uniform(0.5, 1.0)

    def request(self, method: str, path: str, body: bytes | None = None) -> httpx.Response:
        headers = {"Content-Type": JSON} if body is not None else {}
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, path, content=body, headers=headers)
            except _RETRY_EXCEPTIONS as exc:
                if attempt > self.retries:
                    raise NetworkError(
                        f"{method} {self.server}{path} failed after {attempt} attempt(s): "
                        f"{type(exc).__name__}: {exc or 'no details'}.",
                        attempts=attempt,
                    ) from exc
                self.sleep(self._delay(attempt))
                continue
            except httpx.TransportError as exc:
                raise ConfigurationError(f"{method} {self.server}{path} cannot be sent: {exc}.") from exc
            status = response.status_code
            if status < 400:
                return response
            if status not in _RETRY_STATUSES:
                raise self._error(response)
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt > self.retries or (wait is not None and wait > self.max_retry_after):
                raise self._error(response, attempts=attempt, retry_after=wait)
            self.sleep(max(self._delay(attempt), wait or 0.0))

    def _error(
        self, response: httpx.Response, *, attempts: int = 1, retry_after: float | None = None
    ) -> ServerError:
        status = response.status_code
        problem = refusal(response)
        request = f"{response.request.method} {response.request.url.path}"
        said = f" ({problem.code})" if problem.code else ""
        detail = f": {problem.detail}" if problem.detail else ""
        kwargs: dict[str, Any] = {
            "status": status,
            "code": problem.code,
            "detail": problem.detail,
            "epoch": problem.epoch or response.headers.get(EPOCH_HEADER),
        }
        if status == 401:
            if problem.reason in _TOKEN_ENDED:
                kind, what = _TOKEN_ENDED[problem.reason]
                return kind(
                    f"The server at {self.server!r} refused the token: it {what}. Run "
                    f"`winledger login --server {self.server}` with a new token (or pass one to Client()); "
                    "pending events stay in the store.",
                    **kwargs,
                )
            return AuthError(
                f"The server at {self.server!r} refused the token with 401{said}{detail}. "
                "Check the token; pending events stay in the store.",
                **kwargs,
            )
        if status == 413:
            return PayloadTooLargeError(
                f"{request} was too large for the server: 413{said}{detail}.", **kwargs
            )
        if status in (429, 503):
            return RateLimitedError(
                f"{request} was refused with {status}{said} after {attempts} attempt(s)"
                + (f"; the server asks to wait {retry_after:g} s" if retry_after is not None else "")
                + f"{detail}.",
                retry_after=retry_after,
                **kwargs,
            )
        return ServerError(
            f"{request} failed with {status}{said}{detail}.", retry_after=retry_after, **kwargs
        )
