"""The real server app, driven in-process through a synchronous httpx transport.

The app runs on an event loop in a background thread (an anyio blocking
portal); each request crosses into it through ``httpx.ASGITransport``. The
database is a real SQLite file, or a real PostgreSQL database given by its URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal

from server import Settings, create_app


class SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._transport = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=content)
            response = await self._transport.handle_async_request(forwarded)
            body = await response.aread()
            return response.status_code, response.headers.raw, body

        status, headers, body = self._portal.call(send)
        return httpx.Response(status, headers=headers, content=body, request=request)


class InProcessServer:
    """A real app on a real database: ``.url``, ``.transport``, ``.create_user(name) -> token``.

    ``db_path`` is a SQLite file's path or a database URL; another server made
    with the same ``db_path`` shares the database (a second process, or a restart).
    """

    url = "http://winledger.test"

    def __init__(self, db_path: Path | str, portal: BlockingPortal, **settings: Any) -> None:
        self.db_path = db_path
        db_url = db_path if isinstance(db_path, str) else f"sqlite+aiosqlite:///{db_path}"
        # A test database is this code's own: upgrade it as `winledger admin migrate` would.
        self.settings = Settings(db_url=db_url, **{"migrate": True, **settings})
        self.app = create_app(self.settings)
        self.state = self.app.state.winledger
        self.portal = portal
        portal.call(self.state.open)
        self.transport = SyncASGITransport(self.app, portal)
        self.http = httpx.Client(transport=self.transport, base_url=self.url)

    @property
    def epoch(self) -> str:
        return self.state.epoch  # type: ignore[no-any-return]

    def create_user(self, name: str, label: str | None = None) -> str:
        return self.portal.call(self.state.accounts.create_user, name, label)  # type: ignore[no-any-return]

    def create_token(self, name: str, label: str | None = None) -> str:
        return self.portal.call(self.state.accounts.create_token, name, label)  # type: ignore[no-any-return]

    def revoke_token(self, token_id: str) -> Any:
        return self.portal.call(self.state.accounts.revoke_token, token_id)

    def close(self) -> None:
        self.http.close()
        self.portal.call(self.state.close)
