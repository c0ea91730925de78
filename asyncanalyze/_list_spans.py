"""What pages of a moving list prove about the tasks missing from them.

A list page is a contiguous slice of the list, newest first, at one instant. So a task in
that list whose ``created_at`` lies strictly between the page's oldest and newest items is on
the page; one that is not has left the list. A task stamped between two pages' spans proves
nothing: tasks that ended above it moved it up (or new ones moved it down) across the boundary
while the pages were fetched one after another. Pure bookkeeping: the walk that fetches pages
lives in ``_sweep``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ._models import AnalyzeTaskResponse

__all__ = ["MIN_STRADDLING_LIMIT", "PAGE_LIMIT", "ListSpans", "StampIndex", "straddling_page"]

# Items per page of a sweep's walk: the most the list endpoint returns.
PAGE_LIMIT: Final = 50
# The smallest page a second look at a seam asks for: one at least this big can centre any
# boundary between pages of 50 within ~10 items.
MIN_STRADDLING_LIMIT: Final = 30


class ListSpans:
    """The created_at spans one walk of one list saw, to tell a finished task from a shifted
    one."""

    __slots__ = ("bottom", "complete", "newest_by_page", "spans", "status", "top")

    def __init__(self, status: str) -> None:
        self.status = status
        self.spans: list[tuple[datetime, datetime]] = []  # (oldest, newest) of each page
        self.newest_by_page: dict[int, datetime] = {}  # the walk's own pages, by number
        self.top: datetime | None = None  # newest of every page seen
        self.bottom: datetime | None = None  # everything older is known absent
        self.complete = False  # walked to the end (or to tasks older than all of ours)

    def add(
        self, page: list[AnalyzeTaskResponse], number: int | None = None
    ) -> tuple[datetime, datetime]:
        """A fetched page: one of the walk's (``number``), or a second look at a seam.
        Returns its (oldest, newest) created_at."""
        stamps = [item.created_at for item in page]
        oldest, newest = min(stamps), max(stamps)
        if self.top is None or newest > self.top:
            self.top = newest
        self.spans.append((oldest, newest))
        if number is not None:
            self.newest_by_page[number] = newest
        return oldest, newest

    def seam_position(self, created_at: datetime) -> int:
        """How many items the list held above the seam a task stamped ``created_at`` fell
        into: the first walked page not newer than it starts there."""
        for number in sorted(self.newest_by_page):
            if self.newest_by_page[number] <= created_at:
                return (number - 1) * PAGE_LIMIT
        return max(self.newest_by_page, default=0) * PAGE_LIMIT

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


class StampIndex:
    """Task ids sorted by created_at, to find in O(log n) the ones a page's span covers."""

    __slots__ = ("_ids", "_stamps")

    def __init__(self, stamped: Iterable[tuple[datetime, str]]) -> None:
        ordered = sorted(stamped)
        self._stamps = [stamp for stamp, _ in ordered]
        self._ids = [task_id for _, task_id in ordered]

    def strictly_inside(self, oldest: datetime, newest: datetime) -> list[str]:
        """The ids stamped strictly between ``oldest`` and ``newest``."""
        low = bisect_right(self._stamps, oldest)
        high = bisect_left(self._stamps, newest)
        return self._ids[low:high]


def straddling_page(position: int) -> tuple[int, int]:
    """``(page, page_limit)`` of the page whose items sit most evenly either side of the
    boundary after ``position`` items: the list's pages of 50 all start on such boundaries,
    so a second look uses a page size (30-50) that puts this one near the middle."""
    best = (position // PAGE_LIMIT + 1, PAGE_LIMIT, -1)
    for limit in range(PAGE_LIMIT, MIN_STRADDLING_LIMIT - 1, -1):
        start = max(position - limit // 2, 0) // limit * limit
        for first in (start, start + limit):
            margin = min(position - first, first + limit - position)
            if first <= position and margin > best[2]:
                best = (first // limit + 1, limit, margin)
    return best[0], best[1]
