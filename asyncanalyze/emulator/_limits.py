"""Bounds on what many concurrent requests can make the emulator hold: body bytes at once
(``MemoryBudget``) and media fetches at once (``Slots``). Both report what they hold, for
``stats()["limits"]``."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

__all__ = ["MemoryBudget", "Reservation", "Slots"]


class Reservation:
    """Bytes taken from a MemoryBudget; ``release()`` gives back whatever is still held."""

    def __init__(self, budget: MemoryBudget, size: int) -> None:
        self._budget = budget
        self.size = size

    def split(self, size: int) -> Reservation:
        """Move up to ``size`` of these bytes into a reservation of their own (work that
        outlives the request, such as probing the decoded video)."""
        moved = min(size, self.size)
        self.size -= moved
        return Reservation(self._budget, moved)

    def release(self) -> None:
        size, self.size = self.size, 0
        if size:
            self._budget.give(size)


class MemoryBudget:
    """``total`` bytes shared by requests; a request that cannot have its share yet waits,
    in arrival order (so a large body is not starved by a stream of small ones)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.held = 0
        self.peak = 0
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def take(self, size: int) -> Reservation:
        """Wait for ``size`` bytes (at most the whole budget) and hold them."""
        size = min(size, self.total)  # a body larger than the budget runs, but alone
        if not self._waiters and self.held + size <= self.total:
            self._grant(size)
            return Reservation(self, size)
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (size, granted)
        self._waiters.append(entry)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self.give(size)  # granted in the same turn it was cancelled
            else:
                with contextlib.suppress(ValueError):  # _wake may have dropped it already
                    self._waiters.remove(entry)
                self._wake()  # it may have been first in line
            raise
        return Reservation(self, size)

    def give(self, size: int) -> None:
        self.held -= size
        self._wake()

    def reset_peak(self) -> None:
        self.peak = self.held

    def _grant(self, size: int) -> None:
        self.held += size
        self.peak = max(self.peak, self.held)

    def _wake(self) -> None:
        while self._waiters and self.held + self._waiters[0][0] <= self.total:
            size, granted = self._waiters.popleft()
            if granted.done():  # its waiter was cancelled and has not run yet
                continue
            self._grant(size)
            granted.set_result(None)


class Slots:
    """At most ``size`` holders at once; counts those holding and those queued."""

    def __init__(self, size: int) -> None:
        self._free = asyncio.Semaphore(size)
        self.in_flight = 0
        self.queued = 0
        self.peak = 0

    @contextlib.asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        self.queued += 1
        try:
            await self._free.acquire()
        finally:
            self.queued -= 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            yield
        finally:
            self.in_flight -= 1
            self._free.release()

    def reset_peak(self) -> None:
        self.peak = self.in_flight
