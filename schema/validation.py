"""Turning one pushed event into its normalized, validated form, or into a rejection.

The same function runs on the server (for every pushed event) and in the
client SDK (before an event is appended locally), so that a device never
holds an event the server would refuse.

Order of checks, and so which code wins when several apply:
``unknown_type``, ``unsupported_version``, ``invalid_event``.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal, Union

import msgspec
from msgspec import UNSET, Struct, UnsetType

from schema.canonical import canonical_event, event_hash, event_hash_of, normalize_timestamp
from schema.events import CLIENT_FIELDS, EVENT_TYPES, Envelope
from schema.types import MAX_INT, SLUG_PATTERN

Format = Literal["json", "msgpack"]

UNKNOWN_TYPE = "unknown_type"
UNSUPPORTED_VERSION = "unsupported_version"
INVALID_EVENT = "invalid_event"
ID_CONFLICT = "id_conflict"
DEVICE_SEQ_CONFLICT = "device_seq_conflict"

REJECTION_CODES = (UNKNOWN_TYPE, UNSUPPORTED_VERSION, INVALID_EVENT, ID_CONFLICT, DEVICE_SEQ_CONFLICT)
"""Per-event rejection codes, in the order of precedence when several apply."""


class Rejection(Struct, frozen=True, gc=False):
    """Why one event was refused; ``message`` names the field."""

    code: str
    message: str
    id: str | None = None


class ValidEvent(Struct, frozen=True, gc=False):
    """A validated event in normalized form.

    ``body`` is the normalized event as compact JSON (nine client fields;
    byte-identical for events equal in meaning), ``fields`` the same as plain
    data, and ``hash`` its 128-bit contribution to a set digest.
    """

    event: Envelope
    fields: dict[str, Any]
    body: bytes
    hash: int

    @property
    def id(self) -> str:
        return self.event.id


class _Head(Struct):
    type: Any = UNSET
    v: Any = UNSET
    id: Any = UNSET


_head_decoders: dict[Format, Any] = {
    "json": msgspec.json.Decoder(_Head),
    "msgpack": msgspec.msgpack.Decoder(_Head),
}
_event_decoders: dict[tuple[Format, str, int], Any] = {
    (fmt, name, version): (msgspec.json.Decoder if fmt == "json" else msgspec.msgpack.Decoder)(struct)
    for fmt in ("json", "msgpack")
    for name, versions in EVENT_TYPES.items()
    for version, struct in versions.items()
}
_encoder = msgspec.json.Encoder()
_first_versions: msgspec.json.Decoder[Envelope] = msgspec.json.Decoder(
    Union[tuple(versions[1] for versions in EVENT_TYPES.values())]  # noqa: UP007
)
"""Every type at version 1 in one tagged union: most events are decoded once, not twice (``_Head``)."""
_tags = {struct: name for name, versions in EVENT_TYPES.items() for struct in versions.values()}


def _tag_of(struct: type[Envelope]) -> str:
    """The ``type`` of an event Struct (also of one registered after import, as a newer schema's)."""
    tag = _tags.get(struct)
    return tag if tag is not None else str(struct.__struct_config__.tag)


_SURROGATE = re.compile("[\ud800-\udfff]")
_SLUG_RULE = "Expected a metric key: 1-64 of a-z, 0-9, '_', '.', '-', starting with a letter or digit"

_PATH = re.compile(r"`\$((?:\.[A-Za-z_]\w*|\[\d+\])*)`")
_FRIENDLIER = (
    (re.compile(r"Expected `float` [<>]= -?1\.797\d*e\+308"), "Expected a finite number"),
    (
        re.compile(r"Expected `str` (?:matching regex '\^\[0-9a-f\].*?'|of length [<>]= 36)"),
        "Expected a UUID in canonical lowercase form",
    ),
    (
        # msgspec quotes the pattern with repr().
        re.compile("Expected `str` matching regex " + re.escape(repr(SLUG_PATTERN))),
        _SLUG_RULE,
    ),
)


def _message(exc: msgspec.ValidationError | msgspec.DecodeError, path: str) -> str:
    text = str(exc)
    for pattern, replacement in _FRIENDLIER:
        text = pattern.sub(replacement, text)
    if "- at `$" not in text:
        return f"{text} - at `{path}`"
    return _PATH.sub(lambda m: f"`{path}{m.group(1)}`", text)


def _strings_ok(value: Any, path: str) -> str | None:
    """Free text may not carry NUL (it breaks C strings and many databases) or a lone surrogate.

    Decoded bytes never hold a lone surrogate (the decoders refuse them); a
    Python ``str`` given to ``validate_fields`` may.
    """
    if isinstance(value, str):
        if "\x00" in value:
            return f"Contains a NUL character - at `{path}`"
        if _SURROGATE.search(value):
            return f"Contains a lone surrogate - at `{path}`"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _strings_ok(item, f"{path}.{key}")
            if problem:
                return problem
    elif isinstance(value, list):
        for index, item in enumerate(value):
            problem = _strings_ok(item, f"{path}[{index}]")
            if problem:
                return problem
    return None


def _semantic_problem(event: Envelope, fields: dict[str, Any], path: str, texts: bool = True) -> str | None:
    if event.project_id is None and not event.project_optional:
        return f"`project_id` is required for type {fields['type']!r} - at `{path}.project_id`"
    data = fields["data"]
    if fields["type"] == "project.updated" and not data:
        return f"project.updated needs at least one of name, kind, summary, team - at `{path}.data`"
    if fields["type"] == "event.redacted" and data["target"] == fields["id"]:
        return f"An event cannot redact itself: `target` is its own id - at `{path}.data.target`"
    if fields["type"] == "metric.observed":
        low, high, value = data.get("low"), data.get("high"), data["value"]
        if (low is None) != (high is None):
            missing = "high" if high is None else "low"
            return (
                f"An interval needs both `low` and `high`; `{missing}` is missing"
                f" - at `{path}.data.{missing}`"
            )
        if low is not None and not low <= value <= high:
            return (
                f"Interval must satisfy low <= value <= high, got low={low!r}, "
                f"value={value!r}, high={high!r} - at `{path}.data`"
            )
    return _strings_ok(data, f"{path}.data") if texts else None


_NUL_ESCAPE = b"\\u0000"


def decode_event(raw: bytes | msgspec.Raw, fmt: Format = "json", path: str = "$") -> ValidEvent | Rejection:
    """Validate and normalize one event given as encoded bytes (one element of a batch).

    ``path`` is the JSON path of the element, used in messages
    (``$.events[3]``). Raises nothing for bad events: every problem is a
    ``Rejection``.

    The same verdict, body and hash as ``decode_event_reference``, faster where it can vouch for
    them: JSON without the escape of a NUL needs no walk of its text for one (decoded JSON holds no
    lone surrogate: msgspec refuses them), and the hash's canonical bytes come from
    ``canonical_event``. tests/schema/test_fast_validation.py holds the two paths equal.
    """
    if fmt != "json" or _NUL_ESCAPE in (raw if isinstance(raw, bytes) else bytes(raw)):
        return _decode(raw, fmt, path, False)
    try:
        event = _first_versions.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return _decode(raw, fmt, path, True)  # the full sequence of checks names the problem
    if event.v != 1:
        return _decode(raw, fmt, path, True)
    return _normalize(event, path, event.id, True)


def decode_event_reference(
    raw: bytes | msgspec.Raw, fmt: Format = "json", path: str = "$"
) -> ValidEvent | Rejection:
    """``decode_event`` with every check and the canonical form done the plain way: the reference."""
    return _decode(raw, fmt, path, False)


def _decode(raw: bytes | msgspec.Raw, fmt: Format, path: str, fast: bool) -> ValidEvent | Rejection:
    try:
        head = _head_decoders[fmt].decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return Rejection(INVALID_EVENT, _message(exc, path))
    except RecursionError:
        return Rejection(INVALID_EVENT, f"The event is nested too deeply - at `{path}`")
    event_id = head.id if isinstance(head.id, str) else None
    if isinstance(head.type, UnsetType):
        return Rejection(INVALID_EVENT, f"Object missing required field `type` - at `{path}`", event_id)
    if not isinstance(head.type, str):
        return Rejection(INVALID_EVENT, f"`type` must be a string - at `{path}.type`", event_id)
    versions = EVENT_TYPES.get(head.type)
    if versions is None:
        known = ", ".join(sorted(EVENT_TYPES))
        return Rejection(
            UNKNOWN_TYPE,
            f"Unknown event type {head.type!r}; this server knows {known} - at `{path}.type`",
            event_id,
        )
    v = head.v
    if isinstance(v, UnsetType):
        return Rejection(INVALID_EVENT, f"Object missing required field `v` - at `{path}`", event_id)
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_INT:
        return Rejection(
            INVALID_EVENT, f"`v` must be an integer from 0 to 2^53-1, got {v!r} - at `{path}.v`", event_id
        )
    if v not in versions:
        known_versions = ", ".join(str(k) for k in sorted(versions))
        return Rejection(
            UNSUPPORTED_VERSION,
            f"Version {v} of {head.type!r} is not known here (known: {known_versions}) - at `{path}.v`",
            event_id,
        )
    try:
        event: Envelope = _event_decoders[(fmt, head.type, v)].decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return Rejection(INVALID_EVENT, _message(exc, path), event_id)
    return _normalize(event, path, event_id, fast)


def _normalize(event: Envelope, path: str, event_id: str | None, fast: bool) -> ValidEvent | Rejection:
    try:
        occurred_at = normalize_timestamp(event.occurred_at)
    except ValueError as exc:
        return Rejection(INVALID_EVENT, f"{exc} - at `{path}.occurred_at`", event_id)
    if occurred_at != event.occurred_at:
        event = msgspec.structs.replace(event, occurred_at=occurred_at)
    if fast:  # the nine fields, in CLIENT_FIELDS order, without a dict of the whole event first
        fields = {
            "id": event.id,
            "device_id": event.device_id,
            "device_seq": event.device_seq,
            "clock": event.clock,
            "occurred_at": event.occurred_at,
            "type": _tag_of(type(event)),
            "v": event.v,
            "project_id": event.project_id,
            "data": msgspec.to_builtins(event.data),  # type: ignore[attr-defined]
        }
    else:
        builtins = msgspec.to_builtins(event)
        fields = {name: builtins[name] for name in CLIENT_FIELDS}
    problem = _semantic_problem(event, fields, path, texts=not fast)
    if problem:
        return Rejection(INVALID_EVENT, problem, event_id)
    hash_value = event_hash_of(canonical_event(fields)) if fast else event_hash(fields)
    return ValidEvent(event=event, fields=fields, body=_encoder.encode(fields), hash=hash_value)


def validate_fields(fields: dict[str, Any]) -> ValidEvent | Rejection:
    """Validate an event given as plain data (how the client SDK builds one)."""
    data = fields.get("data")
    if isinstance(data, dict):
        for name, value in data.items():
            # JSON has no NaN or infinity: the encoder would write null and hide the real problem.
            if isinstance(value, float) and not math.isfinite(value):
                event_id = fields.get("id") if isinstance(fields.get("id"), str) else None
                return Rejection(
                    INVALID_EVENT, f"Expected a finite number, got {value!r} - at `$.data.{name}`", event_id
                )
    try:
        raw = _encoder.encode(fields)
    except (TypeError, ValueError, OverflowError) as exc:  # UnicodeEncodeError is a ValueError
        event_id = fields.get("id") if isinstance(fields.get("id"), str) else None
        return Rejection(INVALID_EVENT, _strings_ok(fields, "$") or f"{exc} - at `$`", event_id)
    return decode_event(raw)
