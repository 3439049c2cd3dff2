"""Browser sessions of the review pages.

A person signs in once with an API token; the server answers with a random
session id in an HTTP-only cookie. The ``web_sessions`` table keeps only the
SHA-256 of that id (a copy of the database does not hold a usable cookie),
the user, the CSRF token of the session's forms, the token it was opened
with and when it expires. A session ends at its expiry, at sign-out, or as
soon as its API token is revoked or expires: revoking a leaked token also
closes the browser sessions opened with it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, or_, select

from schema import format_timestamp, parse_timestamp
from server.accounts.auth import TOKEN_PATTERN
from server.database import tables as db
from server.eventlog.store import EventStore, utc_now

SESSION_LIFETIME = timedelta(hours=12)

web_sessions = db.web_sessions


@dataclass(frozen=True)
class Session:
    user_id: int
    csrf_token: str
    expires_at: str


@dataclass(frozen=True)
class Opened:
    """A new session: ``session_id`` goes into the cookie and nowhere else."""

    session_id: str
    csrf_token: str
    expires_at: datetime


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def open(self, user_id: int, token: str, now: datetime | None = None) -> Opened:
        """A session for ``user_id``, who proved it with ``token`` (already authenticated)."""
        match = TOKEN_PATTERN.match(token)
        assert match is not None, "open a session only with an authenticated token"
        now = now or datetime.now(UTC)
        expires_at = now + SESSION_LIFETIME
        session_id, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        async with self.store.write() as connection:
            # Housekeeping where it costs nothing extra: sign-ins are rare, expired rows are dead weight.
            await connection.execute(delete(web_sessions).where(web_sessions.c.expires_at <= _stamp(now)))
            await connection.execute(
                insert(web_sessions).values(
                    id_hash=_hash(session_id),
                    user_id=user_id,
                    token_id=match.group(1),
                    csrf_token=csrf_token,
                    created_at=_stamp(now),
                    expires_at=_stamp(expires_at),
                )
            )
        return Opened(session_id, csrf_token, expires_at)

    async def find(self, session_id: str) -> Session | None:
        """The live session of a cookie's value, or ``None`` (unknown, expired, or its token is gone)."""
        if not session_id or len(session_id) > 100:
            return None
        s, t = web_sessions.c, db.tokens.c
        now = utc_now()
        async with self.store.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(s.user_id, s.csrf_token, s.expires_at)
                    .join_from(web_sessions, db.tokens, t.id == s.token_id)
                    .where(
                        s.id_hash == _hash(session_id),
                        s.expires_at > now,
                        t.user_id == s.user_id,
                        t.revoked_at.is_(None),
                        or_(t.expires_at.is_(None), t.expires_at > now),
                    )
                )
            ).one_or_none()
        # The lookup is by the hash of a 256-bit random id: its timing tells nothing about other sessions.
        return None if row is None else Session(int(row[0]), str(row[1]), str(row[2]))

    async def close(self, session_id: str) -> None:
        async with self.store.write() as connection:
            await connection.execute(delete(web_sessions).where(web_sessions.c.id_hash == _hash(session_id)))


def _stamp(moment: datetime) -> str:
    return format_timestamp(moment)


def seconds_left(session: Session, now: datetime | None = None) -> int:
    return max(0, int((parse_timestamp(session.expires_at) - (now or datetime.now(UTC))).total_seconds()))
