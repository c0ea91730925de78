"""The one cattrs converter: wire dicts <-> models. Nothing else in the package imports cattrs.

Decoding is strict about types (a dict is never silently turned into a ``str``) but lenient
about evolution: unknown fields are ignored and unknown enum values are kept as strings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final, TypeVar, get_origin

import attrs
from cattrs import Converter
from cattrs.cols import is_sequence, list_structure_factory
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.strategies import configure_tagged_union

from ._models import (
    AnalysisMode,
    AnalyzeImageInput,
    AnalyzePromptV2,
    AnalyzeTaskResponse,
    AnalyzeTaskStatus,
    AnalyzeTimeRange,
    FinishReason,
    MediaSource,
    ModelName,
    ResponseFormat,
    SegmentDefinition,
    SegmentField,
    SegmentFieldItems,
    SegmentResponseFormat,
    TaskRequestParams,
    VideoContext,
    VideoContext_AssetId,
    VideoContext_Base64String,
    VideoContext_Url,
    VideoSource,
    VideoSystemMetadata,
    WebhookTaskData,
)
from ._task_decoder import fast_task

__all__ = ["WireError", "structure", "unstructure"]

T = TypeVar("T")
_log: Final = logging.getLogger("asyncanalyze")
_OpenEnum = TypeVar("_OpenEnum", AnalyzeTaskStatus, FinishReason, ModelName, AnalysisMode)

# What callers build and send: a dict for one of these (a manifest line) must not carry keys
# the model lacks (a typo would otherwise vanish), and unset fields are not sent.
_INPUTS: Final = (
    AnalyzeImageInput,
    MediaSource,
    AnalyzePromptV2,
    AnalyzeTimeRange,
    SegmentFieldItems,
    SegmentField,
    SegmentDefinition,
    SegmentResponseFormat,
)
# What the platform echoes about a task: informational, so a field of an unexpected shape is
# dropped (None) instead of failing the whole task, whose status and result are what matter.
_ECHOES: Final = (VideoSystemMetadata, VideoSource, TaskRequestParams)

_VIDEO_TAGS: Final[dict[type, str]] = {
    VideoContext_Url: "url",
    VideoContext_AssetId: "asset_id",
    VideoContext_Base64String: "base64_string",
}


class WireError(Exception):
    """A wire value does not fit its model (wrapped into ResponseValidationError upstream)."""


def _strict_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise WireError(f"expected a string, got {type(value).__name__}")
    return value


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise WireError(f"expected an integer, got {type(value).__name__}")
    return value


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WireError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _strict_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise WireError(f"expected a boolean, got {type(value).__name__}")
    return value


def _dict(value: Any, _: type) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"expected an object, got {type(value).__name__}")
    return value


def _is_list_like(cls: Any) -> bool:
    return is_sequence(cls) and cls is not tuple and get_origin(cls) is not tuple


def _strict_list(cls: Any, converter: Converter) -> Callable[[Any, Any], list[Any]]:
    # cattrs' own list hook iterates whatever it gets, so "abc" would become ["a", "b", "c"].
    items = list_structure_factory(cls, converter)

    def structure_list(value: Any, _: Any) -> list[Any]:
        if not isinstance(value, list):
            raise WireError(f"expected an array, got {type(value).__name__}")
        structured: list[Any] = items(value, cls)
        return structured

    return structure_list


def _datetime(value: Any, _: type) -> datetime:
    if not isinstance(value, str):
        raise WireError(f"expected an RFC 3339 timestamp, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    # RFC 3339 always carries an offset; a bare local time would be ambiguous, so read it as UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _open_enum(cls: type[_OpenEnum]) -> Any:
    def structure_enum(value: Any, _: type) -> _OpenEnum:
        if not isinstance(value, str):
            raise WireError(f"expected a string for {cls.__name__}, got {type(value).__name__}")
        return cls(value)

    return structure_enum


def _max_tokens(value: Any, _: Any) -> int | str | None:
    if value is None or isinstance(value, str) or (_is_int(value)):
        return value  # type: ignore[no-any-return]
    raise WireError(f"expected an integer or a string, got {type(value).__name__}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# The input models refer to each other (a time_array field's items hold fields), so their
# functions are built at first use, once every hook they call is registered.


def _strict_input(converter: Converter, cls: type[T]) -> Callable[[Any, Any], T]:
    built: list[Callable[[Any, Any], T]] = []

    def structure_input(value: Any, _: Any) -> T:
        if not built:
            built.append(make_dict_structure_fn(cls, converter, _cattrs_forbid_extra_keys=True))
        return built[0](value, cls)

    return structure_input


def _without_none(converter: Converter, cls: type) -> Callable[[Any], dict[str, Any]]:
    built: list[Callable[[Any], dict[str, Any]]] = []

    def unstructure_input(value: Any) -> dict[str, Any]:
        if not built:
            built.append(make_dict_unstructure_fn(cls, converter))
        return {k: v for k, v in built[0](value).items() if v is not None}

    return unstructure_input


def _lenient(converter: Converter, cls: Any) -> Callable[[Any, Any], Any]:
    fields = attrs.fields(attrs.resolve_types(cls))

    def structure_echo(value: Any, _: Any) -> Any:
        if not isinstance(value, dict):
            return None
        kept: dict[str, Any] = {}
        for field in fields:
            raw = value.get(field.name)
            if raw is None:
                continue
            try:
                kept[field.name] = converter.structure(raw, field.type)
            except Exception as exc:  # any misfit drops this field alone (see _ECHOES)
                _log.debug("ignoring %s.%s: %s", cls.__name__, field.name, exc)
        return cls(**kept)

    return structure_echo


def _make_converter() -> Converter:
    converter = Converter(detailed_validation=False, forbid_extra_keys=False)
    converter.register_structure_hook(str, _strict_str)
    converter.register_structure_hook(int, _strict_int)
    converter.register_structure_hook(float, _strict_float)
    converter.register_structure_hook(bool, _strict_bool)
    converter.register_structure_hook_func(lambda t: t == dict[str, Any], _dict)
    converter.register_structure_hook_factory(
        _is_list_like, lambda cls: _strict_list(cls, converter)
    )
    converter.register_structure_hook(datetime, _datetime)
    converter.register_unstructure_hook(datetime, lambda value: value.isoformat())
    converter.register_structure_hook(AnalyzeTaskStatus, _open_enum(AnalyzeTaskStatus))
    converter.register_structure_hook(FinishReason, _open_enum(FinishReason))
    converter.register_structure_hook(ModelName, _open_enum(ModelName))
    converter.register_structure_hook(AnalysisMode, _open_enum(AnalysisMode))
    converter.register_structure_hook_func(lambda t: t == int | str | None, _max_tokens)
    for given in _INPUTS:
        converter.register_structure_hook(given, _strict_input(converter, given))
        converter.register_unstructure_hook(given, _without_none(converter, given))
    for echo in _ECHOES:
        converter.register_structure_hook(echo, _lenient(converter, echo))
    configure_tagged_union(
        VideoContext,
        converter,
        tag_name="type",
        tag_generator=_VIDEO_TAGS.__getitem__,
    )
    converter.register_unstructure_hook(
        ResponseFormat, lambda fmt: {"type": fmt.type, "json_schema": fmt.json_schema}
    )
    # A webhook's task is ``data.id`` on the wire; ``task_id`` like everywhere else in Python.
    converter.register_structure_hook(
        WebhookTaskData,
        make_dict_structure_fn(WebhookTaskData, converter, task_id=override(rename="id")),
    )
    converter.register_unstructure_hook(
        WebhookTaskData,
        make_dict_unstructure_fn(WebhookTaskData, converter, task_id=override(rename="id")),
    )
    general_task = make_dict_structure_fn(AnalyzeTaskResponse, converter)

    def structure_task(value: Any, _: Any) -> AnalyzeTaskResponse:
        task = fast_task(value)  # the common shape, built directly (see _task_decoder)
        return task if task is not None else general_task(value, AnalyzeTaskResponse)

    converter.register_structure_hook(AnalyzeTaskResponse, structure_task)
    return converter


_converter: Final = _make_converter()


def structure(data: Any, cls: type[T]) -> T:
    """Decode wire data into ``cls``; any mismatch becomes a :class:`WireError`."""
    if cls is AnalyzeTaskResponse:  # every poll: skip the dispatch when the shape is usual
        task = fast_task(data)
        if task is not None:
            return task  # type: ignore[return-value]
    try:
        return _converter.structure(data, cls)
    except WireError:
        raise
    except KeyError as exc:  # a required key is absent
        raise WireError(f"missing key {exc}") from exc
    except Exception as exc:  # cattrs raises KeyError/TypeError/ValueError and its own groups
        raise WireError(f"{type(exc).__name__}: {exc}") from exc


def unstructure(value: Any) -> Any:
    """Encode a model (or a union member such as a VideoContext) as wire data."""
    if isinstance(value, tuple(_VIDEO_TAGS)):
        return _converter.unstructure(value, VideoContext)
    return _converter.unstructure(value)
