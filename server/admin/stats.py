"""``winledger admin stats``: what the database says about the store (``server.stats``), for a person."""

from __future__ import annotations

import argparse
import asyncio

from server.accounts.auth import AdminError
from server.admin.store import admin_store, fail
from server.stats import Facts, facts, human_size, seconds_since

TOP = 5
"""How many of the users furthest behind ``admin stats`` names."""


def stats_command(args: argparse.Namespace) -> int:
    """``winledger admin stats``: the store's size, users, events, tokens and projector lag, for a person."""

    async def run() -> Facts:
        async with admin_store(args.db) as store:
            return await facts(store.engine, args.db, top=TOP)

    try:
        found = asyncio.run(run())
    except AdminError as exc:
        return fail(str(exc))
    print("\n".join(report(found)))
    return 0


def report(facts: Facts) -> list[str]:
    tokens = facts.tokens
    lines = [
        f"Store size:  {human_size(facts.size_bytes)}",
        f"Users:       {facts.users:,}",
        f"Events:      {facts.events:,}",
        f"Tokens:      {tokens['active']:,} active, {tokens['revoked']:,} revoked, "
        f"{tokens['expired']:,} expired",
    ]
    if facts.events_behind == 0:
        lines.append(f"Projector:   up to date (projection version {facts.projection_version})")
    else:
        lines.append(
            f"Projector:   {facts.events_behind:,} events behind for {facts.users_behind:,} "
            f"user{'s' * (facts.users_behind != 1)}, the oldest {_duration(facts.seconds_behind)} old "
            f"(projection version {facts.projection_version})"
        )
        lines += [
            f"  {lag.user}: {lag.events:,} events, {_duration(lag.seconds)} behind"
            for lag in facts.most_behind
        ]
        if facts.users_behind > len(facts.most_behind):
            lines.append(f"  ... and {facts.users_behind - len(facts.most_behind):,} more")
    if facts.rebuild is not None:
        rebuild = facts.rebuild
        lines.append(
            f"Rebuild:     {rebuild.done:,} of {rebuild.total:,} events, started {rebuild.started_at}, "
            f"last report {_duration(seconds_since(rebuild.updated_at))} ago"
        )
    return lines


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
