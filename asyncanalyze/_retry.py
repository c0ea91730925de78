"""The only tenacity code for request retries: the policy, in tenacity's own vocabulary.

:class:`RetryPolicy` holds three tenacity objects, as ``AsyncRetrying`` takes them: ``wait``
(how long before the next try), ``stop`` (when to give up) and ``retry`` (which failures are
worth another try). By default they are built from its numbers; pass your own to replace
one, e.g. ``RetryPolicy(wait=tenacity.wait_fixed(2))``.

The happy path never enters this module: a request is attempted once, and only a retryable
failure pays for the retry loop (:func:`retry_after_failure`). Whatever the policy says, a
request whose repetition could do the work twice is not repeated after an ambiguous failure
(:func:`safe_to_repeat`): that rule is the client's, not a setting.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

import attrs
from tenacity import AsyncRetrying, RetryCallState
from tenacity.retry import retry_base
from tenacity.stop import stop_base
from tenacity.wait import wait_base, wait_random_exponential

from ._config import DEFAULT_MAX_RETRIES
from ._errors import APIConnectionError, APIStatusError, InvalidRequestError, RateLimitError
from ._numbers import check_count, check_non_negative
from ._protocol import Request, advised_wait
from ._ratelimit import NoSlotInTimeError

__all__ = [
    "RetryPolicy",
    "Sleep",
    "retry_after_failure",
    "retry_if_transient",
    "safe_to_repeat",
    "stop_after_failures",
    "wait_server_advice",
]

T = TypeVar("T")
S = TypeVar("S")
Sleep = Callable[[float], Awaitable[None]]
Retryable = APIConnectionError | APIStatusError

_log: Final = logging.getLogger("asyncanalyze")
# 429s mean nothing was done and are paced by the client, so they get their own, larger
# budget: a batch under a tight rate limit waits its turn instead of failing.
DEFAULT_MAX_RATE_LIMIT_RETRIES: Final = 20


def _failure(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


class wait_server_advice(wait_base):
    """The wait the server advised (``Retry-After``, at most ``max_retry_after``), else
    ``fallback``'s. A 429 waits 0 here: the client's rate gate holds it for the pause."""

    def __init__(self, fallback: wait_base, max_retry_after: float) -> None:
        self.fallback = fallback
        self.max_retry_after = max_retry_after

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = _failure(retry_state)
        if isinstance(exc, RateLimitError):
            return 0.0
        if isinstance(exc, APIStatusError):
            advised = advised_wait(exc)
            if advised is not None:
                return min(advised, self.max_retry_after)
        return float(self.fallback(retry_state))


class stop_after_failures(stop_base):
    """Give up after ``max_retries`` failed retries, not counting 429s, which have their own
    budget (``max_rate_limit_retries``): under a paced rate limit they are expected and must
    not use up the retries meant for real failures."""

    def __init__(self, max_retries: int, max_rate_limit_retries: int) -> None:
        self.max_retries = max_retries
        self.max_rate_limit_retries = max_rate_limit_retries
        # Per retry loop, kept beside it rather than in it: one policy serves every request.
        self._counts: weakref.WeakKeyDictionary[RetryCallState, list[int]] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, retry_state: RetryCallState) -> bool:
        counts = self._counts.setdefault(retry_state, [0, 0])
        if isinstance(_failure(retry_state), RateLimitError):
            counts[0] += 1
            return counts[0] > self.max_rate_limit_retries
        counts[1] += 1
        return counts[1] > self.max_retries


class retry_if_transient(retry_base):
    """A failure another try may cure: no response, 408, 429, 5xx; not one whose advised
    wait is beyond ``max_retry_after`` (waiting less than asked only earns another refusal),
    nor a request that found no rate-limit slot within its timeout."""

    def __init__(self, max_retry_after: float) -> None:
        self.max_retry_after = max_retry_after

    def __call__(self, retry_state: RetryCallState) -> bool:
        exc = _failure(retry_state)
        if isinstance(exc, APIConnectionError):
            return True
        if not isinstance(exc, APIStatusError) or isinstance(exc, NoSlotInTimeError):
            return False
        advised = advised_wait(exc)
        if advised is not None and advised > self.max_retry_after:
            return False
        return exc.is_transient


def safe_to_repeat(exc: BaseException, request: Request) -> bool:
    """Whether sending ``request`` again cannot do its work twice.

    After an ambiguous failure (timeout, reset, 5xx) the server may have acted, so only an
    idempotent request (GET, DELETE, a create carrying an Idempotency-Key) may be repeated.
    A 429 and a connection that never carried the request mean nothing was done.
    """
    if request.idempotent or isinstance(exc, RateLimitError):
        return True
    return isinstance(exc, APIConnectionError) and not exc.request_sent


def _default_wait(policy: RetryPolicy) -> wait_base:
    # Full jitter: uniform(0, min(max_delay, initial_delay * 2**n)), so clients failing
    # together spread out instead of retrying in lockstep.
    jitter = wait_random_exponential(multiplier=policy.initial_delay, max=policy.max_delay)
    return wait_server_advice(jitter, policy.max_retry_after)


def _default_stop(policy: RetryPolicy) -> stop_base:
    return stop_after_failures(policy.max_retries, policy.max_rate_limit_retries)


def _default_retry(policy: RetryPolicy) -> retry_base:
    return retry_if_transient(policy.max_retry_after)


@attrs.frozen
class RetryPolicy:
    """How one request is retried after a retryable failure.

    The numbers build the default tenacity strategies: waits are "full jitter" exponential,
    uniform(0, min(max_delay, initial_delay * 2**n)); a server's ``Retry-After`` replaces the
    computed wait, and above ``max_retry_after`` the error is raised at once instead, because
    waiting less than the server asked only earns another 429. ``max_retries`` real failures
    and ``max_rate_limit_retries`` 429s may be retried; ``max_retries=0`` retries nothing,
    429s included, whatever ``stop`` says.

    ``wait``, ``stop`` and ``retry`` are tenacity objects (``tenacity.wait_*``, ``stop_*``,
    ``retry_*``, combinable with ``+``, ``|`` and ``&``); each left out is built from the
    numbers, and ``wait_strategy``/``stop_strategy``/``retry_strategy`` say what is used.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    max_rate_limit_retries: int = DEFAULT_MAX_RATE_LIMIT_RETRIES
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    wait: wait_base | None = attrs.field(default=None, kw_only=True)
    stop: stop_base | None = attrs.field(default=None, kw_only=True)
    retry: retry_base | None = attrs.field(default=None, kw_only=True)
    # Built once per policy, not per failure (eq/repr ignore them: they follow the fields).
    _built: dict[str, Any] = attrs.field(factory=dict, init=False, eq=False, repr=False, hash=False)

    def __attrs_post_init__(self) -> None:
        check_count("max_retries", self.max_retries)
        check_count("max_rate_limit_retries", self.max_rate_limit_retries)
        check_non_negative("initial_delay", self.initial_delay)
        check_non_negative("max_delay", self.max_delay)
        check_non_negative("max_retry_after", self.max_retry_after)
        for name, base in (("wait", wait_base), ("stop", stop_base), ("retry", retry_base)):
            value = getattr(self, name)
            if value is not None and not isinstance(value, base):
                raise InvalidRequestError(
                    name, f"must be a tenacity {base.__name__} (tenacity.{name}_...)"
                )

    @property
    def wait_strategy(self) -> wait_base:
        """The tenacity wait in use: ``wait``, or the default built from the numbers."""
        return self._strategy("wait", _default_wait)

    @property
    def stop_strategy(self) -> stop_base:
        """The tenacity stop in use: ``stop``, or :class:`stop_after_failures`."""
        return self._strategy("stop", _default_stop)

    @property
    def retry_strategy(self) -> retry_base:
        """The tenacity retry predicate in use: ``retry``, or :class:`retry_if_transient`."""
        return self._strategy("retry", _default_retry)

    def _strategy(self, name: str, default: Callable[[RetryPolicy], S]) -> S:
        given: S | None = getattr(self, name)
        if given is not None:
            return given
        built: S | None = self._built.get(name)
        if built is None:
            built = self._built[name] = default(self)
        return built


