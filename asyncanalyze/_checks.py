"""Argument checks run before any request: each names the parameter and the rule it breaks."""

from __future__ import annotations

import binascii
import math
import re
from collections.abc import Mapping
from typing import Any, Final

from ._errors import InvalidRequestError
from ._models import (
    OMIT,
    AnalysisMode,
    AnalyzeTaskStatus,
    ModelName,
    Omit,
    ResponseFormat,
    VideoContext,
    VideoContext_AssetId,
    VideoContext_Base64String,
    VideoContext_Url,
)
from ._numbers import check_between, check_count
from ._task_status import KNOWN_STATUSES

__all__ = [
    "BRIEF_MAX_TOKENS",
    "MAX_BASE64_VIDEO_BYTES",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_JSON_DEPTH",
    "MAX_TOKENS_LIMIT",
    "TIME_FORMATS",
    "check_analysis_mode",
    "check_base64",
    "check_choice",
    "check_custom_id",
    "check_filter",
    "check_idempotency_key",
    "check_items",
    "check_json",
    "check_max_tokens",
    "check_model_name",
    "check_model_supports",
    "check_name",
    "check_page",
    "check_page_limit",
    "check_prompt",
    "check_response_format",
    "check_seconds",
    "check_status",
    "check_temperature",
    "check_text",
    "check_video",
    "check_video_facts",
    "check_window",
]

# spec/API.md's "30 MB" read generously as MiB: the server, not the SDK, has the last word.
MAX_BASE64_VIDEO_BYTES: Final = 30 * 1024 * 1024
_BASE64_SLICE: Final = 1 << 20  # characters checked per call: whole 4-character quads
# spec/API.md's media limits, also in emulator/_media.py: the two share no code on purpose.
MIN_VIDEO_SECONDS: Final = 4.0
MAX_VIDEO_SECONDS: Final = 7200.0
MIN_VIDEO_SIDE: Final = 360
MAX_VIDEO_SHORT_SIDE: Final = 2160
MAX_VIDEO_LONG_SIDE: Final = 5184
# 12/5 == 2.4, compared in integers so that 5184x2160 (exactly 2.4:1) passes.
_ASPECT_NUM, _ASPECT_DEN = 12, 5
# max_tokens: the one home of its limits. Where spec/API.md and the platform's newer docs
# differ, API.md's limits are validated and the platform's additions tolerated. So a request
# API.md knows (general analysis, no model_name: the service's default model) gets its
# 1-4,096. The models and modes the platform added
# since get the platform's current rules (SDK 1.3.6): pegasus1.5/1.6 general 512-98,304,
# time_based_metadata 2,048-98,304 on every model that offers it; a model name we do not
# know is checked only against 1..98,304 and the server judges the rest.
BRIEF_MAX_TOKENS: Final = 4_096
MAX_TOKENS_LIMIT: Final = 98_304
GENERAL: Final = AnalysisMode.GENERAL.value  # the default mode
SEGMENTATION: Final = AnalysisMode.TIME_BASED_METADATA.value
_MAX_TOKENS_FLOOR: Final = {GENERAL: 512, SEGMENTATION: 2_048}
_ANY_MODEL_FLOOR: Final = {GENERAL: 1, SEGMENTATION: 2_048}
UNLIMITED: Final = "unlimited"
# What each documented model offers beyond the basics; a model not listed is judged by the
# server (model names change faster than SDK releases).
_MODEL_FEATURES: Final[dict[str, frozenset[str]]] = {
    ModelName.PEGASUS_1_5.value: frozenset(),
    ModelName.PEGASUS_1_6.value: frozenset(
        {"image input", "max_tokens='unlimited'", "a time_array field"}
    ),
}
ANALYSIS_MODES: Final = (GENERAL, SEGMENTATION)
TIME_FORMATS: Final = ("seconds", "hh:mm:ss", "hh:mm:ss.fff")
_CUSTOM_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_PAGE_LIMIT: Final = 50
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255
# Far deeper than any real schema (the platform advises at most 5 levels of objects) and far
# below what encoders and parsers give up at (orjson: 255 levels; Python: its recursion limit).
MAX_JSON_DEPTH: Final = 64
# The integers JSON parsers commonly hold exactly (orjson refuses to encode any other).
_JSON_INT_MIN: Final = -(2**63)
_JSON_INT_MAX: Final = 2**64 - 1


def check_text(parameter: str, text: str) -> str:
    """``text`` itself, if it can be sent: a lone surrogate ("\\ud800") has no UTF-8 form."""
    if not text.isascii():  # isascii() is O(1): the common case costs nothing
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidRequestError(
                parameter, f"holds {text[exc.start]!r} at {exc.start}, which is not valid Unicode"
            ) from None
    return text


