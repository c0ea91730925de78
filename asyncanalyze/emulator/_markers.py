"""Test markers in a video URL's query string (docs/emulator-markers.md): what they say.

``emulator_duration``, ``emulator_resolution``, ``emulator_task_seconds`` and
``emulator_fail`` let a test pick a video's facts and fate by URL. Separate from the facts
they override: parsing them is a defensive reading of user input (malformed values give no
marker, nothing raises), and a marker-free key keeps one URL one video.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlunsplit

from ._media import GENERIC_FAILURE_MESSAGE
from ._urls import split_url

MARKER_DURATION = "emulator_duration"
MARKER_TASK_SECONDS = "emulator_task_seconds"
MARKER_FAIL = "emulator_fail"
MARKER_RESOLUTION = "emulator_resolution"
_MARKER_PREFIX = "emulator_"

# A marker's failure text ends up in a JSON response; a cap keeps a hostile URL from
# producing a huge task body.
_MAX_FAIL_MESSAGE_CHARS = 500
# Sides above this are not a plausible video; treating them as malformed keeps arithmetic sane.
_MAX_MARKER_SIDE = 100_000

_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_RESOLUTION_RE = re.compile(r"([0-9]{1,6})[xX]([0-9]{1,6})")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Markers:
    """Test markers read from a video URL's query string (documented in the README)."""

    duration: float | None = None  # emulator_duration=SECONDS: the video's length
    task_seconds: float | None = None  # emulator_task_seconds=SECONDS: create -> terminal time
    fail: str | None = None  # emulator_fail=REASON: the task fails with this message
    resolution: tuple[int, int] | None = None  # emulator_resolution=WxH


def _parse_seconds(raw: str) -> float | None:
    raw = raw.strip()
    # A strict grammar rather than float(): float() also takes "nan", "inf", "1e400" and "1_0".
    if not _NUMBER_RE.fullmatch(raw):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def _parse_resolution(raw: str) -> tuple[int, int] | None:
    match = _RESOLUTION_RE.fullmatch(raw.strip())
    if match is None:
        return None
    width, height = int(match.group(1)), int(match.group(2))
    if not (0 < width <= _MAX_MARKER_SIDE and 0 < height <= _MAX_MARKER_SIDE):
        return None
    return width, height


def _parse_fail(raw: str) -> str | None:
    text = _CONTROL_RE.sub(" ", raw).strip()
    if not text:
        return None
    lowered = text.lower()
    if lowered in {"1", "true", "yes"}:
        return GENERIC_FAILURE_MESSAGE
    # Lets a test URL say "do not fail" explicitly instead of failing with the text "false".
    if lowered in {"0", "false", "no"}:
        return None
    return text[:_MAX_FAIL_MESSAGE_CHARS]


def parse_markers(url: str) -> Markers:
    """Markers from ``url``'s query string; malformed values and non-URLs give no marker.

    The first well-formed occurrence of each marker wins. Never raises: the URL is user input.
    """
    parts = split_url(url)
    if parts is None or not parts[3]:
        return Markers()
    duration: float | None = None
    task_seconds: float | None = None
    fail: str | None = None
    fail_seen = False
    resolution: tuple[int, int] | None = None
    try:
        pairs = parse_qsl(parts[3], keep_blank_values=True)
    except ValueError:
        return Markers()
    for key, value in pairs:
        if key == MARKER_DURATION and duration is None:
            duration = _parse_seconds(value)
        elif key == MARKER_TASK_SECONDS and task_seconds is None:
            task_seconds = _parse_seconds(value)
        elif key == MARKER_FAIL and not fail_seen:
            # An explicit "false" counts as seen, so a later "true" cannot override it.
            if value.strip():
                fail_seen = True
                fail = _parse_fail(value)
        elif key == MARKER_RESOLUTION and resolution is None:
            resolution = _parse_resolution(value)
    return Markers(duration=duration, task_seconds=task_seconds, fail=fail, resolution=resolution)


def without_markers(source_key: str) -> str:
    """The key without emulator_* query parameters.

    Adding a marker such as emulator_task_seconds to a URL should not change the video it
    stands for, so markers are left out of the hash.
    """
    parts = split_url(source_key)
    if parts is None or not parts[3]:
        return source_key
    scheme, netloc, path, query, fragment = parts
    kept = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if not k.startswith(_MARKER_PREFIX)
    ]
    return urlunsplit((scheme, netloc, path, urlencode(kept), fragment))