async def retry_after_failure(
    first_error: Retryable,
    attempt: Callable[[Request, int], Awaitable[T]],
    request: Request,
    *,
    policy: RetryPolicy,
    sleep: Sleep,
) -> T:
    """Try ``attempt(request, attempt_number)`` again after ``first_error``, as ``policy`` says;
    raise the last error when it is not retryable or the retries are spent.

    tenacity's loop run from the second try on, with its own state and strategies: the
    first try, made outside, is recorded as attempt 1 rather than replayed.
    """
    if policy.max_retries == 0:
        raise first_error
    wait, stop, retry = policy.wait_strategy, policy.stop_strategy, policy.retry_strategy
    state = RetryCallState(
        AsyncRetrying(wait=wait, stop=stop, retry=retry), attempt, (request,), {}
    )
    error: Retryable = first_error
    while True:
        state.set_exception((type(error), error, error.__traceback__))
        if not (safe_to_repeat(error, request) and retry(state)):
            raise error
        delay = float(wait(state))
        state.upcoming_sleep = delay
        if stop(state):
            raise error
        if _log.isEnabledFor(logging.INFO):
            _log.info(
                "retrying %s in %.2fs after %s (attempt %d)",
                f"{request.method} {request.path}",
                delay,
                type(error).__name__,
                state.attempt_number,
            )
        if delay > 0:  # a paced 429 waits in the rate gate, not here
            await sleep(delay)
            state.idle_for += delay
        state.prepare_for_next_attempt()
        try:
            return await attempt(request, state.attempt_number)
        except (APIConnectionError, APIStatusError) as exc:
            error = exc
