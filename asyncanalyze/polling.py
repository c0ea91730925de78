"""The poll scheduler: one per client, shared by every wait (``await_result``, ``as_completed``,
``analyze_many``).

With a few tasks in flight each is polled on its own backoff (:class:`PollPolicy`): the first
poll soon, then gaps that grow to a cap. With many in flight, one *sweep* replaces the
individual polls: it lists the in-progress tasks (``status=queued|pending|processing``, 50 a
page) and retrieves only the tasks that left those lists, i.e. finished. Each finished task
costs one ``retrieve``; watching costs a page per 50 in-flight tasks per sweep instead of a
request per task per poll.

Nothing waits on anything else. The loop only decides what is due; every retrieve, every
awaited status callback and every sweep runs as its own task (tracked, and cancelled when
nobody waits any more or the client closes), so a hung poll, a slow callback or a long sweep
never holds up another wait, a webhook hint or a deadline.

Sweeps are chosen per sweep by cost: from ``bulk_threshold`` tasks waited on, a sweep runs
while the pages the last one needed are fewer than the tasks it watches, i.e. cheaper than
polling each task once per ``bulk_interval`` (so 8 waits among 5,000 other in-progress tasks
of the account are polled one by one on their backoff, and a long-lived app left with one wait
stops sweeping; a task that sweeps watched is then polled at least once per ``bulk_interval``,
so a batch's very last task keeps the sweeps' lag instead of its backoff's). A
sweep never asks for more pages than there are tasks to account for, stops at a repeated
page, and leaves the tasks it could not reach to their own polls.

Detection lag is kept from growing with the batch. A sweep keeps ``_sweep.PAGE_CONCURRENCY``
page requests of a list in flight (the next goes out as soon as one comes back; up to
``_sweep.MAX_PAGE_CONCURRENCY`` when the last walk took over half a sweep interval), through the
client's request path, so the rate gate paces them together with retrieves; a 429 or a failed
page ends that sweep only, and the next starts on schedule. A task that ended is retrieved as
soon as the page proving it comes back, not after the whole walk: 200 pages at 300 ms take
~7.5 s at 8 in flight. Pages fetched concurrently still move under the walk (finished tasks
drop out, later ones move up), which used to cost a wasted retrieve for a running task that
merely shifted past a page boundary. A missing task is now retrieved only when the walk saw
the place where it would be listed (its ``created_at`` inside a fetched page's span, or beyond
an end of a fully walked list). For one in the seam between two pages the walk fetches, at
once, one more page straddling that boundary, so a task that merely moved is found and one
that ended is retrieved in the same sweep: about one page per seam, where waiting for the next
sweep cost a whole sweep interval of lag (max 15.3-16.6 s in 1,000 tasks). A task in a seam
even then, or never seen yet (it has no ``created_at`` to place it by) and missing, is looked
for next sweep, and polled on its own if it is missing again. Why not other designs: polling
every seam task at once cost 1.07 retrieves per task in 3,000; walking windows of 8 pages made
each window wait for its slowest page.

Sweeps keep only what changed: a task listed in the status its waits last saw keeps that
earlier snapshot, so a sweep's 10,000 list items die young instead of being promoted to the
garbage collector's oldest generation. Full collections still cost ~0.2-0.5 s each at 10,000
waits on a slow machine (each wait holds ~30 objects: its task, coroutines, future), mostly
while the batch is being created.

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
import functools
import inspect
import math
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any, Final

from . import _sweep
from ._config import PollPolicy
from ._errors import (
    CLIENT_CLOSED_MESSAGE,
    AnalyzeError,
    APIConnectionError,
    APIStatusError,
    ClientStateError,
    PollTimeoutError,
    RateLimitError,
    TaskFailedError,
)
from ._models import AnalyzeTaskResponse, AnalyzeTaskStatus

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
ListPage = _sweep.ListPage

# From this many distinct tasks in flight a sweep may be cheaper than polling each one.
DEFAULT_BULK_THRESHOLD: Final = 8
# Sweep period: a task is seen at most this long after it finishes (p95 lag ~0.95x of it),
# which keeps detection under 10 s while a 1,000-task batch costs ~1 request per 50 tasks
# per sweep.
DEFAULT_BULK_INTERVAL: Final = 8.0
# Kept for code that imported it from here; the sweep's page size lives in _sweep.
SWEEP_PAGE_LIMIT: Final = _sweep.PAGE_LIMIT
# Retrieves of finished tasks run concurrently, but not as a burst of thousands at once.
_SWEEP_RETRIEVE_CONCURRENCY: Final = 32
# Tasks a sweep hands their list item before it lets the event loop run something else.
_OBSERVE_BATCH: Final = 500
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
        "swept",
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
        self.swept = False
        self.last: AnalyzeTaskResponse | None = None


class PollScheduler:
    """Drives every wait of one client: a loop that decides, and a task per piece of work."""

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
        # When the loop means to look again: work that makes something due sooner wakes it.
        self._planned_wake = -math.inf
        self._next_sweep = -math.inf
        # No wait's deadline is earlier (it may be later than the true earliest, never
        # earlier): the loop looks through every wait for expired ones only from then on.
        self._next_deadline = math.inf
        self._closed = False
        self._bulk = False
        self._sweeps_since_unfiltered_miss = _UNFILTERED_RETRY_SWEEPS
        # Work in flight: one retrieve per task id, a sweep, awaited status callbacks.
        self._polling: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._callbacks: dict[Wait, asyncio.Task[None]] = {}
        self._sweep_retrieves: asyncio.Semaphore | None = None
        # Pages the last sweep needed (None before the first): what a sweep is expected to cost.
        self._sweep_pages: int | None = None
        # Pages a sweep keeps in flight: more when the last walk took over half an interval.
        self._page_concurrency = _sweep.PAGE_CONCURRENCY
        # Tasks the last sweep could not reach: polled on their own until one does.
        self._unswept: set[str] = set()
        self._shifted: set[str] = set()  # in a seam between pages at the last sweep
        # Waited tasks known to have ended: retrieved on the loop's next turn.
        self._ended: set[str] = set()
        # Tasks known to have ended that nobody waited on when we heard; oldest first.
        self._ended_unwaited: OrderedDict[str, None] = OrderedDict()

    # -- registering waits --------------------------------------------------------------------

    def retune(self, sleep: Sleep, bulk_threshold: int, bulk_interval: float) -> None:
        """Settings changed through the client's deprecated setters: the loop's next turn
        uses them."""
        self._sleep = sleep
        self.bulk_threshold = bulk_threshold
        self.bulk_interval = bulk_interval

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
            raise ClientStateError(CLIENT_CLOSED_MESSAGE)
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
        self._next_deadline = min(self._next_deadline, wait.deadline)
        self._waits.setdefault(task_id, []).append(wait)
        if task_id in self._ended_unwaited:
            del self._ended_unwaited[task_id]
            self._ended.add(task_id)
            self._wake()
        # While sweeping, the next sweep covers a new wait: only its deadline needs the loop.
        self._wake_by(wait.deadline if self._bulk else min(wait.due, wait.deadline))
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
                self._unswept.discard(wait.task_id)
                # Nobody waits on this task any more: its poll on the wire stops now.
                poll = self._polling.pop(wait.task_id, None)
                if poll is not None:
                    poll.cancel()
        callback = self._callbacks.pop(wait, None)
        if callback is not None:
            callback.cancel()
        if not wait.future.done():
            wait.future.cancel()
        if not self._waits:
            # Nobody waits any more: polls and a sweep still on the wire are stopped now
            # instead of holding their connections until the server answers.
            self._stop_work()
            if self._runner is not None and not self._runner.done():
                self._runner.cancel()

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
            self._wake()
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
        work = self._stop_work()
        if runner is not None and not runner.done():
            runner.cancel()
            work.append(runner)
        await asyncio.gather(*work, return_exceptions=True)
        for waits in list(self._waits.values()):
            for wait in list(waits):
                _settle(wait, ClientStateError("the client was closed while waiting"))
        self._waits.clear()
        self._ended.clear()
        self._ended_unwaited.clear()
        self._unswept.clear()

    def _stop_work(self) -> list[asyncio.Task[None]]:
        work = [*self._polling.values(), *self._callbacks.values()]
        if self._sweeper is not None:
            work.append(self._sweeper)
        self._polling.clear()
        self._callbacks.clear()
        self._sweeper = None
        for task in work:
            task.cancel()
        return work

    # -- the loop -----------------------------------------------------------------------------

    def _wake(self) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        self._changed.set()

    def _wake_by(self, when: float) -> None:
        """Make sure the loop looks again by ``when``."""
        if when < self._planned_wake or self._changed is None:
            self._wake()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(work, name=name)

    async def _run(self) -> None:
        if self._changed is None:
            self._changed = asyncio.Event()
        try:
            await self._loop()
        finally:
            self._bulk = False
            self._planned_wake = -math.inf

    def _fail_all(self, exc: BaseException) -> None:
        for waits in list(self._waits.values()):
            for wait in list(waits):
                _settle(wait, exc)
        self._drop_settled()

    async def _loop(self) -> None:
        assert self._changed is not None
        while self._waits:
            # Cleared before looking, so work that ends while we look wakes the idle below.
            self._changed.clear()
            self._planned_wake = -math.inf
            # Each turn costs O(1) with 10,000 waits, not a pass over all of them: expired
            # waits are looked for when a deadline is due, settled ones once per sweep.
            if self._clock() >= self._next_deadline:
                self._expire()
            if not self._bulk:
                self._drop_settled()
            if not self._waits:
                break
            if self._ended:
                # A hint for a task whose retrieve is on the wire waits for it to come back:
                # that retrieve may have been answered before the task ended.
                hinted, self._ended = self._ended, set()
                for task_id in hinted:
                    if task_id in self._polling:
                        self._ended.add(task_id)
                    elif task_id in self._waits:
                        self._start_poll(task_id)
            now = self._clock()
            wake = math.inf
            self._bulk = self._sweeping_pays()
            if self._bulk and self._sweeper is None:
                if now >= self._next_sweep:
                    self._sweeper = self._spawn(self._sweep_round(), "asyncanalyze-sweep")
                    # Timed from the sweep's start, so a long sweep does not stretch the lag.
                    self._next_sweep = now + self.bulk_interval
                else:
                    wake = self._next_sweep
            # While sweeping, only the tasks the last sweep could not reach are polled alone.
            for task_id in list(self._unswept) if self._bulk else list(self._waits):
                waits = self._waits.get(task_id)
                if not waits or task_id in self._polling:
                    continue
                due = _due(waits)
                if due <= now:
                    self._start_poll(task_id)
                else:
                    wake = min(wake, due)
            wake = min(wake, self._next_deadline)
            self._planned_wake = wake
            await self._idle(wake - self._clock())

    async def _idle(self, delay: float) -> None:
        if delay <= 0:
            return
        assert self._changed is not None
        waker = asyncio.ensure_future(self._changed.wait())
        if math.isinf(delay):
            # Only work in flight can change anything now: it wakes us when it ends.
            try:
                await waker
            finally:
                waker.cancel()
            return
        sleeper = asyncio.ensure_future(self._sleep(delay))
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
                self._unswept.discard(task_id)

    def _expire(self) -> None:
        now = self._clock()
        earliest = math.inf
        for waits in list(self._waits.values()):
            for wait in waits:
                if wait.future.done():
                    continue
                if wait.deadline <= now:
                    timeout = wait.timeout or 0.0
                    _settle(wait, PollTimeoutError(wait.task_id, timeout, wait.last))
                else:
                    earliest = min(earliest, wait.deadline)
        self._next_deadline = earliest
        self._drop_settled()

    # -- refreshing ---------------------------------------------------------------------------

    def _start_poll(self, task_id: str, *, from_sweep: bool = False) -> None:
        """Retrieve ``task_id`` in a task of its own (one at a time per task id)."""
        if task_id in self._polling:
            return
        poll = self._spawn(self._refresh(task_id, from_sweep), "asyncanalyze-poll")
        self._polling[task_id] = poll
        poll.add_done_callback(functools.partial(self._poll_done, task_id))

    def _poll_done(self, task_id: str, poll: asyncio.Task[None]) -> None:
        if self._polling.get(task_id) is poll:
            del self._polling[task_id]
        # The poll scheduled its waits' next polls itself (waking the loop if sooner).
        if not poll.cancelled() and (error := poll.exception()) is not None:
            # A bug must fail the waits it concerns, not hang them.
            for wait in list(self._waits.get(task_id, ())):
                _settle(wait, error)
            self._wake()
        elif task_id in self._ended:
            self._wake()  # a hint arrived while it was on the wire: retrieve it again

    async def _refresh(self, task_id: str, from_sweep: bool) -> None:
        """Retrieve one task and hand the outcome to its waits."""
        try:
            if from_sweep:
                if self._sweep_retrieves is None:
                    self._sweep_retrieves = asyncio.Semaphore(_SWEEP_RETRIEVE_CONCURRENCY)
                async with self._sweep_retrieves:
                    task = await self._retrieve(task_id)
            else:
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
        self._observe(task_id, task)

    def _observe(self, task_id: str, task: AnalyzeTaskResponse) -> None:
        for wait in list(self._waits.get(task_id, ())):
            if wait.future.done() or wait in self._callbacks:
                continue  # a wait still in its callback looks again at its next poll
            previous, wait.last = wait.last, task
            if wait.callback is not None and (previous is None or previous.status != task.status):
                try:
                    outcome = wait.callback(task)
                except Exception as exc:  # a user's callback failing ends only its own wait
                    _settle(wait, exc)
                    continue
                if inspect.isawaitable(outcome):
                    # Its own task: a slow callback holds up its own wait only.
                    wait.due = math.inf
                    self._callbacks[wait] = self._spawn(
                        self._finish_callback(wait, task, outcome), "asyncanalyze-status-callback"
                    )
                    continue
            self._conclude(wait, task)

    def _swept_task_ended(self, task_id: str) -> None:
        """The walk knows ``task_id`` left the lists: retrieve it now, while the walk goes on."""
        if task_id in self._polling:
            # That poll may have been answered before the task ended: retrieve it again
            # when it comes back (as for a webhook's hint).
            self._ended.add(task_id)
        elif task_id in self._waits:
            self._start_poll(task_id, from_sweep=True)

    def _still_running(self, task_id: str) -> None:
        """A sweep listed ``task_id`` in the status its first wait last saw (the one the sweep
        compared with): a later wait that has not seen that status yet is told now; for the
        others only the next look is planned (their earlier snapshot stays their ``last``)."""
        waits = self._waits.get(task_id, [])
        seen = waits[0].last if waits else None
        if seen is not None and any(
            wait.last is None or wait.last.status != seen.status for wait in waits
        ):
            self._observe(task_id, seen)
            return
        for wait in waits:
            if not wait.future.done() and wait not in self._callbacks:
                self._schedule_next(wait)

    async def _finish_callback(
        self, wait: Wait, task: AnalyzeTaskResponse, outcome: Awaitable[None]
    ) -> None:
        try:
            await outcome
        except Exception as exc:  # a user's callback failing ends only its own wait
            _settle(wait, exc)
            return
        finally:
            self._callbacks.pop(wait, None)
        self._conclude(wait, task)

    def _conclude(self, wait: Wait, task: AnalyzeTaskResponse) -> None:
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
        if self._bulk:
            wait.swept = True
        if wait.swept:
            # A task once watched by sweeps keeps their pace when sweeping stops paying (a
            # batch's last task): its own backoff, grown over a long wait, would see it end
            # up to PollPolicy.max_delay late instead of within a sweep interval.
            gap = min(gap, self.bulk_interval)
        wait.due = self._clock() + gap
        self._wake_by(wait.due)

    # -- sweeps -------------------------------------------------------------------------------

    def _sweeping_pays(self) -> bool:
        """Sweep while the last sweep's pages cost less than polling each task once, the
        price of per-task polls as frequent as sweeps."""
        if not self._bulk and len(self._waits) < self.bulk_threshold:
            return False
        return self._sweep_pages is None or self._sweep_pages < len(self._waits)

    async def _sweep_round(self) -> None:
        try:
            await self._sweep()
        except Exception as exc:  # a bug must fail the waits, not hang them
            self._fail_all(exc)
        finally:
            if self._sweeper is asyncio.current_task():
                self._sweeper = None
            self._wake()

    async def _sweep(self) -> None:
        """Refresh every waited task with in-progress list pages plus one retrieve per task
        that left those lists (it finished, or was never listed)."""
        self._drop_settled()
        if not self._waits:
            return  # every wait ended since the sweep was planned
        # Only tasks this walk looks for: one registered while it pages was not searched
        # for, so its absence says nothing (the next sweep covers it).
        known = {task_id: waits[0].last for task_id, waits in self._waits.items()}
        self._sweeps_since_unfiltered_miss += 1
        started = self._clock()
        try:
            found = await _sweep.scan(
                self._list_page,
                known,
                first_stage=min((_sweep_stage(last) for last in known.values()), default=0),
                try_unfiltered=self._sweeps_since_unfiltered_miss > _UNFILTERED_RETRY_SWEEPS,
                # Never more pages than polling each task once would cost.
                max_pages=len(known) + len(_sweep.IN_PROGRESS) + 1,
                on_ended=self._swept_task_ended,
                again=self._shifted,
                page_concurrency=self._page_concurrency,
            )
        except AnalyzeError as exc:
            if not is_transient(exc):
                self._fail_all(exc)
            return  # a transient failure delays this sweep only
        self._page_concurrency = _sweep.next_page_concurrency(
            self._page_concurrency, self._clock() - started, self.bulk_interval
        )
        if found.unfiltered_missed:
            self._sweeps_since_unfiltered_miss = 0
        self._sweep_pages = found.pages
        for count, (task_id, task) in enumerate(found.seen.items(), 1):
            self._observe(task_id, task)
            if count % _OBSERVE_BATCH == 0:
                await asyncio.sleep(0)  # 10,000 tasks seen: let the loop breathe between
        for count, task_id in enumerate(found.still, 1):
            self._still_running(task_id)
            if count % _OBSERVE_BATCH == 0:
                await asyncio.sleep(0)
        # A task in a seam between pages is looked for again next sweep (most have just moved,
        # and a retrieve would find them running); in a seam twice running, it is polled on
        # its own: alone, a seam task met up to three sweeps of lag (27 s) in 1,000, while
        # polling every seam task at once cost 1.07 retrieves per task at 3,000.
        twice = found.shifted & self._shifted
        self._shifted = found.shifted - twice
        unswept = found.unknown | twice
        self._unswept = {task_id for task_id in unswept if task_id in self._waits}
        if self._unswept:
            self._wake()


def _sweep_stage(last: AnalyzeTaskResponse | None) -> int:
    status = last.status.value if last is not None else None
    stages = _sweep.IN_PROGRESS
    return stages.index(status) if status in stages else 0


def _due(waits: Iterable[Wait]) -> float:
    return min(w.due for w in waits)


def _settle(wait: Wait, exc: BaseException) -> None:
    if not wait.future.done():
        wait.future.set_exception(exc)
        # A waiter that already went away must not leave "exception never retrieved" noise.
        wait.future.exception()
