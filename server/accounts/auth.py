"""Users and bearer tokens.

A token reads ``wl_<token id>_<secret>``: the id (16 hex digits) names the
row, the secret (64 hex digits, 256 random bits) is never stored, only its
SHA-256. A secret with that much entropy needs no slow hash; comparison is in
constant time. Tokens can be listed and revoked by id and are never recoverable.

A refusal says *why* (expired, revoked) only to a caller whose secret matched:
that caller holds the token already, so nothing is told that it did not know,
while a stranger's unknown id or wrong secret gets the same refusal as any other.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sqlite3
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from schema import EMPTY_DIGEST, format_timestamp, parse_timestamp
from schema.protocol.constants import TOKEN_FORMAT
from server.accounts.uses import LAST_USED_RESOLUTION_S, TokenUses
from server.database import tables as db
from server.eventlog.direct import DirectReads
from server.eventlog.postgres import PostgresRecorder
from server.eventlog.store import EventStore, utc_now
from server.exceptions import ServerError

TOKEN_PATTERN = re.compile(f"^{TOKEN_FORMAT}$")
_TOKEN_ANYWHERE = re.compile(r"(wl_[0-9a-f]{16}_)[0-9a-f]+", re.IGNORECASE)
_DURATION = re.compile(r"^(\d{1,6})([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
RefusalReason = Literal["expired", "revoked"]
_TokenRow = tuple[int, str, str | None, str | None, str | None]
"""A token's user id, secret hash, revoked_at, expires_at and last_used_at."""


class AdminError(ServerError):
    """An admin action that cannot be done; the message says why."""


@dataclass(frozen=True)
class Refused:
    """A token that does not authenticate. ``reason`` is set only when the secret matched."""

    reason: RefusalReason | None = None


@dataclass(frozen=True)
class TokenInfo:
    id: str
    user: str
    label: str | None
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None

    def state(self, now: str) -> str:
        """``revoked``, ``expired`` or ``active`` at ``now`` (a stored timestamp)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at is not None and self.expires_at <= now else "active"


class RedactTokens(logging.Filter):
    """A log filter that masks the secret of anything shaped like a token (kept: the token id).

    The server never logs an Authorization header, but a client may put its
    token where logs do see it: a query string, a path.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _redact(v) if isinstance(v, str) else v for key, v in record.args.items()}
        return True


_SHARE_ANYWHERE = re.compile(r"(/s/)[A-Za-z0-9_-]{20,}")
"""A shared link's token in a path (server/accounts/shares.py): the access log's request line holds it."""


def _redact(text: str) -> str:
    if "/s/" in text:
        text = _SHARE_ANYWHERE.sub(r"\1[redacted]", text)
    return _TOKEN_ANYWHERE.sub(r"\1[redacted]", text) if "wl_" in text.lower() else text


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """``(token id, secret, full token)``."""
    token_id, secret = secrets.token_hex(8), secrets.token_hex(32)
    return token_id, secret, f"wl_{token_id}_{secret}"


class AccountReads(ABC):
    """The reads on every request (its token, its user's name), on the backend's fastest path."""

    @abstractmethod
    async def token(self, token_id: str) -> _TokenRow | None:
        """The token's user id, secret hash, revoked_at, expires_at and last_used_at."""

    @abstractmethod
    async def user_name(self, user_id: int) -> str | None: ...


class EngineAccountReads(AccountReads):
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def token(self, token_id: str) -> _TokenRow | None:
        t = db.tokens.c
        async with self.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(t.user_id, t.secret_hash, t.revoked_at, t.expires_at, t.last_used_at).where(
                        t.id == token_id
                    )
                )
            ).one_or_none()
        return None if row is None else tuple(row)

    async def user_name(self, user_id: int) -> str | None:
        async with self.engine.connect() as connection:
            name = await connection.scalar(select(db.users.c.name).where(db.users.c.id == user_id))
        return None if name is None else str(name)


class SQLiteAccountReads(AccountReads):
    """One hop to the event store's reader threads (SQLite files; see ``server.eventlog.direct``)."""

    def __init__(self, reads: DirectReads) -> None:
        self.reads = reads

    async def token(self, token_id: str) -> _TokenRow | None:
        return await self.reads.point(_token_direct, token_id, one_statement=True)

    async def user_name(self, user_id: int) -> str | None:
        return await self.reads.run(_user_name_direct, user_id)


