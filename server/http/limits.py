"""Rate limiting: a token bucket per user, checked once the request is authenticated."""

from __future__ import annotations

import time

from server.http.problems import ProblemError


class RateLimiter:
    """A token bucket per user; ``rate`` 0 turns it off."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[int, tuple[float, float]] = {}

    def check(self, user_id: int) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        tokens, stamp = self._buckets.get(user_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        if tokens < 1:
            self._buckets[user_id] = (tokens, now)
            raise ProblemError(
                429,
                "rate_limited",
                "Too many requests for this user; retry later",
                retry_after=(1 - tokens) / self.rate,
            )
        self._buckets[user_id] = (tokens - 1, now)
