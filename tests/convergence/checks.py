"""The convergence invariants, as checkers over what a test saw and what the stores hold.

A ``Ledger`` is the test's own record, kept apart from the code under test:
every event a device minted, which user it belongs to, what each device saw
acknowledged, the largest clock each store created or pulled. It is fed by the
devices' wires (what each device actually received) and by reading the stores.
The checkers read the server's SQLite file and the devices' store files
directly, so they trust neither the server's routes nor the SDK's reads, and
raise ``Violation`` naming the invariant that broke. The state machine runs
them after every step; the bite tests run the same checkers against broken
variants of the code to show that each one catches what it is meant to.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import msgspec

import schema
from client_sdk import SyncReport
from schema.projections import build_models
from schema.redaction import redacted_body, redacted_targets
from server.projections.rows import encode_model, key_of
from tests.convergence.harness import Device

# The names of the invariants, as Violation reports them.
ONCE = "the server holds each event once"
APPENDED = "the server holds only events a device appended, unchanged"
ACKED = "an acknowledged event stays on the server, unchanged"
PULL = "pulled seqs are strictly increasing without gaps"
CURSOR = "a cursor never skips an event"
ISOLATION = "no user receives another user's event"
HLC = "a device's clocks strictly increase past every clock it pulled"
MODELS = "stored read models are the fold of the log up to their checkpoint"
QUIESCENT = "at quiescence every device holds exactly the server's set"
LOST = "nothing appended is lost"
READ_MODELS = "at quiescence every read model equals the server's and a rebuild"

AS_OF = date(2026, 12, 31)
PERIODS = ((date(2026, 1, 1), date(2026, 12, 31)), (date(2026, 3, 1), date(2026, 3, 31)))


class Violation(AssertionError):
    def __init__(self, invariant: str, detail: str) -> None:
        super().__init__(f"{invariant}: {detail}")
        self.invariant = invariant


def _decode(body: bytes) -> dict[str, Any]:
    return msgspec.json.decode(body)  # type: ignore[no-any-return]


def redacted(body: bytes) -> bytes:
    return redacted_body(body)[0]


def as_redactions_allow(original: bytes, held: bytes, named: bool) -> bool:
    """Whether ``held`` may stand for ``original``: the same body, or (ADR 0007) its redacted form,
    which it must be where a redaction of the log names it. A device may rewrite its copy before the
    server has the redaction, so a redacted copy needs no redaction in the log."""
    if named:
        return held == redacted(original)
    return held in (original, redacted(original))


def normalized(fields: dict[str, Any]) -> bytes:
    result = schema.validate_fields(fields)
    assert isinstance(result, schema.ValidEvent), result
    return result.body


@contextlib.contextmanager
def _read(path: Path) -> Any:
    """One read snapshot of an SQLite file that other connections (and processes) keep writing."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN")
        yield connection
    finally:
        connection.close()


# What the stores hold ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    seq: int
    id: str
    device_id: str
    device_seq: int
    body: bytes
    hash: str


@dataclass(frozen=True)
class ServerView:
    epoch: str
    logs: dict[str, list[Stored]]
    """Each user's events in seq order, by user name."""
    heads: dict[str, tuple[int, str]]
    """Each user's ``(last_seq, digest)``."""
    checkpoints: dict[str, int]
    models: dict[str, dict[str, bytes]]

    def ids(self, user: str) -> dict[str, Stored]:
        return {event.id: event for event in self.logs.get(user, [])}

    def events(self, user: str) -> list[dict[str, Any]]:
        return [_decode(event.body) for event in self.logs.get(user, [])]

    def redacted(self, user: str) -> set[str]:
        """The ids the user's redactions name."""
        return redacted_targets(self.events(user))