class PostgresAccountReads(AccountReads):
    """One statement each on the event log's own connections (``server.eventlog.postgres``)."""

    def __init__(self, recorder: PostgresRecorder) -> None:
        self.recorder = recorder

    async def token(self, token_id: str) -> _TokenRow | None:
        rows = await self.recorder.fetch(
            "SELECT user_id, secret_hash, revoked_at, expires_at, last_used_at FROM tokens WHERE id = $1",
            token_id,
        )
        return tuple(rows[0]) if rows else None

    async def user_name(self, user_id: int) -> str | None:
        rows = await self.recorder.fetch("SELECT name FROM users WHERE id = $1", user_id)
        return str(rows[0][0]) if rows else None


def account_reads(store: EventStore) -> AccountReads:
    """The reads of the store's backend: its reader threads or its own connections where it has them,
    else its engine."""
    if isinstance(store.recorder, PostgresRecorder):
        return PostgresAccountReads(store.recorder)
    return EngineAccountReads(store.engine) if store.direct is None else SQLiteAccountReads(store.direct)


class Accounts:
    def __init__(self, store: EventStore, reads: AccountReads | None = None) -> None:
        self.store = store
        self.reads = account_reads(store) if reads is None else reads
        self.uses = TokenUses(store)
        """The tokens' last uses, written in the background."""

    async def create_user(self, name: str, label: str | None = None, expires_at: str | None = None) -> str:
        """Create a user and a first token; return the token."""
        name = _check_name(name)
        async with self.store.write() as connection:
            exists = await connection.scalar(select(db.users.c.id).where(db.users.c.name == name))
            if exists is not None:
                raise AdminError(f"User {name!r} already exists; use create-token for another token")
            result = await connection.execute(
                insert(db.users).values(name=name, created_at=utc_now(), last_seq=0, digest=EMPTY_DIGEST)
            )
            user_id = result.inserted_primary_key[0]  # type: ignore[index]
            return await _insert_token(connection, user_id, label, expires_at)

    async def create_token(self, name: str, label: str | None = None, expires_at: str | None = None) -> str:
        async with self.store.write() as connection:
            user_id = await _user_id(connection, name)
            return await _insert_token(connection, user_id, label, expires_at)

    async def list_tokens(self, name: str) -> list[TokenInfo]:
        async with self.store.engine.connect() as connection:
            user_id = await _user_id(connection, name)
            t = db.tokens.c
            result = await connection.execute(
                select(t.id, t.label, t.created_at, t.expires_at, t.last_used_at, t.revoked_at)
                .where(t.user_id == user_id)
                .order_by(t.created_at, t.id)
            )
            return [TokenInfo(row[0], name, *row[1:]) for row in result.all()]

    async def revoke_token(self, token_id: str) -> TokenInfo:
        async with self.store.write() as connection:
            t = db.tokens.c
            row = (
                await connection.execute(
                    select(
                        t.id,
                        db.users.c.name,
                        t.label,
                        t.created_at,
                        t.expires_at,
                        t.last_used_at,
                        t.revoked_at,
                    )
                    .join_from(db.tokens, db.users, db.users.c.id == t.user_id)
                    .where(t.id == token_id)
                )
            ).one_or_none()
            if row is None:
                raise AdminError(f"No token with id {token_id!r}; list-tokens NAME shows the ids")
            info = TokenInfo(*row)
            if info.revoked_at is None:
                revoked_at = utc_now()
                await connection.execute(
                    update(db.tokens).where(t.id == token_id).values(revoked_at=revoked_at)
                )
                info = TokenInfo(*row[:-1], revoked_at)
            return info

    async def user_name(self, user_id: int) -> str | None:
        """The name of a user (``GET /v1/me``, ``account`` in ``GET /v1/info``); ``None`` once erased."""
        return await self.reads.user_name(user_id)

    async def authenticate(self, token: str) -> int | None:
        """The user id a token belongs to, or ``None`` (malformed, unknown, revoked or expired)."""
        outcome = await self.identify(token)
        return None if isinstance(outcome, Refused) else outcome

    async def identify(self, token: str) -> int | Refused:
        """The user id a token belongs to, or why it is refused (see the module docstring)."""
        match = TOKEN_PATTERN.match(token)
        if match is None:
            return Refused()
        token_id, secret = match.groups()
        row = await self.reads.token(token_id)
        if row is None:
            # Spend the same work as a real comparison so timing does not reveal which ids exist.
            hmac.compare_digest(_hash(secret), "0" * 64)
            return Refused()
        user_id, secret_hash, revoked_at, expires_at, last_used_at = row
        if not hmac.compare_digest(_hash(secret), secret_hash):
            return Refused()
        now = utc_now()
        # Revoked wins over expired: it was a decision, and a new token is needed either way.
        if revoked_at is not None:
            return Refused("revoked")
        if expires_at is not None and expires_at <= now:
            return Refused("expired")
        if last_used_at is None or _seconds_between(last_used_at, now) >= LAST_USED_RESOLUTION_S:
            self.uses.note(token_id, now)
        return int(user_id)


