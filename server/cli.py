"""Server-side commands of ``winledger`` (``serve``, ``admin ...``), loaded only when they run."""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from server.accounts.auth import Accounts, AdminError, expiry
from server.admin.store import admin_store
from server.database import tables as db
from server.database.migrate import SchemaOutOfDate, SchemaTooNew, open_store, status, upgrade
from server.eventlog.store import utc_now
from server.settings import Settings, SettingsError

T = TypeVar("T")


def _fail(message: str) -> int:
    print(f"winledger: {message}", file=sys.stderr)
    return 1


def _unusable_address(host: str, port: int) -> str | None:
    """Why ``serve`` could not listen on ``host``:``port``, found by binding it as uvicorn will (with
    SO_REUSEADDR) before anything is printed or opened; None when it can."""
    import errno
    import socket

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


def _with_accounts(db_url: str, action: Callable[[Accounts], Awaitable[T]]) -> T:
    async def run() -> T:
        async with admin_store(db_url) as store:
            return await action(Accounts(store))

    return asyncio.run(run())


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    try:
        settings = Settings.from_env(
            db_url=args.db,
            host=args.host,
            port=args.port,
            migrate=True if args.migrate else None,
            log_format=getattr(args, "log_format", None),
            # A projector process of its own unless asked otherwise (server/projections/process.py).
            projector=getattr(args, "projector", None) or os.environ.get("WINLEDGER_PROJECTOR") or "process",
        )
    except SettingsError as exc:
        return _fail(str(exc))
    unusable = _unusable_address(settings.host, settings.port)
    if unusable:
        return _fail(unusable)
    workers = max(1, args.workers)
    sqlite = settings.db_url.startswith("sqlite")
    if sqlite and workers > 1:
        print(
            f"winledger: serving with 1 process, not {workers}: SQLite lets one process write at a "
            "time, so more workers would only wait on its lock (use PostgreSQL for several workers)",
            file=sys.stderr,
            flush=True,
        )
        workers = 1
    # Checked (or migrated) once here, before any worker starts: workers never race to migrate,
    # and a schema that cannot be used is one clear message, not a failed startup per worker.
    try:
        _open_store(settings.db_url, migrate=settings.migrate)
    except (SchemaOutOfDate, SchemaTooNew) as exc:
        return _fail(str(exc))
    settings = replace(settings, migrate=False)
    from server.admin.backup import BackupError, hold_serving_lock

    try:
        hold_serving_lock(settings.db_url)  # `admin restore` refuses while this process serves the file
    except BackupError as exc:
        return _fail(str(exc))
    plural = f"{workers} processes" if workers > 1 else "1 process"
    banner = (
        f"winledger: serving {_shown(settings.db_url)} on http://{settings.host}:{settings.port} ({plural})"
    )
    if settings.log_format == "json":
        import json

        banner = json.dumps(
            {"ts": utc_now(), "level": "info", "logger": "winledger.serve", "message": banner[11:]}
        )
    print(banner, flush=True)
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": _log_config(args.log_level, settings.log_format),
        # In JSON, server.http.observe writes each request's line; uvicorn's own access line would repeat it.
        "access_log": settings.log_format != "json",
        "log_level": args.log_level,
        "lifespan": "on",
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
    from server.projections.process import Supervisor

    supervisor = Supervisor(settings).start() if settings.projector == "process" else None
    if supervisor is not None:
        # uvicorn shuts down gracefully on SIGTERM, then raises it again with the handler it found:
        # this one turns it into SystemExit, so that the `finally` below stops the projector process
        # (and waits for it to let go of the store) before this process ends.
        signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        if workers == 1:
            from server.http.app import create_app

            uvicorn.run(create_app(settings), **options)
            return 0
        # Each worker process builds its app from the environment: hand the settings over through it.
        os.environ.update(settings.to_env())
        uvicorn.run("server.http.app:create_app", factory=True, workers=workers, **options)
        return 0
    finally:
        if supervisor is not None:
            supervisor.stop()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _shown(url: str) -> str:
    from server.admin.store import shown

    return shown(url)  # the password hidden, a SQLite file by its absolute path


def _open_store(url: str, *, migrate: bool) -> str:
    async def run() -> str:
        engine = db.create_engine(url)
        try:
            return await open_store(engine, url, migrate=migrate)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def migrate(args: argparse.Namespace) -> int:
    """``winledger admin migrate``: bring the database's schema up to date (or ``--check`` it)."""

    async def run() -> tuple[str | None, str]:
        engine = db.create_engine(args.db)
        try:
            if args.check:
                state = await status(engine)
                return state.current, state.head
            return await upgrade(engine)
        finally:
            await engine.dispose()

    try:
        before, after = asyncio.run(run())
    except SchemaTooNew as exc:
        return _fail(str(exc))
    where = "an empty database" if before is None else f"revision {before}"
    if args.check:
        if before == after:
            print(f"{_shown(args.db)}: the schema is up to date (revision {after})")
            return 0
        print(f"{_shown(args.db)}: {where}; revision {after} is needed: run `winledger admin migrate`")
        return 1
    if before == after:
        print(f"{_shown(args.db)}: the schema is up to date (revision {after}); nothing to do")
    else:
        print(f"{_shown(args.db)}: migrated from {where} to revision {after}")
    return 0


def _log_config(level: str, fmt: str = "text") -> dict[str, Any]:
    """uvicorn's logging, plus the server's own loggers, every line through ``RedactTokens``;
    with ``fmt`` json, every line a JSON object (``server.http.observe.JsonFormatter``) on standard output."""
    from uvicorn.config import LOGGING_CONFIG

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


