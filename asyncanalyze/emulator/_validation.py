"""Create and list requests checked with the platform's rules, codes and messages.

Choices where the platform's behaviour is not documented (README, "Emulator fidelity"):
- Body fields: the brief's five plus the platform's newer optional ones (SDK 1.3.6:
  ``custom_id``, ``model_name``, ``analysis_mode``, ``image``, ``prompt_v2``, segment and window
  fields) are accepted; anything else is ``400 parameter_unknown``.
- Models: ``pegasus1.2`` (the brief's model, and the default here: its limits are the brief's,
  max_tokens 1-4,096) and the platform's ``pegasus1.5`` and ``pegasus1.6`` with the platform's
  rules: time_based_metadata, ``prompt_v2`` and the analysis window need one of those two;
  ``image``, ``max_tokens: "unlimited"`` and ``time_array`` fields need pegasus1.6.
- ``response_format`` ``segment_definitions`` needs ``analysis_mode: time_based_metadata``, as
  the platform documents; the result is JSON keyed by definition id.
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
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from . import _content
from ._lifecycle import STATUSES
from ._wire import ApiProblem, invalid, not_provided, unknown

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
DEFAULT_MODEL = "pegasus1.2"
MODELS = (DEFAULT_MODEL, "pegasus1.5", "pegasus1.6")
_NEWER_MODELS = ("pegasus1.5", "pegasus1.6")
_LATEST_MODEL = "pegasus1.6"
ANALYSIS_MODES = ("general", "time_based_metadata")
SEGMENTS = "time_based_metadata"
# (lowest, highest) max_tokens per model and mode; a missing pair is a mode the model lacks.
MAX_TOKENS_RANGE = {
    ("pegasus1.2", "general"): (1, 4096),
    ("pegasus1.5", "general"): (512, 98304),
    ("pegasus1.5", SEGMENTS): (2048, 98304),
    ("pegasus1.6", "general"): (512, 98304),
    ("pegasus1.6", SEGMENTS): (2048, 98304),
}
UNLIMITED = "unlimited"
# What "unlimited" generates at most: far beyond any synthetic result.
UNLIMITED_TOKENS = 1_000_000
DEFAULT_MAX_TOKENS = 4096
DEFAULT_SEGMENT_MAX_TOKENS = 32768
MAX_IMAGES = 20
MAX_MEDIA_SOURCES = 4
MAX_SEGMENT_DEFINITIONS = 20
MAX_ENUM_VALUES = 100
MIN_WINDOW_SECONDS = 1
MAX_WINDOW_SECONDS = 7200
MIN_TIME_RANGE_SECONDS = 2
MIN_SEGMENT_SECONDS = 2
_IMAGE_SOURCES = ("url", "asset_id", "base64_string")
_IMAGE_NAME = re.compile(r"[A-Za-z0-9_]+")
_PLACEHOLDER = re.compile(r"<@([^<>\s]+)>")
_RESERVED_FIELD_NAMES = ("start_time", "end_time", "metadata")
LIST_STATUSES = STATUSES
MAX_PAGE_LIMIT = 50
DEFAULT_PAGE_LIMIT = 10

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
_SCALAR_TYPES = ("string", "boolean", "number", "integer")
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


def _is_number(value: Any) -> TypeGuard[float]:
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
    for name in body:
        if name not in _BODY_FIELDS:
            raise unknown(name)

    model = body.get("model_name", DEFAULT_MODEL)
    if model not in MODELS:
        raise invalid("model_name")
    mode = body.get("analysis_mode", "general")
    if mode not in ANALYSIS_MODES:
        raise invalid("analysis_mode")
    if mode == SEGMENTS and model not in _NEWER_MODELS:
        raise invalid(
            "analysis_mode", f"The analysis_mode time_based_metadata requires model_name {_NEWER}."
        )

    request: dict[str, Any] = {}
    payload = None
    if "image" in body:
        if "video" in body:
            raise invalid("image", "The video and image parameters are mutually exclusive.")
        request["image"] = _images(body["image"], model, mode, body.get("prompt"))
    else:
        request["video"], payload = _video(body.get("video"))
    _prompt(body, model, mode, request)

    if "temperature" in body:
        temperature = body["temperature"]
        if not _is_number(temperature) or not 0 <= temperature <= 1:
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
        request["max_tokens"] = _max_tokens(body["max_tokens"], model, mode, time_ranges)
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


_NEWER = " or ".join(_NEWER_MODELS)


def _max_tokens(value: Any, model: str, mode: str, time_ranges: bool) -> int | str:
    if value == UNLIMITED:
        if mode != SEGMENTS or model != _LATEST_MODEL:
            raise invalid(
                "max_tokens",
                "max_tokens unlimited requires analysis_mode time_based_metadata and "
                f"model_name {_LATEST_MODEL}.",
            )
        if time_ranges:
            raise invalid(
                "max_tokens", "max_tokens unlimited and time_ranges are mutually exclusive."
            )
        return UNLIMITED
    low, high = MAX_TOKENS_RANGE[(model, mode)]
    if not _is_int(value) or not low <= value <= high:
        raise invalid("max_tokens", f"The max_tokens parameter must be between {low} and {high}.")
    return int(value)


def _images(images: Any, model: str, mode: str, prompt: Any) -> list[dict[str, Any]]:
    """The images as echoed (base64 data left out), checked with the platform's rules."""
    if model != _LATEST_MODEL:
        raise invalid("image", f"The image parameter requires model_name {_LATEST_MODEL}.")
    if mode == SEGMENTS:
        raise invalid("image", "The image parameter requires analysis_mode general.")
    if not isinstance(images, list) or not 1 <= len(images) <= MAX_IMAGES:
        raise invalid("image")
    echoed = []
    names: set[str] = set()
    for position, image in enumerate(images):
        where = f"image[{position}]"
        echo = _media_source(image, where, allowed=("name", *_IMAGE_SOURCES))
        name = echo["name"]
        if not _IMAGE_NAME.fullmatch(name) or name in names:
            raise invalid(f"{where}.name")
        names.add(name)
        echoed.append(echo)
    if isinstance(prompt, str):
        referenced = names.intersection(_PLACEHOLDER.findall(prompt))
        if referenced and referenced != names:
            raise invalid("prompt", "The prompt must reference every image or none of them.")
    return echoed


