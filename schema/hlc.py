"""The hybrid logical clock every device stamps its events with.

``clock = (unix_ms << 10) + counter``. On append a device uses
``max(now_ms << 10, last_clock + 1)`` where ``last_clock`` is the largest clock
it has created or pulled, so clocks on one device strictly increase even when
its wall clock jumps back, and an event appended after a pull sorts after
everything pulled. The shift keeps clocks below 2**53 until the year 2100, so
JavaScript clients can hold them in a Number. It is an ordering key, never a
time to show.
"""

from __future__ import annotations

from typing import Any

COUNTER_BITS = 10


def next_clock(now_ms: int, last_clock: int) -> int:
    return max(now_ms << COUNTER_BITS, last_clock + 1)


def clock_ms(clock: int) -> int:
    """The wall-clock milliseconds part of a clock (for diagnostics only)."""
    return clock >> COUNTER_BITS


def canonical_order(event: dict[str, Any]) -> tuple[int, str, int]:
    """Sort key of the canonical event order ``(clock, device_id, device_seq)``."""
    return (event["clock"], event["device_id"], event["device_seq"])