def check_prompt(prompt: object) -> str:
    if not isinstance(prompt, str):
        raise InvalidRequestError("prompt", f"must be a str, got {type(prompt).__name__}")
    if not prompt.strip():
        raise InvalidRequestError("prompt", "must not be empty")
    return check_text("prompt", prompt)


def check_idempotency_key(key: object) -> str | None:
    """An Idempotency-Key of the caller's own: a header value, so printable ASCII."""
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidRequestError(
            "idempotency_key",
            f"must be a non-empty string of at most {MAX_IDEMPOTENCY_KEY_LENGTH} characters",
        )
    if any(ord(ch) < 0x21 or ord(ch) > 0x7E for ch in key):
        raise InvalidRequestError(
            "idempotency_key", "must be printable ASCII without spaces (a header value)"
        )
    return key


def check_temperature(temperature: object) -> float | Omit:
    if temperature is OMIT:
        return OMIT
    return check_between("temperature", temperature, 0, 1)


def check_max_tokens(
    max_tokens: object, *, mode: str = GENERAL, model: str | Omit = OMIT
) -> int | str | Omit:
    """A token budget for ``mode`` (see MAX_TOKENS_LIMIT), or "unlimited" where allowed."""
    if max_tokens is OMIT:
        return OMIT
    if isinstance(max_tokens, str):
        if max_tokens != UNLIMITED:
            raise InvalidRequestError(
                "max_tokens", f"must be an int or 'unlimited', got {max_tokens!r}"
            )
        if mode != SEGMENTATION:
            raise InvalidRequestError(
                "max_tokens", "'unlimited' needs analysis_mode='time_based_metadata'"
            )
        check_model_supports(model, "max_tokens='unlimited'", "max_tokens")
        return UNLIMITED
    known = isinstance(model, str) and model in _MODEL_FEATURES
    floors = _MAX_TOKENS_FLOOR if known else _ANY_MODEL_FLOOR
    ceiling = BRIEF_MAX_TOKENS if model is OMIT and mode == GENERAL else MAX_TOKENS_LIMIT
    try:
        return check_count("max_tokens", max_tokens, minimum=floors.get(mode, 1), maximum=ceiling)
    except InvalidRequestError as exc:
        where = f"{mode} analysis" + (f" on {model}" if known else "")
        if model is OMIT and mode == GENERAL:
            where += " on the default model; name a model_name for its wider range"
        raise InvalidRequestError("max_tokens", f"{exc.rule} (the range for {where})") from None


def check_model_name(model_name: object) -> str | Omit:
    """Any model name the platform may know: documented ones (ModelName) or newer ones."""
    if model_name is OMIT:
        return OMIT
    value = model_name.value if isinstance(model_name, ModelName) else model_name
    if not isinstance(value, str) or not value or value != value.strip() or " " in value:
        raise InvalidRequestError(
            "model_name", f"must be a model name such as 'pegasus1.6', got {model_name!r}"
        )
    return str.__str__(check_text("model_name", value))


def check_model_supports(model: str | Omit, feature: str, parameter: str) -> None:
    """``feature`` needs a documented model that offers it: refused without model_name (the
    service's default model lacks it) or with one that lacks it; a model not documented here
    is the server's call."""
    features = _MODEL_FEATURES.get(model) if isinstance(model, str) else frozenset()
    if features is not None and feature not in features:
        able = " or ".join(
            repr(name) for name, offered in _MODEL_FEATURES.items() if feature in offered
        )
        why = (
            "without it the service's default model is used, which lacks it"
            if model is OMIT
            else f"{model!r} lacks it"
        )
        raise InvalidRequestError(parameter, f"{feature} needs model_name={able} ({why})")


def check_analysis_mode(mode: object, parameter: str = "analysis_mode") -> str | Omit:
    """One of the documented modes: a new mode comes with parameters this SDK cannot check."""
    if mode is OMIT:
        return OMIT
    return check_choice(parameter, mode, ANALYSIS_MODES)


def check_custom_id(custom_id: object) -> str | Omit:
    """The platform's format: 1-64 characters, letters, digits, '-' and '_'."""
    if custom_id is OMIT:
        return OMIT
    if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
        raise InvalidRequestError(
            "custom_id",
            f"must be 1-64 characters of letters, digits, '-' and '_', got {custom_id!r}",
        )
    return str.__str__(custom_id)


def check_seconds(parameter: str, value: object, minimum: float) -> float:
    """A finite number of seconds >= ``minimum`` (a timestamp or a duration)."""
    return check_between(parameter, value, minimum, math.inf)


