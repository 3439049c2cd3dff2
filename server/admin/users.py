"""``winledger admin create-user``, ``create-token``, ``list-tokens`` and ``revoke-token``: users and their
tokens (the accounts themselves are ``server.accounts.auth.Accounts``)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from server.accounts.auth import Accounts, AdminError, expiry
from server.admin.store import admin_store, fail
from server.eventlog.store import utc_now

T = TypeVar("T")


def _with_accounts(db_url: str, action: Callable[[Accounts], Awaitable[T]]) -> T:
    async def run() -> T:
        async with admin_store(db_url) as store:
            return await action(Accounts(store))

    return asyncio.run(run())


def create_user_command(args: argparse.Namespace) -> int:
    try:
        expires_at = expiry(args.expires) if args.expires else None
        token = _with_accounts(
            args.db, lambda accounts: accounts.create_user(args.name, args.label, expires_at)
        )
    except AdminError as exc:
        return fail(str(exc))
    until = f", valid until {expires_at}" if expires_at else ""
    print(f"Created user {args.name!r}. Their token{until} (shown once; store it now):")
    print(token)
    return 0


def create_token_command(args: argparse.Namespace) -> int:
    try:
        expires_at = expiry(args.expires) if args.expires else None
        token = _with_accounts(
            args.db, lambda accounts: accounts.create_token(args.name, args.label, expires_at)
        )
    except AdminError as exc:
        return fail(str(exc))
    label = f" labelled {args.label!r}" if args.label else ""
    until = f", valid until {expires_at}" if expires_at else ""
    print(f"New token for {args.name!r}{label}{until} (shown once; store it now):")
    print(token)
    return 0


def list_tokens_command(args: argparse.Namespace) -> int:
    try:
        tokens = _with_accounts(args.db, lambda accounts: accounts.list_tokens(args.name))
    except AdminError as exc:
        return fail(str(exc))
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


def revoke_token_command(args: argparse.Namespace) -> int:
    try:
        info = _with_accounts(args.db, lambda accounts: accounts.revoke_token(args.token_id))
    except AdminError as exc:
        return fail(str(exc))
    print(
        f"Token {info.id} of {info.user!r} is revoked (since {info.revoked_at}); "
        "the user's other tokens still work"
    )
    return 0