def read_server(db_path: Path) -> ServerView:
    with _read(db_path) as db:
        epoch = db.execute("SELECT value FROM winledger_meta WHERE key = 'epoch'").fetchone()[0]
        users = dict(db.execute("SELECT id, name FROM users").fetchall())
        heads = {
            users[i]: (last, digest)
            for i, last, digest in db.execute("SELECT id, last_seq, digest FROM users")
        }
        logs: dict[str, list[Stored]] = {name: [] for name in users.values()}
        rows = db.execute(
            "SELECT user_id, seq, event_id, device_id, device_seq, body, hash FROM events "
            "ORDER BY user_id, seq"
        )
        for user_id, seq, event_id, device_id, device_seq, body, digest in rows:
            logs[users[user_id]].append(Stored(seq, event_id, device_id, device_seq, bytes(body), digest))
        checkpoints = {
            users[i]: seq for i, seq in db.execute("SELECT user_id, seq FROM projection_checkpoints")
        }
        models: dict[str, dict[str, bytes]] = {name: {} for name in users.values()}
        for user_id, key, model in db.execute("SELECT user_id, project_key, model FROM project_models"):
            models[users[user_id]][key] = bytes(model)
    return ServerView(epoch, logs, heads, checkpoints, models)


@dataclass(frozen=True)
class Row:
    id: str
    device_id: str
    device_seq: int
    clock: int
    body: bytes
    state: str
    seq: int | None


@dataclass(frozen=True)
class StoreView:
    device_id: str
    clock: int
    cursor: int
    epoch: str | None
    rows: list[Row]
    rejected: list[tuple[str, str, bytes]]
    """``(id, code, body)`` of each rejected event."""
    aliases: dict[str, str]


def read_store(path: Path) -> StoreView:
    with _read(path) as db:
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        rows = [
            Row(i, d, ds, c, bytes(b), st, sq)
            for i, d, ds, c, b, st, sq in db.execute(
                "SELECT id, device_id, device_seq, clock, body, state, seq FROM events"
            )
        ]
        rejected = [(i, code, bytes(b)) for i, code, b in db.execute("SELECT id, code, body FROM rejected")]
        aliases = dict(db.execute("SELECT old_id, new_id FROM aliases").fetchall())
    return StoreView(
        str(meta["device_id"]),
        int(meta["clock"]),
        int(meta["cursor"]),
        meta.get("epoch"),
        rows,
        rejected,
        aliases,
    )


