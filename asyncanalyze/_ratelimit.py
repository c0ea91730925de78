"""Rate-limit coordination for one client: the senders of a route wait their turn here.

A route (creates apart from polls apart from list pages) that has never been throttled has
no lane, and a send costs one dict lookup. A 429 gives the route a lane: every sender of the
route then waits for the pause the server asked for (``Retry-After``, else the time to
``X-Ratelimit-Reset``) and goes out paced, in arrival order, one per token of a
:class:`~._pacing.Pace` whose rate falls on each throttle and climbs back with time. Without
this, N coroutines that meet a 429 all retry together after the same ``Retry-After``, one of
them gets the freed capacity and N-1 meet another 429: a stampede that burns every retry
budget. Once the rate has climbed far past the last throttle the lane is dropped again.

A sender that is cancelled while it waits simply leaves the queue, so its turn goes to the
next one; :meth:`RateGate.aclose` ends every wait at once with ``ClientStateError``.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Final

from ._errors import ClientStateError, RateLimitError
from ._pacing import Pace
from ._protocol import RateLimitHeaders

__all__ = ["NoSlotInTimeError", "RateGate"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# A 429 that names no wait at all (no Retry-After, no Reset) still holds its route this long.
UNSTATED_PAUSE: Final = 1.0
_CLOSED_MESSAGE: Final = "the client was closed while this request waited for a rate-limit slot"


class NoSlotInTimeError(RateLimitError):
    """The route is paced so that this request could not be sent within its timeout; it was
    not sent. ``retry_after`` is the wait it would have needed."""


class _Waiter:
    __slots__ = ("deadline", "future")

    def __init__(self, future: asyncio.Future[None], deadline: float) -> None:
        self.future = future
        self.deadline = deadline


class _Lane:
    __slots__ = ("bounded", "pace", "runner", "waiters")

    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self.waiters: deque[_Waiter] = deque()
        self.bounded = 0  # waiters with a deadline: only then is the queue scanned for them
        self.runner: asyncio.Task[None] | None = None


class RateGate:
    """The lanes of one client, one per route, on the client's clock and sleep."""

    def __init__(self, clock: Clock, sleep: Sleep, *, max_pause: float) -> None:
        self._clock = clock
        self._sleep = sleep
        self._max_pause = max_pause
        self._lanes: dict[Hashable, _Lane] = {}
        self._closing: asyncio.Future[None] | None = None
        self._closed = False

    def retune(self, sleep: Sleep, *, max_pause: float) -> None:
        """New settings (the client's deprecated setters): later waits use them."""
        self._sleep = sleep
        self._max_pause = max_pause

    # -- the senders' side ---------------------------------------------------------------------

    def admit(self, route: Hashable) -> bool:
        """Take the route's next slot if it is free now (always, for an unthrottled route);
        False means: ``await wait_turn(route)`` before sending."""
        lane = self._lanes.get(route)
        if lane is None:
            return True
        if lane.waiters:
            return False
        now = self._clock()
        if lane.pace.released(now):
            del self._lanes[route]
            return True
        if lane.pace.delay(now) > 0:
            return False
        lane.pace.take(now)
        return True

    async def wait_turn(self, route: Hashable, *, budget: float | None = None) -> None:
        """Wait for this sender's slot on ``route``, at most ``budget`` seconds: a slot that
        cannot come that soon raises :class:`NoSlotInTimeError` at once."""
        if self._closed:
            raise ClientStateError(_CLOSED_MESSAGE)
        lane = self._lanes.get(route)
        if lane is None:
            return
        now = self._clock()
        deadline = math.inf
        if budget is not None:
            eta = lane.pace.eta(now, len(lane.waiters))
            if eta > budget:
                raise _no_slot(eta, budget)
            deadline = now + budget
            lane.bounded += 1
        waiter = _Waiter(asyncio.get_running_loop().create_future(), deadline)
        lane.waiters.append(waiter)
        if lane.runner is None:
            lane.runner = asyncio.get_running_loop().create_task(
                self._serve(route, lane), name="asyncanalyze-rate-gate"
            )
        try:
            await waiter.future
        except asyncio.CancelledError:
            # Let through, but cancelled before it could send: the slot goes to the next one.
            if waiter.future.done() and not waiter.future.cancelled():
                lane.pace.give_back()
            raise
        finally:
            if budget is not None:
                lane.bounded -= 1

    async def sleep(self, seconds: float) -> None:
        """``sleep`` that :meth:`aclose` cuts short with ``ClientStateError`` (retry backoff)."""
        if self._closed:
            raise ClientStateError(_CLOSED_MESSAGE)
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_future()
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        try:
            await asyncio.wait((sleeper, self._closing), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
        if self._closed:
            raise ClientStateError("the client was closed while this request waited to retry")
        sleeper.result()  # a failing sleep function fails the wait

    # -- what the server said ------------------------------------------------------------------

    def limit(self, route: Hashable, per_minute: float) -> None:
        """Never send more than ``per_minute`` requests a minute on ``route`` (evenly spaced)."""
        lane = self._lane(route)
        lane.pace.cap = per_minute / 60.0

    def rate_limited(
        self,
        route: Hashable,
        retry_after: float | None,
        limits: RateLimitHeaders,
        *,
        sent_at: float,
    ) -> None:
        """A 429 on ``route`` for a request sent at ``sent_at``: pause the route for the wait
        the server asked for (``retry_after``, at most ``max_pause``), then pace it to the
        rate its ``limits`` state, if they state one."""
        pause = UNSTATED_PAUSE if retry_after is None else min(retry_after, self._max_pause)
        stated = _stated_rate(limits, pause)
        self._lane(route).pace.throttled(self._clock(), sent_at=sent_at, pause=pause, stated=stated)

    def exhausted(self, route: Hashable, info: RateLimitHeaders) -> None:
        """A 2xx said nothing is left until a reset ``info.reset_in`` ahead (see
        ``_protocol.exhausted_quota``): keep the route until then (at most ``max_pause``) to
        the pace the server states, Limit over the time to Reset, or, stating no Limit, hold
        it until then."""
        if info.reset_in is None or info.reset_in <= 0:
            return
        now = self._clock()
        until = now + min(info.reset_in, self._max_pause)
        if info.limit:
            self._lane(route).pace.hold(now, info.limit / info.reset_in, until)
        else:
            self._lane(route).pace.pause(now, until - now)

    # -- lifetime ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        """End every wait in the gate (and every :meth:`sleep`) with ``ClientStateError``."""
        self._closed = True
        if self._closing is not None and not self._closing.done():
            self._closing.set_result(None)
        runners = []
        for lane in self._lanes.values():
            while lane.waiters:
                future = lane.waiters.popleft().future
                if not future.done():
                    future.set_exception(ClientStateError(_CLOSED_MESSAGE))
            if lane.runner is not None:
                lane.runner.cancel()
                runners.append(lane.runner)
        await asyncio.gather(*runners, return_exceptions=True)

    # -- internals -----------------------------------------------------------------------------

    def _lane(self, route: Hashable) -> _Lane:
        lane = self._lanes.get(route)
        if lane is None:
            lane = self._lanes[route] = _Lane(Pace())
        return lane

    async def _serve(self, route: Hashable, lane: _Lane) -> None:
        """Let the waiters of ``lane`` go, first come first served, as its pace allows."""
        try:
            while True:
                now = self._clock()
                delay = lane.pace.delay(now, backlogged=True)
                if lane.bounded:
                    self._expire(lane, now, delay)
                while lane.waiters and lane.waiters[0].future.done():
                    lane.waiters.popleft()  # cancelled, or out of time
                if not lane.waiters:
                    return
                if delay > 0:
                    await self._sleep(delay)
                    continue
                lane.pace.take(now)
                lane.waiters.popleft().future.set_result(None)
        except Exception as exc:  # a bug must fail the waiters, not hang them
            for waiter in lane.waiters:
                if not waiter.future.done():
                    waiter.future.set_exception(exc)
            lane.waiters.clear()
            raise
        finally:
            lane.runner = None
            if (
                not lane.waiters
                and self._lanes.get(route) is lane
                and lane.pace.released(self._clock())
            ):
                del self._lanes[route]

    def _expire(self, lane: _Lane, now: float, delay: float) -> None:
        """Fail, at once, each waiter whose slot would come after its deadline."""
        rate = lane.pace.rate(now + delay)
        position = 0
        for waiter in lane.waiters:
            if waiter.future.done():
                continue
            eta = delay + position / rate
            if now + eta > waiter.deadline:
                waiter.future.set_exception(_no_slot(eta, waiter.deadline - now))
            else:
                position += 1


def _no_slot(eta: float, budget: float) -> NoSlotInTimeError:
    return NoSlotInTimeError(
        f"not sent: the route is rate-limited and its next free slot is {eta:.3g}s away,"
        f" beyond this request's timeout ({max(budget, 0.0):.3g}s left)",
        status_code=429,
        retry_after=eta,
    )


def _stated_rate(info: RateLimitHeaders, pause: float) -> float | None:
    """Requests a second the server allows after a 429: its ``X-Ratelimit-Limit`` spread
    over the time until its window resets (``X-Ratelimit-Reset``, or the pause if later).
    No window length is assumed: without both headers there is no stated rate."""
    if not info.limit or info.reset_in is None:
        return None
    span = max(info.reset_in, pause)
    return info.limit / span if span > 0 else None
