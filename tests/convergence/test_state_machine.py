"""Convergence, proven the hard way: many devices, faults and replays against the real server.

A Hypothesis state machine drives the real client SDK (real SQLite stores in a
temporary directory) against the real server app and its real SQLite store:
two users with up to three devices each append every event type and sync
fully or partly, through a wire that loses, repeats and interleaves requests,
while the server restarts, stops its projector mid-way, rebuilds its read
models and is restored from a backup; device clocks skew and jump back; device
processes die and reopen their stores, and stores are copied. After every step
the invariants of ``tests.convergence.checks`` hold; at the end every device
syncs until nothing moves, then holds exactly the server's set, and every read
model equals the server's, byte for byte, and a rebuild from scratch.
``docs/convergence.md`` says what that proves and what it does not.

``HYPOTHESIS_PROFILE=deep`` runs many more and longer examples;
``--hypothesis-show-statistics`` shows what the runs went through.
"""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from client_sdk import SyncError, SyncReport
from tests.convergence.fleet import Fleet, in_process
from tests.convergence.specs import (
    CopyStore,
    Restore,
    appends,
    device_troubles,
    faults,
    server_troubles,
    sizes,
)
from tests.support.servers import Admin, ProcessAdmin
from tests.support.wire import Fault

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
USERS = ("ada", "bo")
MAX_DEVICES = 3  # per user
DEVICE = st.integers(0, 5)
"""A device, as an index into the devices made so far (modulo their number)."""


def _note(outcome: SyncReport | SyncError) -> None:
    """Label the run with what its syncs went through (``--hypothesis-show-statistics``)."""
    if isinstance(outcome, SyncError):
        event(f"sync cut short: {type(outcome).__name__}")
        return
    for name in ("duplicates", "reminted", "requeued", "rejected", "deferred", "epoch_changed"):
        if getattr(outcome, name):
            event(f"sync: {name}")


