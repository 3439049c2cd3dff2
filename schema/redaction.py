"""Redaction (ADR 0007): the free text of one event replaced by a marker, the same on every replica.

An ``event.redacted`` names a ``target``; wherever the target is held (the server's log, a
device's store, a fold over a set of events) its body becomes ``redacted_fields`` of itself: each
present free-text string becomes ``REDACTED``, ``tags`` becomes ``[]``, absent fields stay absent,
and everything else (ids, enums, slugs, numbers, timestamps) stays, so the log still shows that
something was there. The rewrite is idempotent and depends on the target alone, so replicas that
apply the same redactions in any order hold the same bodies, hashes and digests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from schema.canonical import DIGEST_MODULUS, event_hash, format_digest

REDACTED = "[redacted]"
"""What a redacted string reads; valid under every length rule of a free-text field."""

REDACTION = "event.redacted"

FREE_TEXT: dict[tuple[str, int], tuple[str, ...]] = {
    ("project.started", 1): ("name", "summary", "team"),
    ("project.updated", 1): ("name", "summary", "team"),
    ("win.captured", 1): ("text", "tags"),
    ("milestone.reached", 1): ("note",),
    ("metric.observed", 1): ("label", "note"),
    ("metric.observed", 2): ("label", "note"),
    ("metric.linked", 1): ("note",),
    ("feedback.received", 1): ("quote", "source_name", "source_team", "decision"),
    ("learning.noted", 1): ("text",),
    ("event.retracted", 1): ("reason",),
    ("event.redacted", 1): ("reason",),
}
"""The ``data`` fields a redaction erases, per (type, version). A new version of a type needs its entry
(``tests/schema/test_redaction.py`` checks every registered one has one)."""

_decode = msgspec.json.Decoder(dict[str, Any]).decode
_encode = msgspec.json.Encoder().encode


def redacted_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The event (its nine normalized fields) with its free text erased; a copy, the input untouched.

    An event of a type or version not in ``FREE_TEXT`` (from a newer replica) comes back unchanged:
    this code cannot tell its text from its structure.
    """
    result = dict(fields)
    names = FREE_TEXT.get((str(fields.get("type")), fields.get("v")))  # type: ignore[arg-type]
    data = fields.get("data")
    if not names or not isinstance(data, dict):
        return result
    erased = dict(data)  # same key order: the body keeps its normalized layout
    for name in names:
        if name not in erased or erased[name] is None:
            continue
        erased[name] = [] if name == "tags" else REDACTED
    result["data"] = erased
    return result


def redacted_body(body: bytes) -> tuple[bytes, int]:
    """A stored normalized body redacted, and its hash (``schema.event_hash``). Idempotent."""
    fields = redacted_fields(_decode(body))
    return _encode(fields), event_hash(fields)


def redaction_target(fields: Mapping[str, Any]) -> str | None:
    """The id an ``event.redacted`` names; ``None`` for any other event."""
    if fields.get("type") != REDACTION:
        return None
    data = fields.get("data")
    target = data.get("target") if isinstance(data, Mapping) else None
    return target if isinstance(target, str) else None


def redacted_targets(events: Iterable[Mapping[str, Any]]) -> set[str]:
    """The ids named by the redactions among these events (whether or not those events are among them)."""
    return {target for fields in events if (target := redaction_target(fields)) is not None}


def apply_redactions(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The events with the set's redactions applied to their targets: the same set, whatever order."""
    items = [dict(fields) for fields in events]
    targets = redacted_targets(items)
    return [redacted_fields(fields) if fields.get("id") in targets else fields for fields in items]


def replace_hash(digest: str, old: int, new: int) -> str:
    """A set digest after one event's hash changed from ``old`` to ``new`` (a redacted body)."""
    return format_digest((int(digest, 16) - old + new) % DIGEST_MODULUS)
