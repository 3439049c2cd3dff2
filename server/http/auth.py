"""Bearer authentication of the API's requests (``/v1``): who a token signs in as, or a 401."""

from __future__ import annotations

from starlette.requests import Request

from server.accounts.auth import RefusalReason, Refused
from server.http.problems import ProblemError
from server.http.state import state_of


async def authenticate(request: Request) -> int:
    """The user a request's bearer token signs in as, counted against their rate limit; 401 otherwise."""
    state = state_of(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("An `Authorization: Bearer <token>` header is required")
    outcome = await state.accounts.identify(token.strip())
    if isinstance(outcome, Refused):
        raise _unauthorized(_REFUSALS[outcome.reason], outcome.reason)
    state.limiter.check(outcome)
    request.scope["winledger.user_id"] = outcome  # for the access log (server/http/observe.py)
    return outcome


# The reason is told only to a caller whose secret matched (server/accounts/auth.py): it holds the token.
_REFUSALS: dict[RefusalReason | None, str] = {
    None: "The bearer token is unknown, malformed, revoked or expired",
    "expired": "This token has expired; ask for a new one and sign in with it (`winledger login`)",
    "revoked": "This token was revoked; ask for a new one and sign in with it (`winledger login`)",
}


def _unauthorized(detail: str, reason: RefusalReason | None = None) -> ProblemError:
    return ProblemError(
        401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="winledger"'}, reason=reason
    )


def unknown_token() -> ProblemError:
    """The 401 of a token that signs in as no one (its user was erased since it was checked)."""
    return _unauthorized(_REFUSALS[None])
