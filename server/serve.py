"""``winledger serve``: the sync server under uvicorn, with its projector process beside it.

Before anything is printed or opened, the address is checked (one clear line for a port in use) and
the schema is checked or migrated once, so that workers never race to migrate. The settings come from
``server.cli.serve_settings``.
"""

from __future__ import annotations

import asyncio
import copy
import errno
import gc
import json
import os
import signal
import socket
import sys
from dataclasses import replace
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from server.admin.store import fail, shown
from server.database import tables as db
from server.database.failures import UNREACHABLE, why
from server.database.migrate import SchemaOutOfDate, SchemaTooNew, open_store
from server.database.serving import StoreInUseError, hold_serving_lock
from server.eventlog.store import utc_now
from server.projections.process import Supervisor
from server.settings import Settings


def serve(settings: Settings, *, log_level: str) -> int:
    unusable = _unusable_address(settings.host, settings.port)
    if unusable:
        return fail(unusable)
    workers = _workers(settings)
    try:
        _open_store(settings.db_url, migrate=settings.migrate)
    except (SchemaOutOfDate, SchemaTooNew) as exc:
        return fail(str(exc))
    except UNREACHABLE as exc:
        return fail(f"cannot use the database {shown(settings.db_url)}: {why(exc)}")
    settings = replace(settings, migrate=False, workers=workers)
    try:
        hold_serving_lock(settings.db_url)  # `admin restore` refuses while this process serves the file
    except StoreInUseError as exc:
        return fail(str(exc))
    print(_banner(settings), flush=True)
    supervisor = Supervisor(settings).start() if settings.projector == "process" else None
    if supervisor is not None:
        # uvicorn shuts down gracefully on SIGTERM, then raises it again with the handler it found:
        # this one turns it into SystemExit, so that the `finally` below stops the projector process
        # (and waits for it to let go of the store) before this process ends.
        signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        _run_uvicorn(settings, log_level)
        return 0
    finally:
        if supervisor is not None:
            supervisor.stop()


def _workers(settings: Settings) -> int:
    """The server processes to run: as asked, but one on SQLite, which lets one process write."""
    workers = max(1, settings.workers)
    if settings.db_url.startswith("sqlite") and workers > 1:
        print(
            f"winledger: serving with 1 process, not {workers}: SQLite lets one process write at a "
            "time, so more workers would only wait on its lock (use PostgreSQL for several workers)",
            file=sys.stderr,
            flush=True,
        )
        return 1
    return workers


def _banner(settings: Settings) -> str:
    plural = f"{settings.workers} processes" if settings.workers > 1 else "1 process"
    banner = (
        f"winledger: serving {shown(settings.db_url)} on http://{settings.host}:{settings.port} ({plural})"
    )
    if settings.log_format == "json":
        return json.dumps(
            {"ts": utc_now(), "level": "info", "logger": "winledger.serve", "message": banner[11:]}
        )
    return banner


def _run_uvicorn(settings: Settings, log_level: str) -> None:
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": _log_config(log_level, settings.log_format),
        # In JSON, server.http.observe writes each request's line; uvicorn's own access line would repeat it.
        "access_log": settings.log_format != "json",
        "log_level": log_level,
        "lifespan": "on",
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
    if settings.workers == 1:
        from server.http.app import create_app

        app = create_app(settings)
        tune_gc()
        uvicorn.run(app, **options)
        return
    # Each worker process builds its app from the environment: hand the settings over through it.
    os.environ.update(settings.to_env())
    uvicorn.run("server.http.app:create_app", factory=True, workers=settings.workers, **options)


GC_YOUNG = 10_000
"""Allocations between two collections of the youngest generation (Python's default is 700)."""


def tune_gc() -> None:
    """Fewer garbage collections in a server process: what is loaded by now (modules, the app) lives as
    long as the process, so it is moved out of the collector's sight, and the youngest generation is
    collected after ``GC_YOUNG`` allocations, not 700. A push of 1,000 events allocates tens of
    thousands of objects, nearly all freed by their reference counts; collecting them every 700 took
    about 8% of a push's CPU (docs/performance.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, 20, 20)


def _unusable_address(host: str, port: int) -> str | None:
    """Why ``serve`` could not listen on ``host``:``port``, found by binding it as uvicorn will (with
    SO_REUSEADDR) before anything is printed or opened; None when it can."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        return f"cannot serve on --host {host!r}: {getattr(exc, 'strerror', None) or exc}"
    for family, kind, proto, _name, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                where = f"{host}:{port}" if port else host
                if exc.errno == errno.EADDRINUSE:
                    return (
                        f"port {port} on {host} is already in use (another `winledger serve`?): stop "
                        "what listens there, or choose another --port"
                    )
                if exc.errno == errno.EACCES:
                    return (
                        f"not allowed to listen on port {port} ({where}): ports below 1024 need "
                        "privileges; choose another --port"
                    )
                return f"cannot listen on {where}: {exc.strerror or exc}; check --host and --port"
    return None


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _open_store(url: str, *, migrate: bool) -> str:
    async def run() -> str:
        engine = db.create_engine(url)
        try:
            return await open_store(engine, url, migrate=migrate)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _log_config(level: str, fmt: str = "text") -> dict[str, Any]:
    """uvicorn's logging, plus the server's own loggers, every line through ``RedactTokens``;
    with ``fmt`` json, every line a JSON object (``server.http.observe.JsonFormatter``) on standard output."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_tokens": {"()": "server.accounts.auth.RedactTokens"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact_tokens"]
    config["loggers"]["winledger"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    if fmt == "json":
        config["formatters"]["json"] = {"()": "server.http.observe.JsonFormatter"}
        for handler in config["handlers"].values():
            handler["formatter"] = "json"
            handler["stream"] = "ext://sys.stdout"
    return config
