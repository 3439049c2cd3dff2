"""winledger's sync server: HTTP protocol v1, the event store, accounts and admin commands.

``Settings`` and ``create_app`` are imported when first asked for: ``winledger`` loads ``server.cli`` to
list the server's commands, for every command it runs (a capture included), and where the server's
dependencies (Starlette...) may not be installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.http.app import create_app
    from server.settings import Settings

__all__ = ["Settings", "create_app"]

_HOMES = {"Settings": "server.settings", "create_app": "server.http.app"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
