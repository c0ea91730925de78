"""``await_result``'s engine: poll until a task is terminal, with backoff and a deadline.

Polling has its own policy (:class:`PollPolicy`), separate from request retries: a poll that
fails transiently (connection trouble, 429, 5xx after the request's own retries) is simply
tried again at the next poll, while an error that cannot get better (401, 403, 404, a body that
does not decode) ends the wait at once.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Awaitable, Callable
from typing import Final

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_result,
)

from ._config import PollPolicy
from ._errors import (
    APIConnectionError,
    APIStatusError,
    PollTimeoutError,
    RateLimitError,
    TaskFailedError,
)
from ._models import AnalyzeTaskResponse, AnalyzeTaskStatus

__all__ = ["StatusCallback", "is_transient", "poll_until_terminal"]

StatusCallback = Callable[[AnalyzeTaskResponse], Awaitable[None] | None]
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

_TRANSIENT_STATUS: Final = frozenset({408, 425, 429})


def is_transient(exc: BaseException) -> bool:
    """Errors that a later poll may not see again."""
    if isinstance(exc, APIConnectionError | RateLimitError):
        return True
    if isinstance(exc, APIStatusError):
        return exc.status_code >= 500 or exc.status_code in _TRANSIENT_STATUS
    return False


def _not_terminal(task: AnalyzeTaskResponse) -> bool:
    return not task.status.is_terminal


class _Watch:
    """The state of one wait: the last task seen and who to tell about changes."""

    __slots__ = ("callback", "last")

    def __init__(self, callback: StatusCallback | None) -> None:
        self.last: AnalyzeTaskResponse | None = None
        self.callback = callback

    async def saw(self, task: AnalyzeTaskResponse) -> None:
        previous = self.last
        self.last = task
        if self.callback is not None and (previous is None or previous.status != task.status):
            outcome = self.callback(task)
            if inspect.isawaitable(outcome):
                await outcome


async def poll_until_terminal(
    fetch: Callable[[], Awaitable[AnalyzeTaskResponse]],
    *,
    task_id: str,
    policy: PollPolicy,
    timeout: float | None,
    sleep: Sleep,
    clock: Clock,
    rng: random.Random,
    first_delay: float = 0.0,
    on_status_change: StatusCallback | None = None,
) -> AnalyzeTaskResponse:
    """Poll ``fetch`` until the task is terminal; return it when ``ready``.

    Raises TaskFailedError on ``failed``/``canceled`` and PollTimeoutError past ``timeout``.
    """
    watch = _Watch(on_status_change)
    deadline = None if timeout is None else clock() + timeout

    def remaining() -> float:
        return float("inf") if deadline is None else max(0.0, deadline - clock())

    async def poll_once() -> AnalyzeTaskResponse:
        task = await fetch()
        await watch.saw(task)
        return task

    def wait(state: RetryCallState) -> float:
        spread = policy.jitter
        gap = policy.delay(state.attempt_number) * rng.uniform(1.0 - spread, 1.0 + spread)
        return min(gap, remaining())

    def give_up(state: RetryCallState) -> AnalyzeTaskResponse:
        raise PollTimeoutError(task_id, timeout or 0.0, watch.last)

    retrying = AsyncRetrying(
        stop=lambda state: remaining() <= 0.0,
        wait=wait,
        retry=retry_if_result(_not_terminal) | retry_if_exception(is_transient),
        sleep=sleep,
        retry_error_callback=give_up,
        reraise=True,
    )

    async def run() -> AnalyzeTaskResponse:
        if first_delay > 0:
            await sleep(min(first_delay, remaining()))
        return await retrying(poll_once)

    # The clock-based stop ends the loop between polls; the timeout also bounds a poll in flight.
    bound = asyncio.timeout(timeout)
    try:
        async with bound:
            task = await run()
    except TimeoutError as exc:
        if bound.expired():
            raise PollTimeoutError(task_id, timeout or 0.0, watch.last) from exc
        raise
    if task.status == AnalyzeTaskStatus.READY:
        return task
    raise TaskFailedError(task)
