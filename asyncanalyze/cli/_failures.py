"""Failure reasons of a batch, grouped so that a pattern shows: by error type and code.

Messages often carry a task id or a URL ("task 66a... did not finish within 600 s"), so a
tally by message text would list every failure once. A group's key is the error's type and
its code: the API error code (or HTTP status), the task's ``error.code``, or the request
parameter an ``InvalidRequestError`` names. A failed task usually has no code, only a message;
task messages name the cause, not the task, so the message stands in for the code in the key.
Each group keeps its first message as an example.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from asyncanalyze import APIStatusError, BatchOutcome, InvalidRequestError
from asyncanalyze._errors import task_failure_reason

__all__ = ["FailureGroups", "failure_key"]

# Enough distinct groups for any real batch; past this the rest are counted as one, so a
# stream of novel failures cannot grow memory without bound.
MAX_GROUPS: Final = 1000
_OTHER: Final = ("(other errors)", None, None)
# An example message is for recognising the group, not for reading a whole body.
_EXAMPLE_CHARS: Final = 300


def failure_key(outcome: BatchOutcome) -> tuple[str, str | None, str | None]:
    """(error type, code, the message when a failed task has no code) of a failed outcome."""
    error = outcome.error
    task = outcome.task
    kind = type(error).__name__
    if task is not None and task.error is not None:
        code = task.error.code
        return kind, code, None if code else task_failure_reason(task)
    if isinstance(error, APIStatusError):
        return kind, error.code or str(error.status_code), None
    if isinstance(error, InvalidRequestError):
        return kind, error.parameter, None
    return kind, None, None


def _example(outcome: BatchOutcome) -> str:
    text = outcome.failure_reason or ""
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 1] + "…"


@attrs.define
class _Group:
    count: int
    example: str


@attrs.define
class FailureGroups:
    _groups: dict[tuple[str, str | None, str | None], _Group] = attrs.field(factory=dict)

    def add(self, outcome: BatchOutcome) -> None:
        key = failure_key(outcome)
        if key not in self._groups and len(self._groups) >= MAX_GROUPS:
            key = _OTHER
        group = self._groups.get(key)
        if group is None:
            self._groups[key] = _Group(1, _example(outcome))
        else:
            group.count += 1

    def __bool__(self) -> bool:
        return bool(self._groups)

    def most_common(self, n: int | None = None) -> list[dict[str, Any]]:
        ranked = sorted(self._groups.items(), key=lambda item: -item[1].count)[:n]
        return [
            {"error_type": kind, "code": code, "count": group.count, "example": group.example}
            for (kind, code, _), group in ranked
        ]
