"""A lease left behind by a process that died (a SIGKILLed server's projector, a killed ``admin rebuild``)
does not hold up the read models until it expires: the next projector takes it at once. A lease of a
process that still runs is respected until it expires, as before."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from server.projections import leases
from tests.factories import an_event
from tests.server.conftest import Api, decode
from tests.support.inprocess import InProcessServer
from tests.support.readmodels import user_id_of

pytestmark = pytest.mark.backends

HOUR_S = 3600.0
CHILD = "from server.projections.leases import new_holder; print(new_holder('projector'), flush=True)"


@pytest.fixture
def user(server_factory: Callable[..., InProcessServer]) -> Api:
    server = server_factory(projector_poll_s=0.05)
    return Api(server, server.create_user("ada"))


@contextmanager
def another_process(*, linger: bool) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A Python process of this machine and the holder name it made; with ``linger`` it keeps running
    until the block ends, else it has exited (and been reaped) when the block starts."""
    code = CHILD + ("; import sys; sys.stdin.read()" if linger else "")
    with subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            holder = process.stdout.readline().strip()
            if not linger:
                process.wait(timeout=30)
            yield process, holder
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


def take(user: Api, holder: str) -> bool:
    server = user.server
    user_id = user_id_of(server, user.token)

    async def run() -> bool:
        async with server.state.store.write() as connection:
            return await leases.take_lease(connection, user_id, holder, HOUR_S)

    return bool(server.portal.call(run))


def as_of_seq(user: Api, min_seq: int) -> int:
    response = user.http.get("/v1/projects", params={"min_seq": min_seq}, headers=user.headers(None))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = decode(response)
    return int(body["as_of_seq"])


def test_the_lease_of_a_process_that_died_does_not_hold_up_the_read_models(user: Api) -> None:
    user.push([an_event()])
    with another_process(linger=False) as (_, dead):
        assert take(user, dead)  # an hour's lease, and its holder is gone
        cursor = user.push([an_event()])["cursor"]
        started = time.monotonic()
        assert as_of_seq(user, cursor) == cursor
        assert time.monotonic() - started < 5.0  # answered caught up, not after min_seq's 5 s


def test_the_lease_of_a_process_that_runs_is_respected(user: Api) -> None:
    user.server.portal.call(user.server.state.projector.stop)
    with another_process(linger=True) as (_, alive):
        assert take(user, alive)
        assert not take(user, leases.new_holder("projector")), "taken from a live holder"
    assert leases.holder_gone(alive)  # the process has been killed and reaped


def test_only_a_holder_of_this_machine_can_be_known_gone() -> None:
    mine = leases.new_holder("projector")
    role, host, _pid, rest = mine.split(":", 3)
    no_such_pid = f"{role}:{host}:999999999:{rest}"  # above any pid_max
    assert not leases.holder_gone(mine)  # this process runs
    assert not leases.holder_gone(f"{mine}/rebuild")
    assert leases.holder_gone(no_such_pid)
    assert leases.holder_gone(f"{no_such_pid}/rebuild")
    assert not leases.holder_gone(f"{role}:another-host:999999999:{rest}")  # another machine's pid
    assert not leases.holder_gone(no_such_pid.rsplit(":", 1)[0] + ":0a1b2c3d.1")  # another namespace
    assert not leases.holder_gone("someone-else")  # a name that says nothing of its process
