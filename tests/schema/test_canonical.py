"""RFC 8785 (JCS) canonical JSON and the set digest."""

from __future__ import annotations

import hashlib
import struct

import pytest

from schema import (
    EMPTY_DIGEST,
    ValidEvent,
    add_hash,
    canonical_json,
    digest_of,
    es_number,
    event_hash,
    validate_fields,
)
from schema.canonical import DIGEST_MODULUS
from tests.factories import an_event
from tests.schema.test_vectors import JCS_NUMBERS


def _double(bits: str) -> float:
    return struct.unpack(">d", bytes.fromhex(bits))[0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("bits", "text"), JCS_NUMBERS, ids=[text for _, text in JCS_NUMBERS])
def test_numbers_are_written_as_ecmascript_writes_them(bits: str, text: str) -> None:
    value = _double(bits)
    assert es_number(value) == text
    assert canonical_json([value]) == f"[{text}]".encode()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_have_no_canonical_form(value: float) -> None:
    with pytest.raises(ValueError, match="NaN or infinity"):
        es_number(value)


def test_integers_are_written_as_integers() -> None:
    assert canonical_json([0, -1, 2**53 - 1]) == b"[0,-1,9007199254740991]"


def test_the_rfc_8785_sample_object() -> None:
    # RFC 8785 section 3.2.2 (its input uses number forms Python reads the same way).
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(value) == expected.encode()


def test_keys_are_sorted_at_every_level_and_the_output_is_compact() -> None:
    value = {"b": 1, "a": {"z": [3, {"y": True, "x": None}], "_": "u"}, "B": [], "aa": {}}
    assert canonical_json(value) == b'{"B":[],"a":{"_":"u","z":[3,{"x":null,"y":true}]},"aa":{},"b":1}'


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("\b\t\n\f\r", "\\b\\t\\n\\f\\r"),
        ("\x00\x01\x1f", "\\u0000\\u0001\\u001f"),
        ('"\\', '\\"\\\\'),
        ("\x7f", "\x7f"),
        ("/", "/"),
        ("\u00e9\u2028\U0001f600", "\u00e9\u2028\U0001f600"),
    ],
)
def test_strings_escape_only_what_jcs_escapes(text: str, written: str) -> None:
    assert canonical_json(text) == f'"{written}"'.encode()


def _new_event_hash() -> int:
    result = validate_fields(an_event())
    assert isinstance(result, ValidEvent)
    return event_hash(result.fields)


def test_event_hash_is_the_first_16_bytes_of_sha256_over_the_canonical_form() -> None:
    result = validate_fields(an_event("metric.observed", full=True))
    assert isinstance(result, ValidEvent)
    fields = result.fields
    expected = int.from_bytes(hashlib.sha256(canonical_json(fields)).digest()[:16], "big")
    assert event_hash(fields) == expected
    assert 0 <= expected < 2**128


# -- the digest ------------------------------------------------------------------------


def test_the_digest_is_the_sum_modulo_2_to_the_128_as_32_hex_digits() -> None:
    hashes = [2**128 - 1, 2, 5]
    assert digest_of(hashes) == format(6, "032x")
    assert digest_of([]) == EMPTY_DIGEST == "0" * 32
    assert DIGEST_MODULUS == 2**128
    assert len(digest_of([2**127, 2**127 - 1])) == 32


def test_the_digest_does_not_depend_on_order() -> None:
    hashes = [_new_event_hash() for _ in range(5)]
    assert digest_of(hashes) == digest_of(reversed(hashes)) == digest_of(sorted(hashes))


def test_a_doubled_event_changes_the_digest() -> None:
    one, other = _new_event_hash(), _new_event_hash()
    assert digest_of([one, other, one]) != digest_of([one, other])
    # Under XOR a pair would cancel out; under a sum it does not.
    assert digest_of([one, one]) != EMPTY_DIGEST


def test_adding_hashes_one_by_one_gives_the_digest_of_the_set() -> None:
    hashes = [_new_event_hash() for _ in range(4)]
    digest = EMPTY_DIGEST
    for value in hashes:
        digest = add_hash(digest, value)
    assert digest == digest_of(hashes)