class Convergence(RuleBasedStateMachine):
    """Two users, up to three devices each, one server (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.fleet = Fleet(USERS, self.make_admin)
        self.steps = self.settled_at = 0

    def make_admin(self, db_path: Path, resources: ExitStack) -> Admin:
        return in_process(db_path, resources)

    def _room_for(self, user: str) -> bool:
        return sum(device.user == user for device in self.fleet.devices) < MAX_DEVICES

    @initialize(sizes=st.lists(st.tuples(sizes, sizes), min_size=2, max_size=2))
    def first_devices(self, sizes: list[tuple[int, int]]) -> None:
        for user, (page_size, batch_size) in zip(USERS, sizes, strict=True):
            self.fleet.add_device(user, page_size, batch_size)

    # -- devices ---------------------------------------------------------------------------------

    @precondition(lambda self: len(self.fleet.devices) < MAX_DEVICES * len(USERS))
    @rule(user=st.sampled_from(USERS), page_size=sizes, batch_size=sizes)
    def add_device(self, user: str, page_size: int, batch_size: int) -> None:
        if self._room_for(user):
            self.fleet.add_device(user, page_size, batch_size)

    @rule(device=DEVICE, events=st.lists(appends, min_size=1, max_size=6))
    def append(self, device: int, events: list[Any]) -> None:
        """The device appends events, offline: every type, for projects started on any device."""
        for spec in events:
            self.fleet.append(self.fleet.device(device), spec)

    @rule(device=DEVICE, trouble=device_troubles)
    def device_trouble(self, device: int, trouble: Any) -> None:
        """Its clock skews or jumps back, its process dies, or its store is copied to a new device."""
        d = self.fleet.device(device)
        if isinstance(trouble, CopyStore) and not self._room_for(d.user):
            return
        event(f"device: {type(trouble).__name__}")
        self.fleet.trouble(d, trouble)

    # -- syncing ---------------------------------------------------------------------------------

    @rule(device=DEVICE, first=st.lists(appends, max_size=3), plan=faults)
    def sync(self, device: int, first: list[Any], plan: list[Fault | None]) -> None:
        """The device appends ``first``, then syncs with a fault planned for each of its first
        requests (none, half of the time). A sync that fails more often than the client retries
        stops there: between two pages, or after a push whose answer was lost."""
        d = self.fleet.device(device)
        for spec in first:
            self.fleet.append(d, spec)
        _note(self.fleet.sync(d, plan))

    @rule(
        first=DEVICE,
        second=DEVICE,
        same_store=st.booleans(),
        plans=st.tuples(faults, faults),
        order=st.lists(st.integers(0, 1), max_size=20),
    )
    def interleave(
        self,
        first: int,
        second: int,
        same_store: bool,
        plans: tuple[list[Fault | None], list[Fault | None]],
        order: list[int],
    ) -> None:
        """Two syncs at once, their requests and answers interleaved in the drawn ``order``: two
        devices (of one user or of two), or two processes of one device sharing its store."""
        a = self.fleet.device(first)
        b = a if same_store else self.fleet.device(second)
        if a is b and not same_store:
            return
        for outcome in self.fleet.interleave(a, b, plans, order):
            _note(outcome)

    # -- the server --------------------------------------------------------------------------------

    @rule(trouble=server_troubles)
    def server_trouble(self, trouble: Any) -> None:
        """It restarts, its projector stops mid-way or resumes, an admin rebuilds the read models
        during a sync, takes a backup, or restores one (with a new epoch, or by hand)."""
        if self.fleet.server_trouble(trouble, on_sync=_note):
            event(f"server: {trouble if isinstance(trouble, Restore) else type(trouble).__name__}")

    # -- checks ----------------------------------------------------------------------------------

    @precondition(lambda self: self.steps > self.settled_at + 1)  # not twice in a row: a no-op
    @rule()
    def settle(self) -> None:
        """Every device syncs until nothing moves; then every device holds the server's set."""
        for report in self.fleet.settle():
            _note(report)
        self.settled_at = self.steps

    @invariant()
    def holds(self) -> None:
        self.fleet.check()
        self.steps += 1

    def teardown(self) -> None:
        try:
            if sys.exc_info()[0] is None:
                # Once per run, as the read models are a function of the event set (and the stored
                # ones are checked after every step): it asks the server for every read model.
                server = self.fleet.settle_and_compare_read_models()
                size = sum(len(log) for log in server.logs.values())
                bucket = next(n for n in (0, 10, 20, 40, 80, 10**9) if size <= n)
                event(f"events at the end: {bucket} or fewer")
                event(f"devices at the end: {len(self.fleet.devices)}")
                for fault in sorted({f for device in self.fleet.devices for f in device.wire.injected}):
                    event(f"fault injected: {fault}")
        finally:
            self.fleet.close()


class ConvergenceOverLoopback(Convergence):
    """The same machine against a ``winledger serve`` process on loopback: restarts are process
    restarts, and ``admin rebuild`` is the real command, run beside it."""

    def make_admin(self, db_path: Path, resources: ExitStack) -> Admin:
        return ProcessAdmin(db_path)

    @initialize(
        sizes=st.lists(st.tuples(sizes, sizes), min_size=2, max_size=2),
        traffic=st.lists(appends, min_size=4, max_size=10),
    )
    def first_devices(self, sizes: list[tuple[int, int]], traffic: list[Any]) -> None:  # type: ignore[override]
        """Few examples run against a process: each starts with events to move."""
        super().first_devices(sizes)
        for index, spec in enumerate(traffic):
            self.fleet.append(self.fleet.device(index), spec)


# (examples, most steps per example). ci: about 90 s and 30 s on 2 cores; deep: about an hour in all.
_EXAMPLES_AND_STEPS = {"ci": (40, 30), "dev": (60, 40), "deep": (300, 100)}
_OVER_LOOPBACK = {"ci": (4, 12), "dev": (10, 20), "deep": (30, 40)}


def _settings(examples_and_steps: tuple[int, int]) -> settings:
    examples, steps = examples_and_steps
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


TestConvergence = Convergence.TestCase
TestConvergence.settings = _settings(_EXAMPLES_AND_STEPS.get(PROFILE, _EXAMPLES_AND_STEPS["ci"]))

TestConvergenceOverLoopback = pytest.mark.e2e(ConvergenceOverLoopback.TestCase)
TestConvergenceOverLoopback.settings = _settings(_OVER_LOOPBACK.get(PROFILE, _OVER_LOOPBACK["ci"]))
