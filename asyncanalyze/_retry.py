"""The only tenacity code for request retries: what may be retried, and how long to wait.

The happy path never enters this module: a request is attempted once, and only a retryable
failure pays for a retrier. That keeps per-request overhead near raw aiohttp.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from ._config import RetryPolicy
from ._errors import APIConnectionError, APIStatusError, RateLimitError
from ._protocol import parse_retry_after
from ._ratelimit import NoSlotInTimeError

__all__ = ["Sleep", "is_retryable", "retry_after_failure", "wait_before_retry"]

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

_log: Final = logging.getLogger("asyncanalyze")


def is_retryable(exc: BaseException, *, idempotent: bool, policy: RetryPolicy) -> bool:
    """Whether repeating the request is both useful and safe.

    ``idempotent`` is True for GET/DELETE and for a create that carries an Idempotency-Key:
    after an ambiguous failure (timeout, reset, 5xx) the server may have acted, so only those
    may be repeated. A 429 and a refused connection mean nothing was done: always safe.
    """
    if isinstance(exc, APIConnectionError):
        return idempotent or not exc.request_sent
    if not isinstance(exc, APIStatusError) or isinstance(exc, NoSlotInTimeError):
        return False  # a request that found no slot within its timeout is not sent again
    advised = _advised_wait(exc)
    if advised is not None and advised > policy.max_retry_after:
        return False  # waiting less than the server asked would only earn another refusal
    if isinstance(exc, RateLimitError):
        return True
    return idempotent and exc.is_transient


def _advised_wait(exc: APIStatusError) -> float | None:
    if isinstance(exc, RateLimitError):
        return exc.retry_after
    return parse_retry_after(exc.headers)


def wait_before_retry(
    exc: BaseException | None, attempt: int, policy: RetryPolicy, rng: random.Random
) -> float:
    """Seconds before retry number ``attempt`` (1-based): the server's advice, else full jitter."""
    if isinstance(exc, RateLimitError):
        return 0.0  # the client's RateGate holds the request for the pause and its paced slot
    if isinstance(exc, APIStatusError):
        advised = _advised_wait(exc)
        if advised is not None:
            return min(advised, policy.max_retry_after)
    ceiling = min(policy.max_delay, policy.initial_delay * 2 ** (attempt - 1))
    return rng.uniform(0.0, ceiling)


async def retry_after_failure(
    first_error: BaseException,
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    idempotent: bool,
    sleep: Sleep,
    rng: random.Random,
    description: str,
) -> T:
    """Retry ``attempt`` after ``first_error`` (raised by the first try) per ``policy``.

    Raises the last error when it is not retryable or the retries are spent.
    """
    if policy.max_retries == 0 or not is_retryable(
        first_error, idempotent=idempotent, policy=policy
    ):
        raise first_error
    pending_first: list[BaseException] = [first_error]

    async def replay_then_attempt() -> T:
        # tenacity counts the failure that already happened as attempt 1 and waits after it.
        if pending_first:
            raise pending_first.pop()
        return await attempt()

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        return wait_before_retry(exc, state.attempt_number, policy, rng)

    def log_retry(state: RetryCallState) -> None:
        if _log.isEnabledFor(logging.INFO):
            exc = state.outcome.exception() if state.outcome is not None else None
            delay = state.next_action.sleep if state.next_action is not None else 0.0
            _log.info(
                "retrying %s in %.2fs after %s (attempt %d)",
                description,
                delay,
                type(exc).__name__,
                state.attempt_number,
            )

    failures = {"rate_limited": 0, "other": 0}

    def stop(state: RetryCallState) -> bool:
        # 429s have their own budget: under a paced rate limit they are expected, and nothing
        # was done, so they must not use up the retries meant for real failures.
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RateLimitError):
            failures["rate_limited"] += 1
            return failures["rate_limited"] > policy.max_rate_limit_retries
        failures["other"] += 1
        return failures["other"] > policy.max_retries

    async def pause(seconds: float) -> None:
        if seconds > 0:  # a paced 429 waits in the RateGate, not here
            await sleep(seconds)

    retrying = AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception(
            lambda exc: is_retryable(exc, idempotent=idempotent, policy=policy)
        ),
        sleep=pause,
        before_sleep=log_retry,
        reraise=True,
    )
    return await retrying(replay_then_attempt)
