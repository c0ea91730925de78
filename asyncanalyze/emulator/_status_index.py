"""The tasks still in progress, by owner and status, newest first: what a status-filtered list
reads instead of walking every task the key ever created.

Statuses move with the clock, so the index is brought up to date when it is read: a heap holds
each task's next status change, and reading at ``now`` moves only the tasks whose change came
due (plus those marked changed since: created, resolved, canceled). A task leaves the index
once it ends; lists of ended tasks are rare and walk the store as before.
"""

from __future__ import annotations

import bisect
import heapq
import math

from ._lifecycle import PENDING, PROCESSING, QUEUED, TaskRecord, next_status_change, status_at

IN_PROGRESS = frozenset({QUEUED, PENDING, PROCESSING})


class _Bucket:
    """One owner's tasks in one status: creation numbers kept sorted, oldest first."""

    __slots__ = ("numbers", "records")

    def __init__(self) -> None:
        self.numbers: list[int] = []
        self.records: dict[int, TaskRecord] = {}

    def add(self, number: int, record: TaskRecord) -> None:
        bisect.insort(self.numbers, number)
        self.records[number] = record

    def remove(self, number: int) -> None:
        index = bisect.bisect_left(self.numbers, number)
        if index < len(self.numbers) and self.numbers[index] == number:
            del self.numbers[index]
        self.records.pop(number, None)


class StatusIndex:
    def __init__(self) -> None:
        self._count = 0
        self._number: dict[str, int] = {}  # task id -> creation number
        self._record: dict[str, TaskRecord] = {}  # tasks not known to have ended
        self._status: dict[str, str] = {}  # where each indexed task sits now
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._changes: list[tuple[float, int, str]] = []  # (when, number, task id)
        self._dirty: set[str] = set()

    def add(self, record: TaskRecord) -> None:
        """A new task (in creation order); placed at the next read."""
        self._count += 1
        self._number[record.task_id] = self._count
        self._record[record.task_id] = record
        self._dirty.add(record.task_id)

    def touch(self, record: TaskRecord) -> None:
        """``record`` changed (resolved, canceled): placed again at the next read."""
        if record.task_id in self._record:
            self._dirty.add(record.task_id)

    def remove(self, record: TaskRecord) -> None:
        task_id = record.task_id
        self._take_out(task_id)
        self._record.pop(task_id, None)
        self._number.pop(task_id, None)
        self._dirty.discard(task_id)

    def newest_first(self, owner: str, status: str, now: float) -> list[TaskRecord]:
        """``owner``'s tasks whose status at ``now`` is ``status`` (one in progress)."""
        return self.page(owner, status, now, 0, None)[0]

    def page(
        self, owner: str, status: str, now: float, start: int, count: int | None
    ) -> tuple[list[TaskRecord], int]:
        """``count`` of those tasks (all if None) from the ``start``-th newest; and how many
        there are in all."""
        self._catch_up(now)
        bucket = self._buckets.get((owner, status))
        if bucket is None:
            return [], 0
        numbers, records = bucket.numbers, bucket.records
        total = len(numbers)
        stop = total - start
        first = 0 if count is None else max(0, stop - count)
        return [records[number] for number in reversed(numbers[first : max(stop, 0)])], total

    def _catch_up(self, now: float) -> None:
        for task_id in self._dirty:
            self._place(task_id, now)
        self._dirty.clear()
        changes = self._changes
        while changes and changes[0][0] <= now:
            _, _, task_id = heapq.heappop(changes)
            if task_id in self._record:
                self._place(task_id, now)

    def _place(self, task_id: str, now: float) -> None:
        record = self._record[task_id]
        status = status_at(record, now)
        if status not in IN_PROGRESS:
            self._take_out(task_id)
            del self._record[task_id]
            del self._number[task_id]
            return
        if self._status.get(task_id) != status:
            self._take_out(task_id)
            self._status[task_id] = status
            key = (record.owner, status)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket()
            bucket.add(self._number[task_id], record)
        when = next_status_change(record, now)
        if when is not None:
            # A change the float arithmetic puts at or before now is looked at again later.
            when = max(when, math.nextafter(now, math.inf))
            heapq.heappush(self._changes, (when, self._number[task_id], task_id))

    def _take_out(self, task_id: str) -> None:
        status = self._status.pop(task_id, None)
        if status is None:
            return
        record = self._record[task_id]
        key = (record.owner, status)
        bucket = self._buckets[key]
        bucket.remove(self._number[task_id])
        if not bucket.numbers:
            del self._buckets[key]
