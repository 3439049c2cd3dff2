"""A device's network, with planned faults, and a scheduler that interleaves devices' requests.

``Wire`` is an ``httpx`` transport for one device. It sends each request to
whatever server is current (``route()``, so a server can restart or be
restored behind it), follows a plan of faults, one per request, and reports
every answer the device actually receives to ``on_answer``, so that a test can
check what the device saw. ``Interleaver`` runs several devices' syncs in
threads and lets exactly one of them run at a time, from one network gate to
the next, in an order given by a list of choices: the interleaving is a value
Hypothesis can draw and shrink, and a run is reproducible.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

import httpx

Fault = Literal["lost_before", "lost_after", "twice", "twice_first", "503", "502_after", "down"]
FAULTS: tuple[Fault, ...] = ("lost_before", "lost_after", "twice", "twice_first", "503", "502_after", "down")
"""What can happen to one request.

- ``lost_before``: the connection fails before the server sees the request.
- ``lost_after``: the server handles (and commits) it, then the answer is lost.
- ``twice``, ``twice_first``: the request reaches the server twice (a proxy
  retried it); the device gets the second answer, or the first.
- ``503``: a transient error answered by a proxy; the server never sees it.
- ``502_after``: the server commits, then a proxy answers 502 instead.
- ``down``: the network goes down for the rest of this sync (the sync stops
  between two requests, or between pages).
"""


def _problem(status: int, code: str, request: httpx.Request) -> httpx.Response:
    body = {"type": "about:blank", "title": code, "status": status, "code": code, "detail": "injected"}
    headers = {"Content-Type": "application/problem+json"}
    return httpx.Response(status, headers=headers, content=json.dumps(body).encode(), request=request)


def forward(transport: httpx.BaseTransport, request: httpx.Request) -> httpx.Response:
    """Send ``request`` through ``transport`` and read the whole answer (so it can be sent again)."""
    response = transport.handle_request(request)
    try:
        content = response.read()
    finally:
        response.close()
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(response.status_code, headers=headers, content=content, request=request)


class Wire(httpx.BaseTransport):
    """One device's network (see the module docstring). ``plan`` holds the faults of the next requests."""

    def __init__(
        self,
        route: Callable[[], httpx.BaseTransport],
        on_answer: Callable[[httpx.Request, httpx.Response], None] | None = None,
    ) -> None:
        self.route = route
        self.on_answer = on_answer
        self.plan: deque[Fault | None] = deque()
        self.down = False
        self.gate: Callable[[], None] | None = None
        self.sent = 0
        """Requests that reached a server (a request delivered twice counts twice)."""
        self.injected: Counter[str] = Counter()
        """How often each fault was injected."""

    def expect(self, faults: Iterable[Fault | None]) -> None:
        """Plan the faults of the next requests (``None``: no fault); the network is up again."""
        self.plan = deque(faults)
        self.down = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        fault = "down" if self.down else (self.plan.popleft() if self.plan else None)
        if fault is not None:
            self.injected[fault] += 1
        self._park()
        if fault == "down":
            self.down = True
        if fault in ("lost_before", "down"):
            raise httpx.ConnectError(f"injected ({fault}): the server is unreachable", request=request)
        if fault == "503":
            return _problem(503, "unavailable", request)
        transport = self.route()
        response = forward(transport, request)
        self.sent += 1
        if fault in ("twice", "twice_first"):
            again = forward(transport, request)
            self.sent += 1
            response = again if fault == "twice" else response
        self._park()
        if fault == "lost_after":
            raise httpx.ReadError("injected (lost_after): the answer was lost", request=request)
        if fault == "502_after":
            return _problem(502, "bad_gateway", request)
        if self.on_answer is not None:
            self.on_answer(request, response)
        return response

    def _park(self) -> None:
        if self.gate is not None:
            self.gate()


class Rebase(httpx.BaseTransport):
    """Sends every request to ``base()`` (scheme, host and port), whatever URL the client was given."""

    def __init__(self, inner: httpx.BaseTransport, base: Callable[[], str]) -> None:
        self.inner = inner
        self.base = base

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        target = httpx.URL(self.base())
        request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        request.headers["Host"] = target.netloc.decode()
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class Stuck(AssertionError):
    """An interleaving did not make progress within the timeout."""


class Interleaver:
    """Run jobs in threads, one at a time between network gates, in the order ``choices`` picks.

    At every point where all unfinished jobs are parked at a gate, the next
    choice (modulo the number of parked jobs, in name order) says which one
    runs on, up to its next gate or its end. Choices run out into 0s.
    """

    def __init__(self, choices: Iterable[int], timeout: float = 60.0) -> None:
        self._choices = itertools.chain(choices, itertools.repeat(0))
        self._timeout = timeout
        self._cond = threading.Condition()
        self._parked: set[str] = set()
        self._finished: set[str] = set()
        self._turn: str | None = None

    def gate_for(self, name: str) -> Callable[[], None]:
        def gate() -> None:
            with self._cond:
                self._parked.add(name)
                self._cond.notify_all()
                if not self._cond.wait_for(lambda: self._turn == name, self._timeout):
                    raise Stuck(f"{name} waited {self._timeout} s for its turn")
                self._turn = None
                self._parked.discard(name)
                self._cond.notify_all()

        return gate

    def run(self, jobs: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
        """Run every job; return each one's result, or the exception it raised."""
        results: dict[str, Any] = {}

        def work(name: str, job: Callable[[], Any]) -> None:
            try:
                self.gate_for(name)()  # start only when given a first turn, like at any gate
                results[name] = job()
            except BaseException as exc:  # handed back to the caller
                results[name] = exc
            finally:
                with self._cond:
                    self._finished.add(name)
                    self._cond.notify_all()

        names = sorted(jobs)
        threads = [threading.Thread(target=work, args=(name, jobs[name]), daemon=True) for name in names]
        for thread in threads:
            thread.start()
        with self._cond:
            while True:
                settled = self._cond.wait_for(
                    lambda: all(n in self._parked or n in self._finished for n in names), self._timeout
                )
                if not settled:
                    raise Stuck(f"jobs {sorted(set(names) - self._finished)} neither parked nor finished")
                parked = sorted(self._parked)
                if not parked:
                    break
                self._turn = parked[next(self._choices) % len(parked)]
                self._cond.notify_all()
                if not self._cond.wait_for(lambda: self._turn is None, self._timeout):
                    raise Stuck(f"{self._turn} did not take its turn")
        for thread in threads:
            thread.join(self._timeout)
        return results
