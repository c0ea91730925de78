"""How fast one route may send: a rate that falls on a throttle and climbs back with time.

Pure arithmetic on a clock the caller passes in; :mod:`._ratelimit` does the waiting.

The rate follows a cubic in log space, after TCP CUBIC and the AWS SDKs' "adaptive" retry
mode: ``log2(rate) = log2(peak) + (t - peak_at)**3``. A throttle sets ``peak`` to the rate
that was being sent and places ``peak_at`` one second after the route's pause ends, so the
senders resume at half that rate, are back within 9 % of it 0.5 s later, hover there for a
second, and then probe upwards ever faster (2x a second after the peak, 256x two seconds
after), though never above twice the rate actually sent lately, so a
probe overshoots a sustained limit by a few requests, not by a whole queue of them. A route
quiet for that long is released: its senders are no longer paced at all. So pacing holds a
sustained limit, and gives the full speed back a few seconds after the throttles stop, with
no help from rate-limit headers.

What the server says it allows (``X-Ratelimit-Limit`` over the time to ``X-Ratelimit-Reset``)
replaces the guess: after a 429 the route resumes at that pace and keeps to it for at least
one request's time before probing again; a success that reports ``Remaining: 0`` keeps the
route to it until the reset.
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["Pace"]

# A throttle halves the rate that was being sent (TCP's multiplicative decrease).
_BETA: Final = 0.5
# Seconds from the end of a pause to the old peak: the cubic's rise from half the rate.
_RISE: Final = (-math.log2(_BETA)) ** (1 / 3)
# A stated pace is kept this long, or for one interval of it if longer, before probing.
_HOLD: Final = 0.5
# The first throttle of a route with nothing to measure or read resumes at half this.
_FIRST_PEAK: Final = 16.0
# A guessed rate (not one the server stated) never goes below this many requests a second:
# the server's pauses (Retry-After, Reset) still hold the route for as long as it asks.
_MIN_RATE: Final = 0.5
# After a lull, this much of a second's rate may go at once (one request at the least).
_BURST_SECONDS: Final = 0.05
# While senders queue without a break, a turn given late (a busy event loop) is made up for,
# up to this many seconds of the rate: lateness must not lower the rate actually sent.
_CATCH_UP_SECONDS: Final = 1.0
# This long after the peak the rate is 2**27 times the peak: no limit is left to keep.
_RELEASE_AFTER: Final = 3.0
# The send rate is measured over spans of this many seconds, each new span weighing this much
# (as the AWS SDKs' adaptive mode measures it); probing never goes past twice that rate.
_MEASURE_SECONDS: Final = 0.25
_SMOOTHING: Final = 0.8
_PROBE_LIMIT: Final = 2.0
# Tokens short of a whole one by less than this (float rounding) count as a whole one.
_ROUNDING: Final = 1e-9
# Bounds on the cubic's exponent, far past any rate that matters, so 2**x never overflows.
_EXPONENT_RANGE: Final = 64.0


class Pace:
    """The pace of one route: a pause, an adaptive rate, and a small token bucket."""

    __slots__ = (
        "cap",
        "cut_at",
        "held_until",
        "measured",
        "paused_until",
        "peak",
        "peak_at",
        "span_sends",
        "span_start",
        "tokens",
        "updated",
    )

    def __init__(self, cap: float = math.inf) -> None:
        self.cap = cap  # the user's own quota (requests a second): never exceeded, never lifted
        self.peak = math.inf  # no throttle yet: only the cap applies
        self.peak_at = 0.0
        self.held_until = -math.inf  # until then the rate is exactly peak (a stated pace)
        self.paused_until = -math.inf
        # When the last cut took effect: a 429 for a request sent before it says nothing
        # about the new rate.
        self.cut_at = -math.inf
        self.tokens = 1.0
        self.updated = -math.inf  # a full bucket to start with
        self.measured: float | None = None  # requests a second actually sent lately
        self.span_start: float | None = None
        self.span_sends = 0

    # -- reading -------------------------------------------------------------------------------

    def rate(self, now: float) -> float:
        """Requests a second allowed at ``now``."""
        if self.peak == math.inf:
            return self.cap
        if now <= self.held_until:
            return min(self.cap, self.peak)
        exponent = (now - self.peak_at) ** 3
        exponent = max(-_EXPONENT_RANGE, min(_EXPONENT_RANGE, exponent))
        rate = self.peak * math.exp2(exponent)
        if rate > self.peak and self.measured is not None:
            rate = min(rate, max(self.peak, _PROBE_LIMIT * self.measured))
        return min(self.cap, rate)

    def delay(self, now: float, *, backlogged: bool = False) -> float:
        """Seconds until the next request may go (0.0: now); ``backlogged``: senders have
        been queueing since the last one went."""
        if now < self.paused_until:
            return self.paused_until - now
        self._refill(now, backlogged=backlogged)
        if self.tokens >= 1.0 - _ROUNDING:
            return 0.0
        return (1.0 - self.tokens) / self.rate(now)

    def eta(self, now: float, ahead: int) -> float:
        """Seconds until a sender with ``ahead`` senders before it may go, at today's rate
        (an upper bound while the rate climbs)."""
        delay = self.delay(now)
        return delay + ahead / self.rate(now + delay)

    def released(self, now: float) -> bool:
        """Whether nothing is left to pace: no pause, no quota, the last throttle long gone."""
        return (
            self.cap == math.inf
            and now >= self.paused_until
            and (self.peak == math.inf or now >= self.peak_at + _RELEASE_AFTER)
        )

    # -- sending -------------------------------------------------------------------------------

    def take(self, now: float) -> None:
        """One request goes now (the caller checked ``delay(now) == 0``)."""
        self.tokens -= 1.0
        self.span_sends += 1
        if self.span_start is None:
            self.span_start = now
        span = now - self.span_start
        if span >= _MEASURE_SECONDS:
            current = self.span_sends / span
            previous = current if self.measured is None else self.measured
            self.measured = _SMOOTHING * current + (1.0 - _SMOOTHING) * previous
            self.span_start, self.span_sends = now, 0

    def give_back(self) -> None:
        """A request that was let through was not sent after all."""
        self.tokens += 1.0

    # -- what the server said ------------------------------------------------------------------

    def throttled(
        self, now: float, *, sent_at: float, pause: float | None, stated: float | None
    ) -> None:
        """A 429 for a request sent at ``sent_at``: hold the route for ``pause`` seconds, then
        resume at the ``stated`` rate if the server gave one, else at half the rate sent."""
        if pause is not None and pause > 0:
            self.paused_until = max(self.paused_until, now + pause)
        resume = max(now, self.paused_until)
        if stated is not None:
            self._keep(resume, stated)
            self.cut_at = resume
        elif sent_at >= self.cut_at:
            # Only a request sent at the current pace proves that pace too fast: the burst
            # that went out before the cut all comes back 429 and must not cut again.
            sending = _FIRST_PEAK if self.peak == math.inf else self.rate(sent_at)
            if self.measured is not None:
                sending = min(sending, self.measured)
            self.peak, self.peak_at = max(sending, _MIN_RATE / _BETA), resume + _RISE
            self.held_until = -math.inf
            self.cut_at = resume
        # Nobody goes during the pause; one sender goes as it ends, the rest at the new pace.
        self.tokens = min(self.tokens, 1.0) if resume == now else 1.0
        self.updated = resume

    def hold(self, now: float, stated: float, until: float) -> None:
        """A success said nothing is left until ``until`` (the reset): keep to the ``stated``
        rate till then. A slower pace is left as it is."""
        if self.rate(now) >= stated:
            self._refill(now)
            self._keep(now, stated, until)
            self.tokens = min(self.tokens, 1.0)

    def pause(self, now: float, seconds: float) -> None:
        """Send nothing for ``seconds`` (a success said nothing is left until a reset)."""
        if seconds > 0 and now + seconds > self.paused_until:
            self.paused_until = now + seconds
            self.tokens, self.updated = 1.0, self.paused_until

    # -- internals -----------------------------------------------------------------------------

    def _keep(self, start: float, stated: float, until: float = -math.inf) -> None:
        self.peak = stated
        self.peak_at = self.held_until = max(until, start + max(_HOLD, 1.0 / stated))

    def _refill(self, now: float, *, backlogged: bool = False) -> None:
        elapsed = now - self.updated
        if elapsed <= 0:
            return
        rate = self.rate(now)
        capacity = max(1.0, rate * _BURST_SECONDS)
        if backlogged:
            capacity += rate * _CATCH_UP_SECONDS
        # The lower of the rates at both ends: a rate that just climbed earns nothing backdated.
        earned = elapsed * min(rate, self.rate(self.updated))
        self.tokens = min(capacity, self.tokens + earned)
        self.updated = now
