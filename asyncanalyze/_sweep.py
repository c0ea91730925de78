"""One sweep's walk of the in-progress lists: which waited tasks are still running, which
have ended (to be retrieved once), and which this walk could not tell about.

Pages go out a few at a time (``PAGE_CONCURRENCY``) through the caller's ``list_page`` (the
client's request path: the rate gate paces them with every other GET). The lists move while
they are walked: a task that finishes drops out and every later task moves up a place, so one
that sat at the top of page k+1 may be fetched on neither page. A task of ours missing from a
list therefore only counts as ended when its ``created_at`` (known from an earlier look) lies
inside the span a fetched page covered, or beyond either end of a fully walked list; one that
falls between two pages' spans may just have shifted, and is reported as such (the scheduler
looks for it again next sweep, and polls it on its own if it is in a seam twice running).
Tasks never seen yet (no ``created_at``) count as
ended only when every list was walked to its end.

A server that repeats pages, or pages for ever, cannot make a walk endless: it stops after a
few repeated pages (``_paging.MAX_PAGE_REPEATS``) and after ``max_pages`` requests, and the tasks it did not reach are reported
as unknown (the scheduler polls them on their own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any, Final

from ._models import AnalyzeTaskResponse, TasksListResponse
from ._paging import PageRepeats
from ._task_status import IN_PROGRESS_STATUSES

__all__ = ["IN_PROGRESS", "PAGE_CONCURRENCY", "PAGE_LIMIT", "ListPage", "SweepScan", "scan"]

ListPage = Callable[[str | None, int, int], Awaitable[TasksListResponse]]

PAGE_LIMIT: Final = 50
# The in-progress statuses in the order tasks move through them, as the list filter takes them.
IN_PROGRESS: Final = tuple(status.value for status in IN_PROGRESS_STATUSES)
# Pages of one list in flight at once: 10,000 tasks (200 pages) at 150 ms a round trip are
# walked in ~4 s instead of 30 s, without a burst the rate gate would have to queue anyway.
PAGE_CONCURRENCY: Final = 8


class SweepScan:
    """What one walk learnt about the waited tasks."""

    __slots__ = ("ended", "pages", "seen", "shifted", "unfiltered_missed", "unknown")

    def __init__(self) -> None:
        self.seen: dict[str, AnalyzeTaskResponse] = {}  # ours, listed as in progress
        self.ended: set[str] = set()  # ours, certainly out of the lists: retrieve them
        self.unknown: set[str] = set()  # ours, beyond what the walk could reach
        # Ours, missing but maybe only moved between two fetched pages.
        self.shifted: set[str] = set()
        self.pages = 0
        self.unfiltered_missed = False


class _Coverage:
    """The created_at spans one walk of one list saw, to tell a finished task from a shifted
    one."""

    __slots__ = ("bottom", "complete", "spans", "top")

    def __init__(self) -> None:
        self.spans: list[tuple[datetime, datetime]] = []  # (oldest, newest) of each page
        self.top: datetime | None = None  # newest on the first page
        self.bottom: datetime | None = None  # everything older is known absent
        self.complete = False  # walked to the end (or to tasks older than all of ours)

    def add(self, page: list[AnalyzeTaskResponse]) -> None:
        stamps = [item.created_at for item in page]
        oldest, newest = min(stamps), max(stamps)
        if self.top is None or newest > self.top:
            self.top = newest
        self.spans.append((oldest, newest))

    def says_absent(self, created_at: datetime) -> bool | None:
        """True: the walk saw where it would be; False: it may have shifted between pages;
        None: the walk stopped before reaching it."""
        if self.top is None or created_at >= self.top:
            return True if self.complete or self.top is not None else None
        # Strictly inside: created_at is only as precise as the server writes it (seconds in
        # the API's examples), so a task stamped like a page's first or last item may sit on
        # the neighbouring page, moved there, not finished.
        if any(oldest < created_at < newest for oldest, newest in self.spans):
            return True
        if self.bottom is not None and created_at < self.bottom:
            return True
        if not self.complete and created_at < min(oldest for oldest, _ in self.spans):
            return None
        return False


async def scan(
    list_page: ListPage,
    known: Mapping[str, AnalyzeTaskResponse | None],
    *,
    first_stage: int,
    try_unfiltered: bool,
    max_pages: int,
) -> SweepScan:
    """Walk the lists for the tasks in ``known`` (id -> last seen, or None); raises the
    listing's AnalyzeError if a page cannot be fetched."""
    walk = _Walk(list_page, known, max_pages)
    return await walk.run(first_stage, try_unfiltered)


