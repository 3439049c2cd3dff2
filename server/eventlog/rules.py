"""The acceptance rules of a push, with no I/O: what each event of a batch becomes against the user's log.

A recorder (``server.eventlog.recorder``) reads the user's log head and the stored events that matter to
a batch (``lookups`` says which), hands them to ``judge``, and writes what it decides. Everything a
push can answer is decided here, so these rules are tested without a database (tests/server/eventlog).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schema import DEVICE_SEQ_CONFLICT, ID_CONFLICT, Rejection, ValidEvent, add_hash
from schema.protocol.messages import EventResult, Status
from schema.redaction import redacted_body, redaction_target, replace_hash
from server.database.tables import EVENT_INSERT_COLUMNS
from server.exceptions import ServerError

IN_CHUNK = 500
"""Parameters per ``IN (...)`` lookup."""

Stored = tuple[bytes, int, int]
"""A stored event as a push judges it: its body, seq and hash."""

Row = tuple[Any, ...]
"""A new row of ``events``, its values in the order of ``EVENT_INSERT_COLUMNS``."""

_BODY, _HASH = EVENT_INSERT_COLUMNS.index("body"), EVENT_INSERT_COLUMNS.index("hash")


class CursorAhead(ServerError):
    """A pull position beyond the user's newest seq (a store restored without a new epoch)."""

    def __init__(self, after: int, last_seq: int) -> None:
        super().__init__(f"`after` is {after}, but the newest event on this server is seq {last_seq}")
        self.after = after
        self.last_seq = last_seq


Outcome = EventResult
"""The answer to one pushed event, in request order: built once, as the protocol sends it."""


def outcome(
    id: str | None,
    status: Status,
    seq: int | None = None,
    code: str | None = None,
    message: str | None = None,
) -> EventResult:
    return EventResult(id=id, status=status, seq=seq, code=code, message=message)


class Existing:
    """What the stored log holds that a batch must be judged against (``lookups`` says what to read).

    ``by_id``: stored events sharing an id with the batch or named by one of its redactions;
    ``by_device``: the event holding each ``(device_id, device_seq)`` of the batch; ``redacted``: the
    ids of the batch that a stored redaction names. ``judge`` adds each event it accepts to them.
    """

    __slots__ = ("by_device", "by_id", "redacted")

    def __init__(
        self,
        by_id: dict[str, Stored] | None = None,
        by_device: dict[tuple[str, int], str] | None = None,
        redacted: set[str] | None = None,
    ) -> None:
        self.by_id = {} if by_id is None else by_id
        self.by_device = {} if by_device is None else by_device
        self.redacted = set() if redacted is None else redacted


class Lookups:
    """What to read for a batch, in chunks of at most ``IN_CHUNK`` values."""

    __slots__ = ("ids", "own", "seqs_by_device")

    def __init__(
        self, ids: list[list[str]], seqs_by_device: list[tuple[str, list[int]]], own: list[list[str]]
    ) -> None:
        self.ids = ids
        """The ids of the batch and of the targets of its redactions (their stored events)."""
        self.seqs_by_device = seqs_by_device
        """Each device of the batch with its device seqs (the events holding them)."""
        self.own = own
        """The ids of the batch (stored redactions naming them)."""


class Judgement:
    """What ``judge`` decided: an outcome per item, the rows to insert, the stored events to rewrite
    (``event_id -> (body, hash)``) and the user's log head after."""

    __slots__ = ("digest", "last_seq", "outcomes", "rewrites", "rows")

    def __init__(
        self,
        outcomes: list[Outcome],
        rows: list[Row],
        rewrites: dict[str, tuple[bytes, int]],
        last_seq: int,
        digest: str,
    ) -> None:
        self.outcomes, self.rows, self.rewrites = outcomes, rows, rewrites
        self.last_seq, self.digest = last_seq, digest


def check_cursor(after: int | None, last_seq: int) -> None:
    """A sync's ``after`` (or a pull's) may not be beyond the newest seq: raises ``CursorAhead``."""
    if after is not None and after > last_seq:
        raise CursorAhead(after, last_seq)


def valid_events(items: Sequence[ValidEvent | Rejection]) -> list[ValidEvent]:
    return [item for item in items if isinstance(item, ValidEvent)]


def rejected(item: Rejection) -> Outcome:
    return outcome(item.id, "rejected", None, item.code, item.message)


def all_rejected(items: Sequence[ValidEvent | Rejection]) -> list[Outcome]:
    """The outcomes of a batch that holds no valid event: nothing to look up or store."""
    return [rejected(item) for item in items if isinstance(item, Rejection)]


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[at : at + IN_CHUNK] for at in range(0, len(values), IN_CHUNK)]


