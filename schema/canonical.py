"""Canonical forms: RFC 3339 timestamps, RFC 8785 (JCS) JSON, event hashes and set digests.

The digest of a set of events is the sum, modulo 2**128, of the first 16 bytes
(big-endian) of SHA-256 over each event's JCS form. A sum rather than an XOR so
that a doubled event changes it; order-independent so that any replica can
compute it from its own set.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import msgspec

DIGEST_MODULUS = 2**128
EMPTY_DIGEST = "0" * 32

_RFC3339 = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_END = datetime(2100, 1, 1, tzinfo=UTC)


_NORMALIZED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
_NORMALIZED_MIN = "1970-01-01T00:00:00.000000Z"
_NORMALIZED_END = "2100-01-01T00:00:00.000000Z"


def normalize_timestamp(value: str) -> str:
    """The normalized form of an RFC 3339 date-time; raises ``ValueError`` like ``parse_timestamp``."""
    if _NORMALIZED.fullmatch(value) and _NORMALIZED_MIN <= value < _NORMALIZED_END:
        try:
            datetime.fromisoformat(value)  # the calendar check (no 30 February)
            return value
        except ValueError:
            pass
    return format_timestamp(parse_timestamp(value))


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 date-time that carries a timezone; return it in UTC.

    Fractions finer than a microsecond are truncated. Raises ``ValueError``
    with a sentence that quotes the value.
    """
    match = _RFC3339.fullmatch(value)
    if match is None:
        if re.match(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?$", value):
            raise ValueError(f"{value!r} has no timezone; add 'Z' or an offset such as '+02:00'")
        raise ValueError(f"{value!r} is not an RFC 3339 date-time such as '2026-03-14T09:26:53Z'")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    if int(off_h or 0) > 23 or int(off_m or 0) > 59:
        raise ValueError(f"{value!r} has an invalid timezone offset")
    offset = timedelta(hours=int(off_h or 0), minutes=int(off_m or 0))
    tz = UTC if zulu else timezone(offset if sign == "+" else -offset)
    try:
        # A leap second (":60") is folded onto the last microsecond of its minute.
        leap = second == "60"
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            59 if leap else int(second),
            999_999 if leap else micros,
            tzinfo=tz,
        )
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date-time: {exc}") from None
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        # Year 1 ahead of UTC, or year 9999 behind it: not even a datetime in UTC.
        raise ValueError(f"{value!r} is outside 1970-01-01 to 2100-01-01") from None
    if not _EPOCH <= moment < _END:
        raise ValueError(f"{value!r} is outside 1970-01-01 to 2100-01-01")
    return moment