# The ledger -------------------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the test itself knows (see the module docstring)."""

    appended: dict[str, bytes] = field(default_factory=dict)
    """Every event some device minted (appended, or re-minted by the SDK): id -> normalized body."""
    owner: dict[str, str] = field(default_factory=dict)
    """Event id -> the user whose device minted it."""
    acked: dict[str, bytes] = field(default_factory=dict)
    """Events some device saw ``accepted`` or ``duplicate`` in the server's current life."""
    clock_bound: dict[Path, int] = field(default_factory=dict)
    """Store -> the largest clock it created, or was sent in a pull."""
    device_ids: dict[Path, set[str]] = field(default_factory=dict)
    """Store -> every device id it has minted under."""
    minted: dict[Path, set[str]] = field(default_factory=dict)
    """Store -> the ids of the events minted in it (a copied store shares those of its source)."""
    devices: list[Device] = field(default_factory=list)
    unsure: set[Path] = field(default_factory=set)
    """Stores whose synced seqs may still be those of the server's life before a restore by hand
    (same epoch, so nothing tells them yet): a sync that completes settles them."""
    stale_seqs: set[Path] = field(default_factory=set)
    """Stores present at a restore by hand, until a sync of theirs pulls everything again. A complete
    sync proves their set (count and digest), not their seqs: an event pushed back to the restored
    server at another seq keeps its old seq there (see docs/convergence.md)."""

    def synced(self, device: Device, report: SyncReport) -> None:
        """A sync of ``device`` completed."""
        self.unsure.discard(device.path)
        if report.epoch_changed:  # it pulled everything again, confirming every seq
            self.stale_seqs.discard(device.path)

    def restored_by_hand(self) -> None:
        self.unsure = {device.path for device in self.devices}
        self.stale_seqs |= self.unsure

    def add_device(self, device: Device, cloned_from: Device | None = None) -> None:
        """A new store, or a copy of ``cloned_from``'s (which holds what that store held)."""
        self.devices.append(device)
        source = cloned_from.path if cloned_from else None
        self.clock_bound[device.path] = self.clock_bound.get(source, 0) if source else 0
        self.device_ids[device.path] = set(self.device_ids.get(source, set())) if source else set()
        self.device_ids[device.path].add(read_store(device.path).device_id)
        self.minted[device.path] = set(self.minted.get(source, set())) if source else set()
        for unsure in (self.unsure, self.stale_seqs):
            unsure.discard(device.path)
            if source in unsure:
                unsure.add(device.path)

    def appended_by(self, device: Device, event_id: str) -> None:
        """Record an event the device just appended, and check its clock."""
        (row,) = [row for row in read_store(device.path).rows if row.id == event_id]
        bound = self.clock_bound[device.path]
        if row.clock <= bound:
            raise Violation(
                HLC, f"{device} appended clock {row.clock}, not above {bound} (created or pulled)"
            )
        self.clock_bound[device.path] = row.clock
        self.device_ids[device.path].add(row.device_id)
        self.minted[device.path].add(event_id)
        self.appended[event_id] = row.body
        self.owner[event_id] = device.user

    def discover(self, device: Device, *, fresh_above: int | None = None) -> None:
        """Record events the SDK minted by itself in this store (re-minted after a device_seq_conflict).

        A re-minted event keeps its clock; any other new one (a retraction
        repeated under the new device id) must have a clock above
        ``fresh_above``, the store's bound before the sync that minted it.
        """
        view = read_store(device.path)
        own = self.device_ids[device.path]
        own.add(view.device_id)
        moved = set(view.aliases.values())
        for row in view.rows:
            if row.id in self.appended or row.device_id not in own:
                continue
            if row.id not in moved and fresh_above is not None and row.clock <= fresh_above:
                raise Violation(
                    HLC, f"{device} minted clock {row.clock} during a sync, not above {fresh_above}"
                )
            self.appended[row.id] = row.body
            self.owner[row.id] = device.user
            self.minted[device.path].add(row.id)
            self.clock_bound[device.path] = max(self.clock_bound[device.path], row.clock)

    def answered(self, device: Device, request: httpx.Request, response: httpx.Response) -> None:
        """Check and record an answer the device received (called by its wire, before the SDK sees it)."""
        if request.url.path != "/v1/sync" or response.status_code != 200:
            return
        sent = json.loads(request.content)
        page = json.loads(response.content)
        after = sent["after"]
        seqs = [event["seq"] for event in page["events"]]
        if seqs != list(range(after + 1, after + 1 + len(seqs))):
            raise Violation(PULL, f"{device} pulled seqs {seqs} after {after}")
        if page["cursor"] != (seqs[-1] if seqs else after):
            raise Violation(CURSOR, f"{device} got cursor {page['cursor']} with seqs {seqs} after {after}")
        if not page["more"] and ("count" not in page or "digest" not in page):
            raise Violation(PULL, f"{device} got a last page without count and digest")
        for event in page["events"]:
            owner = self.owner.get(event["id"])
            if owner is None:
                for other in self.devices:
                    self.discover(other)
                owner = self.owner.get(event["id"])
            if owner is None:
                raise Violation(APPENDED, f"{device} pulled event {event['id']} that no device appended")
            if owner != device.user:
                raise Violation(ISOLATION, f"{device} of {device.user} pulled {owner}'s event {event['id']}")
            bound = self.clock_bound[device.path]
            self.clock_bound[device.path] = max(bound, event["clock"])
        for event, result in zip(sent["events"], page["results"], strict=True):
            if result["status"] in ("accepted", "duplicate"):
                self.acked[event["id"]] = normalized(event)


# Checks after every step ------------------------------------------------------------------------


