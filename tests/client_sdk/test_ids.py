from __future__ import annotations

import re
import time
import uuid

from hypothesis import given
from hypothesis import strategies as st

from client_sdk import uuid7
from client_sdk._ids import Minter, uuid7_unix_ms

CANONICAL = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_layout_follows_rfc_9562() -> None:
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(value)
    assert CANONICAL.match(value)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert before <= uuid7_unix_ms(value) <= after


@given(st.integers(min_value=0, max_value=2**48 - 2))
def test_the_timestamp_is_the_top_48_bits(unix_ms: int) -> None:
    value = Minter(lambda: unix_ms)()
    assert CANONICAL.match(value)
    assert uuid7_unix_ms(value) == unix_ms


def test_ids_minted_in_a_tight_loop_are_unique_and_strictly_increasing() -> None:
    ids = [uuid7() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_ids_minted_in_one_millisecond_count_up_within_it() -> None:
    mint = Minter(lambda: 1_767_225_600_000)
    ids = [mint() for _ in range(1000)]
    assert ids == sorted(ids) and len(set(ids)) == 1000
    assert {uuid7_unix_ms(value) for value in ids} == {1_767_225_600_000}


def test_a_clock_stepping_back_keeps_the_order() -> None:
    times = iter([10_000, 5_000, 10_000, 10_001])
    mint = Minter(lambda: next(times))
    ids = [mint() for _ in range(4)]
    assert ids == sorted(ids)
    assert [uuid7_unix_ms(value) for value in ids] == [10_000, 10_000, 10_000, 10_001]
