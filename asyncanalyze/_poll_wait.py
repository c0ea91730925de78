"""Poll gaps in tenacity's vocabulary: the default schedule as tenacity waits, and the one
function the scheduler asks for each next gap.

A user who configures retries with ``tenacity.wait_*`` objects configures polling the same way
(``PollPolicy(wait=wait_fixed(5))``). The scheduler keeps no tenacity state per wait (10,000
pending waits must stay small): it hands the strategy a short-lived call state holding the poll
number and the scheduler's own random source, so a seeded scheduler gives a repeatable schedule.
"""

from __future__ import annotations

import math
import random
from typing import Final

from tenacity import RetryCallState
from tenacity.wait import wait_base, wait_exponential

from ._errors import InvalidRequestError
from ._numbers import check_between

__all__ = [
    "LONGEST_POLL_GAP",
    "PollWait",
    "check_poll_wait",
    "default_poll_wait",
    "next_poll_gap",
    "wait_jitter",
]

PollWait = wait_base

# A gap this long already means "only the deadline or a webhook ends this wait"; longer ones
# (or an infinity from a user's strategy) would overflow the event loop's timer.
LONGEST_POLL_GAP: Final = 86_400.0
# What a strategy's NaN or non-number answer becomes at run time: the default schedule's cap,
# so a broken strategy polls slowly instead of spinning or never polling again.
_FALLBACK_GAP: Final = 20.0


class _PollCallState(RetryCallState):
    """tenacity's call state for one gap computation, carrying the scheduler's random source."""

    def __init__(self, poll_number: int, rng: random.Random) -> None:
        super().__init__(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        self.attempt_number = poll_number
        self.rng = rng


class wait_jitter(wait_base):  # named like tenacity's own wait_* strategies
    """``inner``'s gap times a uniform factor in ``1 - spread .. 1 + spread``.

    tenacity's own jitter is additive (``wait_random``) or full (``wait_random_exponential``);
    polling wants a gap that stays proportional to the schedule, so bursts of waits spread out
    without any of them polling much earlier than planned. The factor comes from the scheduler's
    random source (injectable, hence repeatable in tests); called outside the scheduler it uses
    the ``random`` module.
    """

    def __init__(self, inner: wait_base, spread: float) -> None:
        self.inner = inner
        self.spread = check_between("jitter", spread, 0, 1)

    def __call__(self, retry_state: RetryCallState) -> float:
        source = retry_state.rng if isinstance(retry_state, _PollCallState) else random
        return self.inner(retry_state) * source.uniform(1.0 - self.spread, 1.0 + self.spread)

    def __repr__(self) -> str:
        return f"wait_jitter({self.inner!r}, spread={self.spread!r})"


def default_poll_wait(
    initial_delay: float, multiplier: float, max_delay: float, jitter: float
) -> wait_base:
    """The classic schedule: ``initial_delay * multiplier**(n-1)``, capped, then jittered."""
    grown = wait_exponential(multiplier=initial_delay, exp_base=multiplier, max=max_delay)
    return wait_jitter(grown, jitter)


def check_poll_wait(strategy: object) -> wait_base:
    """A tenacity wait strategy whose first gap is a number (``wait_exception`` and friends
    need a failed attempt, which a poll never has)."""
    if not isinstance(strategy, wait_base):
        raise InvalidRequestError(
            "wait",
            "must be a tenacity wait strategy such as tenacity.wait_fixed(5), "
            f"got {type(strategy).__name__}",
        )
    try:
        first = strategy(_PollCallState(1, random.Random(0)))
    except Exception as exc:
        raise InvalidRequestError(
            "wait", f"this tenacity wait cannot space polls: {type(exc).__name__}: {exc}"
        ) from exc
    if isinstance(first, bool) or not isinstance(first, int | float) or not first >= 0:
        raise InvalidRequestError("wait", f"must give gaps >= 0 seconds, gave {first!r}")
    return strategy


def next_poll_gap(strategy: wait_base, polls_done: int, rng: random.Random) -> float:
    """Seconds until the next poll after ``polls_done`` polls (tenacity's ``attempt_number``),
    per ``strategy``, bounded to a usable gap."""
    gap = strategy(_PollCallState(polls_done, rng))
    if isinstance(gap, bool) or not isinstance(gap, int | float) or math.isnan(gap):
        return _FALLBACK_GAP
    return min(max(float(gap), 0.0), LONGEST_POLL_GAP)
