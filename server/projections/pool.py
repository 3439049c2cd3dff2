"""Folding a rebuild's projects on every core: a pool of worker processes.

Folding is CPU work in Python, one core per process. A rebuild of a large log (``winledger admin
rebuild``) hands each read of whole projects (``server.projections.rebuild.plan``) to worker
processes, split by project across them, and reads the next while they fold; the workers send back
the encoded model rows, which the rebuild spools as it does its own. Users are rebuilt side by side
through the same pool. Memory stays flat: a read of at most ``READ_EVENTS`` events is in flight per
worker, and the models go to the spool as they come.

The workers are started (``spawn``: the parent runs threads) only for a log large enough to repay
their start (``POOL_EVENTS``), and only on a machine of several cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor

from schema.projections import ProjectModel
from schema.projections.forward import ProjectFold
from server.projections.bodies import read_body
from server.projections.rows import encode_row, project_of

POOL_EVENTS = 200_000
"""Events of the logs to rebuild from which the workers' start pays off: below it (a 100,000-event log
measured the same either way on a shared 2-core machine) the rebuild folds in its own process."""

FoldedRow = tuple[str, bytes | None, bytes | None]
"""``(project key, model, summary)``, the model ``None`` when nothing of the project remains."""


def fold_projects(
    rows: list[tuple[str, bytes]], keys: Iterable[str], retracted: set[str]
) -> Iterator[tuple[str, ProjectModel | None]]:
    """Fold each project of ``keys`` from its stored bodies in ``rows`` (consumed as it goes)."""
    grouped: dict[str, list[bytes]] = {key: [] for key in keys}
    for key, body in rows:
        grouped[key].append(body)
    rows.clear()
    for key in list(grouped):
        bodies = grouped.pop(key)
        events = [event for event in map(read_body, bodies) if event is not None]
        del bodies
        yield key, ProjectFold.of(project_of(key), events, retracted).model()


def fold_part(rows: list[tuple[str, bytes]], keys: list[str], retracted: set[str]) -> list[FoldedRow]:
    """In a worker: fold these projects from their stored bodies, and encode their rows."""
    folded: list[FoldedRow] = []
    for key, model in fold_projects(rows, keys, retracted):
        folded.append((key, None, None) if model is None else (key, *encode_row(key, model)))
    return folded


def split(
    rows: list[tuple[str, bytes]], keys: Iterable[str], parts: int
) -> list[tuple[list[tuple[str, bytes]], list[str]]]:
    """The rows and keys of a read in up to ``parts`` parts of whole projects, of about equal events."""
    grouped: dict[str, list[tuple[str, bytes]]] = {key: [] for key in keys}
    for row in rows:
        grouped[row[0]].append(row)
    shares: list[tuple[list[tuple[str, bytes]], list[str]]] = [([], []) for _ in range(max(1, parts))]
    for key, items in sorted(grouped.items(), key=lambda item: -len(item[1])):
        share = min(shares, key=lambda part: len(part[0]))
        share[0].extend(items)
        share[1].append(key)
    return [share for share in shares if share[1]]


class FoldPool:
    """Worker processes that fold reads of whole projects (see the module docstring)."""

    def __init__(self, executor: Executor, workers: int) -> None:
        self.executor, self.workers = executor, workers

    async def fold(
        self, rows: list[tuple[str, bytes]], keys: list[str], retracted: set[str]
    ) -> list[FoldedRow]:
        loop = asyncio.get_running_loop()
        parts = split(rows, keys, self.workers)
        rows.clear()
        futures = [
            loop.run_in_executor(self.executor, fold_part, part, part_keys, retracted)
            for part, part_keys in parts
        ]
        del parts
        return [row for folded in await asyncio.gather(*futures) for row in folded]


@contextlib.contextmanager
def fold_pool(events: int, workers: int | None = None) -> Iterator[FoldPool | None]:
    """A pool for rebuilding logs of ``events`` events in all; ``None`` where folding in-process is as
    fast (a small log, or one core)."""
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    if workers < 2 or events < POOL_EVENTS:
        yield None
        return
    executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield FoldPool(executor, workers)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
