"""Test vectors for timestamps, the canonical form, event hashes and set digests.

The vectors live in one data file, ``docs/protocol-vectors.json``, which the
protocol's docs show and client authors in any language can read. Each event
vector gives an event as a client might push it, the normalized body a pull
returns, its RFC 8785 (JCS) canonical form, and its hash: the first 16 bytes of
SHA-256 over the canonical form, as 32 hex digits. A digest is the sum of the
hashes of a set, modulo 2**128, as 32 hex digits.

The first tests recompute the vectors with an implementation independent of
``schema`` (a serializer written here, numbers laid out from ``Decimal`` by the
rules of RFC 8785, plus ``hashlib``); the others check ``schema`` against them.
"""

from __future__ import annotations

import hashlib
import json
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from schema import (
    EMPTY_DIGEST,
    ValidEvent,
    canonical_json,
    decode_event,
    digest_of,
    es_number,
    event_hash,
    next_clock,
    normalize_timestamp,
    parse_timestamp,
)

VECTORS_FILE = Path(__file__).parents[2] / "docs" / "protocol-vectors.json"
_DATA: dict[str, Any] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))

VECTORS: list[dict[str, Any]] = _DATA["events"]
"""Single events: ``pushed``, ``normalized`` (JSON values), ``jcs`` (text), ``sha256`` and ``hash`` (hex)."""
BY_ID = {vector["id"]: vector for vector in VECTORS}
DIGEST_VECTORS: list[dict[str, Any]] = _DATA["digests"]
"""Sets of the events above (by id) with the sum of their hashes and their digest."""
JCS_NUMBERS: list[tuple[str, str]] = [(row["bits"], row["jcs"]) for row in _DATA["jcs_numbers"]]
"""Doubles (IEEE 754 bits as hex) and how RFC 8785 (ECMAScript Number.prototype.toString) writes them."""
CLOCKS: list[dict[str, Any]] = _DATA["clocks"]
"""Appends: the wall clock, the largest clock seen, and the clock of the new event."""
TIMESTAMPS: list[dict[str, str]] = _DATA["timestamps"]
"""``occurred_at`` as sent, with its normalized form or the ``invalid_event`` message."""


def _double(bits: str) -> float:
    return struct.unpack(">d", bytes.fromhex(bits))[0]  # type: ignore[no-any-return]


def _independent_number(value: float) -> str:
    """RFC 8785 section 3.2.2.3, from the shortest round-trip digits that ``repr`` gives."""
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), int(exponent) + len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    rest = "." + digits[1:] if k > 1 else ""
    return f"{sign}{digits[0]}{rest}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def _independent_canonical(value: Any) -> str:
    if isinstance(value, dict):
        members = (f"{json.dumps(key)}:{_independent_canonical(value[key])}" for key in sorted(value))
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_independent_canonical(item) for item in value) + "]"
    if isinstance(value, float):
        return _independent_number(value)
    return json.dumps(value, ensure_ascii=False)


def _independent_hash(canonical: bytes) -> int:
    return int.from_bytes(hashlib.sha256(canonical).digest()[:16], "big")


def _typed(value: Any) -> Any:
    """A value with its JSON types and key order spelled out, so that 3 and 3.0 compare unequal."""
    if isinstance(value, dict):
        return [(key, _typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_the_vectors_hold_under_an_independent_implementation(vector: dict[str, Any]) -> None:
    canonical = _independent_canonical(vector["normalized"])
    assert canonical == vector["jcs"]
    assert hashlib.sha256(canonical.encode()).hexdigest() == vector["sha256"]
    assert format(_independent_hash(canonical.encode()), "032x") == vector["hash"] == vector["sha256"][:32]


@pytest.mark.parametrize("vector", DIGEST_VECTORS, ids=[v["name"] for v in DIGEST_VECTORS])
def test_the_digest_vectors_hold_under_an_independent_implementation(vector: dict[str, Any]) -> None:
    total = sum(int(BY_ID[name]["hash"], 16) for name in vector["events"])
    assert format(total, "x") == vector["sum"]
    assert format(total % 2**128, "032x") == vector["digest"]


@pytest.mark.parametrize(("bits", "text"), JCS_NUMBERS, ids=[text for _, text in JCS_NUMBERS])
def test_the_number_vectors_hold_under_an_independent_implementation(bits: str, text: str) -> None:
    assert _independent_number(_double(bits)) == text


def test_the_number_vectors_name_their_doubles_by_the_shortest_round_trip() -> None:
    for row in _DATA["jcs_numbers"]:
        assert repr(_double(row["bits"])) == row["double"], row


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
@pytest.mark.parametrize("given", ["pushed", "normalized"])
def test_schema_normalizes_and_hashes_as_the_vectors_say(vector: dict[str, Any], given: str) -> None:
    result = decode_event(json.dumps(vector[given], ensure_ascii=False).encode())
    assert isinstance(result, ValidEvent), result
    assert _typed(json.loads(result.body)) == _typed(vector["normalized"])
    assert canonical_json(result.fields) == vector["jcs"].encode()
    assert format(result.hash, "032x") == vector["hash"]
    assert format(event_hash(vector["normalized"]), "032x") == vector["hash"]


@pytest.mark.parametrize("vector", DIGEST_VECTORS, ids=[v["name"] for v in DIGEST_VECTORS])
def test_schema_digests_as_the_vectors_say(vector: dict[str, Any]) -> None:
    hashes = [int(BY_ID[name]["hash"], 16) for name in vector["events"]]
    assert digest_of(hashes) == vector["digest"]
    assert digest_of(reversed(hashes)) == vector["digest"]


@pytest.mark.parametrize(("bits", "text"), JCS_NUMBERS, ids=[text for _, text in JCS_NUMBERS])
def test_schema_writes_numbers_as_the_vectors_say(bits: str, text: str) -> None:
    assert es_number(_double(bits)) == text


@pytest.mark.parametrize("vector", TIMESTAMPS, ids=[v["sent"] for v in TIMESTAMPS])
def test_schema_normalizes_timestamps_as_the_vectors_say(vector: dict[str, str]) -> None:
    if "normalized" in vector:
        assert normalize_timestamp(vector["sent"]) == vector["normalized"]
    else:
        with pytest.raises(ValueError) as refused:
            normalize_timestamp(vector["sent"])
        assert str(refused.value) == vector["error"]


def test_the_empty_digest_is_32_zeros() -> None:
    assert EMPTY_DIGEST == DIGEST_VECTORS[0]["digest"] == "0" * 32


@pytest.mark.parametrize("vector", CLOCKS, ids=[str(v["clock"]) for v in CLOCKS])
def test_the_clock_vectors_hold(vector: dict[str, Any]) -> None:
    assert int(parse_timestamp(vector["now"]).timestamp() * 1000) == vector["now_ms"]
    assert max(vector["now_ms"] * 1024, vector["last_clock"] + 1) == vector["clock"]
    assert next_clock(vector["now_ms"], vector["last_clock"]) == vector["clock"]
