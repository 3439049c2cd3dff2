"""Applying the server's answers to the local store (see the states in ``client_sdk._store``).

Each function runs inside the caller's ``BEGIN IMMEDIATE`` transaction, so the
whole answer to one request lands at once or not at all: a ``sync()``
interrupted between two requests, or before an answer was committed, leaves
the store in a state that the next ``sync()`` continues from (a push repeated
after a lost answer comes back ``duplicate``).
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

import schema
from client_sdk._ids import uuid7
from client_sdk._rows import EVENT_COLUMNS, Normalized, normalize, settle_redactions
from client_sdk._store import now_ms, set_meta, utc_now
from client_sdk.errors import ProtocolError
from schema.protocol import StoredEvent, SyncResponse
from schema.redaction import redacted_body

_decode = msgspec.json.Decoder(dict[str, Any]).decode
_INSERT = f"INSERT INTO events ({EVENT_COLUMNS}, state, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_DEFERRED = frozenset({schema.UNKNOWN_TYPE, schema.UNSUPPORTED_VERSION})


@dataclass
class Tally:
    """Running counts of one ``sync()``; becomes its ``SyncReport``."""

    pushed: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    deferred: int = 0
    reminted: int = 0
    pulled: int = 0
    requeued: int = 0
    epoch_changed: bool = False
    new_epoch: bool = False


def _meta(conn: sqlite3.Connection, key: str) -> Any:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def observe_epoch(conn: sqlite3.Connection, epoch: str | None, tally: Tally) -> None:
    """Remember the server's epoch; a different one means its store was restored or recreated."""
    if epoch is None:
        return
    stored = _meta(conn, "epoch")
    if stored == epoch:
        return
    if stored is not None:
        restart_pull(conn)
        tally.epoch_changed = tally.new_epoch = True
    set_meta(conn, epoch=epoch)


def restart_pull(conn: sqlite3.Connection) -> None:
    """The server may have lost events we saw it hold: re-check every one by pulling from 0."""
    conn.execute("UPDATE events SET state = 'unconfirmed', seq = NULL WHERE state = 'synced'")
    conn.execute("DELETE FROM meta WHERE key IN ('server_count', 'server_digest', 'server_cursor')")
    set_meta(conn, cursor=0)


def reject(
    conn: sqlite3.Connection, event_id: str, code: str, message: str, *, any_state: bool = False
) -> bool:
    """Move an event to ``rejected`` (only a pending one unless ``any_state``); False if none was there."""
    where = "id = ?" if any_state else "id = ? AND state = 'pending'"
    moved = conn.execute(
        "INSERT INTO rejected (id, device_id, device_seq, clock, type, v, project_id, body, code, message, "
        f"rejected_at) SELECT id, device_id, device_seq, clock, type, v, project_id, body, ?, ?, ? "
        f"FROM events WHERE {where}",
        (code, message, utc_now(), event_id),
    ).rowcount
    conn.execute(f"DELETE FROM events WHERE {where}", (event_id,))
    return moved > 0


def apply_page(
    conn: sqlite3.Connection,
    page: SyncResponse,
    sent: list[tuple[str, str]],
    after: int,
    deferred: set[str],
    tally: Tally,
    now: Callable[[], int] = now_ms,
) -> bool:
    """Apply the answer to ``POST /v1/sync`` that pushed ``sent`` (id, device_id) and pulled from ``after``.

    Returns whether the pull is complete: this page continued the stored
    cursor and the server has nothing after it.
    """
    observe_epoch(conn, page.epoch, tally)
    if len(page.results) != len(sent):
        raise ProtocolError(
            f"The server answered {len(page.results)} result(s) for a push of {len(sent)} event(s)."
        )
    device_id = str(_meta(conn, "device_id"))
    conflict = False
    for (event_id, event_device), result in zip(sent, page.results, strict=True):
        if result.id is not None and result.id != event_id:
            raise ProtocolError(f"The server answered for event {result.id!r} where {event_id!r} was pushed.")
        tally.pushed += 1
        if result.status in ("accepted", "duplicate"):
            if result.seq is None:
                raise ProtocolError(f"The server {result.status} event {event_id!r} without a seq.")
            conn.execute(
                "UPDATE events SET state = 'synced', seq = ?, code = NULL, message = NULL WHERE id = ?",
                (result.seq, event_id),
            )
            if result.status == "accepted":
                tally.accepted += 1
            else:
                tally.duplicates += 1
        elif result.status == "rejected":
            code, message = result.code or "rejected", result.message or "(the server gave no reason)"
            if code in _DEFERRED:
                # The server is older than this client: offer it again on a later sync().
                conn.execute(
                    "UPDATE events SET code = ?, message = ? WHERE id = ? AND state = 'pending'",
                    (code, message, event_id),
                )
                deferred.add(event_id)
                tally.deferred += 1
            elif code == schema.DEVICE_SEQ_CONFLICT and event_device == device_id:
                conflict = True
            elif reject(conn, event_id, code, message):
                tally.rejected += 1
        else:
            raise ProtocolError(f"The server answered status {result.status!r} for event {event_id!r}.")
    if conflict:
        tally.reminted += remint(conn, now)
    _merge_pulled(conn, page.events, tally)
    if int(_meta(conn, "cursor") or 0) != after:
        # Another process moved the cursor, or the epoch reset it: this page does not continue it.
        return False
    if page.cursor < after:
        raise ProtocolError(f"The server's pull cursor {page.cursor} is behind the requested after={after}.")
    set_meta(conn, cursor=page.cursor)
    if page.more:
        return False
    if page.count is not msgspec.UNSET and page.digest is not msgspec.UNSET:
        set_meta(conn, server_count=page.count, server_digest=page.digest, server_cursor=page.cursor)
    # A full pull since the reset has confirmed everything the server still holds; the rest it lost.
    tally.requeued += conn.execute("UPDATE events SET state = 'pending' WHERE state = 'unconfirmed'").rowcount
    return True