def lookups(valid: list[ValidEvent]) -> Lookups:
    """What to look up for a batch (see ``Lookups``), sorted and chunked."""
    own = sorted({item.event.id for item in valid})
    targets = {target for item in valid if (target := redaction_target(item.fields)) is not None}
    seqs_by_device: dict[str, set[int]] = {}
    for item in valid:
        seqs_by_device.setdefault(item.event.device_id, set()).add(item.event.device_seq)
    device_chunks = [
        (device_id, chunk)
        for device_id, device_seqs in seqs_by_device.items()
        for chunk in _chunks(sorted(device_seqs))
    ]
    return Lookups(_chunks(sorted(targets.union(own))), device_chunks, _chunks(own))


def _refusal(item: ValidEvent, index: int, existing: Existing) -> Outcome | None:
    """The outcome of an event its id or device seq already settles (duplicate or conflict), or None."""
    ev = item.event
    stored = existing.by_id.get(ev.id)
    if stored is not None:
        body, seq, _ = stored
        # A repeat of a redacted event's original text is a duplicate: it is compared redacted.
        if body == item.body or (ev.id in existing.redacted and redacted_body(item.body)[0] == body):
            return outcome(ev.id, "duplicate", seq)
        return outcome(
            ev.id,
            "rejected",
            None,
            ID_CONFLICT,
            f"Event id {ev.id!r} is already used by an event with other content - at `$.events[{index}].id`",
        )
    holder = existing.by_device.get((ev.device_id, ev.device_seq))
    if holder is not None:
        return outcome(
            ev.id,
            "rejected",
            None,
            DEVICE_SEQ_CONFLICT,
            f"device_seq {ev.device_seq} of device {ev.device_id!r} already belongs to event "
            f"{holder!r} - at `$.events[{index}].device_seq`",
        )
    return None


def judge(
    user_id: int,
    items: Sequence[ValidEvent | Rejection],
    existing: Existing,
    last_seq: int,
    digest: str,
    received_at: str,
) -> Judgement:
    """Decide each event against the stored log and the accepted earlier items of the same batch.

    ``existing`` is updated as events are accepted, so a repeat later in the batch is judged against
    them like a stored event. Seqs follow ``last_seq`` without a gap, in request order.

    Redactions (ADR 0007): a new event that a redaction names is stored redacted; an accepted
    redaction rewrites its target if the user holds it (a row of this batch, or a stored event:
    returned in ``rewrites``), and the digest follows each rewrite.
    """
    outcomes: list[Outcome] = []
    rows: list[Row] = []
    row_of: dict[str, int] = {}
    rewrites: dict[str, tuple[bytes, int]] = {}
    for index, item in enumerate(items):
        if isinstance(item, Rejection):
            outcomes.append(rejected(item))
            continue
        refusal = _refusal(item, index, existing)
        if refusal is not None:
            outcomes.append(refusal)
            continue
        ev = item.event
        body, hash_value = redacted_body(item.body) if ev.id in existing.redacted else (item.body, item.hash)
        target = redaction_target(item.fields)
        last_seq += 1
        digest = add_hash(digest, hash_value)
        existing.by_id[ev.id] = (body, last_seq, hash_value)
        existing.by_device[(ev.device_id, ev.device_seq)] = ev.id
        row_of[ev.id] = len(rows)
        rows.append(
            (
                user_id,
                last_seq,
                ev.id,
                ev.device_id,
                ev.device_seq,
                item.fields["type"],
                ev.v,
                ev.project_id,
                ev.clock,
                body,
                format(hash_value, "032x"),
                received_at,
                target,
            )
        )
        outcomes.append(outcome(ev.id, "accepted", last_seq))
        if target is not None:
            existing.redacted.add(target)
            digest = _rewrite(target, existing.by_id, rows, row_of, rewrites, digest)
    return Judgement(outcomes, rows, rewrites, last_seq, digest)


def _rewrite(
    target: str,
    by_id: dict[str, Stored],
    rows: list[Row],
    row_of: dict[str, int],
    rewrites: dict[str, tuple[bytes, int]],
    digest: str,
) -> str:
    """Redact the target of an accepted redaction where the user holds it; the digest after."""
    held = by_id.get(target)
    if held is None:
        return digest  # not (yet) in this user's log: redacted on insert if it comes
    body, seq, old_hash = held
    new_body, new_hash = redacted_body(body)
    if new_hash == old_hash:
        return digest  # already redacted
    by_id[target] = (new_body, seq, new_hash)
    at = row_of.get(target)
    if at is not None:
        row = list(rows[at])
        row[_BODY], row[_HASH] = new_body, format(new_hash, "032x")
        rows[at] = tuple(row)
    else:
        rewrites[target] = (new_body, new_hash)
    return replace_hash(digest, old_hash, new_hash)
