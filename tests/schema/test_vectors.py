"""Test vectors for the canonical form, event hashes and set digests (published in docs/protocol.md).

Each vector gives an event as a client might push it, the normalized body a
pull returns, its RFC 8785 (JCS) canonical form, and its hash: the first 16
bytes of SHA-256 over the canonical form, as 32 hex digits. A digest is the
sum of the hashes of a set, modulo 2**128, as 32 hex digits.

The constants were computed once with an implementation independent of
``schema`` (``json.dumps(sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``, which is JCS for these values once integral doubles are
written as integers, plus ``hashlib``); the first tests below recompute them
that way, the others check ``schema`` against them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from schema import EMPTY_DIGEST, ValidEvent, canonical_json, decode_event, digest_of, event_hash

VECTORS: list[dict[str, str]] = [
    {
        "name": "win.captured: offset timestamp with 7 fractional digits, absent project_id, escapes, UTF-8",
        "pushed": (
            '{"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80","device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":1,"clock":1809639014400000,"occurred_at":"2026-03-14T11:26:53.5897931+02:00",'
            '"type":"win.captured","v":1,"data":{"text":"Shadow deploy matched offline AUC.\\nNext: A/B test '
            '\u2014 \u2615","source":"text","tags":["deploy","model"]}}'
        ),
        "normalized": (
            '{"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80","device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":1,"clock":1809639014400000,"occurred_at":"2026-03-14T09:26:53.589793Z",'
            '"type":"win.captured","v":1,"project_id":null,"data":{"text":"Shadow deploy matched offline AUC.'
            '\\nNext: A/B test \u2014 \u2615","source":"text","tags":["deploy","model"]}}'
        ),
        "canonical": (
            '{"clock":1809639014400000,"data":{"source":"text","tags":["deploy","model"],'
            '"text":"Shadow deploy matched offline AUC.\\nNext: A/B test \u2014 \u2615"},'
            '"device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b","device_seq":1,"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f80",'
            '"occurred_at":"2026-03-14T09:26:53.589793Z","project_id":null,"type":"win.captured","v":1}'
        ),
        "hash": "8d8f67c9bed27dc4bb129a7d19ee2c8e",
    },
    {
        "name": "metric.observed: fractional doubles, a null optional field dropped",
        "pushed": (
            '{"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f81","device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":2,"clock":1809639014400001,"occurred_at":"2026-03-14T09:30:00Z",'
            '"type":"metric.observed","v":1,"project_id":"0190b4c2-0000-7000-8000-000000000001",'
            '"data":{"key":"auc","layer":"model","value":0.91,"baseline":0.875,"low":0.85,"high":0.95,'
            '"label":null}}'
        ),
        "normalized": (
            '{"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f81","device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":2,"clock":1809639014400001,"occurred_at":"2026-03-14T09:30:00.000000Z",'
            '"type":"metric.observed","v":1,"project_id":"0190b4c2-0000-7000-8000-000000000001",'
            '"data":{"key":"auc","layer":"model","value":0.91,"baseline":0.875,"low":0.85,"high":0.95}}'
        ),
        "canonical": (
            '{"clock":1809639014400001,"data":{"baseline":0.875,"high":0.95,"key":"auc","layer":"model",'
            '"low":0.85,"value":0.91},"device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b","device_seq":2,'
            '"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f81","occurred_at":"2026-03-14T09:30:00.000000Z",'
            '"project_id":"0190b4c2-0000-7000-8000-000000000001","type":"metric.observed","v":1}'
        ),
        "hash": "47919d974b474a89256c352fd9627cda",
    },
    {
        "name": "metric.observed: an integer pushed for a float is the double 3.0, whose JCS form is 3",
        "pushed": (
            '{"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f82","device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":3,"clock":1809639014400002,"occurred_at":"2026-03-14T09:31:00Z",'
            '"type":"metric.observed","v":1,"project_id":"0190b4c2-0000-7000-8000-000000000001",'
            '"data":{"key":"churn_rate","layer":"business","value":3,"unit":"%","direction":"lower_is_better"}}'
        ),
        "normalized": (
            '{"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f82","device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":3,"clock":1809639014400002,"occurred_at":"2026-03-14T09:31:00.000000Z",'
            '"type":"metric.observed","v":1,"project_id":"0190b4c2-0000-7000-8000-000000000001",'
            '"data":{"key":"churn_rate","layer":"business","value":3.0,"unit":"%","direction":"lower_is_better"}}'
        ),
        "canonical": (
            '{"clock":1809639014400002,"data":{"direction":"lower_is_better","key":"churn_rate",'
            '"layer":"business","unit":"%","value":3},"device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":3,"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f82",'
            '"occurred_at":"2026-03-14T09:31:00.000000Z","project_id":"0190b4c2-0000-7000-8000-000000000001",'
            '"type":"metric.observed","v":1}'
        ),
        "hash": "50f9fc2751a9261b1a9d0b44cd6e98ac",
    },
    {
        "name": "metric.observed v2: a change with the direction none",
        "pushed": (
            '{"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f83","device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":4,"clock":1809639014400003,"occurred_at":"2026-03-14T09:32:00Z",'
            '"type":"metric.observed","v":2,"project_id":"0190b4c2-0000-7000-8000-000000000001",'
            '"data":{"key":"conversion_lift","layer":"business","value":3.1,"unit":"pp","low":1.2,"high":5,'
            '"direction":"none","measure":"change"}}'
        ),
        "normalized": (
            '{"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f83","device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":4,"clock":1809639014400003,"occurred_at":"2026-03-14T09:32:00.000000Z",'
            '"type":"metric.observed","v":2,"project_id":"0190b4c2-0000-7000-8000-000000000001",'
            '"data":{"key":"conversion_lift","layer":"business","value":3.1,"unit":"pp","low":1.2,"high":5.0,'
            '"direction":"none","measure":"change"}}'
        ),
        "canonical": (
            '{"clock":1809639014400003,"data":{"direction":"none","high":5,"key":"conversion_lift",'
            '"layer":"business","low":1.2,"measure":"change","unit":"pp","value":3.1},'
            '"device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b","device_seq":4,'
            '"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f83","occurred_at":"2026-03-14T09:32:00.000000Z",'
            '"project_id":"0190b4c2-0000-7000-8000-000000000001","type":"metric.observed","v":2}'
        ),
        "hash": "bc1ad73ac6a4d6dd32d44a57884029ce",
    },
    {
        "name": "metric.observed v2: measure level, the default, dropped like a null optional field",
        "pushed": (
            '{"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f84","device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":5,"clock":1809639014400004,"occurred_at":"2026-03-14T09:33:00Z",'
            '"type":"metric.observed","v":2,"project_id":"0190b4c2-0000-7000-8000-000000000001",'
            '"data":{"key":"price_elasticity","layer":"model","value":-1.4,"measure":"level",'
            '"direction":"none","note":null}}'
        ),
        "normalized": (
            '{"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f84","device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",'
            '"device_seq":5,"clock":1809639014400004,"occurred_at":"2026-03-14T09:33:00.000000Z",'
            '"type":"metric.observed","v":2,"project_id":"0190b4c2-0000-7000-8000-000000000001",'
            '"data":{"key":"price_elasticity","layer":"model","value":-1.4,"direction":"none"}}'
        ),
        "canonical": (
            '{"clock":1809639014400004,"data":{"direction":"none","key":"price_elasticity","layer":"model",'
            '"value":-1.4},"device_id":"5b1f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b","device_seq":5,'
            '"id":"0190b4c2-7a1e-7c3d-9f2a-3b4c5d6e7f84","occurred_at":"2026-03-14T09:33:00.000000Z",'
            '"project_id":"0190b4c2-0000-7000-8000-000000000001","type":"metric.observed","v":2}'
        ),
        "hash": "317301cb171462d0dd7615bb1e918e75",
    },
]
"""Single events: pushed form, normalized body, JCS canonical form, 128-bit hash."""

DIGEST_VECTORS: list[dict[str, Any]] = [
    {"name": "the empty set", "events": [], "digest": "00000000000000000000000000000000"},
    {"name": "one event", "events": [0], "digest": "8d8f67c9bed27dc4bb129a7d19ee2c8e"},
    {"name": "two events", "events": [1, 2], "digest": "988b99be9cf070a440094074a6d11586"},
    {
        "name": "all three (the sum wraps modulo 2**128)",
        "events": [0, 1, 2],
        "digest": "261b01885bc2ee68fb1bdaf1c0bf4214",
    },
    {"name": "one event held twice", "events": [0, 0], "digest": "1b1ecf937da4fb89762534fa33dc591c"},
    {"name": "two version 2 metrics", "events": [3, 4], "digest": "ed8dd905ddb939ae104a6012a6d1b843"},
]
"""Sets of the events above (by index into ``VECTORS``) and their digests."""

JCS_NUMBERS: list[tuple[str, str]] = [
    # (IEEE 754 bits as hex, JCS form): RFC 8785 appendix B, plus a few more.
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
    ("3e7ad7f29abcaf48", "1e-7"),
    ("4415af1d78b58c40", "100000000000000000000"),
    ("4008000000000000", "3"),
    ("3fb999999999999a", "0.1"),
]
"""Doubles and how RFC 8785 (ECMAScript Number.prototype.toString) writes them."""


def _independent_canonical(normalized: str) -> bytes:
    def integral_as_int(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, dict):
            return {key: integral_as_int(item) for key, item in value.items()}
        if isinstance(value, list):
            return [integral_as_int(item) for item in value]
        return value

    fields = integral_as_int(json.loads(normalized))
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _independent_hash(canonical: bytes) -> int:
    return int.from_bytes(hashlib.sha256(canonical).digest()[:16], "big")


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_the_vectors_hold_under_an_independent_implementation(vector: dict[str, str]) -> None:
    canonical = _independent_canonical(vector["normalized"])
    assert canonical == vector["canonical"].encode()
    assert format(_independent_hash(canonical), "032x") == vector["hash"]


@pytest.mark.parametrize("vector", DIGEST_VECTORS, ids=[v["name"] for v in DIGEST_VECTORS])
def test_the_digest_vectors_hold_under_an_independent_implementation(vector: dict[str, Any]) -> None:
    total = sum(int(VECTORS[index]["hash"], 16) for index in vector["events"]) % 2**128
    assert format(total, "032x") == vector["digest"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
@pytest.mark.parametrize("given", ["pushed", "normalized"])
def test_schema_normalizes_and_hashes_as_the_vectors_say(vector: dict[str, str], given: str) -> None:
    result = decode_event(vector[given].encode())
    assert isinstance(result, ValidEvent), result
    assert result.body == vector["normalized"].encode()
    assert canonical_json(result.fields) == vector["canonical"].encode()
    assert format(result.hash, "032x") == vector["hash"]
    assert format(event_hash(json.loads(vector["normalized"])), "032x") == vector["hash"]


@pytest.mark.parametrize("vector", DIGEST_VECTORS, ids=[v["name"] for v in DIGEST_VECTORS])
def test_schema_digests_as_the_vectors_say(vector: dict[str, Any]) -> None:
    hashes = [int(VECTORS[index]["hash"], 16) for index in vector["events"]]
    assert digest_of(hashes) == vector["digest"]
    assert digest_of(reversed(hashes)) == vector["digest"]


def test_the_empty_digest_is_32_zeros() -> None:
    assert EMPTY_DIGEST == DIGEST_VECTORS[0]["digest"] == "0" * 32
