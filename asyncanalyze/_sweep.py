"""One sweep's walk of the in-progress lists: which waited tasks are still running, which have
ended (to be retrieved once), and which this walk could not tell about.

Pages go out a few at a time (``PAGE_CONCURRENCY`` in flight, more up to
``MAX_PAGE_CONCURRENCY`` when the last walk took over half a sweep interval; the next one sent
as soon as one comes back) through the caller's ``list_page`` (the client's request path: the
rate gate paces them with every other GET). The lists move while they are walked: a task that
finishes drops out and every later task moves up a place, so one that sat at the top of page
k+1 may be fetched on neither page. A task of ours missing from a list therefore only counts as
ended when its ``created_at`` (known from an earlier look) lies inside the span a fetched page
covered (``_list_spans``), or beyond either end of a fully walked list. A task last seen in the
last in-progress status is reported ended as soon as the page covering it comes back, so its
retrieve does not wait for the rest of the walk. One that falls between two pages' spans may
just have shifted: once the lists are walked, each such seam gets one more page, fetched right
away, sized (30-50 items) so that the boundary sits near its middle; a task that moved a few
places either way is on it, and one that ended lies inside its span (seams of tasks in a seam
at the last sweep too go first, as the looks per sweep are bounded). A task still in a seam
after that is reported as shifted (the scheduler looks for it again next sweep, and polls it on
its own if it is in a seam twice running). A task never seen yet has no ``created_at`` to place
it by: one the status lists did not show is looked for on the unfiltered list's first page (the
newest tasks, in any status), and otherwise reported as shifted too, never as ended because it
was absent.

A server that repeats pages, or pages for ever, cannot make a walk endless: it stops after a
few repeated pages (``_paging.MAX_PAGE_REPEATS``) and after ``max_pages`` requests, and the
tasks it did not reach are reported as unknown (the scheduler polls them on their own).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Final

from ._list_spans import PAGE_LIMIT, ListSpans, StampIndex, straddling_page
from ._models import AnalyzeTaskResponse, TasksListResponse
from ._paging import PageRepeats
from ._task_status import IN_PROGRESS_STATUSES

__all__ = [
    "IN_PROGRESS",
    "MAX_PAGE_CONCURRENCY",
    "PAGE_CONCURRENCY",
    "PAGE_LIMIT",
    "ListPage",
    "SweepScan",
    "next_page_concurrency",
    "scan",
]

ListPage = Callable[[str | None, int, int], Awaitable[TasksListResponse]]
# The in-progress statuses in the order tasks move through them, as the list filter takes them.
IN_PROGRESS: Final = tuple(status.value for status in IN_PROGRESS_STATUSES)
# Pages of one list in flight at once: 10,000 tasks (200 pages) at 150 ms a round trip are
# walked in ~4 s instead of 30 s, without a burst the rate gate would have to queue anyway.
PAGE_CONCURRENCY: Final = 8
# With more pages or a slower network, up to this many: 200 pages at 300 ms take 7.5 s at 8 in
# flight, nearly a whole sweep interval, so the lag grew past it (p95 11 s at 10,000 tasks).
MAX_PAGE_CONCURRENCY: Final = 32
# Second looks at seams per sweep, as many at a time as pages. At 10,000 tasks and 300 ms a
# sweep can leave dozens of seams: 8 looks left ~2,500 tasks in a seam twice running (each a
# retrieve, most of them wasted); 16 cost ~0.1 pages per task more.
MAX_SEAM_LOOKS: Final = 2 * PAGE_CONCURRENCY


class SweepScan:
    """What one walk learnt about the waited tasks."""

    __slots__ = ("ended", "pages", "seen", "shifted", "still", "unfiltered_missed", "unknown")

    def __init__(self) -> None:
        # Ours, listed as in progress in a status not seen before: the item is news.
        self.seen: dict[str, AnalyzeTaskResponse] = {}
        # Ours, listed in the status last seen. Only ids: with 10,000 tasks, holding every
        # item until the sweep ends promoted ~30,000 objects a sweep to the collector's oldest
        # generation, and the full collections that followed stalled the loop for ~0.3 s.
        self.still: set[str] = set()
        self.ended: set[str] = set()  # ours, certainly out of the lists: retrieve them
        self.unknown: set[str] = set()  # ours, beyond what the walk could reach
        # Ours, missing but maybe only moved between two fetched pages.
        self.shifted: set[str] = set()
        self.pages = 0
        self.unfiltered_missed = False


def next_page_concurrency(current: int, took: float, interval: float) -> int:
    """Pages in flight for the next sweep, from how long the last one ``took`` with
    ``current``: enough for a walk of about half the sweep ``interval``, within
    PAGE_CONCURRENCY..MAX_PAGE_CONCURRENCY (the rate gate still paces every page)."""
    wanted = math.ceil(current * took / (interval / 2)) if interval > 0 else PAGE_CONCURRENCY
    return max(PAGE_CONCURRENCY, min(MAX_PAGE_CONCURRENCY, wanted))


async def scan(
    list_page: ListPage,
    known: Mapping[str, AnalyzeTaskResponse | None],
    *,
    first_stage: int,
    try_unfiltered: bool,
    max_pages: int,
    on_ended: Callable[[str], None] = lambda task_id: None,
    again: Collection[str] = (),
    page_concurrency: int | None = None,
) -> SweepScan:
    """Walk the lists for the tasks in ``known`` (id -> last seen, or None); raises the
    listing's AnalyzeError if a page cannot be fetched. ``on_ended`` hears of each task of
    ``SweepScan.ended`` once, as soon as the walk knows, which may be before it returns.
    ``again``: tasks the last walk reported shifted, whose seams are looked at first.
    ``page_concurrency``: pages in flight (PAGE_CONCURRENCY when not given)."""
    concurrency = PAGE_CONCURRENCY if page_concurrency is None else page_concurrency
    walk = _Walk(list_page, known, max_pages, on_ended, again, concurrency)
    return await walk.run(first_stage, try_unfiltered)


class _Walk:
    def __init__(
        self,
        list_page: ListPage,
        known: Mapping[str, AnalyzeTaskResponse | None],
        max_pages: int,
        on_ended: Callable[[str], None],
        again: Collection[str],
        concurrency: int,
    ) -> None:
        self._list_page = list_page
        self._concurrency = concurrency
        self._again = again
        self._known = known
        self._max_pages = max_pages
        self._on_ended = on_ended
        self._missing = set(known)
        self._result = SweepScan()
        stamps = [task.created_at for task in known.values() if task is not None]
        # A task never seen could be older than anything listed: no early stop then.
        self._oldest = min(stamps) if stamps and len(stamps) == len(known) else None

    async def run(self, first_stage: int, try_unfiltered: bool) -> SweepScan:
        result = self._result
        unfiltered_first = len(self._missing) <= PAGE_LIMIT and try_unfiltered
        if unfiltered_first:
            # A batch's tasks are usually the account's newest: one unfiltered page then
            # shows all of them, in progress or finished, for one request instead of three.
            (listing,) = await _all_or_none([self._fetch(None, 1)])
            self._take(listing.data)
            if not self._missing:
                return result
            result.unfiltered_missed = True
        # Statuses only move forward, so walking the lists in that order finds a task that
        # moves on mid-sweep in a later list instead of losing it between two lists.
        walked: list[tuple[int, ListSpans]] = []
        for stage in range(first_stage, len(IN_PROGRESS)):
            if not self._missing:
                break
            walked.append((stage, await self._walk(stage)))
        await self._look_at_seams(walked)
        if not unfiltered_first:
            await self._look_for_new_tasks()
        for task_id in list(self._missing):
            verdicts = self._verdicts(task_id, walked)
            if any(verdict is None for _, verdict in verdicts):
                result.unknown.add(task_id)
            elif all(verdict for _, verdict in verdicts):
                self._ended(task_id)
            else:
                # It may have shifted between two pages: the scheduler decides (see SweepScan).
                result.shifted.add(task_id)
        return result

    def _verdicts(
        self, task_id: str, walked: list[tuple[int, ListSpans]]
    ) -> list[tuple[ListSpans, bool | None]]:
        """Each walked list's say on whether a missing task is gone from it (see says_absent)."""
        last = self._known[task_id]
        stage = _stage_of(last)
        return [
            (
                spans,
                # A task never seen has no created_at to place it by: missing from a whole
                # list, it may as well have moved between two pages as ended (a new task sits
                # in the lists that move most, queued and pending: retrieving each such one at
                # once cost 0.1 retrieves per task in 2,000).
                (False if spans.complete else None)
                if last is None
                else spans.says_absent(last.created_at),
            )
            for list_stage, spans in walked
            if list_stage >= stage
        ]

    async def _look_for_new_tasks(self) -> None:
        """Tasks never seen that the status lists did not show: if a page's worth, look at the
        unfiltered list's first page, where the account's newest tasks are in any status, so
        one that already ended is retrieved now, not a sweep later."""
        new = [task_id for task_id in self._missing if self._known[task_id] is None]
        if not new or len(new) > PAGE_LIMIT or self._result.pages >= self._max_pages:
            return
        (listing,) = await _all_or_none([self._fetch(None, 1)])
        self._take(listing.data)

    async def _look_at_seams(self, walked: list[tuple[int, ListSpans]]) -> None:
        """Fetch once more, right after the walk, the places where missing tasks fell between
        two pages (up to ``MAX_SEAM_LOOKS``, as many at a time as the walk's pages).

        One page straddling each such seam (``straddling_page``) shows the tasks that moved
        across it while the walk went by, and its span settles the ones that are gone. Without
        it a shifted task waited a whole sweep to be looked for again: about two sweep
        intervals of lag (16 s in 1,000 tasks at 150 ms), for ~1 extra page per seam instead.
        """
        seams: dict[tuple[str, int, int], tuple[ListSpans, list[str]]] = {}
        for task_id in self._missing:
            last = self._known[task_id]
            if last is None:
                continue  # never seen: no seam to look at, only whole lists tell
            verdicts = self._verdicts(task_id, walked)
            if any(verdict is None for _, verdict in verdicts):
                continue
            for spans, verdict in verdicts:
                if verdict is False:
                    page, limit = straddling_page(spans.seam_position(last.created_at))
                    seams.setdefault((spans.status, page, limit), (spans, []))[1].append(task_id)
        # A task in a seam at the last sweep too is polled on its own if it is in one again:
        # its seam is looked at first.
        order = sorted(
            seams.items(), key=lambda seam: not any(t in self._again for t in seam[1][1])
        )
        looked = 0
        while order and looked < MAX_SEAM_LOOKS:
            budget = min(self._concurrency, MAX_SEAM_LOOKS - looked)
            budget = min(budget, self._max_pages - self._result.pages)
            # A seam whose tasks an earlier look already found needs no look of its own.
            order = [seam for seam in order if any(t in self._missing for t in seam[1][1])]
            looks, order = order[: max(budget, 0)], order[max(budget, 0) :]
            if not looks:
                return
            looked += len(looks)
            pages = await _all_or_none([self._fetch(*seam) for seam, _ in looks])
            for (_, (spans, _)), listing in zip(looks, pages, strict=True):
                if not listing.data:
                    continue
                self._take(listing.data)
                # Only the last list's look proves a task gone: the walk has moved on past
                # an earlier list, and a task absent from its look may just have moved on to
                # a list already walked (statuses move forward).
                if spans.status == IN_PROGRESS[-1]:
                    spans.add(listing.data)

    async def _walk(self, stage: int) -> ListSpans:
        """One list, a few pages in flight: a page's successor goes out as soon as
        any page comes back, not when the slowest of a window does (with latency spread, a
        window of 8 waits ~1.5x the median round trip)."""
        status = IN_PROGRESS[stage]
        spans = ListSpans(status)
        # Only tasks last seen in this status or an earlier one can be listed here.
        candidates = sum(1 for task_id in self._missing if _stage_of(self._known[task_id]) <= stage)
        if not candidates:
            spans.complete = True
            return spans
        # In the last in-progress list, a task missing from inside a page's span has ended.
        settles = (
            StampIndex(
                (last.created_at, task_id)
                for task_id in self._missing
                if (last := self._known[task_id]) is not None and _stage_of(last) == stage
            )
            if stage == len(IN_PROGRESS) - 1
            else None
        )
        repeats = PageRepeats()
        running: dict[asyncio.Future[TasksListResponse], int] = {}
        end = math.inf  # no page past this one is needed
        next_number = 1
        # The first window: in the last list the tasks last seen there fill about as many
        # pages; an earlier list (queued, pending) is mostly left by now, so page 1 goes alone
        # and its total_page bounds the rest.
        wanted = candidates if settles is not None else 1
        try:
            while True:
                in_flight = min(self._concurrency, -(-wanted // PAGE_LIMIT))
                while (
                    len(running) < in_flight
                    and next_number <= end
                    and self._result.pages < self._max_pages
                ):
                    running[self._fetch(status, next_number)] = next_number
                    next_number += 1
                if not running:
                    # Every page up to the end was read (pages arrive in any order, so the
                    # last one may have come back before page 1 told the total); or the
                    # sweep's pages ran out, and the rest of the list is unknown.
                    spans.complete = spans.complete or next_number > end
                    return spans
                arrived, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for fetch in sorted(arrived, key=running.__getitem__):
                    number = running.pop(fetch)
                    if number > end:
                        _discard(fetch)  # past the end: not needed, even if it failed
                        continue
                    listing = fetch.result()
                    stop = self._read_page(spans, settles, repeats, number, listing)
                    if stop is None:
                        return spans
                    end = min(end, stop)
                for fetch, number in list(running.items()):
                    if number > end:
                        _discard(fetch)
                        del running[fetch]
                wanted = len(self._missing)
                if not self._missing:
                    return spans  # every task of ours is accounted for
        finally:
            for fetch in running:
                _discard(fetch)

    def _read_page(
        self,
        spans: ListSpans,
        settles: StampIndex | None,
        repeats: PageRepeats,
        number: int,
        listing: TasksListResponse,
    ) -> float | None:
        """Take page ``number`` in: the last page the walk still needs (inf: no limit yet),
        or None when the walk must stop here."""
        items = listing.data
        total = listing.page_info.total_page if number == 1 else None
        end = math.inf if total is None else total
        if not items:
            # Past the end (or the list shrank under us): a fuller page before it leaves its
            # older side open.
            spans.complete = True
            return number - 1
        if repeats.repeated(item.task_id for item in items) and repeats.lying:
            return None  # a server ignoring `page`: stop, the rest is unknown
        self._take(items)
        oldest, newest = spans.add(items, number)
        if settles is not None:
            for task_id in settles.strictly_inside(oldest, newest):
                if task_id in self._missing:
                    self._ended(task_id)
        if len(items) < PAGE_LIMIT or number >= end:
            spans.complete = True
            if len(items) < PAGE_LIMIT:
                spans.bottom = oldest
            return number
        if self._oldest is not None and oldest < self._oldest:
            spans.complete = True  # older pages cannot hold one of ours
            spans.bottom = self._oldest
            return number
        return end

    def _take(self, items: list[AnalyzeTaskResponse]) -> None:
        result = self._result
        for item in items:
            if item.task_id not in self._missing:
                continue
            last = self._known[item.task_id]
            # A filtered list shows a shortened task: one that says it ended is retrieved
            # for its result, never settled from the list item.
            if item.status.is_terminal:
                self._ended(item.task_id)
                continue
            self._missing.discard(item.task_id)
            if last is not None and last.status == item.status:
                result.still.add(item.task_id)
            else:
                result.seen[item.task_id] = item

    def _ended(self, task_id: str) -> None:
        self._missing.discard(task_id)
        self._result.ended.add(task_id)
        self._on_ended(task_id)

    def _fetch(
        self, status: str | None, page: int, limit: int = PAGE_LIMIT
    ) -> asyncio.Future[TasksListResponse]:
        """Send one page request now (counted against ``max_pages``)."""
        self._result.pages += 1
        return asyncio.ensure_future(self._list_page(status, page, limit))


async def _all_or_none(
    running: list[asyncio.Future[TasksListResponse]],
) -> list[TasksListResponse]:
    """Every page, or the first error with the other fetches stopped (not left running)."""
    try:
        return await asyncio.gather(*running)
    except BaseException:
        for fetch in running:
            fetch.cancel()
        raise


def _discard(fetch: asyncio.Future[TasksListResponse]) -> None:
    """A page the walk no longer needs: stopped if still on the wire, its error (if it failed
    beside the one that ended the walk) read, so asyncio does not log it as never retrieved."""
    if not fetch.done():
        fetch.cancel()
    elif not fetch.cancelled():
        fetch.exception()


def _stage_of(task: AnalyzeTaskResponse | None) -> int:
    status = task.status.value if task is not None else None
    return IN_PROGRESS.index(status) if status in IN_PROGRESS else 0
