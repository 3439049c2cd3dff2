"""A fleet: one server, users with devices, and everything that can happen to them, checked.

The state machine, the focused tests and the bite tests all drive a ``Fleet``:
it owns the temporary directory, the server (through an ``Admin``), the
devices and the ``Ledger``, turns the values of ``tests.convergence.specs``
into calls on the real client SDK and the real server, and runs the checkers of
``tests.convergence.checks``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from anyio.from_thread import start_blocking_portal

from client_sdk import Client, SyncError, SyncReport, UnrecordedMetricWarning, ValidationError
from client_sdk._ids import uuid7
from tests.convergence import checks
from tests.convergence.checks import Ledger, ServerView
from tests.convergence.harness import HOUR_MS, Device, DeviceClock, WorldTime
from tests.convergence.read_models import check_read_models
from tests.convergence.specs import (
    Backup,
    Capture,
    CopyStore,
    Feedback,
    Learning,
    Link,
    Metric,
    Milestone,
    ProcessDies,
    ProjectorStops,
    Rebuild,
    Redact,
    Restart,
    Restore,
    ResumeProjector,
    Retract,
    Skew,
    Start,
    Update,
)
from tests.support.servers import Admin, InProcessAdmin, copy_sqlite
from tests.support.wire import Fault, Interleaver

# A RAM disk where there is one: every SQLite commit of the stores is an fsync, which dominates otherwise.
FAST_TMP = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
MakeAdmin = Callable[[Path, ExitStack], Admin]


def _unchecked(client: Client, event_type: str, data: dict[str, Any], project: str | None) -> str:
    """Append an event this client refuses as a likely mistake (a link from a metric to itself, retracting
    a retraction, retracting or redacting twice), as another app that does not check would: every
    replica must still agree on what such events mean."""
    return client._write(event_type, data, project, None)


def in_process(db_path: Path, resources: ExitStack, **settings: Any) -> Admin:
    """The real app in this process; small projector batches, so that batches and pushes interleave."""
    portal = resources.enter_context(start_blocking_portal())
    options = {"projector_batch": 3, "projector_poll_s": 0.2, **settings}
    return InProcessAdmin(db_path, portal, **options)


class Fleet:
    def __init__(self, users: Sequence[str] = ("ada", "bo"), make_admin: MakeAdmin = in_process) -> None:
        self._resources = ExitStack()
        self.tmp = Path(tempfile.mkdtemp(prefix="winledger-convergence-", dir=FAST_TMP))
        self._resources.callback(shutil.rmtree, self.tmp, ignore_errors=True)
        try:
            self.admin = make_admin(self.tmp / "server.db", self._resources)
            self._resources.callback(self.admin.close)
            self.world = WorldTime()
            self.ledger = Ledger()
            self.users = tuple(users)
            self.tokens = {user: self.admin.create_user(user) for user in users}
            self.devices: list[Device] = []
            self.projects: dict[str, list[str]] = {user: [] for user in users}
            self.backups: list[tuple[Path, dict[str, bytes]]] = []
            self.abandoned: list[Client] = []
            self._names = 0
            self.backup()  # the store as first set up: restoring it is like recreating the database
        except BaseException:
            self._resources.close()
            raise

    def close(self) -> None:
        try:
            for client in [*self.abandoned, *(device.client for device in self.devices)]:
                client.close()
        finally:
            self._resources.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- devices ---------------------------------------------------------------------------------

    def device(self, index: int) -> Device:
        return self.devices[index % len(self.devices)]

    def add_device(
        self,
        user: str,
        page_size: int = 1000,
        batch_size: int = 1000,
        *,
        retries: int = 2,
        copy_of: Device | None = None,
    ) -> Device:
        self._names += 1
        path = self.tmp / f"{user}-{self._names}{'-copy' if copy_of else ''}.db"
        if copy_of is not None:
            copy_sqlite(copy_of.path, path)  # SQLite's backup API: a consistent copy
        device = Device(
            name=f"{user}/{self._names}",
            user=user,
            token=self.tokens[user],
            path=path,
            clock=DeviceClock(self.world, copy_of.clock.skew_ms if copy_of else 0),
            route=self.admin.transport,
            on_answer=self.ledger.answered,
            page_size=page_size,
            batch_size=batch_size,
            retries=retries,
        )
        self.devices.append(device)
        self.ledger.add_device(device, cloned_from=copy_of)
        return device

    def _project(self, user: str, ref: int) -> str:
        known = self.projects[user]
        return known[ref % len(known)] if ref >= 0 and known else uuid7()

    def events_of(self, user: str) -> list[str]:
        return [event_id for event_id, owner in self.ledger.owner.items() if owner == user]

    def append(self, d: Device, spec: Any) -> str:
        """Append one event (a value of ``tests.convergence.specs``) on ``d``; return its id."""
        client, user = d.client, d.user
        match spec:
            case Start(name, kind, on):
                try:
                    project = client.start_project(name, kind, occurred_at=on)
                except ValidationError:  # a name this journal holds: an app that does not check stores it
                    project = uuid7()
                    client._write("project.started", {"name": name, "kind": kind}, project, on)
                self.projects[user].append(project)
                (event_id,) = [e.id for e in client.events(project) if e.type == "project.started"]
            case Update(project, name, team):
                event_id = client.update_project(
                    self._project(user, project), name=name or "renamed", team=team
                )
            case Capture(project, text, tags, on):
                where = None if project is None else self._project(user, project)
                event_id = client.capture(text, where, tags=tags, occurred_at=on)
            case Milestone(project, milestone, on):
                event_id = client.milestone(self._project(user, project), milestone, occurred_at=on)
            case Metric(project, key, layer, value, baseline, interval, direction, measure, on):
                low, high = interval or (None, None)
                event_id = client.metric(
                    self._project(user, project),
                    key,
                    value,
                    layer=layer,
                    baseline=baseline,
                    low=low,
                    high=high,
                    direction=direction,
                    measure=measure,
                    occurred_at=on,
                )
            case Link(project, cause, effect, evidence):
                where = self._project(user, project)
                try:
                    with warnings.catch_warnings():  # a fleet links metrics another device recorded
                        warnings.simplefilter("ignore", UnrecordedMetricWarning)
                        event_id = client.link_metrics(where, cause, effect, evidence)
                except ValidationError:  # a link from a metric to itself
                    data = {"cause": cause, "effect": effect, "evidence": evidence}
                    event_id = _unchecked(client, "metric.linked", data, where)
            case Feedback(project, quote, decision, on):
                event_id = client.feedback(
                    self._project(user, project), quote, decision=decision, occurred_at=on
                )
            case Learning(text, kind, project):
                where = None if project is None else self._project(user, project)
                event_id = client.learning(text, kind, where)
            case Retract(target, whose):
                others = [u for u in self.users if u != user]
                pool = self.events_of(user if whose == "user" or not others else others[0])
                chosen = pool[target % len(pool)] if pool and whose != "unknown" else uuid7()
                try:
                    event_id = client.retract(chosen)
                except ValidationError:  # a retraction, or an event retracted already
                    data = {"target": client._store.resolve(chosen)}
                    event_id = _unchecked(client, "event.retracted", data, None)
            case Redact(target, whose):
                others = [u for u in self.users if u != user]
                pool = self.events_of(user if whose == "user" or not others else others[0])
                chosen = pool[target % len(pool)] if pool and whose != "unknown" else uuid7()
                try:
                    event_id = client.redact(chosen, erase_project_name=True)
                except ValidationError:  # an event redacted already
                    data = {"target": client._store.resolve(chosen)}
                    event_id = _unchecked(client, "event.redacted", data, None)
            case _:
                raise AssertionError(spec)
        self.ledger.appended_by(d, event_id)
        return event_id

    def trouble(self, d: Device, trouble: Any) -> None:
        """Something happens to a device (see ``tests.convergence.specs``)."""
        match trouble:
            case Skew(hours):
                # Set hours or days off, or set back: the device's wall clock jumps backwards.
                d.clock.skew_ms = hours * HOUR_MS
            case ProcessDies(close, page_size, batch_size):
                # The process ends without syncing (closed, or simply gone, its handle never closed),
                # then a new one opens the store, perhaps with other page and batch sizes.
                if close:
                    d.client.close()
                else:
                    self.abandoned.append(d.client)
                d.page_size, d.batch_size = page_size, batch_size
                d.client = d.open()
            case CopyStore():
                # The store is copied to a new device (a phone restored from a backup): one device id,
                # two stores, until a device_seq_conflict gives one of them a new id.
                self.add_device(d.user, d.page_size, d.batch_size, copy_of=d)
            case _:
                raise AssertionError(trouble)

    # -- syncing ---------------------------------------------------------------------------------

    def sync(self, d: Device, plan: Sequence[Fault | None] = ()) -> SyncReport | SyncError:
        """One ``sync()`` of ``d`` with a fault planned for each of its first requests.

        Returns the report, or the ``SyncError`` of a sync that the faults cut short (more failures
        in a row than the client retries).
        """
        d.wire.expect(plan)
        before = self.ledger.clock_bound[d.path]
        try:
            report = d.client.sync()
        except SyncError as exc:
            return exc
        finally:
            d.wire.expect([])
            self.ledger.discover(d, fresh_above=before)
        self.ledger.synced(d, report)
        return report

    def interleave(
        self,
        a: Device,
        b: Device,
        plans: tuple[Sequence[Fault | None], Sequence[Fault | None]] = ((), ()),
        order: Sequence[int] = (),
    ) -> list[SyncReport | SyncError]:
        """Two syncs at once, their requests and answers interleaved in ``order`` (see
        ``Interleaver``). With ``a is b``, the second is another process of that device, with its
        own ``Client`` on the same store file."""
        wire_b = b.new_wire() if a is b else b.wire
        client_b = b.open(wire_b) if a is b else b.client
        interleaver = Interleaver(order)
        jobs = {}
        for name, wire, client, plan in (
            ("a", a.wire, a.client, plans[0]),
            ("b", wire_b, client_b, plans[1]),
        ):
            wire.expect(plan)
            wire.gate = interleaver.gate_for(name)
            jobs[name] = client.sync
        bounds = {a.path: self.ledger.clock_bound[a.path], b.path: self.ledger.clock_bound[b.path]}
        try:
            results = interleaver.run(jobs)
        finally:
            for wire in (a.wire, wire_b):
                wire.gate = None
                wire.expect([])
            if client_b is not b.client:
                client_b.close()
        outcomes: list[SyncReport | SyncError] = []
        for device, result in ((a, results["a"]), (b, results["b"])):
            if isinstance(result, BaseException) and not isinstance(result, SyncError):
                raise result
            if isinstance(result, SyncReport):
                self.ledger.synced(device, result)
            outcomes.append(result)
        for device in (a, b):
            self.ledger.discover(device, fresh_above=bounds[device.path])
        return outcomes

    # -- the server --------------------------------------------------------------------------------

    def backup(self) -> None:
        path = self.tmp / f"backup-{len(self.backups)}.db"
        self.admin.backup(path)
        self.backups.append((path, dict(self.ledger.acked)))

    def server_trouble(
        self, trouble: Any, on_sync: Callable[[SyncReport | SyncError], None] = lambda outcome: None
    ) -> bool:
        """Something happens to the server (see ``tests.convergence.specs``); False if it cannot
        happen to this server now (a projector that is not stopped cannot resume)."""
        admin = self.admin
        match trouble:
            case Restart():
                admin.restart()
            case ProjectorStops(batches, size) if admin.pauses_projector:
                # It stops mid-way (it may be behind) and stays stopped until it resumes, or the
                # server restarts.
                if admin.projector_running:
                    admin.pause_projector()
                admin.project_batches(batches, size)
            case ResumeProjector() if admin.pauses_projector and not admin.projector_running:
                admin.resume_projector()
            case Rebuild(device, plan):
                # `admin rebuild` of every user, while a device syncs.
                d = self.device(device)
                admin.rebuild_during(lambda: on_sync(self.sync(d, plan)))
            case Backup():
                self.backup()
            case Restore(which, new_epoch):
                # The store goes back to an earlier backup. What was acknowledged after the backup is
                # lost to the server until the devices push it again.
                path, acked = self.backups[which % len(self.backups)]
                admin.restore(path, new_epoch=new_epoch)
                self.ledger.acked = dict(acked)
                if not new_epoch:
                    self.ledger.restored_by_hand()
            case _:
                return False
        return True

    # -- checks ----------------------------------------------------------------------------------

    def check(self) -> ServerView:
        """The invariants that hold after every step."""
        return checks.check_step(self.ledger, self.admin.db_path)

    def settle(self) -> list[SyncReport]:
        """Every device syncs until nothing moves; then every device holds the server's set."""
        reports = checks.settle(self.ledger, self.devices)
        checks.check_quiescent(self.ledger, self.devices, self.check())
        return reports

    def settle_and_compare_read_models(self) -> ServerView:
        """Quiescence, then every read model of every device against the server's, byte for byte."""
        if self.admin.pauses_projector and not self.admin.projector_running:
            self.admin.resume_projector()
        self.settle()
        server = checks.read_server(self.admin.db_path)
        for user in self.users:
            mine = [device for device in self.devices if device.user == user]
            check_read_models(self.admin.http(), self.tokens[user], user, mine, server)
        return server
