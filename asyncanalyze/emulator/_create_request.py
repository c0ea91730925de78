"""A create body checked with the platform's rules, codes and messages, into a CreateRequest.

The entry point for a create: the raw bytes bounded before parsing, then each field checked,
with the media fields, the model rules, segment definitions and the JSON-schema check in
their own modules. Choices where the platform's behaviour is not documented (README,
"Emulator fidelity"):
- Body fields: spec/API.md's five plus the platform's newer optional ones (SDK 1.3.6:
  ``custom_id``, ``model_name``, ``analysis_mode``, ``image``, ``prompt_v2``, segment and window
  fields) are accepted; anything else is ``400 parameter_unknown``.
- ``response_format`` ``segment_definitions`` needs ``analysis_mode: time_based_metadata``, as
  the platform documents; the result is JSON keyed by definition id.
- Bodies that would cost the server far more than their size (docs/emulator.md, "Limits"):
  more than 100,000 JSON values, nesting too deep to walk, or a prompt over 100,000
  characters answer ``400`` before the costly work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._media_fields import checked_images, checked_video, media_sources, without_base64
from ._model_rules import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_SEGMENT_MAX_TOKENS,
    NEWER,
    NEWER_MODELS,
    SEGMENTS,
    UNLIMITED,
    UNLIMITED_TOKENS,
    checked_max_tokens,
    model_and_mode,
)
from ._schema import TIMESTAMP_FORMATS, is_number
from ._schema_check import check_schema
from ._segment_defs import SegmentDefinitions
from ._tokens import count_tokens
from ._wire import ApiProblem, invalid, not_provided, refuse_unknown

MAX_PROMPT_TOKENS = 2000
# Whitespace costs no token in _tokens' count, so length alone cannot show a prompt is
# over the limit, and counting a huge one holds the loop for seconds (60 MB: 7.4 s). No
# tokenizer fits 50 characters in every token: past this length a prompt is over the limit
# without counting, and counting stays a few milliseconds.
MAX_PROMPT_CHARS = MAX_PROMPT_TOKENS * 50
# Parsing makes an object per JSON value: 40 MB of "{}," would be ~13 million dicts
# (~900 MB). A create has a few hundred values (a schema's worth); counting commas and
# brackets in the raw bytes bounds the values from above before anything is parsed.
_MAX_JSON_VALUES = 100_000
MIN_WINDOW_SECONDS = 1
MAX_WINDOW_SECONDS = 7200
MIN_SEGMENT_SECONDS = 2

_BODY_FIELDS = frozenset(
    {
        "video",
        "image",
        "prompt",
        "temperature",
        "max_tokens",
        "response_format",
        "custom_id",
        "model_name",
        "analysis_mode",
        "prompt_v2",
        "min_segment_duration",
        "max_segment_duration",
        "start_time",
        "end_time",
    }
)
_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class CreateRequest:
    request: dict[str, Any]  # what the task keeps and echoes (base64 payload left out)
    base64_payload: str | None  # still encoded: decoding is left to the caller (off the loop)
    output_schema: dict[str, Any] | None  # what result.data must validate against, if JSON


def parse_create(raw: bytes) -> CreateRequest:
    """A create body from its raw bytes: bounded in the values it parses into and in how
    deep any check walks, then checked field by field."""
    if raw.count(b",") + raw.count(b"{") + raw.count(b"[") > _MAX_JSON_VALUES:
        raise invalid("body", "The request body holds too many JSON values.")
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid("body", "The request body is not valid JSON.") from None
    except RecursionError:
        raise _too_deep() from None
    try:
        return validate_create(payload)
    except RecursionError:  # JSON the parser accepts can still be too deep for the checks
        raise _too_deep() from None


def _too_deep() -> ApiProblem:
    return invalid("body", "The request body is nested too deeply.")


def validate_create(body: Any) -> CreateRequest:
    if not isinstance(body, dict):
        raise invalid("body", "The request body must be a JSON object.")
    refuse_unknown(body, _BODY_FIELDS)

    model, mode = model_and_mode(body)

    request: dict[str, Any] = {}
    payload = None
    if "image" in body:
        if "video" in body:
            raise invalid("image", "The video and image parameters are mutually exclusive.")
        request["image"] = checked_images(body["image"], model, mode, body.get("prompt"))
    else:
        request["video"], payload = checked_video(body.get("video"))
    _prompt(body, model, mode, request)

    if "temperature" in body:
        temperature = body["temperature"]
        if not is_number(temperature) or not 0 <= temperature <= 1:
            raise invalid("temperature")
        request["temperature"] = temperature

    output_schema = None
    time_ranges = False
    if "response_format" in body:
        output_schema, time_ranges = _response_format(body["response_format"], model, mode)
        request["response_format"] = body["response_format"]
    elif mode == SEGMENTS:
        raise not_provided("response_format")

    default_tokens = DEFAULT_SEGMENT_MAX_TOKENS if mode == SEGMENTS else DEFAULT_MAX_TOKENS
    request["max_tokens_effective"] = default_tokens
    if "max_tokens" in body:
        request["max_tokens"] = checked_max_tokens(body["max_tokens"], model, mode, time_ranges)
        request["max_tokens_effective"] = (
            UNLIMITED_TOKENS if request["max_tokens"] == UNLIMITED else request["max_tokens"]
        )

    if "custom_id" in body:
        custom_id = body["custom_id"]
        if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
            raise invalid("custom_id")
        request["custom_id"] = custom_id
    for name in ("model_name", "analysis_mode"):
        if name in body:
            request[name] = body[name]
    _segment_and_window(body, model, mode, request, time_ranges)
    return CreateRequest(request=request, base64_payload=payload, output_schema=output_schema)


def _prompt(body: Mapping[str, Any], model: str, mode: str, request: dict[str, Any]) -> None:
    has_prompt, has_v2 = "prompt" in body, "prompt_v2" in body
    if "image" in request and has_v2:
        raise invalid("prompt_v2", "The image and prompt_v2 parameters are mutually exclusive.")
    if mode == SEGMENTS:
        if has_prompt or has_v2:
            raise invalid(
                "prompt" if has_prompt else "prompt_v2",
                f"The {'prompt' if has_prompt else 'prompt_v2'} parameter is not supported when "
                "analysis_mode is time_based_metadata.",
            )
        return
    if has_prompt and has_v2:
        raise invalid("prompt_v2", "The prompt and prompt_v2 parameters are mutually exclusive.")
    if has_v2:
        prompt_v2 = body["prompt_v2"]
        if model not in NEWER_MODELS:
            raise invalid("prompt_v2", f"prompt_v2 requires model_name {NEWER}.")
        if not isinstance(prompt_v2, dict) or not isinstance(prompt_v2.get("input_text"), str):
            raise invalid("prompt_v2")
        refuse_unknown(prompt_v2, ("input_text", "media_sources"), "prompt_v2")
        if "media_sources" in prompt_v2:
            media_sources(prompt_v2["media_sources"], "prompt_v2.media_sources")
        request["prompt_v2"] = without_base64(prompt_v2)
        return
    if not has_prompt:
        raise not_provided("prompt")
    prompt = body["prompt"]
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("prompt")
    # A token is at least one character, so only a long prompt can be over the token limit.
    if len(prompt) > MAX_PROMPT_TOKENS and (
        len(prompt) > MAX_PROMPT_CHARS or count_tokens(prompt) > MAX_PROMPT_TOKENS
    ):
        raise invalid("prompt", "The prompt parameter exceeds the maximum of 2000 tokens.")
    request["prompt"] = prompt


def _segment_and_window(
    body: Mapping[str, Any], model: str, mode: str, request: dict[str, Any], time_ranges: bool
) -> None:
    for name in ("min_segment_duration", "max_segment_duration"):
        allowed = mode == SEGMENTS
        _seconds(
            body, name, request, allowed=allowed, least=MIN_SEGMENT_SECONDS, ranges=time_ranges
        )
    low, high = request.get("min_segment_duration"), request.get("max_segment_duration")
    if low is not None and high is not None and high < low:
        raise invalid("max_segment_duration")
    for name in ("start_time", "end_time"):
        allowed = model in NEWER_MODELS
        _seconds(body, name, request, allowed=allowed, least=0, ranges=time_ranges)
    start, end = request.get("start_time"), request.get("end_time")
    if (
        start is not None
        and end is not None
        and not MIN_WINDOW_SECONDS <= end - start <= MAX_WINDOW_SECONDS
    ):
        raise invalid(
            "end_time",
            "The analysis window (end_time - start_time) must be at least 1 second and at "
            "most 2 hours.",
        )


def _seconds(
    body: Mapping[str, Any],
    name: str,
    request: dict[str, Any],
    *,
    allowed: bool,
    least: float,
    ranges: bool,
) -> None:
    """A seconds field, if sent: a number of at least ``least``, never with time_ranges."""
    if name not in body:
        return
    value = body[name]
    if not allowed or not is_number(value) or value < least:
        raise invalid(name)
    if ranges:
        raise invalid(name, f"The {name} and time_ranges parameters are mutually exclusive.")
    request[name] = value


def _response_format(response_format: Any, model: str, mode: str) -> tuple[dict[str, Any], bool]:
    """The schema result.data follows, and whether segment definitions carry time ranges."""
    if not isinstance(response_format, dict):
        raise invalid("response_format")
    kind = response_format.get("type")
    if kind is None:
        raise not_provided("response_format.type")
    if kind == "json_schema":
        refuse_unknown(response_format, ("type", "json_schema"), "response_format")
        if mode == SEGMENTS:
            raise invalid("response_format.type")
        schema = response_format.get("json_schema")
        if schema is None:
            raise not_provided("response_format.json_schema")
        if not isinstance(schema, dict):
            raise invalid("response_format.json_schema")
        check_schema(schema)
        return schema, False
    if kind == "segment_definitions":
        allowed = ("type", "segment_definitions", "segment_time_format")
        refuse_unknown(response_format, allowed, "response_format")
        if mode != SEGMENTS:
            raise invalid(
                "response_format.type",
                "The response_format.type segment_definitions requires analysis_mode "
                "time_based_metadata.",
            )
        if response_format.get("segment_time_format", "seconds") not in TIMESTAMP_FORMATS:
            raise invalid("response_format.segment_time_format")
        segments = SegmentDefinitions(model)
        schema = segments.schema(response_format.get("segment_definitions"))
        return schema, segments.has_time_ranges
    raise invalid("response_format.type")
