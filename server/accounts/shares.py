"""Shared review drafts: the ``shares`` table behind ``/v1/shares`` and the ``/s/<token>`` pages.

A link's token is 256 random bits (``secrets.token_urlsafe(32)``); the table keeps only its SHA-256,
like every token and session id here (``server.accounts.auth``): a copy of the database opens no
link. A share belongs to one user and names what it was made for (a period, optionally some
projects); it always expires, can be revoked, and counts its views. Every read of a link looks it up
by the hash of the token it was given, so an unknown, expired and revoked link are one answer.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select, update

from schema import format_timestamp
from server.database import tables as db
from server.eventlog.store import EventStore, utc_now

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
"""What ``secrets.token_urlsafe(32)`` makes; anything else is looked up nowhere."""


@dataclass(frozen=True)
class ShareRow:
    id: str
    user_id: int
    period_from: date
    period_to: date
    project_ids: tuple[str, ...]
    """Empty: every project of the period (and the wins captured without one)."""
    created_at: str
    expires_at: str
    revoked_at: str | None
    views: int
    last_viewed_at: str | None

    def state(self, now: str) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_COLUMNS = (
    db.shares.c.id,
    db.shares.c.user_id,
    db.shares.c.period_from,
    db.shares.c.period_to,
    db.shares.c.project_ids,
    db.shares.c.created_at,
    db.shares.c.expires_at,
    db.shares.c.revoked_at,
    db.shares.c.view_count,
    db.shares.c.last_viewed_at,
)


def _row(row: tuple[object, ...]) -> ShareRow:
    ids = json.loads(str(row[4])) if row[4] else []
    return ShareRow(
        id=str(row[0]),
        user_id=int(row[1]),  # type: ignore[call-overload]
        period_from=date.fromisoformat(str(row[2])),
        period_to=date.fromisoformat(str(row[3])),
        project_ids=tuple(ids),
        created_at=str(row[5]),
        expires_at=str(row[6]),
        revoked_at=None if row[7] is None else str(row[7]),
        views=int(row[8]),  # type: ignore[call-overload]
        last_viewed_at=None if row[9] is None else str(row[9]),
    )


class Shares:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def create(
        self,
        user_id: int,
        period_from: date,
        period_to: date,
        project_ids: list[str],
        expires_in: timedelta,
        now: datetime | None = None,
    ) -> tuple[ShareRow, str]:
        """A new share and its token (returned this once, stored nowhere)."""
        now = now or datetime.now(UTC)
        share_id, token = secrets.token_hex(8), secrets.token_urlsafe(32)
        values = {
            "id": share_id,
            "user_id": user_id,
            "token_hash": token_hash(token),
            "period_from": period_from.isoformat(),
            "period_to": period_to.isoformat(),
            "project_ids": json.dumps(sorted(set(project_ids))) if project_ids else None,
            "created_at": format_timestamp(now),
            "expires_at": format_timestamp(now + expires_in),
            "revoked_at": None,
            "view_count": 0,
            "last_viewed_at": None,
        }
        async with self.store.write() as connection:
            await connection.execute(insert(db.shares).values(**values))
        row = ShareRow(
            id=share_id,
            user_id=user_id,
            period_from=period_from,
            period_to=period_to,
            project_ids=tuple(sorted(set(project_ids))),
            created_at=str(values["created_at"]),
            expires_at=str(values["expires_at"]),
            revoked_at=None,
            views=0,
            last_viewed_at=None,
        )
        return row, token

    async def list(self, user_id: int) -> list[ShareRow]:
        """The user's shares, the newest first."""
        s = db.shares.c
        async with self.store.engine.connect() as connection:
            rows = await connection.execute(
                select(*_COLUMNS).where(s.user_id == user_id).order_by(s.created_at.desc(), s.id)
            )
            return [_row(tuple(row)) for row in rows.all()]

    async def revoke(self, user_id: int, share_id: str) -> ShareRow | None:
        """The share, revoked now (or when it was); ``None`` when it is not the user's (or not at all)."""
        s = db.shares.c
        async with self.store.write() as connection:
            await connection.execute(
                update(db.shares)
                .where(s.id == share_id, s.user_id == user_id, s.revoked_at.is_(None))
                .values(revoked_at=utc_now())
            )
            row = (
                await connection.execute(select(*_COLUMNS).where(s.id == share_id, s.user_id == user_id))
            ).one_or_none()
        return None if row is None else _row(tuple(row))

    async def open(self, token: str) -> ShareRow | None:
        """The live share of a link's token; ``None`` when the token is unknown, malformed, expired or
        revoked, all alike."""
        if not _TOKEN.match(token):
            return None
        s = db.shares.c
        async with self.store.engine.connect() as connection:
            row = (
                await connection.execute(
                    select(*_COLUMNS).where(
                        s.token_hash == token_hash(token), s.revoked_at.is_(None), s.expires_at > utc_now()
                    )
                )
            ).one_or_none()
        # The lookup is by the hash of 256 random bits: its timing tells nothing about other links.
        return None if row is None else _row(tuple(row))

    async def count_view(self, share_id: str) -> None:
        """One more view of a page of the share, now."""
        s = db.shares.c
        async with self.store.write() as connection:
            await connection.execute(
                update(db.shares)
                .where(s.id == share_id)
                .values(view_count=s.view_count + 1, last_viewed_at=utc_now())
            )