def format_timestamp(moment: datetime) -> str:
    """The normalized form: UTC, microseconds, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.

    Raises ``ValueError`` for a moment that has no UTC datetime (year 1 ahead of UTC, year 9999 behind).
    """
    try:
        in_utc = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{moment.isoformat()!r} is outside 1970-01-01 to 2100-01-01") from None
    # isoformat is C code and several times faster than strftime; the years are four digits (1970-2099).
    return in_utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def es_number(value: float) -> str:
    """Serialize a double as ECMAScript's Number.prototype.toString does (RFC 8785 3.2.2.3)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("JCS has no form for NaN or infinity")
    if value == 0:
        return "0"
    shortest = repr(value)
    if "e" not in shortest:
        # Python writes 1e-4 <= |x| < 1e16 positionally with the same digits as ECMAScript.
        return shortest[:-2] if shortest.endswith(".0") else shortest
    sign = "-" if value < 0 else ""
    # repr() gives the shortest round-tripping digits; re-lay them out the ECMAScript way.
    mantissa, _, exp_part = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    digits = (int_part + frac_part).lstrip("0").rstrip("0")
    # n: where the decimal point sits relative to the first significant digit.
    if int_part == "0":
        point = int(exp_part or 0) - (len(frac_part) - len(frac_part.lstrip("0")))
    else:
        point = len(int_part) + int(exp_part or 0)
    k, n = len(digits), point
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        exponent = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e"
        text += ("+" if exponent > 0 else "-") + str(abs(exponent))
    return sign + text


_PLAIN = frozenset({str, int, bool, type(None)})


def _jcs_ready(value: Any) -> Any:
    """``value`` with each float replaced by its ECMAScript form; containers are copied only where a
    float sits (an event without one, most of them, is encoded as it is)."""
    kind = type(value)
    if kind is float:
        return msgspec.Raw(es_number(value).encode())
    if kind is dict:
        copy: Any = None
        for key, item in value.items():
            if type(item) in _PLAIN:
                continue
            ready = _jcs_ready(item)
            if ready is not item:
                if copy is None:
                    copy = dict(value)
                copy[key] = ready
        return value if copy is None else copy
    if kind is list:
        copy = None
        for index, item in enumerate(value):
            if type(item) in _PLAIN:
                continue
            ready = _jcs_ready(item)
            if ready is not item:
                if copy is None:
                    copy = list(value)
                copy[index] = ready
        return value if copy is None else copy
    return value


_sorted_encoder = msgspec.json.Encoder(order="sorted")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 JSON of plain data (dicts with ASCII keys, lists, str, int, float, bool, None).

    msgspec's string escaping is JCS's (short escapes for \\b \\t \\n \\f \\r,
    lowercase ``\\u00xx`` for other controls, everything else literal UTF-8);
    numbers are laid out by ``es_number`` and keys sorted (ASCII keys sort the
    same by code point as by UTF-16 unit).
    """
    return _sorted_encoder.encode(_jcs_ready(value))


def event_hash(event: dict[str, Any]) -> int:
    """The 128-bit contribution of one normalized event (its nine client fields) to a digest."""
    return int.from_bytes(hashlib.sha256(canonical_json(event)).digest()[:16], "big")


_STR = {str}
_EXACT = 2**53
"""Below it a whole double is an integer whose decimal digits are also its shortest form."""


def _jcs_float(value: float) -> Any:
    """A float of an event's ``data`` as msgspec may encode it for JCS (see ``canonical_event``)."""
    if value.is_integer():
        # ECMAScript writes a whole number without ".0"; below 2**53 that is the integer's digits.
        return int(value) if -_EXACT < value < _EXACT else msgspec.Raw(es_number(value).encode())
    if 1e-4 <= abs(value) < 1e16:
        return value  # msgspec writes the shortest round-tripping digits positionally, as ECMAScript
    return msgspec.Raw(es_number(value).encode())


def canonical_event(event: dict[str, Any]) -> bytes:
    """``canonical_json`` of a normalized event (its nine client fields), in fewer steps.

    An event's only floats are flat fields of its ``data`` (a metric's value and interval), and
    msgspec writes most floats as JCS does: only those it writes otherwise are laid out by
    ``es_number``. Any other shape goes the reference way (``canonical_json``); the two are held
    equal by tests/schema/test_fast_validation.py.
    """
    data = event["data"]
    ready: dict[str, Any] | None = None
    for key, value in data.items():
        kind = type(value)
        if kind is float:
            if ready is None:
                ready = dict(data)
            ready[key] = _jcs_float(value)
        elif kind is list:
            if not set(map(type, value)) <= _STR:
                return canonical_json(event)
        elif kind is dict:
            return canonical_json(event)
    if ready is None:
        return _sorted_encoder.encode(event)
    return _sorted_encoder.encode({**event, "data": ready})


def event_hash_of(canonical: bytes) -> int:
    """The 128-bit contribution of an event to a digest, from its canonical bytes."""
    return int.from_bytes(hashlib.sha256(canonical).digest()[:16], "big")


def add_hash(digest: str, event_hash_value: int) -> str:
    return format_digest(int(digest, 16) + event_hash_value)


def format_digest(total: int) -> str:
    return format(total % DIGEST_MODULUS, "032x")


def digest_of(hashes: Iterable[int]) -> str:
    return format_digest(sum(hashes))
