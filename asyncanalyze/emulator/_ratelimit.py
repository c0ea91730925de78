"""A token bucket per API key for create, on emulator time (a fast clock refills faster)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._clock import Clock


@dataclass(frozen=True)
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: int = 0


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class CreateRateLimiter:
    """``rpm`` requests per minute, with a burst of ``rpm``: a full minute's worth at once."""

    def __init__(self, rpm: float, clock: Clock) -> None:
        self.rpm = rpm
        self._rate = rpm / 60.0  # tokens per emulator second
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, owner: str) -> Decision:
        now = self._clock.now()
        bucket = self._buckets.get(owner)
        if bucket is None:
            bucket = self._buckets[owner] = _Bucket(self.rpm, now)
        else:
            bucket.tokens = min(self.rpm, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        remaining = math.floor(bucket.tokens)
        limit = math.floor(self.rpm)
        reset = math.ceil(now + (self.rpm - bucket.tokens) / self._rate)
        headers = {
            "X-Ratelimit-Limit": str(limit),
            "X-Ratelimit-Remaining": str(remaining),
            "X-Ratelimit-Used": str(limit - remaining),
            "X-Ratelimit-Reset": str(reset),
        }
        if allowed:
            return Decision(True, headers)
        retry_after = max(1, math.ceil((1.0 - bucket.tokens) / self._rate))
        headers["Retry-After"] = str(retry_after)
        return Decision(False, headers, retry_after)