def create_user(args: argparse.Namespace) -> int:
    try:
        expires_at = expiry(args.expires) if args.expires else None
        token = _with_accounts(
            args.db, lambda accounts: accounts.create_user(args.name, args.label, expires_at)
        )
    except AdminError as exc:
        return _fail(str(exc))
    until = f", valid until {expires_at}" if expires_at else ""
    print(f"Created user {args.name!r}. Their token{until} (shown once; store it now):")
    print(token)
    return 0


def create_token(args: argparse.Namespace) -> int:
    try:
        expires_at = expiry(args.expires) if args.expires else None
        token = _with_accounts(
            args.db, lambda accounts: accounts.create_token(args.name, args.label, expires_at)
        )
    except AdminError as exc:
        return _fail(str(exc))
    label = f" labelled {args.label!r}" if args.label else ""
    until = f", valid until {expires_at}" if expires_at else ""
    print(f"New token for {args.name!r}{label}{until} (shown once; store it now):")
    print(token)
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    try:
        tokens = _with_accounts(args.db, lambda accounts: accounts.list_tokens(args.name))
    except AdminError as exc:
        return _fail(str(exc))
    if not tokens:
        print(f"{args.name!r} has no tokens")
        return 0
    now = utc_now()
    header = ("ID", "LABEL", "STATE", "CREATED", "LAST USED", "EXPIRES", "REVOKED")
    rows = [
        (
            t.id,
            t.label or "-",
            t.state(now),
            t.created_at,
            t.last_used_at or "-",
            t.expires_at or "-",
            t.revoked_at or "-",
        )
        for t in tokens
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    try:
        info = _with_accounts(args.db, lambda accounts: accounts.revoke_token(args.token_id))
    except AdminError as exc:
        return _fail(str(exc))
    print(
        f"Token {info.id} of {info.user!r} is revoked (since {info.revoked_at}); "
        "the user's other tokens still work"
    )
    return 0


def rebuild(args: argparse.Namespace) -> int:
    """``winledger admin rebuild``: rebuild (or ``--verify``) read models beside a live server."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    from server.admin import stats
    from server.projections import reads
    from server.projections.leases import new_holder
    from server.projections.rebuild import LeaseBusy, Outcome, rebuild_user
    from server.projections.verify import verify_user

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")

    console = Console(stderr=True)
    if args.projection != "all":
        console.print(
            f"{args.projection}: timelines, metric chains and review drafts are views of one stored "
            "per-project model; rebuilding that model rebuilds all three."
        )
    holder = new_holder("admin-verify" if args.verify else "admin-rebuild")

    async def run() -> tuple[list[tuple[str, Outcome]], float]:
        async with admin_store(args.db) as store:
            async with store.engine.connect() as connection:
                users = await reads.list_users(connection, args.user)
            if args.user is not None and not users:
                raise AdminError(f"No user named {args.user!r}")
            outcomes: list[tuple[str, Outcome]] = []
            started = time.monotonic()
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("events"),
                RateColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            ) as progress:
                task = progress.add_task(
                    "verifying" if args.verify else "rebuilding", total=sum(last for _, _, last in users)
                )

                def advance(count: int) -> None:
                    progress.advance(task, count)

                total = sum(last for _, _, last in users)
                # Recorded in the database every few seconds, for the server's GET /metrics.
                async with stats.rebuild_progress(store, total, lambda: int(progress.tasks[0].completed)):
                    for user_id, name, _ in users:
                        progress.update(task, description=f"{name}")
                        action = verify_user if args.verify else rebuild_user
                        outcome = await action(store, user_id, holder, lease_wait_s=30.0, on_events=advance)
                        outcomes.append((name, outcome))
                        done = progress.tasks[0].completed
                        if done > (progress.tasks[0].total or 0):
                            progress.update(task, total=done)
            return outcomes, time.monotonic() - started

    try:
        outcomes, seconds = asyncio.run(run())
    except (AdminError, LeaseBusy) as exc:
        return _fail(str(exc))
    events = sum(outcome.events for _, outcome in outcomes)
    projects = sum(outcome.projects for _, outcome in outcomes)
    rate = f"{events / seconds:,.0f} events/s" if seconds > 0 else "-"
    totals = (
        f"{len(outcomes)} user{'s' * (len(outcomes) != 1)}, {events:,} events, {projects:,} projects "
        f"in {seconds:.2f} s ({rate})"
    )
    if not args.verify:
        print(f"Rebuilt the read models of {totals}")
        return 0
    differences = 0
    for name, outcome in outcomes:
        for line in outcome.differences:
            print(f"{name} (seq {outcome.seq}): {line}")
        differences += len(outcome.differences)
    if differences:
        print(f"Verified {totals}: {differences} difference{'s' * (differences != 1)}")
        return 1
    print(f"Verified {totals}: the live read models equal a rebuild from the log")
    return 0


def backup(args: argparse.Namespace) -> int:
    from server.admin import backup_cli

    return backup_cli.backup(args)


def restore(args: argparse.Namespace) -> int:
    from server.admin import backup_cli

    return backup_cli.restore(args)


def stats(args: argparse.Namespace) -> int:
    from server.admin import stats_cli

    return stats_cli.stats_command(args)


def delete_user(args: argparse.Namespace) -> int:
    from server.admin import erase

    return erase.run(args)
