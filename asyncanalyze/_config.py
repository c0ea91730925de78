"""Frozen configuration values and the defaults, each a named constant with its reason.

(``RetryPolicy`` is spelled in tenacity's terms, so it lives in :mod:`._retry`.)
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any, Final

import attrs

from ._errors import InvalidRequestError
from ._numbers import check_between, check_count, check_non_negative, check_positive
from ._poll_wait import PollWait, check_poll_wait, default_poll_wait, next_poll_gap

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECTION_LIMIT",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_POLL_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "PollPolicy",
    "RequestOptions",
]

DEFAULT_BASE_URL: Final = "https://api.twelvelabs.io/v1.3"
API_KEY_ENV: Final = "TWELVE_LABS_API_KEY"
BASE_URL_ENV: Final = "ASYNCANALYZE_BASE_URL"

# Every call here is small JSON; a minute covers a slow base64 upload (30 MiB) on a modest
# uplink while still surfacing a hung connection well before a user would give up.
DEFAULT_TIMEOUT: Final = 60.0
# Connecting is either fast or broken; failing in 10 s lets the retry try another attempt.
DEFAULT_CONNECT_TIMEOUT: Final = 10.0
# Sized for the batch case (hundreds of concurrent polls) without opening more sockets than a
# typical rate limit could use; aiohttp's own default is also 100. Per-host, so 100 to the API.
DEFAULT_CONNECTION_LIMIT: Final = 100
# Three retries ride out a deploy blip or a 429 burst (~0.5+1+2 s of backoff) without turning a
# real outage into minutes of silent waiting.
DEFAULT_MAX_RETRIES: Final = 3
# The largest answer is a page of 50 ready tasks, each with a result of up to 98,304 tokens
# (the platform's largest budget, ~400 KB of text) and its request echoed: ~20 MB. 64 MiB
# leaves room for JSON escaping while one hostile answer (or a gzip bomb) can no longer take
# hundreds of MiB.
DEFAULT_MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024
# A 2-hour video can take tens of minutes to analyze; three hours bounds a forgotten wait.
DEFAULT_POLL_TIMEOUT: Final = 3 * 3600.0


@attrs.frozen
class PollPolicy:
    """How ``await_result`` spaces its polls (separate from request retries).

    ``wait`` takes any tenacity wait strategy (``tenacity.wait_fixed(5)``,
    ``wait_random_exponential(...)``, ``wait_chain(...)``, sums of them); its
    ``attempt_number`` is the number of polls made so far. Without it, the four numbers below
    build the default, ``wait_jitter(wait_exponential(multiplier=initial_delay,
    exp_base=multiplier, max=max_delay), jitter)``: first poll after 2 s, each gap x1.3, capped
    at 20 s, +/-20 % jitter. Tasks run from seconds to tens of minutes: a 30 s task is seen
    within ~5 s using about as many polls as fixed 5 s polling, and a 20 min task takes ~66
    polls instead of 240 while the detection lag stays under the 20 s cap (under 2 % of its
    duration).
    """

    initial_delay: float = 2.0
    multiplier: float = 1.3
    max_delay: float = 20.0
    jitter: float = 0.2
    wait: PollWait | None = attrs.field(default=None, kw_only=True)
    # The strategy the scheduler asks: ``wait``, or the default built from the numbers.
    _strategy: PollWait = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        check_non_negative("initial_delay", self.initial_delay)
        check_non_negative("max_delay", self.max_delay)
        check_between("multiplier", self.multiplier, 1, math.inf)
        check_between("jitter", self.jitter, 0, 1)
        if self.wait is not None:
            strategy = check_poll_wait(self.wait)
            if (self.initial_delay, self.multiplier, self.max_delay, self.jitter) != _NUMBERS:
                raise InvalidRequestError(
                    "wait", "give either wait or initial_delay/multiplier/max_delay/jitter"
                )
        else:
            strategy = default_poll_wait(
                self.initial_delay, self.multiplier, self.max_delay, self.jitter
            )
        object.__setattr__(self, "_strategy", strategy)

    @property
    def strategy(self) -> PollWait:
        """The tenacity wait that spaces the polls."""
        return self._strategy

    def next_gap(self, polls_done: int, rng: random.Random) -> float:
        """Seconds from poll number ``polls_done`` to the next one, jitter drawn from ``rng``."""
        return next_poll_gap(self._strategy, polls_done, rng)

    def delay(self, poll_number: int) -> float:
        """The un-jittered gap of the default schedule after poll ``poll_number`` (1-based);
        ignores ``wait``, see :meth:`next_gap`."""
        try:
            grown = self.initial_delay * self.multiplier ** (poll_number - 1)
        except OverflowError:  # hours of polling with a large multiplier
            return self.max_delay
        return min(self.max_delay, grown)


# The default schedule's numbers, which a policy given its own ``wait`` must leave alone.
_NUMBERS: Final = (2.0, 1.3, 20.0, 0.2)


@attrs.frozen
class RequestOptions:
    """Per-call overrides; every field left as None keeps the client's setting.

    ``timeout_in_seconds`` also bounds the wait for a rate-limit slot: a call that could not
    be sent within it raises ``RateLimitError`` at once (nothing sent).
    """

    timeout_in_seconds: float | None = None
    max_retries: int | None = None
    additional_headers: Mapping[str, str] | None = None
    additional_query_parameters: Mapping[str, Any] | None = None
    additional_body_parameters: Mapping[str, Any] | None = None

    def __attrs_post_init__(self) -> None:
        if self.timeout_in_seconds is not None:
            check_positive("request_options.timeout_in_seconds", self.timeout_in_seconds)
        if self.max_retries is not None:
            check_count("request_options.max_retries", self.max_retries)
