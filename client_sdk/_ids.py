"""UUIDv7 (RFC 9562, section 5.7): time-ordered ids for events and projects.

Layout, most significant bit first: 48 bits of Unix time in milliseconds,
4 bits of version (0b0111), 12 bits ``rand_a``, 2 bits of variant (0b10),
62 bits ``rand_b``. Time-ordered ids keep the server's unique index append-only
(random v4 ids make its inserts several times slower on a large log).

Within one process the ids are strictly increasing (RFC 9562 section 6.2,
method 2: the 74 random bits act as a counter seeded at random each
millisecond, and a clock that steps back reuses the last millisecond), so that
ids minted in a tight loop still sort in mint order.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable

_RAND_BITS = 74
_RAND_MAX = (1 << _RAND_BITS) - 1
# A fresh millisecond starts its counter in the lower half, leaving room for
# about 2**73 increments before it would have to borrow the next millisecond.
_SEED_BITS = _RAND_BITS - 1


def uuid7_of(unix_ms: int, rand: int) -> uuid.UUID:
    """The UUIDv7 of a millisecond and 74 random bits (RFC 9562 layout: version 7, variant 0b10)."""
    rand_a = rand >> 62
    rand_b = rand & ((1 << 62) - 1)
    value = (unix_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


class Minter:
    """Mints strictly increasing UUIDv7s; ``clock_ms`` is the wall clock in milliseconds (for tests)."""

    def __init__(self, clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0

    def __call__(self) -> str:
        now_ms = self._clock_ms()
        with self._lock:
            if now_ms > self._last_ms:
                ms, rand = now_ms, secrets.randbits(_SEED_BITS)
            else:
                # Same millisecond, or the wall clock stepped back: keep counting on the last one.
                ms, rand = self._last_ms, self._last_rand + 1 + secrets.randbits(16)
                if rand > _RAND_MAX:
                    ms, rand = self._last_ms + 1, secrets.randbits(_SEED_BITS)
            self._last_ms, self._last_rand = ms, rand
        return str(uuid7_of(ms, rand))


uuid7 = Minter()
"""A new UUIDv7 in canonical lowercase form, strictly greater than the previous one of this process."""


def uuid7_unix_ms(value: str) -> int:
    """The millisecond timestamp carried by a UUIDv7."""
    return uuid.UUID(value).int >> 80