class _Walk:
    def __init__(
        self,
        list_page: ListPage,
        known: Mapping[str, AnalyzeTaskResponse | None],
        max_pages: int,
    ) -> None:
        self._list_page = list_page
        self._known = known
        self._max_pages = max_pages
        self._missing = set(known)
        self._result = SweepScan()
        stamps = [task.created_at for task in known.values() if task is not None]
        # A task never seen could be older than anything listed: no early stop then.
        self._oldest = min(stamps) if stamps and len(stamps) == len(known) else None

    async def run(self, first_stage: int, try_unfiltered: bool) -> SweepScan:
        result = self._result
        if len(self._missing) <= PAGE_LIMIT and try_unfiltered:
            # A batch's tasks are usually the account's newest: one unfiltered page then
            # shows all of them, in progress or finished, for one request instead of three.
            listing = await self._fetch(None, 1)
            for item in listing.data:
                if item.task_id in self._missing:
                    self._missing.discard(item.task_id)
                    if item.status.is_terminal:
                        result.ended.add(item.task_id)
                    else:
                        result.seen[item.task_id] = item
            if not self._missing:
                return result
            result.unfiltered_missed = True
        # Statuses only move forward, so walking the lists in that order finds a task that
        # moves on mid-sweep in a later list instead of losing it between two lists.
        coverages: list[tuple[int, _Coverage]] = []
        for stage in range(first_stage, len(IN_PROGRESS)):
            if not self._missing:
                break
            coverage = await self._walk(IN_PROGRESS[stage])
            coverages.append((stage, coverage))
        for task_id in self._missing:
            self._conclude(task_id, coverages)
        return result

    def _conclude(self, task_id: str, coverages: list[tuple[int, _Coverage]]) -> None:
        last = self._known[task_id]
        stage = _stage_of(last)
        verdicts = [
            (coverage.complete or None) if last is None else coverage.says_absent(last.created_at)
            for list_stage, coverage in coverages
            if list_stage >= stage
        ]
        if any(verdict is None for verdict in verdicts):
            self._result.unknown.add(task_id)
        elif all(verdicts):
            self._result.ended.add(task_id)
        else:
            # It may have shifted between two pages: the scheduler decides (see SweepScan).
            self._result.shifted.add(task_id)

    async def _walk(self, status: str) -> _Coverage:
        coverage = _Coverage()
        repeats = PageRepeats()
        result = self._result
        page_number = 1
        total: int | None = None
        while True:
            last_allowed = total if total is not None else page_number + PAGE_CONCURRENCY - 1
            budget = self._max_pages - result.pages
            numbers = range(page_number, min(last_allowed, page_number + budget - 1) + 1)
            if not numbers:
                return coverage  # out of pages for this sweep: what is left is unknown
            # No more pages at once than the tasks still missing could fill.
            wanted_pages = -(-len(self._missing) // PAGE_LIMIT)
            window = numbers[: 1 if page_number == 1 else min(PAGE_CONCURRENCY, wanted_pages)]
            pages = await _all_or_none([self._fetch(status, n) for n in window])
            for number, listing in zip(window, pages, strict=True):
                if number == 1:
                    total = listing.page_info.total_page
                items = listing.data
                if not items:
                    # Past the end (or the list shrank under us): a fuller page before it
                    # leaves its older side open.
                    coverage.complete = True
                    return coverage
                if repeats.repeated(item.task_id for item in items) and repeats.lying:
                    return coverage  # a server ignoring `page`: stop, the rest is unknown
                self._take(items, status)
                coverage.add(items)
                if len(items) < PAGE_LIMIT or (total is not None and number >= total):
                    coverage.complete = True
                    if len(items) < PAGE_LIMIT:
                        coverage.bottom = min(item.created_at for item in items)
                    return coverage
                if not self._missing:
                    return coverage  # every task of ours is accounted for
                if self._oldest is not None and min(i.created_at for i in items) < self._oldest:
                    coverage.complete = True  # older pages cannot hold one of ours
                    coverage.bottom = self._oldest
                    return coverage
            page_number = window[-1] + 1

    def _take(self, items: list[AnalyzeTaskResponse], status: str) -> None:
        result = self._result
        for item in items:
            if item.task_id not in self._missing:
                continue
            self._missing.discard(item.task_id)
            # A filtered list shows a shortened task: one that says it ended is retrieved
            # for its result, never settled from the list item.
            if item.status.is_terminal:
                result.ended.add(item.task_id)
            else:
                result.seen[item.task_id] = item

    async def _fetch(self, status: str | None, page: int) -> TasksListResponse:
        self._result.pages += 1
        return await self._list_page(status, page, PAGE_LIMIT)


async def _all_or_none(
    fetches: list[Coroutine[Any, Any, TasksListResponse]],
) -> list[TasksListResponse]:
    """Every page, or the first error with the other fetches stopped (not left running)."""
    running = [asyncio.ensure_future(fetch) for fetch in fetches]
    try:
        return await asyncio.gather(*running)
    except BaseException:
        for fetch in running:
            fetch.cancel()
        raise


def _stage_of(task: AnalyzeTaskResponse | None) -> int:
    status = task.status.value if task is not None else None
    return IN_PROGRESS.index(status) if status in IN_PROGRESS else 0
