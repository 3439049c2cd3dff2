"""When each token was last used (``tokens.last_used_at``, shown by ``winledger admin tokens``): written in
the background, every token used in a second in one write transaction, off the requests' path.

A token's first request of a minute used to write its use itself, in a write transaction of its own that
queued with the pushes for the store's write lock and, on SQLite, ended in an fsync: when a fleet of
devices came back at once (``push_small``'s first syncs: 20 tokens), twenty such transactions stood
between the pushes and their group commits. The time recorded is still the request's; it reaches the
database about a second later, and a server stopped cleanly writes what it still holds.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import bindparam, update

from server.database import tables as db
from server.eventlog.store import EventStore

log = logging.getLogger("winledger.accounts")

LAST_USED_RESOLUTION_S = 60
"""A token's last use is recorded at most once a minute."""

WRITE_AFTER_S = 1.0
"""How long uses gather before they are written together."""


class TokenUses:
    """The uses of this process's tokens not yet written, and the background task that writes them."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._recorded: dict[str, float] = {}  # token id -> when this process last noted its use
        self._pending: dict[str, str] = {}  # token id -> the time of the use to write
        self._task: asyncio.Task[None] | None = None

    def note(self, token_id: str, now: str) -> None:
        """Record that the token was used at ``now``: at most once a minute per token and process (a burst
        of requests with one token would otherwise write the same minute again and again)."""
        moment = time.monotonic()
        if moment - self._recorded.get(token_id, -LAST_USED_RESOLUTION_S) < LAST_USED_RESOLUTION_S:
            return
        self._recorded[token_id] = moment
        self._pending[token_id] = now
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._write_soon())

    async def _write_soon(self) -> None:
        try:
            while self._pending:
                await asyncio.sleep(WRITE_AFTER_S)
                await self.write()
        finally:
            self._task = None

    async def write(self) -> None:
        """Write the uses noted so far, in one write transaction. Best effort: uses that cannot be written
        now (writers already queueing, a failing disk) are forgotten, and noted again on the token's next
        request."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        token = db.tokens.c.id == bindparam("token")
        statement = update(db.tokens).where(token).values(last_used_at=bindparam("used"))
        try:
            async with self.store.write(shed=True) as connection:
                await connection.execute(
                    statement,
                    [{"token": token_id, "used": used} for token_id, used in pending.items()],
                )
        except Exception as exc:
            log.warning("could not record the last use of %d tokens: %s", len(pending), exc)
            for token_id in pending:
                self._recorded.pop(token_id, None)

    async def close(self) -> None:
        """Write what is still pending (a clean stop), and stop the background task."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        await self.write()