def _merge_pulled(conn: sqlite3.Connection, events: list[StoredEvent], tally: Tally) -> None:
    largest_clock = int(_meta(conn, "clock") or 0)
    written: list[dict[str, Any]] = []
    for pulled in events:
        # Decoding checked the envelope's types (client_sdk._transport): what is left is normalizing.
        seq = pulled.seq
        fields = {name: getattr(pulled, name) for name in schema.CLIENT_FIELDS}
        event = normalize(fields)
        held = conn.execute("SELECT hash, body FROM events WHERE id = ?", (event.fields["id"],)).fetchone()
        redacted = held is not None and event.readable and held[0] != event.hash and _redacted(held[1], event)
        if held is not None and (held[0] == event.hash or redacted):
            conn.execute(
                "UPDATE events SET state = 'synced', seq = ?, code = NULL, message = NULL WHERE id = ?",
                (seq, event.fields["id"]),
            )
            if redacted == "theirs":  # the server holds it redacted: so do we, from now on
                conn.execute(
                    "UPDATE events SET body = ?, hash = ? WHERE id = ?",
                    (event.body, event.hash, event.fields["id"]),
                )
        else:
            if held is not None:
                # The server holds other content under this id; it wins, and our copy is kept aside.
                reject(
                    conn,
                    event.fields["id"],
                    schema.ID_CONFLICT,
                    f"The server holds a different event with id {event.fields['id']!r}.",
                    any_state=True,
                )
            conn.execute(_INSERT, (*event.row(), "synced", seq))
            tally.pulled += 1
            written.append(event.fields)
        largest_clock = max(largest_clock, event.fields["clock"])
    if written:
        settle_redactions(conn, written)
    set_meta(conn, clock=largest_clock)


def _redacted(held_body: bytes, event: Normalized) -> Literal["theirs", "ours", False]:
    """Whether the held copy and the pulled one differ only by a redaction, and whose copy is redacted.

    ``theirs``: we hold the text the server has redacted (we pulled it before the redaction, or
    pushed it before the server learnt of one); ``ours``: we hold it redacted, the server does not
    yet (our redaction is still to be pushed, or its store was restored from before it). The
    redacted copy is kept either way; the text is never taken back.
    """
    if redacted_body(held_body)[0] == event.body:
        return "theirs"
    if redacted_body(event.body)[0] == held_body:
        return "ours"
    return False


def remint(conn: sqlite3.Connection, now: Callable[[], int] = now_ms) -> int:
    """Another store uses our device id: move every pending event of ours to a new device id.

    Each gets a new id and the next device_seq of the new device, in the old
    order; clocks are kept, so the canonical order does not change.
    Retractions among them that target a re-minted event are pointed at its
    new id, and ``aliases`` records each move for ids handed out earlier. A
    retraction the server already accepted (pushed in the same batch, after
    the event that conflicted) still names the old id, so it is repeated under
    the new device with the new target. Returns how many events were created.
    """
    old_device, new_device = str(_meta(conn, "device_id")), str(uuid.uuid4())
    rows = conn.execute(
        "SELECT id, body FROM events WHERE state = 'pending' AND device_id = ? ORDER BY device_seq",
        (old_device,),
    ).fetchall()
    new_ids = {old_id: uuid7() for old_id, _ in rows}
    device_seq = 0
    for old_id, body in rows:
        device_seq += 1
        fields = _decode(body)
        fields.update(id=new_ids[old_id], device_id=new_device, device_seq=device_seq)
        _retarget(fields, new_ids)
        conn.execute("DELETE FROM events WHERE id = ?", (old_id,))
        conn.execute(_INSERT, (*normalize(fields).row(), "pending", None))
        conn.execute("UPDATE aliases SET new_id = ? WHERE new_id = ?", (new_ids[old_id], old_id))
        conn.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?)", (old_id, new_ids[old_id]))
    clock = int(_meta(conn, "clock") or 0)
    stale = conn.execute(
        f"SELECT body FROM events WHERE type IN ({', '.join('?' * len(schema.TARGETING))}) "
        "AND state != 'pending' ORDER BY clock",
        schema.TARGETING,
    ).fetchall()
    for (body,) in stale:
        fields = _decode(body)
        if not _retarget(fields, new_ids):
            continue
        device_seq += 1
        clock = schema.next_clock(now(), clock)
        fields.update(id=uuid7(), device_id=new_device, device_seq=device_seq, clock=clock)
        conn.execute(_INSERT, (*normalize(fields).row(), "pending", None))
    set_meta(conn, device_id=new_device, device_seq=device_seq, clock=clock)
    return device_seq


def _retarget(fields: dict[str, Any], new_ids: dict[str, str]) -> bool:
    """Point a retraction or redaction at the new id of its target; whether it needed it."""
    data = fields.get("data")
    if fields.get("type") not in schema.TARGETING or not isinstance(data, dict):
        return False
    if data.get("target") not in new_ids:
        return False
    fields["data"] = {**data, "target": new_ids[data["target"]]}
    return True