def _token_direct(connection: sqlite3.Connection, token_id: str) -> _TokenRow | None:
    """The token's row, as one read in a reader thread."""
    return connection.execute(  # type: ignore[no-any-return]
        "SELECT user_id, secret_hash, revoked_at, expires_at, last_used_at FROM tokens WHERE id = ?",
        (token_id,),
    ).fetchone()


def _user_name_direct(connection: sqlite3.Connection, user_id: int) -> str | None:
    row = connection.execute("SELECT name FROM users WHERE id = ?", (user_id,)).fetchone()
    return None if row is None else str(row[0])


async def _user_id(connection: AsyncConnection, name: str) -> int:
    user_id = await connection.scalar(select(db.users.c.id).where(db.users.c.name == name))
    if user_id is None:
        raise AdminError(f"No user named {name!r}")
    return int(user_id)


async def _insert_token(
    connection: AsyncConnection, user_id: int, label: str | None, expires_at: str | None
) -> str:
    token_id, secret, token = new_token()
    await connection.execute(
        insert(db.tokens).values(
            id=token_id,
            user_id=user_id,
            secret_hash=_hash(secret),
            label=label,
            created_at=utc_now(),
            expires_at=expires_at,
        )
    )
    return token


def expiry(text: str, now: datetime | None = None) -> str:
    """``--expires``: a duration from now (``12h``, ``90d``, ``4w``), a date (its first instant, UTC)
    or a date and time with its offset; the stored timestamp. The past is refused."""
    now = now or datetime.now(UTC)
    value = text.strip()
    duration = _DURATION.match(value.lower())
    if duration:
        try:
            moment = now + int(duration.group(1)) * _UNITS[duration.group(2)]
        except OverflowError:  # 999999w: past the year 9999
            raise AdminError(f"--expires {text!r} ends after the year 9999") from None
    else:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise AdminError(
                f"--expires {text!r} is neither a duration (12h, 90d, 4w) nor an ISO date or time "
                "(2026-12-31, 2026-12-31T18:00:00+01:00)"
            ) from None
        if moment.tzinfo is None:
            if len(value) > 10:
                raise AdminError(f"--expires {text!r} needs a UTC offset (Z or +01:00) after the time")
            moment = moment.replace(tzinfo=UTC)
    try:
        stored = format_timestamp(moment)
    except ValueError:  # year 1 ahead of UTC, or year 9999 behind it: no UTC time
        stored = None
    if moment <= now:
        raise AdminError(f"--expires {text!r} is in the past ({stored or moment.isoformat()})")
    if stored is None:
        raise AdminError(f"--expires {text!r} ends after the year 9999")
    return stored


def _seconds_between(earlier: str, later: str) -> float:
    # On every request: two stored timestamps of one day are compared by their clock digits alone.
    if len(earlier) == len(later) == _STORED_LENGTH and earlier[:11] == later[:11] and earlier[26] == "Z":
        return (_micros_of_day(later) - _micros_of_day(earlier)) / 1_000_000
    return (parse_timestamp(later) - parse_timestamp(earlier)).total_seconds()


_STORED_LENGTH = len("2026-01-01T00:00:00.000000Z")


def _micros_of_day(stamp: str) -> int:
    """``HH:MM:SS.ffffff`` of a stored timestamp, in microseconds."""
    seconds = int(stamp[11:13]) * 3600 + int(stamp[14:16]) * 60 + int(stamp[17:19])
    return seconds * 1_000_000 + int(stamp[20:26])


def _check_name(name: str) -> str:
    if not 1 <= len(name) <= 200 or not name.isprintable() or name != name.strip():
        raise AdminError(f"User name {name!r} must be 1-200 printable characters without surrounding spaces")
    return name