def _media_source(source: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """One image: a name and exactly one source; the echo keeps no base64 data."""
    if not isinstance(source, dict):
        raise invalid(where)
    for key in source:
        if key not in allowed:
            raise unknown(f"{where}.{key}")
    if not isinstance(source.get("name"), str) or not source["name"]:
        raise not_provided(f"{where}.name")
    given = [key for key in _IMAGE_SOURCES if key in source]
    if len(given) != 1:
        raise invalid(where, f"The {where} parameter must have exactly one source.")
    value = source[given[0]]
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"{where}.{given[0]}")
    if given[0] == "url" and not value.startswith("https://"):
        raise invalid(f"{where}.url", f"The {where}.url parameter must be an HTTPS URL.")
    echo = {"name": source["name"], "media_type": "image"}
    if given[0] != "base64_string":
        echo[given[0]] = value
    return echo


def _media_sources(sources: Any, where: str) -> None:
    if not isinstance(sources, list) or len(sources) > MAX_MEDIA_SOURCES:
        raise invalid(where)
    for position, source in enumerate(sources):
        here = f"{where}[{position}]"
        _media_source(source, here, allowed=("name", "media_type", *_IMAGE_SOURCES))
        if source.get("media_type", "image") != "image":
            raise invalid(f"{here}.media_type")


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
        if model not in _NEWER_MODELS:
            raise invalid("prompt_v2", f"prompt_v2 requires model_name {_NEWER}.")
        if not isinstance(prompt_v2, dict) or not isinstance(prompt_v2.get("input_text"), str):
            raise invalid("prompt_v2")
        for key in prompt_v2:
            if key not in ("input_text", "media_sources"):
                raise unknown(f"prompt_v2.{key}")
        if "media_sources" in prompt_v2:
            _media_sources(prompt_v2["media_sources"], "prompt_v2.media_sources")
        request["prompt_v2"] = _without_base64(prompt_v2)
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


def _without_base64(prompt_v2: dict[str, Any]) -> dict[str, Any]:
    """prompt_v2 as echoed: reference images without their base64 data."""
    sources = prompt_v2.get("media_sources")
    if not sources:
        return prompt_v2
    return {
        **prompt_v2,
        "media_sources": [
            {key: value for key, value in source.items() if key != "base64_string"}
            for source in sources
        ],
    }


def _segment_and_window(
    body: Mapping[str, Any], model: str, mode: str, request: dict[str, Any], time_ranges: bool
) -> None:
    for name in ("min_segment_duration", "max_segment_duration"):
        if name in body:
            value = body[name]
            if mode != SEGMENTS or not _is_number(value) or value < MIN_SEGMENT_SECONDS:
                raise invalid(name)
            if time_ranges:
                raise invalid(
                    name, f"The {name} and time_ranges parameters are mutually exclusive."
                )
            request[name] = value
    low, high = request.get("min_segment_duration"), request.get("max_segment_duration")
    if low is not None and high is not None and high < low:
        raise invalid("max_segment_duration")
    for name in ("start_time", "end_time"):
        if name in body:
            value = body[name]
            if model not in _NEWER_MODELS or not _is_number(value) or value < 0:
                raise invalid(name)
            if time_ranges:
                raise invalid(
                    name, f"The {name} and time_ranges parameters are mutually exclusive."
                )
            request[name] = value
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


def _response_format(response_format: Any, model: str, mode: str) -> tuple[dict[str, Any], bool]:
    """The schema result.data follows, and whether segment definitions carry time ranges."""
    if not isinstance(response_format, dict):
        raise invalid("response_format")
    kind = response_format.get("type")
    if kind is None:
        raise not_provided("response_format.type")
    if kind == "json_schema":
        for name in response_format:
            if name not in ("type", "json_schema"):
                raise unknown(f"response_format.{name}")
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
        for name in response_format:
            if name not in ("type", "segment_definitions", "segment_time_format"):
                raise unknown(f"response_format.{name}")
        if mode != SEGMENTS:
            raise invalid(
                "response_format.type",
                "The response_format.type segment_definitions requires analysis_mode "
                "time_based_metadata.",
            )
        if response_format.get("segment_time_format", "seconds") not in _TIMESTAMP_FORMATS:
            raise invalid("response_format.segment_time_format")
        segments = _Segments(model)
        schema = segments.schema(response_format.get("segment_definitions"))
        return schema, segments.has_time_ranges
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


