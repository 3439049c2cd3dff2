"""Server-side commands of ``winledger`` (``serve``, ``admin ...``), loaded only when they run."""

from __future__ import annotations

import argparse
import asyncio
import copy
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from server import db
from server.auth import Accounts, AdminError
from server.settings import Settings, SettingsError
from server.store import EventStore

T = TypeVar("T")


def _fail(message: str) -> int:
    print(f"winledger: {message}", file=sys.stderr)
    return 1


def _with_accounts(db_url: str, action: Callable[[Accounts], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = db.create_engine(db_url)
        try:
            await db.create_schema(engine)
            return await action(Accounts(EventStore(engine)))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_app

    try:
        settings = Settings.from_env(db_url=args.db, host=args.host, port=args.port)
    except SettingsError as exc:
        return _fail(str(exc))
    app = create_app(settings)
    print(f"winledger: serving {settings.db_url} on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=_log_config(args.log_level),
        log_level=args.log_level,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return 0


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the server's own loggers, every line through ``RedactTokens``."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact_tokens": {"()": "server.auth.RedactTokens"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact_tokens"]
    config["loggers"]["winledger"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return config


def create_user(args: argparse.Namespace) -> int:
    try:
        token = _with_accounts(args.db, lambda accounts: accounts.create_user(args.name, args.label))
    except AdminError as exc:
        return _fail(str(exc))
    print(f"Created user {args.name!r}. Their token (shown once; store it now):")
    print(token)
    return 0


def create_token(args: argparse.Namespace) -> int:
    try:
        token = _with_accounts(args.db, lambda accounts: accounts.create_token(args.name, args.label))
    except AdminError as exc:
        return _fail(str(exc))
    label = f" labelled {args.label!r}" if args.label else ""
    print(f"New token for {args.name!r}{label} (shown once; store it now):")
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
    header = ("ID", "LABEL", "CREATED", "LAST USED", "EXPIRES", "REVOKED")
    rows = [
        (t.id, t.label or "-", t.created_at, t.last_used_at or "-", t.expires_at or "-", t.revoked_at or "-")
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

    from server import modelstore
    from server.projector import new_holder
    from server.rebuild import LeaseBusy, Outcome, rebuild_user, verify_user

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
        engine = db.create_engine(args.db)
        try:
            await db.create_schema(engine)
            store = EventStore(engine)
            async with engine.connect() as connection:
                users = await modelstore.list_users(connection, args.user)
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

                for user_id, name, _ in users:
                    progress.update(task, description=f"{name}")
                    action = verify_user if args.verify else rebuild_user
                    outcome = await action(store, user_id, holder, lease_wait_s=30.0, on_events=advance)
                    outcomes.append((name, outcome))
                    done = progress.tasks[0].completed
                    if done > (progress.tasks[0].total or 0):
                        progress.update(task, total=done)
            return outcomes, time.monotonic() - started
        finally:
            await engine.dispose()

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
