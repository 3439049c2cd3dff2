"""winledger's sync server: HTTP protocol v1, the event store, accounts and admin commands.

``create_app`` is imported when first asked for: ``winledger`` loads ``server.cli`` to list the
server's commands, which must work where the server's dependencies (Starlette...) are not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server.settings import Settings

if TYPE_CHECKING:
    from server.http.app import create_app

__all__ = ["Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from server.http.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
