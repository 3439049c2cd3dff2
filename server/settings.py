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

DEFAULT_DB_URL = "sqlite+aiosqlite:///./winledger.db"
ENV_PREFIX = "WINLEDGER_"


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the key."""


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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``WINLEDGER_<FIELD>`` (``WINLEDGER_DB`` for the URL), then apply overrides."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            names = [ENV_PREFIX + field.name.upper()]
            if field.name == "db_url":
                names.insert(0, ENV_PREFIX + "DB")
            for key in names:
                if key in environ:
                    values[field.name] = _cast(key, environ[key], type(getattr(cls(), field.name)))
                    break
        values.update({key: value for key, value in overrides.items() if value is not None})
        settings = replace(cls(), **values)
        settings.check()
        return settings

    def to_env(self) -> dict[str, str]:
        """These settings as ``WINLEDGER_*`` variables, which ``from_env`` reads back unchanged."""
        env = {}
        for field in fields(self):
            value = getattr(self, field.name)
            name = "DB" if field.name == "db_url" else field.name.upper()
            env[ENV_PREFIX + name] = ("1" if value else "0") if isinstance(value, bool) else str(value)
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
                raise SettingsError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.default_page > self.max_page:
            raise SettingsError(f"default_page ({self.default_page}) exceeds max_page ({self.max_page})")
        if self.rate_limit_per_s < 0 or self.rate_limit_burst < 1:
            raise SettingsError("rate_limit_per_s must be >= 0 and rate_limit_burst >= 1")
        for name in ("max_inflight", "max_write_queue"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must be >= 0 (0 turns it off), got {getattr(self, name)!r}")
        if self.projector not in ("inline", "process"):
            raise SettingsError(f"projector must be inline or process, got {self.projector!r}")
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"log_format must be text or json, got {self.log_format!r}")
        if self.metrics_token and len(self.metrics_token) < 16:
            raise SettingsError("metrics_token must be at least 16 characters (or empty: /metrics off)")
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port must be 0-65535, got {self.port!r}")


def _cast(key: str, raw: str, kind: type) -> Any:
    if kind is bool:
        if raw.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if raw.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{key} must be true or false, got {raw!r}")
    try:
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        raise SettingsError(f"{key} must be a {kind.__name__}, got {raw!r}") from None
    return raw
