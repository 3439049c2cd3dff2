"""What every request handler receives: the server's objects, built once from the settings.

``State`` is the composition root's product (``server.http.app.create_app`` builds one and hands it to
Starlette as ``app.state.winledger``); handlers reach it with ``state_of(request)``. It lives apart from
``app`` so that the routes can name it without importing the app that imports them.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request

from server.accounts.auth import Accounts
from server.database import migrate
from server.database import tables as db
from server.eventlog import event_store
from server.http import openapi
from server.http.limits import RateLimiter
from server.http.observe import Metrics
from server.projections.projector import Projector
from server.settings import Settings


class State:
    """What every request handler receives through ``request.app.state.winledger``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = db.create_engine(settings.db_url)
        # The one place the server picks its backend's recorder (server/eventlog/__init__.py).
        self.store = event_store(self.engine, max_write_queue=settings.max_write_queue)
        self.accounts = Accounts(self.store)
        self.limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
        self.projector = Projector(
            self.store,
            batch=settings.projector_batch,
            poll_s=settings.projector_poll_s,
            lease_s=settings.projector_lease_s,
        )
        self.store.on_commit.append(self.projector.notify)
        self.epoch = ""
        self.metrics = Metrics()
        self.openapi = msgspec.json.encode(openapi.build(settings))

    async def open(self) -> None:
        settings = self.settings
        try:
            self.epoch = await migrate.open_store(self.engine, settings.db_url, migrate=settings.migrate)
        except BaseException:
            await self.engine.dispose()
            raise
        if settings.projector == "inline":
            self.projector.start()

    async def close(self) -> None:
        await self.accounts.uses.close()
        await self.projector.stop()
        self.store.close()
        await self.engine.dispose()


def state_of(request: Request) -> State:
    return request.app.state.winledger  # type: ignore[no-any-return]
