"""Server-side commands of ``winledger`` (``serve``, ``admin ...``), loaded only when they run."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

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
        log_level=args.log_level,
        lifespan="on",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    return 0


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