def check_server(ledger: Ledger, server: ServerView) -> None:
    named = {user: server.redacted(user) for user in server.logs}
    for user, log in server.logs.items():
        seqs = [event.seq for event in log]
        if seqs != list(range(1, len(log) + 1)):
            raise Violation(ONCE, f"{user}'s seqs are {seqs}")
        for what, keys in (
            ("id", [event.id for event in log]),
            ("(device_id, device_seq)", [(event.device_id, event.device_seq) for event in log]),
        ):
            twice = [key for key, count in Counter(keys).items() if count > 1]
            if twice:
                raise Violation(ONCE, f"{user}'s log holds {what} {twice[0]} more than once")
        for event in log:
            appended = ledger.appended.get(event.id)
            if appended is None or not as_redactions_allow(appended, event.body, event.id in named[user]):
                state = "changed" if event.id in ledger.appended else "never appended"
                raise Violation(APPENDED, f"{user}'s event {event.id} at seq {event.seq} is {state}")
            if ledger.owner[event.id] != user:
                raise Violation(ISOLATION, f"{ledger.owner[event.id]}'s event {event.id} is in {user}'s log")
        digest = schema.digest_of(int(event.hash, 16) for event in log)
        if server.heads[user] != (len(log), digest):
            raise Violation(ONCE, f"{user}'s head {server.heads[user]} does not count {len(log)} events")
    logs = {user: server.ids(user) for user in server.logs}
    for event_id, body in ledger.acked.items():
        owner = ledger.owner[event_id]
        held = logs.get(owner, {}).get(event_id)
        if held is None or not as_redactions_allow(body, held.body, event_id in named.get(owner, set())):
            state = "missing" if held is None else "changed"
            raise Violation(ACKED, f"acknowledged event {event_id} of {ledger.owner[event_id]} is {state}")


def check_stored_models(server: ServerView) -> None:
    for user, log in server.logs.items():
        checkpoint = server.checkpoints.get(user, 0)
        if checkpoint > len(log):
            raise Violation(MODELS, f"{user}'s checkpoint {checkpoint} is past the log's end {len(log)}")
        bodies = [_decode(event.body) for event in log]
        folded = build_models(bodies[:checkpoint])
        expected = {key_of(key): encode_model(model) for key, model in folded.items()}
        stored = server.models.get(user, {})
        # A redaction beyond the checkpoint has already rewritten its target below it (ADR 0007): until
        # the projector reaches the redaction's seq, that project may still show the text it folded.
        ahead = redacted_targets(bodies[checkpoint:])
        lagging = {
            key_of(fields.get("project_id")) for fields in bodies[:checkpoint] if fields["id"] in ahead
        }
        if set(stored) != set(expected) or any(
            stored[k] != expected[k] for k in expected if k not in lagging
        ):
            differ = sorted(set(stored) ^ set(expected)) or [k for k in expected if stored[k] != expected[k]]
            raise Violation(MODELS, f"{user}'s models at checkpoint {checkpoint} differ, in {differ[:3]}")


def check_device(ledger: Ledger, device: Device, server: ServerView) -> None:
    view = read_store(device.path)
    for event_id in [row.id for row in view.rows] + [event_id for event_id, _, _ in view.rejected]:
        owner = ledger.owner.get(event_id)
        if owner != device.user:
            raise Violation(
                ISOLATION, f"{device} of {device.user} holds {owner or 'nobody'}'s event {event_id}"
            )
    if any(row.clock > view.clock for row in view.rows):
        raise Violation(HLC, f"{device}'s clock counter {view.clock} is below a clock it holds")
    by_device: dict[str, list[Row]] = {}
    for row in view.rows:
        if row.id in ledger.minted[device.path]:
            by_device.setdefault(row.device_id, []).append(row)
    for device_id, rows in by_device.items():
        clocks = [row.clock for row in sorted(rows, key=lambda row: row.device_seq)]
        if any(a >= b for a, b in itertools.pairwise(clocks)):
            raise Violation(HLC, f"{device}'s clocks under {device_id} do not increase with device_seq")
    if view.epoch != server.epoch or device.path in ledger.unsure:
        return  # its seqs and cursor belong to the server's previous life; its next sync recovers
    held = server.ids(device.user)
    synced = {row.id: row for row in view.rows if row.state == "synced"}
    exact = device.path not in ledger.stale_seqs
    for row in synced.values():
        stored = held.get(row.id)
        # Until the device pulls a redaction, it may hold the text the server has redacted; until the
        # server gets a redaction, the device may hold the redacted copy of what the server holds.
        same = stored is not None and (
            stored.body == row.body or redacted(row.body) == stored.body or redacted(stored.body) == row.body
        )
        if stored is None or (exact and stored.seq != row.seq) or not same:
            raise Violation(
                CURSOR, f"{device} holds {row.id} as synced at seq {row.seq}, the server does not"
            )
    for event in server.logs.get(device.user, [])[: view.cursor]:
        if event.id not in synced:
            raise Violation(
                CURSOR, f"{device}'s cursor {view.cursor} is past seq {event.seq}, which it lacks"
            )


