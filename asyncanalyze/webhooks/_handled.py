"""The ids of recently handled webhook events, so a replay is recognised in bounded memory."""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from .._numbers import check_count

__all__ = ["DEFAULT_REMEMBERED_EVENTS", "HandledEvents"]

# A signature stays valid for 5 minutes, so a replay must come within them: 10,000 ids
# (about 1.5 MiB) cover a receiver handling 30 events a second for that whole window.
DEFAULT_REMEMBERED_EVENTS: Final = 10_000


class HandledEvents:
    """The ids of the last ``capacity`` events handled, the oldest forgotten first.

    The platform keeps an event's ``id`` across deliveries: a receiver checks ``event.id in
    handled`` before acting and calls ``handled.add(event.id)`` only once it has handled the
    event, so a delivery that failed is processed again when it comes back. ``capacity=0``
    remembers nothing. Not thread-safe; one per event loop.
    """

    def __init__(self, capacity: int = DEFAULT_REMEMBERED_EVENTS) -> None:
        self.capacity = check_count("capacity", capacity)
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str) -> None:
        if self.capacity == 0:
            return
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)
