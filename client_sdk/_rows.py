"""An event as a row of the store's ``events`` table, a row back as an ``Event``, and the rows that
redactions rewrite."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

import msgspec

import schema
from client_sdk._types import Event, EventStatus
from client_sdk.errors import ValidationError
from schema.redaction import redacted_body, redaction_target

__all__ = [
    "EVENT_COLUMNS",
    "Normalized",
    "event_of",
    "json_decode",
    "normalize",
    "settle_redactions",
    "validation_error",
]

EVENT_COLUMNS = "id, device_id, device_seq, clock, type, v, project_id, body, hash, readable"

json_decode = msgspec.json.Decoder(dict[str, Any]).decode
_json_encode = msgspec.json.Encoder().encode
_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")
_PATH_PART = re.compile(r"\.([A-Za-z_]\w*)|\[(\d+)\]")


class Normalized(msgspec.Struct, frozen=True):
    """An event ready for a row of ``events``: validated when this SDK knows its type, else verbatim."""

    fields: dict[str, Any]
    body: bytes
    hash: str
    readable: bool

    def row(self) -> tuple[Any, ...]:
        f = self.fields
        return (
            f["id"],
            f["device_id"],
            f["device_seq"],
            f["clock"],
            f["type"],
            f["v"],
            f["project_id"],
            self.body,
            self.hash,
            int(self.readable),
        )


def normalize(fields: dict[str, Any]) -> Normalized:
    """Validate known events; keep the others (a newer device's types) exactly as given."""
    result = schema.validate_fields(fields)
    if isinstance(result, schema.ValidEvent):
        return Normalized(result.fields, result.body, format(result.hash, "032x"), True)
    return Normalized(fields, _json_encode(fields), format(schema.event_hash(fields), "032x"), False)


def _value_at(fields: dict[str, Any], path: str) -> Any:
    value: Any = fields
    for key, index in _PATH_PART.findall(path):
        try:
            value = value[key] if key else value[int(index)]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def validation_error(rejection: schema.Rejection, fields: dict[str, Any]) -> ValidationError:
    """A sentence naming the event type and the field, quoting the bad value (shortened)."""
    match = _AT_PATH.search(rejection.message)
    if match is None:
        return ValidationError(
            f"Cannot append {fields.get('type')}: {rejection.message}.", code=rejection.code
        )
    path = match.group(1)
    shown = repr(_value_at(fields, path))
    if len(shown) > 60:
        shown = shown[:57] + "..."
    core = rejection.message[: match.start()].rstrip(".")
    field = path.removeprefix("$.")
    return ValidationError(
        f"Cannot append {fields.get('type')}: {core} at `{field}` (got {shown}).",
        code=rejection.code,
        field=path,
    )


def _timestamp(value: Any, clock: int) -> datetime:
    try:
        return schema.parse_timestamp(value)
    except (TypeError, ValueError):
        # Only an unreadable event from a newer device can get here; its clock still says roughly when.
        return datetime.fromtimestamp((clock >> 10) / 1000, UTC)


def event_of(
    body: bytes, seq: int | None, state: EventStatus, code: str | None, message: str | None
) -> Event:
    f = json_decode(body)
    data = f.get("data")
    return Event(
        id=f["id"],
        device_id=f["device_id"],
        device_seq=f["device_seq"],
        clock=f["clock"],
        occurred_at=_timestamp(f.get("occurred_at"), f["clock"]),
        type=f["type"],
        v=f["v"],
        project_id=f.get("project_id"),
        data=data if isinstance(data, dict) else {},
        seq=seq,
        status=state,
        code=code,
        message=message,
    )


def settle_redactions(conn: sqlite3.Connection, written: list[dict[str, Any]]) -> int:
    """After ``written`` events were stored (appended or pulled), rewrite what redactions now name.

    The target of each redaction among them, and each of them that a held redaction names, is
    rewritten in place (body and hash; state and seq stay), as the server rewrites its copy: the text
    leaves this device and the digest of the synced events agrees with the server's again
    (``schema.redaction``). Runs in the caller's transaction. Returns how many events it rewrote.
    """
    targets = {target for fields in written if (target := redaction_target(fields)) is not None}
    if any(redaction_target(fields) is None for fields in written):
        held = conn.execute("SELECT body FROM events WHERE type = 'event.redacted'").fetchall()
        named = {target for (body,) in held if (target := redaction_target(json_decode(body)))}
        targets |= {fields["id"] for fields in written if fields["id"] in named}
    rewritten = 0
    for target in sorted(targets):
        row = conn.execute(
            "SELECT body, hash FROM events WHERE id = ? AND readable = 1", (target,)
        ).fetchone()
        if row is None:
            continue  # not here (yet): rewritten when it comes
        body, hash_value = redacted_body(row[0])
        if format(hash_value, "032x") != row[1]:
            conn.execute(
                "UPDATE events SET body = ?, hash = ? WHERE id = ?",
                (body, format(hash_value, "032x"), target),
            )
            rewritten += 1
    return rewritten
