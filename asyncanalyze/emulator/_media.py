"""A video as the emulator judges it: its facts, and the platform's limits and failure texts.

Facts come from ``_probe`` (real media), or from ``_synthetic`` (made up from the URL or asset
id, which ``_markers`` can override); ``limit_violation`` then turns facts into the
platform's failure message, if any. The limits and messages live here, apart from how facts
are found, so every source of facts is judged by one rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The largest video the platform takes as base64, and the most the emulator downloads.
MAX_VIDEO_BYTES = 30 * 1024 * 1024
MIN_DURATION_SECONDS = 4.0
MAX_DURATION_SECONDS = 7200.0
MIN_SIDE = 360
MAX_LONG_SIDE = 5184
MAX_SHORT_SIDE = 2160
# Kept as a fraction (12/5 == 2.4) so the aspect check is exact integer arithmetic: 5184x2160
# is exactly 2.4:1 and must pass, which float division does not guarantee in general.
_ASPECT_NUM, _ASPECT_DEN = 12, 5
MAX_ASPECT_RATIO = _ASPECT_NUM / _ASPECT_DEN

GENERIC_FAILURE_MESSAGE = (
    "The video could not be processed. The file may be corrupted or in an unsupported format"
)
DOWNLOAD_FAILED_MESSAGE = "The video could not be downloaded from the provided URL"


@dataclass(frozen=True)
class VideoFacts:
    duration: float  # seconds
    width: int
    height: int
    probed: bool  # True when read from real media, False when synthetic


class MediaError(Exception):
    """The bytes are not a video the emulator can read."""


def plain_number(value: float) -> str:
    """``value`` with at most three decimals and no trailing zeros: 7200, 4.5, 0.001."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _aspect_text(width: int, height: int) -> str:
    ratio = max(width, height) / min(width, height)
    shown = round(ratio, 2)
    if shown <= MAX_ASPECT_RATIO:
        # 865x360 is 2.4027:1; two decimals would print the allowed "2.4" in a rejection.
        shown = round(ratio, 4)
    return f"{plain_number(shown)}:1" if width >= height else f"1:{plain_number(shown)}"


def limit_violation(facts: VideoFacts) -> str | None:
    """The platform's failure message when the video breaks spec/API.md's limits, else None.

    spec/API.md's "360x360 to 5184x2160 pixels" is read orientation-free: the short side must be
    360..2160 and the long side at most 5184, so 1080x1920 portrait passes like 1920x1080.
    The aspect ratio (long side / short side) must be at most 2.4, boundary included.
    Checks run in the order duration, resolution, aspect ratio; the first failure is reported.
    """
    duration = facts.duration
    if not math.isfinite(duration) or duration < 0:
        return "Video duration could not be determined"
    if duration > MAX_DURATION_SECONDS:
        return (
            "Video duration exceeds maximum allowed duration of 7200 seconds (2 hours): "
            f"the video is {plain_number(duration)} seconds long"
        )
    if duration < MIN_DURATION_SECONDS:
        return (
            "Video duration is below the minimum of 4 seconds: "
            f"the video is {plain_number(duration)} seconds long"
        )
    width, height = facts.width, facts.height
    short, long = min(width, height), max(width, height)
    if short < MIN_SIDE or short > MAX_SHORT_SIDE or long > MAX_LONG_SIDE:
        return (
            f"Video resolution {width}x{height} is outside the supported range 360x360 to 5184x2160"
        )
    if long * _ASPECT_DEN > short * _ASPECT_NUM:
        return (
            f"Video aspect ratio {_aspect_text(width, height)} is outside the supported range "
            "1:2.4 to 2.4:1"
        )
    return None
