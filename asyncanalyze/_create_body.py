"""The create body: every parameter checked, the rules between them applied, wire names out.

The one path of ``tasks.create`` (its arguments as :class:`CreateArguments`) and of a batch's
``AnalyzeRequest`` (its ``wire_body()``), so a rule lives here once. Fields left at ``OMIT`` are not sent.

Rules between parameters are checked only where the platform documents them without doubt
(SDK 1.3.6 docstrings); the rest is the server's to judge:
- a video or images (``image``, pegasus1.6), never both; images need ``prompt``, not
  ``prompt_v2``, and the prompt refers to all of them or none;
- general analysis (the default) needs ``prompt`` or ``prompt_v2``, not both;
  time_based_metadata takes neither and needs a ``segment_definitions`` response format, which
  needs time_based_metadata in turn;
- ``min_segment_duration``/``max_segment_duration`` (>= 2 s, max >= min) need
  time_based_metadata; ``start_time``/``end_time`` frame a window of 1 s to 2 h; both pairs,
  and ``max_tokens="unlimited"``, exclude ``time_ranges`` in the segment definitions;
- ``max_tokens`` limits depend on the mode (see ``_checks.MAX_TOKENS_LIMIT``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

import attrs

from . import _checks
from ._convert import unstructure
from ._errors import InvalidRequestError
from ._media_inputs import check_images, check_prompt_v2
from ._models import OMIT, Omit, SegmentResponseFormat
from ._segments import SEGMENT_FORMAT_TYPE, SegmentFormat, check_segment_format

__all__ = ["CreateArguments", "CreateFields", "create_body"]

SEGMENTS: Final = _checks.SEGMENTATION
MIN_WINDOW_SECONDS: Final = 1.0
MAX_WINDOW_SECONDS: Final = 7200.0
MIN_SEGMENT_SECONDS: Final = 2.0
_TIME_RANGES: Final = "response_format.segment_definitions[].time_ranges"


class CreateFields(Protocol):
    """The create parameters, as ``AnalyzeRequest`` holds them (OMIT: not given)."""

    @property
    def video(self) -> object: ...
    @property
    def image(self) -> object: ...
    @property
    def prompt(self) -> object: ...
    @property
    def prompt_v2(self) -> object: ...
    @property
    def model_name(self) -> object: ...
    @property
    def analysis_mode(self) -> object: ...
    @property
    def custom_id(self) -> object: ...
    @property
    def temperature(self) -> object: ...
    @property
    def max_tokens(self) -> object: ...
    @property
    def response_format(self) -> object: ...
    @property
    def min_segment_duration(self) -> object: ...
    @property
    def max_segment_duration(self) -> object: ...
    @property
    def start_time(self) -> object: ...
    @property
    def end_time(self) -> object: ...


@attrs.frozen(kw_only=True)
class CreateArguments:
    """The create parameters as ``tasks.create`` received them, unchecked (OMIT: not given)."""

    video: object = OMIT
    image: object = OMIT
    prompt: object = OMIT
    prompt_v2: object = OMIT
    model_name: object = OMIT
    analysis_mode: object = OMIT
    custom_id: object = OMIT
    temperature: object = OMIT
    max_tokens: object = OMIT
    response_format: object = OMIT
    min_segment_duration: object = OMIT
    max_segment_duration: object = OMIT
    start_time: object = OMIT
    end_time: object = OMIT


def create_body(fields: CreateFields) -> dict[str, Any]:
    """The checked create body, or InvalidRequestError naming the first rule broken."""
    model = _checks.check_model_name(fields.model_name)
    given_mode = _checks.check_analysis_mode(fields.analysis_mode)
    mode = _checks.GENERAL if given_mode is OMIT else given_mode
    body: dict[str, Any] = {}
    if model is not OMIT:
        body["model_name"] = model
    if given_mode is not OMIT:
        body["analysis_mode"] = given_mode
    if (custom_id := _checks.check_custom_id(fields.custom_id)) is not OMIT:
        body["custom_id"] = custom_id
    body.update(_source_and_prompt(fields, mode, model))
    if (temperature := _checks.check_temperature(fields.temperature)) is not OMIT:
        body["temperature"] = temperature
    max_tokens = _checks.check_max_tokens(fields.max_tokens, mode=mode, model=model)
    if max_tokens is not OMIT:
        body["max_tokens"] = max_tokens
    segments = _response_format(fields.response_format, mode, model)
    if segments is not None:
        body["response_format"] = segments.wire
    elif fields.response_format is not OMIT:
        body["response_format"] = _checks.check_response_format(fields.response_format)
    time_ranges = segments is not None and segments.has_time_ranges
    if max_tokens == _checks.UNLIMITED and time_ranges:
        raise InvalidRequestError("max_tokens", f"'unlimited' excludes {_TIME_RANGES}")
    body.update(_segment_lengths(fields, mode, time_ranges))
    body.update(_window(fields, time_ranges))
    return body


def _source_and_prompt(fields: CreateFields, mode: str, model: str | Omit) -> dict[str, Any]:
    has_video, has_image = fields.video is not OMIT, fields.image is not OMIT
    has_prompt, has_v2 = fields.prompt is not OMIT, fields.prompt_v2 is not OMIT
    if has_video and has_image:
        raise InvalidRequestError("image", "excludes video: send a video or images, not both")
    if not has_video and not has_image:
        raise InvalidRequestError("video", "is required (or image=[...] with pegasus1.6)")
    if has_image and not has_prompt:
        raise InvalidRequestError("prompt", "is required with image (prompt_v2 is not allowed)")
    if mode == SEGMENTS and (has_prompt or has_v2):
        raise InvalidRequestError(
            "prompt" if has_prompt else "prompt_v2",
            "is not supported with analysis_mode='time_based_metadata': describe the segments"
            " in response_format (SegmentResponseFormat)",
        )
    if has_prompt and has_v2:
        raise InvalidRequestError("prompt_v2", "excludes prompt: send one of them")
    if mode != SEGMENTS and not has_prompt and not has_v2:
        raise InvalidRequestError("prompt", "is required for general analysis (or prompt_v2)")
    body: dict[str, Any] = {}
    prompt = _checks.check_prompt(fields.prompt) if has_prompt else None
    if has_video:
        body["video"] = unstructure(_checks.check_video(fields.video))
    else:
        _checks.check_model_supports(model, "image input", "image")
        body["image"] = check_images(fields.image, prompt)
    if prompt is not None:
        body["prompt"] = prompt
    if has_v2:
        body["prompt_v2"] = check_prompt_v2(fields.prompt_v2)
    return body


def _response_format(value: object, mode: str, model: str | Omit) -> SegmentFormat | None:
    """The segment format, checked; None for none or a JSON-schema one (checked by the caller)."""
    is_segments = isinstance(value, SegmentResponseFormat) or (
        isinstance(value, Mapping) and value.get("type") == SEGMENT_FORMAT_TYPE
    )
    if mode == SEGMENTS and not is_segments:
        raise InvalidRequestError(
            "response_format",
            "must be a SegmentResponseFormat (type 'segment_definitions') with"
            " analysis_mode='time_based_metadata'",
        )
    if not is_segments:
        return None
    if mode != SEGMENTS:
        raise InvalidRequestError(
            "analysis_mode", "must be 'time_based_metadata' with a segment_definitions format"
        )
    segments = check_segment_format(value)
    if segments.has_time_array:
        _checks.check_model_supports(model, "a time_array field", "response_format")
    return segments


def _segment_lengths(fields: CreateFields, mode: str, time_ranges: bool) -> dict[str, float]:
    lengths: dict[str, float] = {}
    for name in ("min_segment_duration", "max_segment_duration"):
        value = getattr(fields, name)
        if value is OMIT:
            continue
        lengths[name] = _checks.check_seconds(name, value, MIN_SEGMENT_SECONDS)
        if mode != SEGMENTS:
            raise InvalidRequestError(name, "needs analysis_mode='time_based_metadata'")
        if time_ranges:
            raise InvalidRequestError(name, f"excludes {_TIME_RANGES}")
    low, high = lengths.get("min_segment_duration"), lengths.get("max_segment_duration")
    if low is not None and high is not None and high < low:
        raise InvalidRequestError(
            "max_segment_duration", f"must be >= min_segment_duration ({low:g}), got {high:g}"
        )
    return lengths


def _window(fields: CreateFields, time_ranges: bool) -> dict[str, float]:
    start, end = fields.start_time, fields.end_time
    if start is OMIT and end is OMIT:
        return {}
    if time_ranges:
        raise InvalidRequestError(
            "start_time" if start is not OMIT else "end_time", f"excludes {_TIME_RANGES}"
        )
    if start is OMIT:
        return {"end_time": _checks.check_seconds("end_time", end, 0)}
    if end is OMIT:
        return {"start_time": _checks.check_seconds("start_time", start, 0)}
    first, last = _checks.check_window(
        "start_time",
        start,
        "end_time",
        end,
        min_length=MIN_WINDOW_SECONDS,
        max_length=MAX_WINDOW_SECONDS,
    )
    return {"start_time": first, "end_time": last}
