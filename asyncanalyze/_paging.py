"""Guards for walking a paged list whose server may lie: a page that repeats one already
seen (a server ignoring ``page``), or pages that never end.

One home for the rule, shared by ``tasks.iter()`` and the poll scheduler's sweeps: a walk
stops at a repeated page instead of yielding the same tasks for ever, and never asks for
more than its cap of pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = ["MAX_WALK_PAGES", "PageRepeats"]

# The most pages one walk of a list asks for, whatever total_page says: 5 million tasks at
# 50 a page, beyond any real account, yet a server paging for ever stops.
MAX_WALK_PAGES: Final = 100_000


class PageRepeats:
    """Remembers a fingerprint of every page seen (one int each), to spot a repeated page."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: set[int] = set()

    def repeated(self, task_ids: Iterable[str]) -> bool:
        """True when a page with exactly these ids, in this order, was seen before."""
        ids = tuple(task_ids)
        if not ids:
            return False
        fingerprint = hash(ids)
        if fingerprint in self._seen:
            return True
        self._seen.add(fingerprint)
        return False
