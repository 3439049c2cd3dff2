"""Server configuration: ``WINLEDGER_*`` environment variables, overridden by command-line flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from schema.protocol import (
    DEFAULT_BODY_TIMEOUT_S,
    DEFAULT_MAX_BATCH,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_PAGE,
    MAX_PAGE,
)
from server.exceptions import ServerError

DEFAULT_DB_URL = "sqlite+aiosqlite:///./winledger.db"
ENV_PREFIX = "WINLEDGER_"


class SettingsError(ServerError, ValueError):
    """A configuration value that cannot be used; the message names the key (``field``: the field's name,
    when one value is at fault)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, kw_only=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    host: str = "127.0.0.1"
    port: int = 8750
    max_batch: int = DEFAULT_MAX_BATCH
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_timeout_s: float = DEFAULT_BODY_TIMEOUT_S
    default_page: int = DEFAULT_PAGE
    max_page: int = MAX_PAGE
    rate_limit_per_s: float = 0.0
    """Requests per second allowed per user (token bucket); 0 turns rate limiting off."""
    rate_limit_burst: int = 100
    max_inflight: int = 128
    """Most /v1 requests handled at once; beyond it a request gets 503 at once. 0 turns it off."""
    max_write_queue: int = 32
    """Most pushes waiting for the write lock; beyond it a push gets 503 at once. 0 turns it off."""
    projector_batch: int = 2000
    """Most events the projector applies in one write transaction."""
    projector_poll_s: float = 1.0
    """How often the projector looks for work that no push of this process announced."""
    projector_lease_s: float = 30.0
    """How long a projector's claim on a user lasts unless renewed (a crashed process's claim lapses)."""
    projector: str = "inline"
    """``inline``: the app projects in its own event loop (an app embedded in a test or another
    program); ``process``: a process of its own does, and the app runs none (``winledger serve``'s
    default: folds then never hold up a request, see server/projections/process.py)."""
    migrate: bool = False
    """Upgrade an out-of-date PostgreSQL schema at start (SQLite is always upgraded in place)."""
    log_format: str = "text"
    """``text``: uvicorn's access log; ``json``: one JSON line per request and per log record."""
    metrics_token: str = ""
    """The bearer token ``GET /metrics`` asks for; empty turns ``/metrics`` off (404)."""
    workers: int = 1
    """Server processes on one port (``winledger serve``; PostgreSQL only, SQLite runs one)."""

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, base: Settings | None = None, **overrides: Any
    ) -> Settings:
        """``base`` (the defaults above unless given), then ``WINLEDGER_<FIELD>`` (``WINLEDGER_DB`` for
        the URL), then the overrides that are not None (command-line flags). A value that cannot be
        used is a ``SettingsError`` that names where it came from: the variable, or the field."""
        environ = os.environ if environ is None else environ
        from_environment: dict[str, Any] = {}
        for field in fields(cls):
            value = cls.env_value(field.name, environ)
            if value is not None:
                from_environment[field.name] = value
        given = {key: value for key, value in overrides.items() if value is not None}
        settings = replace(base or cls(), **{**from_environment, **given})
        try:
            settings.check()
        except SettingsError as exc:
            if exc.field in from_environment and exc.field not in given:
                raise SettingsError(f"${env_key(exc.field)}: {exc}", exc.field) from None
            if exc.field in given:
                raise SettingsError(f"argument {flag_of(exc.field)}: {exc}", exc.field) from None
            raise
        return settings

    @classmethod
    def env_value(cls, name: str, environ: Mapping[str, str] | None = None) -> Any:
        """The setting ``name`` as its ``WINLEDGER_*`` variable gives it, cast to the field's type;
        None when the variable is not set. Reads that one variable only, so that a command that needs
        one setting (an admin command's database) does not trip over another."""
        environ = os.environ if environ is None else environ
        key = env_key(name)
        if key not in environ:
            return None
        return _cast(key, environ[key], type(getattr(cls(), name)), port=name == "port")

    @classmethod
    def is_set(cls, name: str, environ: Mapping[str, str] | None = None) -> bool:
        """Whether ``WINLEDGER_*`` sets ``name`` (a default that depends on the process, such as the
        projector process's poll, applies only where it does not)."""
        return env_key(name) in (os.environ if environ is None else environ)

    def to_env(self) -> dict[str, str]:
        """These settings as ``WINLEDGER_*`` variables, which ``from_env`` reads back unchanged."""
        env = {}
        for field in fields(self):
            value = getattr(self, field.name)
            env[env_key(field.name)] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return env

    def check(self) -> None:
        positive = (
            "max_batch",
            "max_body_bytes",
            "body_timeout_s",
            "default_page",
            "max_page",
            "projector_batch",
            "projector_poll_s",
            "projector_lease_s",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name} must be positive, got {getattr(self, name)!r}", name)
        if self.default_page > self.max_page:
            raise SettingsError(
                f"default_page ({self.default_page}) exceeds max_page ({self.max_page})", "default_page"
            )
        if self.rate_limit_per_s < 0 or self.rate_limit_burst < 1:
            at_fault = "rate_limit_per_s" if self.rate_limit_per_s < 0 else "rate_limit_burst"
            raise SettingsError("rate_limit_per_s must be >= 0 and rate_limit_burst >= 1", at_fault)
        for name in ("max_inflight", "max_write_queue"):
            if getattr(self, name) < 0:
                raise SettingsError(
                    f"{name} must be >= 0 (0 turns it off), got {getattr(self, name)!r}", name
                )
        if self.projector not in ("inline", "process"):
            raise SettingsError(f"projector must be inline or process, got {self.projector!r}", "projector")
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"log_format must be text or json, got {self.log_format!r}", "log_format")
        if self.metrics_token and len(self.metrics_token) < 16:
            raise SettingsError(
                "metrics_token must be at least 16 characters (or empty: /metrics off)", "metrics_token"
            )
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port must be 0-65535, got {self.port!r}", "port")
        problem = database_url_problem(self.db_url)
        if problem is not None:
            raise SettingsError(problem, "db_url")


