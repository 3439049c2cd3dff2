"""``winledger admin rebuild``: rebuild (or ``--verify``) the read models beside a live server, with a
progress bar on standard error. The rebuild itself is ``server.projections.rebuild``."""

from __future__ import annotations

import argparse
import asyncio
import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from server import stats
from server.accounts.auth import AdminError
from server.admin.store import admin_store, fail
from server.eventlog.store import EventStore
from server.projections import reads
from server.projections.leases import new_holder
from server.projections.pool import fold_pool
from server.projections.rebuild import LeaseBusy, Outcome, rebuild_user
from server.projections.verify import verify_user

Outcomes = list[tuple[str, Outcome]]
"""Each user's name and what rebuilding (or verifying) their read models found."""


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "-/s", style="progress.data.speed")


def rebuild_command(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    if args.projection != "all":
        console.print(
            f"{args.projection}: timelines, metric chains and review drafts are views of one stored "
            "per-project model; rebuilding that model rebuilds all three."
        )
    try:
        outcomes, seconds = asyncio.run(_run(args, console))
    except (AdminError, LeaseBusy) as exc:
        return fail(str(exc))
    return _report(outcomes, seconds, verify=args.verify)


async def _run(args: argparse.Namespace, console: Console) -> tuple[Outcomes, float]:
    """Every user's read models (or ``--user``'s) rebuilt or verified; the time it took."""
    holder = new_holder("admin-verify" if args.verify else "admin-rebuild")
    async with admin_store(args.db) as store:
        async with store.engine.connect() as connection:
            users = await reads.list_users(connection, args.user)
        if args.user is not None and not users:
            raise AdminError(f"No user named {args.user!r}")
        started = time.monotonic()
        outcomes = await _each_user(store, users, holder, console, verify=args.verify)
        return outcomes, time.monotonic() - started


async def _each_user(
    store: EventStore, users: list[tuple[int, str, int]], holder: str, console: Console, *, verify: bool
) -> Outcomes:
    outcomes: Outcomes = []
    total = sum(last for _, _, last in users)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        _RateColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("verifying" if verify else "rebuilding", total=total)

        def advance(count: int) -> None:
            progress.advance(task, count)

        # Recorded in the database every few seconds, for the server's GET /metrics.
        async with stats.rebuild_progress(store, total, lambda: int(progress.tasks[0].completed)):
            if verify:
                for user_id, name, _ in users:
                    progress.update(task, description=f"{name}")
                    outcome = await verify_user(store, user_id, holder, lease_wait_s=30.0, on_events=advance)
                    outcomes.append((name, outcome))
                    _grow_past_the_count(progress, task)
                return outcomes
            # Rebuilt side by side, folded by worker processes on every core (server/projections/pool.py).
            with fold_pool(total) as pool:
                side_by_side = asyncio.Semaphore(pool.workers if pool is not None else 1)

                async def rebuild(user_id: int, name: str) -> tuple[str, Outcome]:
                    async with side_by_side:
                        progress.update(task, description=f"{name}")
                        outcome = await rebuild_user(
                            store, user_id, holder, lease_wait_s=30.0, on_events=advance, pool=pool
                        )
                        _grow_past_the_count(progress, task)
                        return name, outcome

                outcomes += await asyncio.gather(*(rebuild(user_id, name) for user_id, name, _ in users))
    return outcomes


def _grow_past_the_count(progress: Progress, task: TaskID) -> None:
    """Events pushed during the rebuild are rebuilt too: the bar's total grows with them."""
    done = progress.tasks[0].completed
    if done > (progress.tasks[0].total or 0):
        progress.update(task, total=done)


def _report(outcomes: Outcomes, seconds: float, *, verify: bool) -> int:
    events = sum(outcome.events for _, outcome in outcomes)
    projects = sum(outcome.projects for _, outcome in outcomes)
    rate = f"{events / seconds:,.0f} events/s" if seconds > 0 else "-"
    totals = (
        f"{len(outcomes)} user{'s' * (len(outcomes) != 1)}, {events:,} events, {projects:,} projects "
        f"in {seconds:.2f} s ({rate})"
    )
    if not verify:
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
