"""Stable made-up facts for videos the emulator does not download: URLs and asset ids.

A duration and a resolution drawn from a realistic upload mix, fixed per URL (the same URL is
the same video in every process), with the URL's markers winning. Separate from probing:
nothing here reads media or touches the network.
"""

from __future__ import annotations

from ._markers import Markers, without_markers
from ._media import VideoFacts
from ._seeds import unit_floats

# (width, height, weight): what a typical upload mix looks like; every entry is within limits.
_RESOLUTIONS: tuple[tuple[int, int, int], ...] = (
    (1920, 1080, 40),
    (1280, 720, 22),
    (3840, 2160, 9),
    (1080, 1920, 10),
    (720, 1280, 4),
    (854, 480, 5),
    (2560, 1440, 4),
    (1080, 1080, 3),
    (640, 360, 3),
)
_SYNTHETIC_MIN_SECONDS = 30.0
_SYNTHETIC_MAX_SECONDS = 2400.0
# u**1.6 pushes most of the mass toward the short end: median about 2 minutes, 90th
# percentile about 20 minutes, never beyond 40 minutes.
_SYNTHETIC_SKEW = 1.6


def synthetic_facts(source_key: str, markers: Markers) -> VideoFacts:
    """Stable facts derived from a URL or asset id (same key -> same facts), markers win."""
    # Markers are left out of the key: adding one to a URL does not change the video.
    u_duration, u_resolution = unit_floats(without_markers(source_key), 2)
    ratio = _SYNTHETIC_MAX_SECONDS / _SYNTHETIC_MIN_SECONDS
    duration = round(_SYNTHETIC_MIN_SECONDS * ratio ** (u_duration**_SYNTHETIC_SKEW), 2)
    total = sum(weight for _, _, weight in _RESOLUTIONS)
    point = u_resolution * total
    width, height = _RESOLUTIONS[0][:2]
    for w, h, weight in _RESOLUTIONS:
        if point < weight:
            width, height = w, h
            break
        point -= weight
    if markers.duration is not None:
        duration = markers.duration
    if markers.resolution is not None:
        width, height = markers.resolution
    return VideoFacts(duration=duration, width=width, height=height, probed=False)
