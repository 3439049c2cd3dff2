"""A database that cannot be reached or used, said in one sentence instead of a driver's traceback."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

UNREACHABLE: tuple[type[Exception], ...] = (OSError, DBAPIError)
"""What opening a database raises when it is not there: a refused or timed-out connection (``OSError``
from the driver), an unknown database or user, a file that cannot be opened (``DBAPIError``)."""


def why(exc: Exception) -> str:
    """The driver's own words, without SQLAlchemy's wrapping and the statement."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return " ".join(str(exc.orig).split())
    return " ".join(str(exc).split()) or type(exc).__name__