def check_step(ledger: Ledger, db_path: Path) -> ServerView:
    """Every invariant that holds after every step, whatever the devices and the server went through."""
    for device in ledger.devices:
        ledger.discover(device)
    server = read_server(db_path)
    check_server(ledger, server)
    check_stored_models(server)
    for device in ledger.devices:
        check_device(ledger, device, server)
    return server


# Quiescence -------------------------------------------------------------------------------------


def settle(ledger: Ledger, devices: Sequence[Device], rounds: int = 6) -> list[SyncReport]:
    """Sync every device, round after round, until a round in which nothing moved; return the reports."""
    reports: list[SyncReport] = []
    for device in devices:
        device.wire.expect([])
    for _ in range(rounds):
        moved = False
        for device in devices:
            before = ledger.clock_bound[device.path]
            report = device.client.sync()
            ledger.synced(device, report)
            reports.append(report)
            ledger.discover(device, fresh_above=before)
            moved |= bool(report.pushed or report.pulled or report.requeued or report.epoch_changed)
        if not moved:
            return reports
    raise Violation(QUIESCENT, f"the devices still had something to push or pull after {rounds} rounds")


def check_quiescent(ledger: Ledger, devices: Sequence[Device], server: ServerView) -> None:
    """After ``settle``: each device holds exactly its user's server set, and nothing was lost."""
    for user in sorted({device.user for device in devices}):
        held = {event.id: event for event in server.logs.get(user, [])}
        mine = [device for device in devices if device.user == user]
        aliases: dict[str, str] = {}
        for device in mine:
            view = read_store(device.path)
            aliases.update(view.aliases)
            local = {row.id: row for row in view.rows}
            if set(local) != set(held):
                extra, missing = sorted(set(local) - set(held)), sorted(set(held) - set(local))
                raise Violation(QUIESCENT, f"{device} holds {extra[:3]} more and {missing[:3]} fewer")
            exact = device.path not in ledger.stale_seqs
            for event_id, row in local.items():
                stored = held[event_id]
                seq = stored.seq if exact else row.seq
                if (row.state, row.seq, row.body) != ("synced", seq, stored.body):
                    raise Violation(QUIESCENT, f"{device} holds {event_id} as {row.state} at {row.seq}")
            for event_id, code, _ in view.rejected:
                if code != schema.DEVICE_SEQ_CONFLICT:
                    raise Violation(LOST, f"{device} had {event_id} rejected with {code}")
            if not device.client.verify():
                raise Violation(QUIESCENT, f"{device}'s count and digest differ from the server's")
        for event_id, owner in ledger.owner.items():
            if owner == user and not _lands(event_id, held, aliases):
                raise Violation(
                    LOST, f"{user}'s event {event_id} is neither on the server nor re-minted there"
                )


def _lands(event_id: str, held: dict[str, Stored], aliases: dict[str, str]) -> bool:
    seen: set[str] = set()
    while event_id not in held:
        if event_id in seen or event_id not in aliases:
            return False
        seen.add(event_id)
        event_id = aliases[event_id]
    return True
