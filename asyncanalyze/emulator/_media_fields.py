"""The create body's media fields: the video, images and reference media, and base64 videos.

Separate from the other field checks because these are about where media comes from (one
source each, HTTPS for images, names a prompt can reference) and what the task echoes back
(never base64 data); a base64 video is bounded before decoding and decoded off the loop.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from ._media import MAX_VIDEO_BYTES
from ._model_rules import LATEST_MODEL, SEGMENTS
from ._wire import ApiProblem, invalid, not_provided, refuse_unknown

MAX_IMAGES = 20
MAX_MEDIA_SOURCES = 4
_IMAGE_SOURCES = ("url", "asset_id", "base64_string")
_IMAGE_NAME = re.compile(r"[A-Za-z0-9_]+")
_PLACEHOLDER = re.compile(r"<@([^<>\s]+)>")
_VIDEO_FIELD = {"url": "url", "asset_id": "asset_id", "base64_string": "base64_string"}
# Base64 of 30 MiB, plus padding: longer text cannot decode to an acceptable size.
_MAX_BASE64_CHARS = (MAX_VIDEO_BYTES + 2) // 3 * 4


def checked_images(images: Any, model: str, mode: str, prompt: Any) -> list[dict[str, Any]]:
    """The images as echoed (base64 data left out), checked with the platform's rules."""
    if model != LATEST_MODEL:
        raise invalid("image", f"The image parameter requires model_name {LATEST_MODEL}.")
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
    refuse_unknown(source, allowed, where)
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


def media_sources(sources: Any, where: str) -> None:
    if not isinstance(sources, list) or len(sources) > MAX_MEDIA_SOURCES:
        raise invalid(where)
    for position, source in enumerate(sources):
        here = f"{where}[{position}]"
        _media_source(source, here, allowed=("name", "media_type", *_IMAGE_SOURCES))
        if source.get("media_type", "image") != "image":
            raise invalid(f"{here}.media_type")


def checked_video(video: Any) -> tuple[dict[str, Any], str | None]:
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
    refuse_unknown(video, ("type", field), "video")
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


def without_base64(prompt_v2: dict[str, Any]) -> dict[str, Any]:
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
