"""Argument checks run before any request: each names the parameter and the rule it breaks."""

from __future__ import annotations

import binascii
import math
from collections.abc import Mapping
from typing import Any, Final

from ._errors import InvalidRequestError
from ._models import (
    OMIT,
    AnalyzeTaskStatus,
    Omit,
    ResponseFormat,
    VideoContext,
    VideoContext_AssetId,
    VideoContext_Base64String,
    VideoContext_Url,
)
from ._numbers import check_between, check_count

__all__ = [
    "MAX_BASE64_VIDEO_BYTES",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_JSON_DEPTH",
    "check_idempotency_key",
    "check_json",
    "check_max_tokens",
    "check_page",
    "check_page_limit",
    "check_prompt",
    "check_response_format",
    "check_status",
    "check_temperature",
    "check_video",
    "check_video_facts",
]

# The brief's "30 MB" read generously as MiB: the server, not the SDK, has the last word.
MAX_BASE64_VIDEO_BYTES: Final = 30 * 1024 * 1024
_BASE64_SLICE: Final = 1 << 20  # characters checked per call: whole 4-character quads
# The brief's media limits, also in emulator/_media.py: the two share no code on purpose.
MIN_VIDEO_SECONDS: Final = 4.0
MAX_VIDEO_SECONDS: Final = 7200.0
MIN_VIDEO_SIDE: Final = 360
MAX_VIDEO_SHORT_SIDE: Final = 2160
MAX_VIDEO_LONG_SIDE: Final = 5184
# 12/5 == 2.4, compared in integers so that 5184x2160 (exactly 2.4:1) passes.
_ASPECT_NUM, _ASPECT_DEN = 12, 5
MAX_TOKENS_LIMIT: Final = 4096
MAX_PAGE_LIMIT: Final = 50
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255
# Far deeper than any real schema (the platform advises at most 5 levels of objects) and far
# below what encoders and parsers give up at (orjson: 255 levels; Python: its recursion limit).
MAX_JSON_DEPTH: Final = 64
# The integers JSON parsers commonly hold exactly (orjson refuses to encode any other).
_JSON_INT_MIN: Final = -(2**63)
_JSON_INT_MAX: Final = 2**64 - 1
_KNOWN_STATUSES: Final = tuple(status.value for status in AnalyzeTaskStatus)


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


def check_max_tokens(max_tokens: object) -> int | Omit:
    if max_tokens is OMIT:
        return OMIT
    return check_count("max_tokens", max_tokens, minimum=1, maximum=MAX_TOKENS_LIMIT)


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
    if not isinstance(value, str) or value not in _KNOWN_STATUSES:
        raise InvalidRequestError("status", f"must be one of {', '.join(_KNOWN_STATUSES)}")
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
        _check_base64(video.base64_string)
        return video
    raise InvalidRequestError(
        "video",
        "must be exactly one of VideoContext_Url, VideoContext_AssetId, VideoContext_Base64String"
        f", got {type(video).__name__}",
    )


def _check_base64(data: object) -> None:
    name = "video.base64_string"
    if not isinstance(data, str) or not data:
        raise InvalidRequestError(name, "must be a non-empty base64 string")
    # Size first, from the length alone: refusing 200 MB should not cost decoding 200 MB.
    padding = len(data) - len(data.rstrip("="))
    decoded_size = len(data) * 3 // 4 - padding
    if decoded_size > MAX_BASE64_VIDEO_BYTES:
        raise InvalidRequestError(
            name,
            f"holds {decoded_size:,} bytes of video; the limit is {MAX_BASE64_VIDEO_BYTES:,}"
            " (30 MiB): upload larger files as an asset or pass a URL",
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
    """The brief's media rules; the resolution range is orientation-free (1080x1920 is fine).

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
        raise InvalidRequestError("response_format.type", f"must be 'json_schema', got {kind!r}")
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
