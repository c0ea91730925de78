"""Rate limits on emulator time: the create token bucket per API key, and what a 429 carries.

Every answer that carries ``X-Ratelimit-Reset`` also carries a ``Date`` on emulator time, so a
client can measure the time to the reset on the server's clock, as it would against the
platform, even when the emulator's clock runs fast.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import formatdate
from typing import Final

from ._clock import Clock
from ._config import FaultConfig

# Buckets kept per API key at most: the least recently used one beyond it is forgotten (that
# key starts again with a full bucket), so a stream of distinct keys cannot grow memory.
MAX_TRACKED_KEYS: Final = 10_000
# What an injected 429 with rate-limit headers reports: a window of this many requests, used up.
INJECTED_LIMIT: Final = 100


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
    """``rpm`` requests per minute, with a burst of ``rpm``: a full minute's worth at once.

    ``X-Ratelimit-Reset`` is when the bucket is full again (the window after which the whole
    limit is available); ``Retry-After`` on a 429 is when the next token arrives.
    """

    def __init__(self, rpm: float, clock: Clock, *, max_keys: int = MAX_TRACKED_KEYS) -> None:
        self.rpm = rpm
        self._rate = rpm / 60.0  # tokens per emulator second
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def tracked_keys(self) -> int:
        return len(self._buckets)

    def take(self, owner: str) -> Decision:
        now = self._clock.now()
        bucket = self._buckets.get(owner)
        if bucket is None:
            bucket = self._buckets[owner] = _Bucket(self.rpm, now)
            while len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(owner)
            bucket.tokens = min(self.rpm, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        remaining = math.floor(bucket.tokens)
        limit = math.floor(self.rpm)
        reset = math.ceil(now + (self.rpm - bucket.tokens) / self._rate)
        headers = rate_limit_headers(now, limit=limit, remaining=remaining, reset=reset)
        if allowed:
            return Decision(True, headers)
        retry_after = max(1, math.ceil((1.0 - bucket.tokens) / self._rate))
        headers["Retry-After"] = str(retry_after)
        return Decision(False, headers, retry_after)


def rate_limit_headers(now: float, *, limit: int, remaining: int, reset: int) -> dict[str, str]:
    """The four ``X-Ratelimit-*`` headers, with a ``Date`` on emulator time."""
    return {
        "X-Ratelimit-Limit": str(limit),
        "X-Ratelimit-Remaining": str(remaining),
        "X-Ratelimit-Used": str(limit - remaining),
        "X-Ratelimit-Reset": str(reset),
        "Date": formatdate(now, usegmt=True),
    }


def injected_429_headers(config: FaultConfig, now: float) -> dict[str, str]:
    """The headers of an injected 429, in the fault's ``rate_limit_shape``."""
    shape = config.rate_limit_shape
    headers: dict[str, str] = {}
    if shape in ("full", "headers_only"):
        reset = math.ceil(now + config.rate_limit_reset)
        headers.update(rate_limit_headers(now, limit=INJECTED_LIMIT, remaining=0, reset=reset))
    if shape in ("retry_after", "full"):
        headers["Retry-After"] = str(config.retry_after)
    return headers


def rate_limit_message(limit: str, retry_after: int) -> str:
    """The 429 message: the create limit, or "injected" for a fault, and the wait."""
    return (
        f"You have exceeded the rate limit ({limit}). "
        f"Please try again later after {retry_after} seconds."
    )
