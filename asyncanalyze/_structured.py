"""Typed structured output: a ``json_schema`` task's result as an instance of your class."""

from __future__ import annotations

from typing import TypeVar

from ._convert import WireError, structure
from ._errors import InvalidRequestError, ResultParseError
from ._models import AnalyzeTaskResponse, AnalyzeTaskResult

__all__ = ["parse_result"]

T = TypeVar("T")


def parse_result(task: AnalyzeTaskResponse | AnalyzeTaskResult, cls: type[T]) -> T:
    """The result's JSON text structured into ``cls`` (an attrs class or dataclass, a
    ``list[...]``, ``dict[str, ...]``, ...) by the SDK's converter::

        @attrs.frozen
        class Summary:
            title: str
            topics: list[str]

        summary = asyncanalyze.parse_result(task, Summary)

    Keys the class does not declare are ignored; values are not coerced (a number where a
    ``str`` is declared is an error). Raises :class:`ResultParseError` (``.text``,
    ``.target``) when the text is not JSON or does not fit ``cls``, and InvalidRequestError
    for a task without a result (not ``ready``).
    """
    if isinstance(task, AnalyzeTaskResponse):
        if task.result is None:
            raise InvalidRequestError(
                "task", f"task {task.task_id} has no result (status {task.status.value})"
            )
        result = task.result
    elif isinstance(task, AnalyzeTaskResult):
        result = task
    else:
        raise InvalidRequestError(
            "task", f"must be an AnalyzeTaskResponse or AnalyzeTaskResult, got {type(task)}"
        )
    value = result.json()
    try:
        return structure(value, cls)
    except WireError as exc:
        name = getattr(cls, "__qualname__", None) or repr(cls)
        raise ResultParseError(
            f"result.data does not fit {name}: {exc}", text=result.data, target=cls
        ) from None
