"""Devices for the convergence tests: a real client SDK store, its own network, its own wall clock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from client_sdk import Client
from tests.support.servers import BASE_URL
from tests.support.wire import Wire

WORLD_START_MS = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp() * 1000)
HOUR_MS = 3_600_000


class WorldTime:
    """The true time of a run: it starts at a fixed instant and moves on a little at every reading,
    so that runs are reproducible and no two readings are equal."""

    def __init__(self, start_ms: int = WORLD_START_MS, step_ms: int = 7) -> None:
        self._now = start_ms
        self._step = step_ms
        self._lock = threading.Lock()

    def tick(self) -> int:
        with self._lock:
            self._now += self._step
            return self._now


@dataclass
class DeviceClock:
    """A device's wall clock: the world's time plus its skew. Setting a smaller skew jumps it back."""

    world: WorldTime
    skew_ms: int = 0

    def __call__(self) -> int:
        return self.world.tick() + self.skew_ms


@dataclass(eq=False)
class Device:
    """One device of one user: a store file, the ``Client`` that has it open, its wire and clock."""

    name: str
    user: str
    token: str
    path: Path
    clock: DeviceClock
    route: Callable[[], httpx.BaseTransport]
    on_answer: Callable[[Device, httpx.Request, httpx.Response], None]
    page_size: int = 1000
    batch_size: int = 1000
    retries: int = 2
    wire: Wire = field(init=False)
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.wire = self.new_wire()
        self.client = self.open()

    def new_wire(self) -> Wire:
        return Wire(self.route, lambda request, response: self.on_answer(self, request, response))

    def open(self, wire: Wire | None = None) -> Client:
        """A new ``Client`` on this device's store, as a new process of the device would open it."""
        return Client(
            self.path,
            BASE_URL,
            self.token,
            transport=wire or self.wire,
            backoff=0.0,
            retries=self.retries,
            page_size=self.page_size,
            batch_size=self.batch_size,
            clock=self.clock,
        )

    def __repr__(self) -> str:
        return f"<device {self.name}>"