class _Segments:
    """Segment definitions checked, and the JSON schema a segmentation result follows:
    definition id -> list of segments."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.has_time_ranges = False

    def schema(self, definitions: Any) -> dict[str, Any]:
        where = "response_format.segment_definitions"
        if definitions is None:
            raise not_provided(where)
        if (
            not isinstance(definitions, list)
            or not 1 <= len(definitions) <= MAX_SEGMENT_DEFINITIONS
        ):
            raise invalid(where)
        properties: dict[str, Any] = {}
        for definition in definitions:
            if not isinstance(definition, dict):
                raise invalid(where)
            for name in ("id", "description"):
                if not isinstance(definition.get(name), str) or not definition[name]:
                    raise not_provided(f"{where}.{name}")
            if "media_sources" in definition:
                _media_sources(definition["media_sources"], f"{where}.media_sources")
            if "time_ranges" in definition:
                self._time_ranges(definition["time_ranges"], f"{where}.time_ranges")
            fields = self._fields(definition.get("fields") or [], f"{where}.fields", event=False)
            segment = _timed({"metadata": _object(fields)})
            properties[definition["id"]] = {"type": "array", "items": segment, "minItems": 1}
        return {"type": "object", "properties": properties, "required": list(properties)}

    def _time_ranges(self, ranges: Any, where: str) -> None:
        self.has_time_ranges = True
        if not isinstance(ranges, list) or not ranges:
            raise invalid(where)
        windows: list[tuple[float, float]] = []
        for window in ranges:
            if not isinstance(window, dict):
                raise invalid(where)
            start, end = window.get("start_time"), window.get("end_time")
            if not _is_number(start) or not _is_number(end) or start < 0:
                raise invalid(where)
            if end - start < MIN_TIME_RANGE_SECONDS:
                raise invalid(where, f"Each range of {where} must last at least 2 seconds.")
            windows.append((start, end))
        windows.sort()
        for (_, earlier_end), (later_start, _) in itertools.pairwise(windows):
            if later_start < earlier_end:
                raise invalid(where, f"The ranges of {where} must not overlap.")

    def _fields(self, fields: Any, where: str, *, event: bool) -> dict[str, Any]:
        if not isinstance(fields, list):
            raise invalid(where)
        schemas: dict[str, Any] = {}
        for field in fields:
            if not isinstance(field, dict) or not isinstance(field.get("name"), str):
                raise invalid(where)
            if field["name"] in _RESERVED_FIELD_NAMES or (event and field["name"] in schemas):
                raise invalid(f"{where}.name")
            schemas[field["name"]] = self._field(field, where, event=event)
        return schemas

    def _field(self, field: dict[str, Any], where: str, *, event: bool) -> dict[str, Any]:
        kind = field.get("type")
        if kind == "timestamp" and (event or field.get("format") not in _TIMESTAMP_FORMATS):
            raise invalid(f"{where}.format" if not event else f"{where}.type")
        if kind != "timestamp" and "format" in field:
            raise invalid(f"{where}.format")
        enum = field.get("enum")
        if enum is not None and (
            not isinstance(enum, list)
            or len(enum) > MAX_ENUM_VALUES
            or kind == "timestamp"
            or (event and kind != "string")
        ):
            raise invalid(f"{where}.enum")
        items = field.get("items")
        if kind == "time_array":
            if event or self.model != _LATEST_MODEL:
                raise invalid(f"{where}.type")
            if not isinstance(items, dict) or items.get("type") != "object":
                raise invalid(f"{where}.items")
            events = self._fields(items.get("fields"), f"{where}.items.fields", event=True)
            if not events:
                raise invalid(f"{where}.items.fields")
            return {"type": "array", "items": _timed(events)}
        if kind == "array":
            if not isinstance(items, dict) or items.get("type") not in _SCALAR_TYPES:
                raise invalid(f"{where}.items")
            if "fields" in items:
                raise invalid(f"{where}.items.fields")
            return {"type": "array", "items": dict(_SEGMENT_FIELD_TYPES[items["type"]])}
        if kind not in _SEGMENT_FIELD_TYPES:
            raise invalid(f"{where}.type")
        if items is not None:
            raise invalid(f"{where}.items")
        if isinstance(enum, list) and enum:
            return {"type": "string", "enum": list(enum)}
        return dict(_SEGMENT_FIELD_TYPES[kind])


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


def _timed(properties: dict[str, Any]) -> dict[str, Any]:
    """An object with the automatic start_time and end_time keys before ``properties``."""
    bounds = {
        "start_time": {"type": "number", "minimum": 0},
        "end_time": {"type": "number", "minimum": 0},
    }
    return _object({**bounds, **properties})


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
