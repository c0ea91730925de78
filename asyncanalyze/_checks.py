"""Argument checks run before any request: each names the parameter and the rule it breaks."""

from __future__ import annotations

import binascii
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
_KNOWN_STATUSES: Final = tuple(status.value for status in AnalyzeTaskStatus)


def check_prompt(prompt: object) -> str:
    if not isinstance(prompt, str):
        raise InvalidRequestError("prompt", f"must be a str, got {type(prompt).__name__}")
    if not prompt.strip():
        raise InvalidRequestError("prompt", "must not be empty")
    return prompt


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
        return video
    if isinstance(video, VideoContext_AssetId):
        if not isinstance(video.asset_id, str) or not video.asset_id.strip():
            raise InvalidRequestError("video.asset_id", "must be a non-empty string")
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
        binascii.a2b_base64(data, strict_mode=True)
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
    return {"type": "json_schema", "json_schema": dict(schema)}