PROJECTOR_PARENT = ENV_PREFIX + "PROJECTOR_PARENT"
"""The variable through which ``serve`` tells its projector process its own pid (not a setting: a
process's, set by ``server.projections.process.Supervisor``)."""


def projector_parent(environ: Mapping[str, str] | None = None) -> int | None:
    """The pid in ``$WINLEDGER_PROJECTOR_PARENT``; None when it is not set."""
    environ = os.environ if environ is None else environ
    if PROJECTOR_PARENT not in environ:
        return None
    pid: int = _cast(PROJECTOR_PARENT, environ[PROJECTOR_PARENT], int)
    return pid


_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_URL_FORMS = "sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DATABASE"


def database_url_problem(url: str) -> str | None:
    """Why ``url`` cannot name the server's database (a file path, a typo, a driver that is not
    asynchronous), or None. Checked before anything opens it, so the mistake is one sentence."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"{url!r} is not a database URL: write {_URL_FORMS}"
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend not in _DRIVERS:
        return f"{url!r} names a {backend} database; winledger serves from {_URL_FORMS}"
    if f"{backend}+{driver}" != _DRIVERS[backend]:
        return (
            f"{url!r} uses the {driver} driver, which is not asynchronous: write "
            f"{_DRIVERS[backend]}://{url.partition('://')[2]}"
        )
    return None


def flag_of(name: str) -> str:
    """The command-line flag of the setting ``name`` (``--db`` for ``db_url``)."""
    return "--db" if name == "db_url" else "--" + name.replace("_", "-")


def env_key(name: str) -> str:
    """The ``WINLEDGER_*`` variable of the setting ``name`` (``WINLEDGER_DB`` for ``db_url``)."""
    return ENV_PREFIX + ("DB" if name == "db_url" else name.upper())


def _cast(key: str, raw: str, kind: type, *, port: bool = False) -> Any:
    """``raw`` as a ``kind``, or a ``SettingsError`` that names ``key`` and says what it takes."""
    text = raw.strip()
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"${key}: {raw!r} is not true or false (1, 0, yes, no, on, off)")
    if kind is int:
        if port:
            if not text.isdigit() or not 1 <= int(text) <= 65535:
                raise SettingsError(f"${key}: {raw!r} is not a port number (1-65535)")
            return int(text)
        try:
            return int(text)
        except ValueError:
            raise SettingsError(f"${key}: {raw!r} is not a whole number") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise SettingsError(f"${key}: {raw!r} is not a number") from None
    return raw
