"""A task's wire dict into its models at the speed of the JSON parser: every poll, sweep page
and webhook-triggered retrieve decodes tasks, so this is the client's hot path.

The general decoder (cattrs, in ``_convert``) dispatches per field and per optional; most of a
retrieve's CPU went there. This module builds the models directly for the shape the platform
sends, checking each value's exact type on the way. Anything else (a missing key, a bool
where a number belongs, an echo of an unexpected shape, a timestamp that does not parse)
makes :func:`fast_task` answer None, and the caller takes the general path, which raises the
same errors and keeps the same leniency as before. So the fast path decides nothing: it only
skips work when the answer is the one the general path would give (a test compares both).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from ._models import (
    AnalysisMode,
    AnalyzeTaskError,
    AnalyzeTaskResponse,
    AnalyzeTaskResult,
    AnalyzeTaskResultUsage,
    AnalyzeTaskWebhookInfo,
    FinishReason,
    TaskRequestParams,
    VideoSource,
    VideoSystemMetadata,
)
from ._task_status import AnalyzeTaskStatus

__all__ = ["fast_task"]

_STATUSES: Final = {status.value: status for status in AnalyzeTaskStatus}
_FINISH_REASONS: Final = {reason.value: reason for reason in FinishReason}
_MODES: Final = {mode.value: mode for mode in AnalysisMode}


# A field's kind: a plain type the value must be exactly (a bool is not an int here), or a
# function that decodes it.
_Kinds = dict[str, type | Callable[[Any], Any]]


class _Unusual(Exception):
    """This value needs the general path."""


def fast_task(value: Any) -> AnalyzeTaskResponse | None:
    """The task ``value`` describes, or None when only the general path may decide."""
    if type(value) is not dict:
        return None
    try:
        return AnalyzeTaskResponse(**_fields(value, _TASK_FIELDS))
    except (_Unusual, ValueError, TypeError, KeyError, AttributeError):
        # TypeError includes a required field missing: the general path names it.
        return None


def _fields(value: Any, kinds: _Kinds) -> dict[str, Any]:
    """The model's keyword arguments: each known key that is not null, decoded by its kind.
    Unknown keys are ignored, as the general path ignores them."""
    if type(value) is not dict:
        raise _Unusual
    kept = {}
    for name, raw in value.items():
        if raw is None:
            continue
        kind = kinds.get(name)
        if kind is None:
            continue
        if type(kind) is type:  # str, int, bool, dict: kept as is when exactly that type
            if type(raw) is not kind:
                raise _Unusual
            kept[name] = raw
        else:
            kept[name] = kind(raw)
    return kept


def _number(value: Any) -> float:
    if type(value) is not float and type(value) is not int:
        raise _Unusual  # a bool, a string: the general path decides
    return float(value)


def _object(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Unusual
    return value


def _objects(value: Any) -> list[dict[str, Any]]:
    if type(value) is not list:
        raise _Unusual
    return [_object(item) for item in value]


def _tokens(value: Any) -> int | str:
    if type(value) is not int and type(value) is not str:
        raise _Unusual
    return value


def _timestamp(value: Any) -> datetime:
    if type(value) is not str:
        raise _Unusual
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _usage(value: Any) -> AnalyzeTaskResultUsage:
    return AnalyzeTaskResultUsage(**_fields(value, _USAGE_FIELDS))


def _result(value: Any) -> AnalyzeTaskResult:
    return AnalyzeTaskResult(**_fields(value, _RESULT_FIELDS))


def _error(value: Any) -> AnalyzeTaskError:
    return AnalyzeTaskError(**_fields(value, _ERROR_FIELDS))


def _webhooks(value: Any) -> list[AnalyzeTaskWebhookInfo]:
    if type(value) is not list:
        raise _Unusual
    return [AnalyzeTaskWebhookInfo(**_fields(item, _WEBHOOK_FIELDS)) for item in value]


def _system_metadata(value: Any) -> VideoSystemMetadata:
    return VideoSystemMetadata(**_fields(value, _METADATA_FIELDS))


def _video_source(value: Any) -> VideoSource:
    return VideoSource(**_fields(value, _SOURCE_FIELDS))


def _request_params(value: Any) -> TaskRequestParams:
    return TaskRequestParams(**_fields(value, _PARAMS_FIELDS))


# Each model's fields and the kind of value each takes (see the models in _models).
_USAGE_FIELDS: Final[_Kinds] = {"output_tokens": int, "input_tokens": int}
_RESULT_FIELDS: Final[_Kinds] = {
    "generation_id": str,
    "data": str,
    "usage": _usage,
    "finish_reason": _FINISH_REASONS.__getitem__,
}
_ERROR_FIELDS: Final[_Kinds] = {"message": str, "code": str}
_WEBHOOK_FIELDS: Final[_Kinds] = {
    "url": str,
    "delivered": bool,
    "attempts": int,
    "last_error": str,
}
_METADATA_FIELDS: Final[_Kinds] = {"duration": _number}
_SOURCE_FIELDS: Final[_Kinds] = {
    "type": str,
    "url": str,
    "asset_id": str,
    "video_id": str,
    "index_id": str,
    "system_metadata": _system_metadata,
}
_PARAMS_FIELDS: Final[_Kinds] = {
    "analysis_mode": _MODES.__getitem__,
    "prompt": str,
    "prompt_v2": dict,
    "image": _objects,
    "response_format": dict,
    "temperature": _number,
    "max_tokens": _tokens,
    "min_segment_duration": _number,
    "max_segment_duration": _number,
    "start_time": _number,
    "end_time": _number,
}
_TASK_FIELDS: Final[_Kinds] = {
    "task_id": str,
    "status": _STATUSES.__getitem__,
    "created_at": _timestamp,
    "completed_at": _timestamp,
    "result": _result,
    "error": _error,
    "webhooks": _webhooks,
    "custom_id": str,
    "batch_id": str,
    "video_source": _video_source,
    "request_params": _request_params,
}
