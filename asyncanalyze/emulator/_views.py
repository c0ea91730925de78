"""Tasks as the API shows them, rendered once per state: a poll of an unchanged task is a
dict lookup, and a ready task's result is generated once.

Separate from the handlers: the caches outlive requests, and the webhook dispatcher and the
background resolution invalidate them when a task changes.
"""

from __future__ import annotations

import json
from typing import Any

from ._lifecycle import TERMINAL, TaskRecord, terminal_at
from ._output import build_result
from ._wire import task_dict


class TaskViews:
    def __init__(self) -> None:
        self._bodies: dict[str, tuple[str, bytes]] = {}
        self._results: dict[str, dict[str, Any]] = {}

    def retrieve_body(self, record: TaskRecord, status: str) -> bytes:
        """The retrieve answer's body for ``record`` in ``status``, cached per (task, status)."""
        cached = self._bodies.get(record.task_id)
        if cached is not None and cached[0] == status:
            return cached[1]
        body = json.dumps(self.task_dict(record, status, shortened=False)).encode()
        self._bodies[record.task_id] = (status, body)
        return body

    def task_dict(self, record: TaskRecord, status: str, *, shortened: bool) -> dict[str, Any]:
        completed = terminal_at(record) if status in TERMINAL else None
        result = None
        if status == "ready":
            result = self._results.get(record.task_id)
            if result is None:
                result = self._results[record.task_id] = build_result(record)
        return task_dict(record, status, completed, result, shortened=shortened)

    def forget_body(self, record: TaskRecord) -> None:
        """Drop the cached answer: the task changed in a way its status does not show."""
        self._bodies.pop(record.task_id, None)

    def forget(self, task_id: str) -> None:
        """Drop everything cached for a deleted task."""
        self._bodies.pop(task_id, None)
        self._results.pop(task_id, None)
