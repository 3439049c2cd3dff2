"""The serving lock: a SQLite store that a server (or its projector process) serves is marked in use, so
that ``winledger admin restore`` refuses to replace it under them, and a server does not start on a
store that is being restored.

An advisory ``flock`` on ``<database>.lock``: shared while serving, exclusive while restoring.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from server.exceptions import ServerError

try:
    import fcntl
except ImportError:  # Windows: no flock; the lock is skipped and the docs' "stop the server first" is all
    fcntl = None  # type: ignore[assignment]


class StoreInUseError(ServerError):
    """The store is being restored (for a server), or served (for a restore); the message says which."""


_SERVING_LOCKS: list[IO[bytes]] = []
"""Open lock files of this process's serving stores (kept open: closing one drops its lock)."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


def _file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def hold_serving_lock(url: str) -> None:
    """Called by ``serve``: mark the SQLite store as in use for the life of this process."""
    path = _file(url)
    if path is None or fcntl is None:
        return
    handle = lock_path(path).open("ab")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreInUseError(
            f"{path} is being restored right now; start the server when the restore is done"
        ) from None
    _SERVING_LOCKS.append(handle)


@contextlib.contextmanager
def no_server(database: Path, error: type[Exception] = StoreInUseError) -> Iterator[None]:
    """Hold the store's lock exclusively, or refuse (raising ``error``) because a server holds it."""
    if fcntl is None:
        yield
        return
    with lock_path(database).open("ab") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise error(
                f"a winledger server is serving {database}; stop it, then restore (a running server "
                "would keep telling clients the old epoch)"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
