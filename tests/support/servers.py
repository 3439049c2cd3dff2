"""A winledger server with the operations of its admin: restart, backup, restore, rebuild, projector.

Two kinds with one interface, so that one test drives either: ``InProcessAdmin``
(the real app in this process, fast, and able to pause its projector) and
``ProcessAdmin`` (a real ``winledger serve`` on loopback, rebuilt by the real
``winledger admin rebuild`` command). Clients reach either through
``transport()``, which always leads to the server that is running now.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal

from server.admin import backup as backup_and_restore
from server.projections import leases, reads
from server.projections.leases import new_holder
from server.projections.projector import project_batch
from server.projections.rebuild import rebuild_user
from tests.support.inprocess import InProcessServer
from tests.support.process import ServerProcess, winledger_command
from tests.support.wire import Rebase

BASE_URL = "http://winledger.test"
"""The URL clients are given; the transport decides which server answers."""


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite file, over ``target`` (SQLite's online backup API)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as live,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)


def back_up(store: Path, to: Path) -> None:
    """What ``winledger admin backup`` does: a consistent copy of the live store."""
    backup_and_restore.backup(f"sqlite+aiosqlite:///{store}", to)


def restore(backup: Path, target: Path) -> None:
    """What ``winledger admin restore`` does: the backup in place, under a new epoch, with no leases."""
    asyncio.run(backup_and_restore.restore(backup, f"sqlite+aiosqlite:///{target}"))


def restore_by_hand(backup: Path, target: Path) -> None:
    """What an admin does who copies a backup back without ``winledger admin restore``: the epoch stays.

    The projection leases the backup caught are dropped all the same, so that read models do not
    pause for up to a lease's 30 s, which a test cannot tell from a projector that is stuck.
    """
    copy_sqlite(backup, target)
    with contextlib.closing(sqlite3.connect(target)) as db, db:
        db.execute("DELETE FROM projection_leases")


class InProcessAdmin:
    """The real app on a real SQLite file in this process; ``settings`` go to ``server.Settings``."""

    pauses_projector = True

    def __init__(self, db_path: Path, portal: BlockingPortal, **settings: Any) -> None:
        self.db_path = db_path
        self.portal = portal
        self.settings = settings
        self.server = InProcessServer(db_path, portal, **settings)
        self.projector_running = True

    def transport(self) -> httpx.BaseTransport:
        return self.server.transport

    def http(self) -> httpx.Client:
        return self.server.http

    def create_user(self, name: str) -> str:
        return self.server.create_user(name)

    def _reopen(self) -> None:
        self.server = InProcessServer(self.db_path, self.portal, **self.settings)
        self.projector_running = True

    def restart(self) -> None:
        self.server.close()
        self._reopen()

    def backup(self, to: Path) -> None:
        back_up(self.db_path, to)

    def restore(self, backup: Path, *, new_epoch: bool = True) -> None:
        """Stop, put ``backup`` in place (with a new epoch unless restored by hand), start again."""
        self.server.close()
        (restore if new_epoch else restore_by_hand)(backup, self.db_path)
        self._reopen()

    def rebuild_during(self, action: Callable[[], None]) -> None:
        """What ``winledger admin rebuild`` does, for every user, while ``action`` runs."""
        store = self.server.state.store

        async def rebuild_all() -> None:
            holder = new_holder("admin-rebuild")
            async with store.engine.connect() as connection:
                users = await reads.list_users(connection)
            for user_id, _, _ in users:
                await rebuild_user(store, user_id, holder, lease_wait_s=30.0)

        future = self.portal.start_task_soon(rebuild_all)
        try:
            action()
        finally:
            future.result(timeout=120)

    def pause_projector(self) -> None:
        self.portal.call(self.server.state.projector.stop)
        self.projector_running = False

    def resume_projector(self) -> None:
        self.portal.call(self.server.state.projector.start)
        self.projector_running = True

    def project_batches(self, batches: int, size: int) -> None:
        """With the projector paused: up to ``batches`` batches of ``size`` events for each user."""
        store = self.server.state.store

        async def run() -> None:
            holder = new_holder("test-projector")
            async with store.engine.connect() as connection:
                users = await reads.list_users(connection)
            for user_id, _, _ in users:
                leased = False
                for _ in range(batches):
                    result = await project_batch(store, user_id, holder, batch=size, leased=leased)
                    leased = result.status == "more"
                    if not leased:
                        break
                # Stopping mid-way lets the lease go, as Projector.stop() does.
                async with store.write() as connection:
                    await leases.release_lease(connection, user_id, holder)

        self.portal.call(run)

    def close(self) -> None:
        self.server.close()


class ProcessAdmin:
    """A real ``winledger serve`` subprocess on a loopback port (a new port after each restart)."""

    pauses_projector = False
    projector_running = True

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.process = ServerProcess(db_path).start()
        self._transport = Rebase(httpx.HTTPTransport(), lambda: self.process.url)
        self._http = httpx.Client(transport=self._transport, base_url=BASE_URL, timeout=30)

    def transport(self) -> httpx.BaseTransport:
        return self._transport

    def http(self) -> httpx.Client:
        return self._http

    def create_user(self, name: str) -> str:
        return self.process.create_user(name)

    def _start(self) -> None:
        # Connections kept alive to the old process are dead: start with a fresh pool.
        self._transport.inner.close()
        self._transport.inner = httpx.HTTPTransport()
        self.process.start()

    def restart(self) -> None:
        self.process.stop()
        self._start()

    def backup(self, to: Path) -> None:
        back_up(self.db_path, to)

    def restore(self, backup: Path, *, new_epoch: bool = True) -> None:
        self.process.stop()
        (restore if new_epoch else restore_by_hand)(backup, self.db_path)
        self._start()

    def rebuild_during(self, action: Callable[[], None]) -> None:
        """``winledger admin rebuild`` as a process of its own, while ``action`` runs."""
        command = [*winledger_command(), "admin", "rebuild", "--db", self.process.db_url]
        rebuild = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            action()
        finally:
            out, err = rebuild.communicate(timeout=120)
        assert rebuild.returncode == 0, f"admin rebuild failed ({rebuild.returncode}):\n{out}\n{err}"

    def pause_projector(self) -> None:
        raise NotImplementedError("a server process's projector cannot be paused from outside")

    def resume_projector(self) -> None:
        raise NotImplementedError("a server process's projector cannot be paused from outside")

    def project_batches(self, batches: int, size: int) -> None:
        raise NotImplementedError("a server process's projector cannot be driven from outside")

    def close(self) -> None:
        self._http.close()
        self.process.stop()
        self._transport.close()


Admin = InProcessAdmin | ProcessAdmin
