"""The poll scheduler: one per client, shared by every wait (``await_result``, ``as_completed``,
``analyze_many``).

With a few tasks in flight each is polled on its own backoff (:class:`PollPolicy`): the first
poll soon, then gaps that grow to a cap. With many in flight, one *sweep* replaces the
individual polls: it lists the in-progress tasks (``status=queued|pending|processing``, 50 a
page, skipping statuses none of our tasks can be in, stopping as soon as every waited task is
accounted for or the pages get older than the oldest task waited on) and retrieves only the
tasks that left those lists, i.e. finished. Each finished task costs one ``retrieve``; watching
costs a page per 50 in-flight tasks per sweep instead of a request per task per poll.

Polling has its own policy, separate from request retries: a poll that fails transiently
(connection trouble, 429, 5xx after the request's own retries) is simply tried again later,
while an error that cannot get better (401, 403, 404, a body that does not decode) ends the
waits it concerns at once.

A webhook can cut a wait short: :meth:`PollScheduler.notify_terminal` says a task has ended,
and the loop retrieves it at once (one request for all its waits) instead of at its next poll
or sweep. Polling carries on regardless, so a lost event only costs latency.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Final

from ._config import PollPolicy
from ._errors import (
    AnalyzeError,
    APIConnectionError,
    APIStatusError,
    ClientStateError,
    PollTimeoutError,
    RateLimitError,
    TaskFailedError,
)
from ._models import AnalyzeTaskResponse, AnalyzeTaskStatus, TasksListResponse
from ._task_status import IN_PROGRESS_STATUSES as _IN_PROGRESS

__all__ = [
    "DEFAULT_BULK_INTERVAL",
    "DEFAULT_BULK_THRESHOLD",
    "PollScheduler",
    "StatusCallback",
    "Wait",
    "is_transient",
]

StatusCallback = Callable[[AnalyzeTaskResponse], Awaitable[None] | None]
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
Retrieve = Callable[[str], Awaitable[AnalyzeTaskResponse]]
ListPage = Callable[[str | None, int, int], Awaitable[TasksListResponse]]

# From this many distinct tasks in flight a sweep is cheaper than polling each one.
DEFAULT_BULK_THRESHOLD: Final = 8
# Sweep period: a task is seen at most this long after it finishes (p95 lag ~0.95x of it),
# which keeps detection under 10 s while a 1,000-task batch costs ~1 request per 50 tasks
# per sweep.
DEFAULT_BULK_INTERVAL: Final = 8.0
SWEEP_PAGE_LIMIT: Final = 50
# Retrieves of finished tasks run concurrently, but not as a burst of thousands at once.
_SWEEP_RETRIEVE_CONCURRENCY: Final = 32
# After an unfiltered page missed some of our tasks, sweeps skip it for this many rounds.
_UNFILTERED_RETRY_SWEEPS: Final = 8
# Webhook events for tasks nobody waits on yet are remembered (the event can beat the
# await_result call that follows create), but only this many: events for tasks never waited
# on must not grow memory without bound.
_MAX_TERMINAL_HINTS: Final = 4096


def is_transient(exc: BaseException) -> bool:
    """Errors that a later poll may not see again."""
    if isinstance(exc, APIConnectionError | RateLimitError):
        return True
    if isinstance(exc, APIStatusError):
        return exc.is_transient
    return False


class Wait:
    """One waiter on one task: a future plus its polling state (a few hundred bytes)."""

    __slots__ = (
        "callback",
        "deadline",
        "due",
        "future",
        "last",
        "policy",
        "polls",
        "task_id",
        "timeout",
    )

    def __init__(
        self,
        task_id: str,
        future: asyncio.Future[AnalyzeTaskResponse],
        policy: PollPolicy,
        due: float,
        timeout: float | None,
        callback: StatusCallback | None,
    ) -> None:
        self.task_id = task_id
        self.timeout = timeout
        self.deadline = math.inf
        self.future = future
        self.policy = policy
        self.due = due
        self.callback = callback
        self.polls = 0
        self.last: AnalyzeTaskResponse | None = None


class PollScheduler:
    """Drives every wait of one client from a single background task."""

    def __init__(
        self,
        retrieve: Retrieve,
        list_page: ListPage,
        *,
        sleep: Sleep,
        clock: Clock,
        rng: random.Random,
        bulk_threshold: int = DEFAULT_BULK_THRESHOLD,
        bulk_interval: float = DEFAULT_BULK_INTERVAL,
        clock_is_loop_time: bool = True,
    ) -> None:
        self._retrieve = retrieve
        self._clock_is_loop_time = clock_is_loop_time
        self._list_page = list_page
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self.bulk_threshold = bulk_threshold
        self.bulk_interval = bulk_interval
        self._waits: dict[str, list[Wait]] = {}
        self._runner: asyncio.Task[None] | None = None
        self._changed: asyncio.Event | None = None
        self._next_sweep = -math.inf
        self._closed = False
        self._bulk = False
        self._sweeps_since_unfiltered_miss = _UNFILTERED_RETRY_SWEEPS
        # Waited tasks known to have ended: retrieved on the loop's next turn.
        self._ended: set[str] = set()
        # Tasks known to have ended that nobody waited on when we heard; oldest first.
        self._ended_unwaited: OrderedDict[str, None] = OrderedDict()

    # -- registering waits --------------------------------------------------------------------

    def register(
        self,
        task_id: str,
        *,
        policy: PollPolicy,
        timeout: float | None,
        first_delay: float = 0.0,
        on_status_change: StatusCallback | None = None,
    ) -> Wait:
        """Start waiting on ``task_id``; the returned wait's future settles when it ends."""
        if self._closed:
            raise ClientStateError("this client is closed; create a new one")
        loop = asyncio.get_running_loop()
        now = self._clock()
        wait = Wait(
            task_id,
            loop.create_future(),
            policy,
            due=now + first_delay,
            timeout=timeout,
            callback=on_status_change,
        )
        wait.deadline = math.inf if timeout is None else now + timeout
        self._waits.setdefault(task_id, []).append(wait)
        if task_id in self._ended_unwaited:
            del self._ended_unwaited[task_id]
            self._ended.add(task_id)
        if self._changed is None:
            self._changed = asyncio.Event()
        self._changed.set()
        if self._runner is None or self._runner.done() or self._runner.cancelling():
            self._runner = loop.create_task(self._run(), name="asyncanalyze-poll-scheduler")
        return wait

    def discard(self, wait: Wait) -> None:
        """Stop tracking ``wait`` (after it settled, or because its waiter went away)."""
        waits = self._waits.get(wait.task_id)
        if waits is not None and wait in waits:
            waits.remove(wait)
            if not waits:
                del self._waits[wait.task_id]
        if not wait.future.done():
            wait.future.cancel()
        if not self._waits and self._runner is not None and not self._runner.done():
            # Nobody waits any more: a poll still on the wire is stopped now instead of
            # holding its connection until the server answers (or the request times out).
            self._runner.cancel()
        elif self._changed is not None:
            self._changed.set()  # let the loop notice at once when nothing is left to poll

    async def wait(
        self,
        task_id: str,
        *,
        policy: PollPolicy,
        timeout: float | None,
        first_delay: float = 0.0,
        on_status_change: StatusCallback | None = None,
    ) -> AnalyzeTaskResponse:
        """Wait for ``task_id`` to be ready (raises TaskFailedError / PollTimeoutError)."""
        wait = self.register(
            task_id,
            policy=policy,
            timeout=timeout,
            first_delay=first_delay,
            on_status_change=on_status_change,
        )
        # In loop time the deadline also bounds a poll in flight; a test's fake clock must not
        # be mixed with real seconds, so there the scheduler's own deadline check is enough.
        bound = timeout if self._clock_is_loop_time else None
        try:
            async with asyncio.timeout(bound):
                return await wait.future
        except TimeoutError as exc:
            if isinstance(exc, PollTimeoutError):
                raise
            raise PollTimeoutError(task_id, timeout or 0.0, wait.last) from exc
        finally:
            self.discard(wait)

    def notify_terminal(self, task_id: str) -> None:
        """``task_id`` has ended (a webhook said so): retrieve it now for every wait on it.

        The task is still retrieved (the event carries no result, and a retrieve confirms
        it), once, on the loop's next turn; until then, and if that retrieve still shows it
        running, the usual polling goes on. For a task nobody waits on yet the news is kept
        (a bounded number of them) for the wait that follows.
        """
        if self._closed:
            return
        if task_id in self._waits:
            self._ended.add(task_id)
            if self._changed is not None:
                self._changed.set()
            return
        self._ended_unwaited[task_id] = None
        self._ended_unwaited.move_to_end(task_id)
        while len(self._ended_unwaited) > _MAX_TERMINAL_HINTS:
            self._ended_unwaited.popitem(last=False)

    @property
    def in_flight(self) -> int:
        """Distinct tasks currently waited on."""
        return len(self._waits)

    async def aclose(self) -> None:
        """Stop polling and end every remaining wait with ClientStateError."""
        self._closed = True
        runner, self._runner = self._runner, None
        if runner is not None and not runner.done():
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)
        for waits in list(self._waits.values()):
            for wait in list(waits):
                _settle(wait, ClientStateError("the client was closed while waiting"))
        self._waits.clear()
        self._ended.clear()
        self._ended_unwaited.clear()

    # -- the loop -----------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._changed is not None
        try:
            await self._loop()
        finally:
            self._bulk = False

    def _fail_all(self, exc: BaseException) -> None:
        for waits in list(self._waits.values()):
            for wait in list(waits):
                _settle(wait, exc)
        self._drop_settled()

    async def _loop(self) -> None:
        assert self._changed is not None
        while self._waits:
            # Cleared before looking, so a wait registered while we work wakes the idle below.
            self._changed.clear()
            self._drop_settled()
            self._expire()
            if not self._waits:
                break
            if self._ended:
                ended = [tid for tid in self._ended if tid in self._waits]
                self._ended.clear()
                if ended:
                    await asyncio.gather(*(self._refresh(tid) for tid in ended))
                    continue
            # Once a batch made us sweep, keep sweeping until it drains: falling back to
            # per-task backoff for its last tasks would stretch their detection lag.
            self._bulk = len(self._waits) >= self.bulk_threshold or self._bulk
            if self._bulk:
                started = self._clock()
                if started >= self._next_sweep:
                    try:
                        await self._sweep()
                    except Exception as exc:  # a bug must fail the waits, not hang them
                        self._fail_all(exc)
                    # Timed from the sweep's start, so a long sweep does not stretch the lag.
                    self._next_sweep = started + self.bulk_interval
                wake = self._next_sweep
            else:
                now = self._clock()
                due = [tid for tid, waits in self._waits.items() if _due(waits) <= now]
                if due:
                    await asyncio.gather(*(self._refresh(tid) for tid in due))
                    continue
                wake = min(_due(waits) for waits in self._waits.values())
            wake = min(wake, self._earliest_deadline())
            await self._idle(wake - self._clock())

    async def _idle(self, delay: float) -> None:
        if delay <= 0:
            return
        assert self._changed is not None
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    def _drop_settled(self) -> None:
        for task_id in [tid for tid, ws in self._waits.items() if any(w.future.done() for w in ws)]:
            live = [w for w in self._waits[task_id] if not w.future.done()]
            if live:
                self._waits[task_id] = live
            else:
                del self._waits[task_id]

    def _expire(self) -> None:
        now = self._clock()
        for waits in list(self._waits.values()):
            for wait in list(waits):
                if wait.deadline <= now:
                    timeout = wait.timeout or 0.0
                    _settle(wait, PollTimeoutError(wait.task_id, timeout, wait.last))
        self._drop_settled()

    def _earliest_deadline(self) -> float:
        return min((w.deadline for ws in self._waits.values() for w in ws), default=math.inf)

    # -- refreshing ---------------------------------------------------------------------------

    async def _refresh(self, task_id: str) -> None:
        """Retrieve one task and hand the outcome to its waits."""
        try:
            task = await self._retrieve(task_id)
        except Exception as exc:  # anything else ends these waits, never the whole loop
            waits = self._waits.get(task_id, ())
            if is_transient(exc):
                for wait in waits:
                    self._schedule_next(wait)
            else:
                for wait in list(waits):
                    _settle(wait, exc)
            return
        await self._observe(task_id, task)

    async def _observe(self, task_id: str, task: AnalyzeTaskResponse) -> None:
        for wait in list(self._waits.get(task_id, ())):
            if wait.future.done():
                continue
            previous, wait.last = wait.last, task
            if wait.callback is not None and (previous is None or previous.status != task.status):
                try:
                    outcome = wait.callback(task)
                    if inspect.isawaitable(outcome):
                        await outcome
                except Exception as exc:  # a user's callback failing ends only its own wait
                    _settle(wait, exc)
                    continue
            if task.status.is_terminal:
                if task.status == AnalyzeTaskStatus.READY:
                    if not wait.future.done():
                        wait.future.set_result(task)
                else:
                    _settle(wait, TaskFailedError(task))
            else:
                self._schedule_next(wait)

    def _schedule_next(self, wait: Wait) -> None:
        wait.polls += 1
        gap = wait.policy.next_gap(wait.polls, self._rng)
        wait.due = self._clock() + gap

    async def _sweep(self) -> None:
        """Refresh every waited task with in-progress list pages plus one retrieve per task
        that left those lists (it finished, or was never listed)."""
        scanned = set(self._waits)
        seen = await self._scan_in_progress(scanned)
        if seen is None:
            return
        for task_id, task in seen.items():
            await self._observe(task_id, task)
        # Only tasks this scan looked for: one registered while it paged was not searched for,
        # so its absence says nothing (the next sweep covers it).
        finished = [tid for tid in scanned if tid in self._waits and tid not in seen]
        limiter = asyncio.Semaphore(_SWEEP_RETRIEVE_CONCURRENCY)

        async def refresh_bounded(task_id: str) -> None:
            async with limiter:
                await self._refresh(task_id)

        await asyncio.gather(*(refresh_bounded(tid) for tid in finished))

    async def _scan_in_progress(self, wanted: set[str]) -> dict[str, AnalyzeTaskResponse] | None:
        """The waited tasks found in the in-progress lists; None if listing failed."""
        missing = set(wanted)
        seen: dict[str, AnalyzeTaskResponse] = {}
        if len(missing) <= SWEEP_PAGE_LIMIT and self._unfiltered_worth_trying():
            # A batch's tasks are usually the account's newest: one unfiltered page then
            # shows all of them, in progress or finished, for one request instead of three.
            try:
                listing = await self._list_page(None, 1, SWEEP_PAGE_LIMIT)
            except AnalyzeError as exc:
                if not is_transient(exc):
                    self._fail_all(exc)
                return None
            for item in listing.data:
                if item.task_id in missing:
                    missing.discard(item.task_id)
                    if not item.status.is_terminal:
                        seen[item.task_id] = item
            if not missing:
                return seen
            self._sweeps_since_unfiltered_miss = 0
        oldest = self._oldest_created_at()
        # Statuses only move forward, so scanning in that order finds a task that moves on
        # mid-sweep in the later list instead of losing it between two lists. Lists before
        # the earliest status any waited task was last seen in cannot hold one of ours.
        for status in _IN_PROGRESS[self._earliest_stage() :]:
            page = 1
            while missing:
                try:
                    listing = await self._list_page(status, page, SWEEP_PAGE_LIMIT)
                except AnalyzeError as exc:
                    if not is_transient(exc):
                        self._fail_all(exc)
                    return None
                for item in listing.data:
                    if item.task_id in missing:
                        missing.discard(item.task_id)
                        seen[item.task_id] = item
                if _last_page(listing, page) or (
                    oldest is not None and listing.data[-1].created_at < oldest
                ):
                    break
                page += 1
        return seen

    def _unfiltered_worth_trying(self) -> bool:
        self._sweeps_since_unfiltered_miss += 1
        return self._sweeps_since_unfiltered_miss > _UNFILTERED_RETRY_SWEEPS

    def _earliest_stage(self) -> int:
        stage = len(_IN_PROGRESS) - 1
        for waits in self._waits.values():
            last = waits[0].last
            status = last.status.value if last is not None else None
            stage = min(stage, _IN_PROGRESS.index(status) if status in _IN_PROGRESS else 0)
            if stage == 0:
                break
        return stage

    def _oldest_created_at(self) -> datetime | None:
        oldest: datetime | None = None
        for waits in self._waits.values():
            last = waits[0].last
            if last is None:
                return None  # a task never seen could be older than everything listed
            if oldest is None or last.created_at < oldest:
                oldest = last.created_at
        return oldest


def _due(waits: Iterable[Wait]) -> float:
    return min(w.due for w in waits)


def _last_page(listing: TasksListResponse, page: int) -> bool:
    return listing.is_last_page(page, SWEEP_PAGE_LIMIT)


def _settle(wait: Wait, exc: BaseException) -> None:
    if not wait.future.done():
        wait.future.set_exception(exc)
        # A waiter that already went away must not leave "exception never retrieved" noise.
        wait.future.exception()
