"""Create and list requests checked with the platform's rules, codes and messages.

Choices where the platform's behaviour is not documented (README, "Emulator fidelity"):
- Body fields: the brief's five plus the platform's newer optional ones from the OpenAPI
  (``custom_id``, ``model_name``, ``analysis_mode``, ``prompt_v2``, segment and clip fields) are
  accepted; anything else is ``400 parameter_unknown``.
- ``response_format`` ``segment_definitions`` is accepted with ``model_name: pegasus1.5`` (or
  the newer ``pegasus1.6`` the platform's SDK 1.3.6 lists) and ``analysis_mode:
  time_based_metadata``, as the platform documents; the result is JSON keyed by definition id.
- ``image`` inputs (the platform's SDK 1.3.6, pegasus1.6) are not modeled: ``501``.
- JSON-schema keywords the platform documents as unsupported (``minLength``, ``maxLength``,
  ``additionalProperties``, ``uniqueItems``, ``maxItems``) answer ``422``; a ``timestamp`` type
  without a valid ``format`` answers ``400`` with the platform's message.
- Bodies that would cost the server far more than their size (docs/emulator.md, "Limits"):
  more than 100,000 JSON values, nesting too deep to walk, or a prompt over 100,000
  characters answer ``400`` before the costly work.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import _content
from ._lifecycle import STATUSES
from ._wire import ApiProblem, invalid, not_modeled, not_provided, unknown

MAX_VIDEO_BYTES = 30 * 1024 * 1024
MAX_PROMPT_TOKENS = 2000
# Whitespace costs no token in _content's count, so length alone cannot show a prompt is
# over the limit, and counting a huge one holds the loop for seconds (60 MB: 7.4 s). No
# tokenizer fits 50 characters in every token: past this length a prompt is over the limit
# without counting, and counting stays a few milliseconds.
MAX_PROMPT_CHARS = MAX_PROMPT_TOKENS * 50
# Parsing makes an object per JSON value: 40 MB of "{}," would be ~13 million dicts
# (~900 MB). A create has a few hundred values (a schema's worth); counting commas and
# brackets in the raw bytes bounds the values from above before anything is parsed.
_MAX_JSON_VALUES = 100_000
MODELS = ("pegasus1.2", "pegasus1.5", "pegasus1.6")
# The models with segmentation, clips and prompt_v2 (the OpenAPI names 1.5; the SDK adds 1.6).
_NEWER_MODELS = frozenset({"pegasus1.5", "pegasus1.6"})
_NEWER_MODEL_NAMES = "pegasus1.5 or pegasus1.6"
ANALYSIS_MODES = ("general", "time_based_metadata")
MAX_TOKENS_LIMIT = {"pegasus1.2": 4096, "pegasus1.5": 98304, "pegasus1.6": 98304}
DEFAULT_MAX_TOKENS = 4096
UNLIMITED = "unlimited"  # max_tokens for segmentation with pegasus1.6 (the SDK 1.3.6)
DEFAULT_SEGMENT_MAX_TOKENS = 32768
LIST_STATUSES = STATUSES
MAX_PAGE_LIMIT = 50
DEFAULT_PAGE_LIMIT = 10

_BODY_FIELDS = frozenset(
    {
        "video",
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
_VIDEO_FIELD = {"url": "url", "asset_id": "asset_id", "base64_string": "base64_string"}
_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_UNSUPPORTED_KEYWORDS = {
    "minLength": "String length constraints (minLength) are not supported.",
    "maxLength": "String length constraints (maxLength) are not supported.",
    "additionalProperties": "The additionalProperties keyword is not supported.",
    "uniqueItems": "The uniqueItems keyword is not supported.",
    "maxItems": "The maxItems keyword is not supported.",
}
_TIMESTAMP_FORMATS = _content.TIMESTAMP_FORMATS
_SEGMENT_FIELD_TYPES = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "number": {"type": "number"},
    "integer": {"type": "integer"},
    "timestamp": {"type": "number"},
}
# Base64 of 30 MiB, plus padding: longer text cannot decode to an acceptable size.
_MAX_BASE64_CHARS = (MAX_VIDEO_BYTES + 2) // 3 * 4


@dataclass(frozen=True)
class CreateRequest:
    request: dict[str, Any]  # what the task keeps and echoes (base64 payload left out)
    base64_payload: str | None  # still encoded: decoding is left to the caller (off the loop)
    output_schema: dict[str, Any] | None  # what result.data must validate against, if JSON


@dataclass(frozen=True)
class ListQuery:
    page: int
    page_limit: int
    status: str | None
    video_url: str | None
    asset_id: str | None
    analysis_mode: str | None
    video_id: str | None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
    if "image" in body:
        raise not_modeled("image inputs")
    for name in body:
        if name not in _BODY_FIELDS:
            raise unknown(name)

    model = body.get("model_name", "pegasus1.2")
    if model not in MODELS:
        raise invalid("model_name")
    mode = body.get("analysis_mode", "general")
    if mode not in ANALYSIS_MODES:
        raise invalid("analysis_mode")
    if mode == "time_based_metadata" and model not in _NEWER_MODELS:
        raise invalid(
            "analysis_mode", f"time_based_metadata requires model_name {_NEWER_MODEL_NAMES}."
        )

    request: dict[str, Any] = {}
    video, payload = _video(body.get("video"))
    request["video"] = video
    _prompt(body, model, mode, request)

    if "temperature" in body:
        temperature = body["temperature"]
        if not _is_number(temperature) or not 0 <= temperature <= 1:
            raise invalid("temperature")
        request["temperature"] = temperature

    default_tokens = (
        DEFAULT_SEGMENT_MAX_TOKENS if mode == "time_based_metadata" else DEFAULT_MAX_TOKENS
    )
    if "max_tokens" in body:
        max_tokens = body["max_tokens"]
        if max_tokens == UNLIMITED:
            if mode != "time_based_metadata" or model != "pegasus1.6":
                raise invalid(
                    "max_tokens",
                    "max_tokens unlimited requires analysis_mode time_based_metadata and"
                    " model_name pegasus1.6.",
                )
            default_tokens = MAX_TOKENS_LIMIT[model]  # what the generator may write at most
        elif not _is_int(max_tokens) or not 1 <= max_tokens <= MAX_TOKENS_LIMIT[model]:
            raise invalid("max_tokens")
        request["max_tokens"] = max_tokens
    limit = request.get("max_tokens", default_tokens)
    request["max_tokens_effective"] = default_tokens if limit == UNLIMITED else limit

    output_schema = None
    if "response_format" in body:
        output_schema = _response_format(body["response_format"], model, mode)
        request["response_format"] = body["response_format"]
    elif mode == "time_based_metadata":
        raise not_provided("response_format")

    if "custom_id" in body:
        custom_id = body["custom_id"]
        if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
            raise invalid("custom_id")
        request["custom_id"] = custom_id
    for name in ("model_name", "analysis_mode"):
        if name in body:
            request[name] = body[name]
    _segment_and_clip(body, model, mode, request)
    return CreateRequest(request=request, base64_payload=payload, output_schema=output_schema)


def _video(video: Any) -> tuple[dict[str, Any], str | None]:
    if video is None:
        raise not_provided("video")
    if not isinstance(video, dict):
        raise invalid("video")
    kind = video.get("type")
    if kind is None:
        raise not_provided("video.type")
    field = _VIDEO_FIELD.get(kind) if isinstance(kind, str) else None
    if field is None:
        raise invalid("video.type")
    for name in video:
        if name not in ("type", field):
            raise unknown(f"video.{name}")
    value = video.get(field)
    if value is None:
        raise not_provided(f"video.{field}")
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"video.{field}")
    if kind == "url" and not re.match(r"https?://[^/\s]+", value):
        raise invalid("video.url")
    if kind == "base64_string":
        if len(value) > _MAX_BASE64_CHARS:
            raise _too_large()
        # The payload is not echoed back: the platform reports only the source type.
        return {"type": "base64_string"}, value
    return {"type": kind, field: value}, None


def _too_large() -> ApiProblem:
    return invalid("video.base64_string", "The video.base64_string parameter exceeds 30MB.")


def decode_video(payload: str) -> bytes:
    """The base64 video bytes; slow for large payloads, so callers run it off the event loop."""
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise invalid(
            "video.base64_string", "The video.base64_string parameter is not valid base64."
        ) from None
    if len(data) > MAX_VIDEO_BYTES:
        raise _too_large()
    return data


def _prompt(body: Mapping[str, Any], model: str, mode: str, request: dict[str, Any]) -> None:
    has_prompt, has_v2 = "prompt" in body, "prompt_v2" in body
    if mode == "time_based_metadata":
        if has_prompt or has_v2:
            raise invalid(
                "prompt" if has_prompt else "prompt_v2",
                "Prompts are not supported when analysis_mode is time_based_metadata.",
            )
        return
    if has_prompt and has_v2:
        raise invalid("prompt_v2", "The prompt and prompt_v2 parameters are mutually exclusive.")
    if has_v2:
        prompt_v2 = body["prompt_v2"]
        if model not in _NEWER_MODELS:
            raise invalid("prompt_v2", f"prompt_v2 requires model_name {_NEWER_MODEL_NAMES}.")
        if not isinstance(prompt_v2, dict) or not isinstance(prompt_v2.get("input_text"), str):
            raise invalid("prompt_v2")
        request["prompt_v2"] = prompt_v2
        return
    if not has_prompt:
        raise not_provided("prompt")
    prompt = body["prompt"]
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("prompt")
    # A token is at least one character, so only a long prompt can be over the token limit.
    if len(prompt) > MAX_PROMPT_TOKENS and (
        len(prompt) > MAX_PROMPT_CHARS or _content.count_tokens(prompt) > MAX_PROMPT_TOKENS
    ):
        raise invalid("prompt", "The prompt parameter exceeds the maximum of 2000 tokens.")
    request["prompt"] = prompt


def _segment_and_clip(
    body: Mapping[str, Any], model: str, mode: str, request: dict[str, Any]
) -> None:
    for name in ("min_segment_duration", "max_segment_duration"):
        if name in body:
            value = body[name]
            if mode != "time_based_metadata" or not _is_number(value) or value < 2:
                raise invalid(name)
            request[name] = value
    low, high = request.get("min_segment_duration"), request.get("max_segment_duration")
    if low is not None and high is not None and high < low:
        raise invalid("max_segment_duration")
    for name in ("start_time", "end_time"):
        if name in body:
            value = body[name]
            if model not in _NEWER_MODELS or not _is_number(value) or value < 0:
                raise invalid(name)
            request[name] = value
    start, end = request.get("start_time"), request.get("end_time")
    if start is not None and end is not None and end - start < 4:
        raise invalid("end_time", "The clip (end_time - start_time) must be at least 4 seconds.")


def _response_format(response_format: Any, model: str, mode: str) -> dict[str, Any]:
    if not isinstance(response_format, dict):
        raise invalid("response_format")
    kind = response_format.get("type")
    if kind is None:
        raise not_provided("response_format.type")
    if kind == "json_schema":
        for name in response_format:
            if name not in ("type", "json_schema"):
                raise unknown(f"response_format.{name}")
        if mode == "time_based_metadata":
            raise invalid("response_format.type")
        schema = response_format.get("json_schema")
        if schema is None:
            raise not_provided("response_format.json_schema")
        if not isinstance(schema, dict):
            raise invalid("response_format.json_schema")
        check_schema(schema)
        return schema
    if kind == "segment_definitions":
        for name in response_format:
            if name not in ("type", "segment_definitions", "segment_time_format"):
                raise unknown(f"response_format.{name}")
        if model not in _NEWER_MODELS or mode != "time_based_metadata":
            raise invalid(
                "response_format.type",
                f"segment_definitions requires model_name {_NEWER_MODEL_NAMES} and analysis_mode"
                " time_based_metadata.",
            )
        if response_format.get("segment_time_format", "seconds") not in _TIMESTAMP_FORMATS:
            raise invalid("response_format.segment_time_format")
        return _segment_schema(response_format.get("segment_definitions"))
    raise invalid("response_format.type")


def check_schema(schema: dict[str, Any]) -> None:
    """422 for the keywords the platform refuses, 400 for a schema the generator cannot follow."""
    keyword = _unsupported_keyword(schema)
    if keyword is not None:
        raise ApiProblem(
            422, "parameter_invalid", f"{_content.SCHEMA_PATH}: {_UNSUPPORTED_KEYWORDS[keyword]}"
        )
    problem = _content.schema_problem(schema)
    if problem is not None:
        raise invalid("response_format.json_schema", problem)


def _unsupported_keyword(node: Any) -> str | None:
    if isinstance(node, list):
        for item in node:
            found = _unsupported_keyword(item)
            if found is not None:
                return found
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _UNSUPPORTED_KEYWORDS:
                return str(key)
            # Under "properties" the keys are names the user chose, not keywords.
            children = value.values() if key in ("properties", "$defs") else [value]
            for child in children:
                found = _unsupported_keyword(child)
                if found is not None:
                    return found
    return None


def _segment_schema(definitions: Any) -> dict[str, Any]:
    """The JSON schema a segmentation result follows: definition id -> list of segments."""
    where = "response_format.segment_definitions"
    if definitions is None:
        raise not_provided(where)
    if not isinstance(definitions, list) or not 1 <= len(definitions) <= 20:
        raise invalid(where)
    properties: dict[str, Any] = {}
    for definition in definitions:
        if not isinstance(definition, dict):
            raise invalid(where)
        for name in ("id", "description"):
            if not isinstance(definition.get(name), str) or not definition[name]:
                raise not_provided(f"{where}.{name}")
        metadata: dict[str, Any] = {}
        for field in definition.get("fields") or []:
            if not isinstance(field, dict) or not isinstance(field.get("name"), str):
                raise invalid(f"{where}.fields")
            metadata[field["name"]] = _segment_field_schema(field, f"{where}.fields")
        segment = {
            "type": "object",
            "properties": {
                "start_time": {"type": "number", "minimum": 0},
                "end_time": {"type": "number", "minimum": 0},
                "metadata": {"type": "object", "properties": metadata, "required": list(metadata)},
            },
            "required": ["start_time", "end_time", "metadata"],
        }
        properties[definition["id"]] = {"type": "array", "items": segment, "minItems": 1}
    return {"type": "object", "properties": properties, "required": list(properties)}


def _segment_field_schema(field: dict[str, Any], where: str) -> dict[str, Any]:
    kind = field.get("type")
    if kind == "timestamp" and field.get("format") not in _TIMESTAMP_FORMATS:
        raise invalid(f"{where}.format")
    if kind != "timestamp" and "format" in field:
        raise invalid(f"{where}.format")
    if kind == "array":
        items = field.get("items")
        if not isinstance(items, dict) or items.get("type") not in _SEGMENT_FIELD_TYPES:
            raise invalid(f"{where}.items")
        return {"type": "array", "items": dict(_SEGMENT_FIELD_TYPES[items["type"]])}
    if kind not in _SEGMENT_FIELD_TYPES:
        raise invalid(f"{where}.type")
    schema: dict[str, Any] = dict(_SEGMENT_FIELD_TYPES[kind])
    if isinstance(field.get("enum"), list) and field["enum"]:
        schema = {"type": "string", "enum": list(field["enum"])}
    return schema


def validate_list_query(query: Mapping[str, str]) -> ListQuery:
    page = _positive_int(query, "page", 1)
    page_limit = _positive_int(query, "page_limit", DEFAULT_PAGE_LIMIT)
    if page_limit > MAX_PAGE_LIMIT:
        raise invalid("page_limit")
    status = query.get("status")
    if status is not None and status not in LIST_STATUSES:
        raise invalid("status")
    analysis_mode = query.get("analysis_mode")
    if analysis_mode is not None and analysis_mode not in ANALYSIS_MODES:
        raise invalid("analysis_mode")
    return ListQuery(
        page=page,
        page_limit=page_limit,
        status=status,
        video_url=query.get("video_url"),
        asset_id=query.get("asset_id"),
        analysis_mode=analysis_mode,
        video_id=query.get("video_id"),
    )


def _positive_int(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name) from None
    if value < 1:
        raise invalid(name)
    return value