def check_window(
    start_name: str,
    start: object,
    end_name: str,
    end: object,
    *,
    min_length: float,
    max_length: float = math.inf,
) -> tuple[float, float]:
    """Two timestamps (seconds >= 0) ``min_length`` to ``max_length`` seconds apart."""
    first = check_seconds(start_name, start, 0)
    last = check_seconds(end_name, end, 0)
    if not min_length <= last - first <= max_length:
        longest = "" if math.isinf(max_length) else f" and at most {max_length:g} s"
        raise InvalidRequestError(
            end_name,
            f"must come at least {min_length:g} s after {start_name}{longest}"
            f" ({first:g} to {last:g} is {last - first:g} s)",
        )
    return first, last


def check_items(parameter: str, value: object, low: int, high: int | None = None) -> list[Any]:
    """A list (or tuple) of ``low`` to ``high`` items, as a list."""
    if not isinstance(value, list | tuple):
        raise InvalidRequestError(parameter, f"must be a list, got {type(value).__name__}")
    if len(value) < low or (high is not None and len(value) > high):
        bound = f"{low} to {high}" if high is not None else f"at least {low}"
        raise InvalidRequestError(parameter, f"must hold {bound} items, got {len(value)}")
    return list(value)


def check_name(parameter: str, value: object) -> str:
    """A non-empty string (a name, an id, a description)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(parameter, f"must be a non-empty string, got {value!r}")
    return str.__str__(check_text(parameter, value))


def check_choice(parameter: str, value: object, allowed: tuple[str, ...]) -> str:
    """One of ``allowed`` (a str enum member counts as its value)."""
    if not isinstance(value, str) or value not in allowed:
        raise InvalidRequestError(parameter, f"must be one of {', '.join(allowed)}, got {value!r}")
    return str.__str__(value)


def check_filter(parameter: str, value: object) -> str | None:
    """A list filter matched exactly by the server (video_url, asset_id): a non-empty string."""
    return None if value is None else check_name(parameter, value)


def check_page(page: object) -> int | None:
    return None if page is None else check_count("page", page, minimum=1)


def check_page_limit(page_limit: object) -> int | None:
    if page_limit is None:
        return None
    return check_count("page_limit", page_limit, minimum=1, maximum=MAX_PAGE_LIMIT)


def check_status(status: object) -> str | None:
    if status is None:
        return None
    value = status.value if isinstance(status, AnalyzeTaskStatus) else status
    if not isinstance(value, str) or value not in KNOWN_STATUSES:
        raise InvalidRequestError("status", f"must be one of {', '.join(KNOWN_STATUSES)}")
    return value


def check_video(video: object) -> VideoContext:
    if isinstance(video, VideoContext_Url):
        url = video.url
        if not isinstance(url, str) or not url.strip():
            raise InvalidRequestError("video.url", "must be a non-empty URL")
        if not url.lower().startswith(("http://", "https://")):
            raise InvalidRequestError("video.url", "must be an http(s) URL to a media file")
        check_text("video.url", url)
        return video
    if isinstance(video, VideoContext_AssetId):
        if not isinstance(video.asset_id, str) or not video.asset_id.strip():
            raise InvalidRequestError("video.asset_id", "must be a non-empty string")
        check_text("video.asset_id", video.asset_id)
        return video
    if isinstance(video, VideoContext_Base64String):
        check_base64(
            "video.base64_string",
            video.base64_string,
            MAX_BASE64_VIDEO_BYTES,
            hint="upload larger files as an asset or pass a URL",
        )
        return video
    raise InvalidRequestError(
        "video",
        "must be exactly one of VideoContext_Url, VideoContext_AssetId, VideoContext_Base64String"
        f", got {type(video).__name__}",
    )


def check_base64(name: str, data: object, max_bytes: int, *, hint: str) -> None:
    """Strict base64 of at most ``max_bytes`` decoded (the platform's "N MB", read as MiB)."""
    if not isinstance(data, str) or not data:
        raise InvalidRequestError(name, "must be a non-empty base64 string")
    # Size first, from the length alone: refusing 200 MB should not cost decoding 200 MB.
    padding = len(data) - len(data.rstrip("="))
    decoded_size = len(data) * 3 // 4 - padding
    if decoded_size > max_bytes:
        raise InvalidRequestError(
            name,
            f"holds {decoded_size:,} bytes; the limit is {max_bytes:,}"
            f" ({max_bytes // (1024 * 1024)} MiB): {hint}",
        )
    try:
        # In slices: one call over 40 MB would hold the GIL ~0.1 s, stalling the event loop
        # even from a worker thread. Slices of whole quads decode alone, and padding may only
        # come in the last piece (the rest of the data, at least one slice long).
        last = max(0, len(data) // _BASE64_SLICE - 1) * _BASE64_SLICE
        for start in range(0, last, _BASE64_SLICE):
            piece = data[start : start + _BASE64_SLICE]
            if "=" in piece:
                raise binascii.Error("padding before the end of the data")
            binascii.a2b_base64(piece, strict_mode=True)
        binascii.a2b_base64(data[last:], strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestError(name, f"is not valid base64 ({exc})") from None


def check_video_facts(
    duration: float | None, width: int, height: int, *, parameter: str = "video"
) -> None:
    """spec/API.md's media rules; the resolution range is orientation-free (1080x1920 is fine).

    ``duration`` None (not recorded in the file) skips that rule: the platform decides.
    """
    if duration is not None:
        if duration < MIN_VIDEO_SECONDS:
            raise InvalidRequestError(
                parameter, f"is {duration:.1f} s long; the minimum duration is 4 s"
            )
        if duration > MAX_VIDEO_SECONDS:
            raise InvalidRequestError(
                parameter, f"is {duration:.0f} s long; the maximum duration is 7200 s (2 hours)"
            )
    short, long = min(width, height), max(width, height)
    if short < MIN_VIDEO_SIDE or short > MAX_VIDEO_SHORT_SIDE or long > MAX_VIDEO_LONG_SIDE:
        raise InvalidRequestError(
            parameter,
            f"resolution {width}x{height} is outside 360x360 to 5184x2160 (either orientation:"
            " short side 360-2160, long side at most 5184)",
        )
    if long * _ASPECT_DEN > short * _ASPECT_NUM:
        raise InvalidRequestError(
            parameter,
            f"aspect ratio {long / short:.3f}:1 ({width}x{height}) is outside 1:2.4 to 2.4:1",
        )


def check_response_format(response_format: object) -> dict[str, Any] | Omit:
    if response_format is OMIT:
        return OMIT
    kind: object
    schema: object
    if isinstance(response_format, ResponseFormat):
        kind, schema = response_format.type, response_format.json_schema
    elif isinstance(response_format, Mapping):
        kind, schema = response_format.get("type"), response_format.get("json_schema")
        extra = set(response_format) - {"type", "json_schema"}
        if extra:
            raise InvalidRequestError("response_format", f"unknown keys {sorted(map(str, extra))}")
    else:
        raise InvalidRequestError("response_format", "must be a ResponseFormat or a dict")
    if kind != "json_schema":
        raise InvalidRequestError(
            "response_format.type",
            f"must be 'json_schema' or 'segment_definitions', got {kind!r}",
        )
    if not isinstance(schema, Mapping):
        raise InvalidRequestError("response_format.json_schema", "must be a dict (a JSON Schema)")
    return {"type": "json_schema", "json_schema": check_json(schema, "response_format.json_schema")}


def check_json(value: object, parameter: str) -> Any:
    """A plain copy of ``value`` that any JSON encoder writes the same way, or
    InvalidRequestError naming where it breaks the rules.

    JSON here means: dicts (any Mapping) with str keys, lists (or tuples), str, bool, None,
    ints that fit in 64 bits and finite floats, nested at most ``MAX_JSON_DEPTH`` levels and
    never containing itself. The copy is what gets sent (and fingerprinted), so a value
    changed by its owner after the check cannot change the request.
    """
    return _json_copy(value, parameter, 1, set())


def _json_copy(value: object, path: str, depth: int, open_containers: set[int]) -> Any:
    # Recursion is safe: MAX_JSON_DEPTH bounds it far below Python's limit.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(check_text(path, value))
    if isinstance(value, int):
        if not _JSON_INT_MIN <= value <= _JSON_INT_MAX:
            raise InvalidRequestError(path, "is an integer too large for JSON (at most 64 bits)")
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidRequestError(path, f"is {value}, which JSON cannot express")
        return float(value)
    if not isinstance(value, Mapping | list | tuple):
        hint = " (use a list)" if isinstance(value, set | frozenset) else ""
        raise InvalidRequestError(path, f"holds a {type(value).__name__}, which is not JSON{hint}")
    if depth > MAX_JSON_DEPTH:
        raise InvalidRequestError(path, f"is nested more than {MAX_JSON_DEPTH} levels deep")
    if id(value) in open_containers:
        raise InvalidRequestError(path, "contains itself (a circular structure is not JSON)")
    open_containers.add(id(value))
    try:
        if isinstance(value, Mapping):
            copy: dict[str, Any] = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise InvalidRequestError(
                        path, f"has the key {key!r} ({type(key).__name__}): JSON keys are strings"
                    )
                copy[str.__str__(check_text(path, key))] = _json_copy(
                    item, _json_path(path, key), depth + 1, open_containers
                )
            return copy
        return [
            _json_copy(item, f"{path}[{position}]", depth + 1, open_containers)
            for position, item in enumerate(value)
        ]
    finally:
        open_containers.discard(id(value))


def _json_path(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{key!r}]"
