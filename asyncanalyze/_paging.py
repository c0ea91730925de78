"""Guards for walking a paged list whose server may lie: pages that repeat ones already seen
(a server ignoring ``page``), or pages that never end.

One home for the rule, shared by ``tasks.iter()`` and the poll scheduler's sweeps: a repeated
page brings nothing new and is skipped, a walk stops after a few of them instead of yielding
the same tasks for ever, and it never asks for more than its cap of pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = ["MAX_PAGE_REPEATS", "MAX_WALK_PAGES", "PageRepeats"]

# The most pages one walk of a list asks for, whatever total_page says: 5 million tasks at
# 50 a page, beyond any real account, yet a server paging for ever stops.
MAX_WALK_PAGES: Final = 100_000


# Repeated pages a walk goes past before it stops. A list that moves while it is walked can
# repeat a page honestly (exactly a page of tasks created between two requests), but hardly
# three times over; a server ignoring ``page`` repeats every one.
MAX_PAGE_REPEATS: Final = 3


class PageRepeats:
    """Remembers a fingerprint of every page seen (one int each), to spot repeated pages."""

    __slots__ = ("_seen", "repeats")

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self.repeats = 0

    def repeated(self, task_ids: Iterable[str]) -> bool:
        """True when a page with exactly these ids, in this order, was seen before (its
        tasks were all seen then: nothing on it is new)."""
        ids = tuple(task_ids)
        if not ids:
            return False
        fingerprint = hash(ids)
        if fingerprint in self._seen:
            self.repeats += 1
            return True
        self._seen.add(fingerprint)
        return False

    @property
    def lying(self) -> bool:
        """Too many repeats for a list that merely moves: the walk should stop."""
        return self.repeats >= MAX_PAGE_REPEATS
