"""winledger's sync server: HTTP protocol v1, the event store, accounts and admin commands."""

from server.http.app import create_app
from server.settings import Settings

__all__ = ["Settings", "create_app"]
