"""What the emulator knows about a task's video: duration, resolution, and whether it can be used.

INTERFACE CONTRACT (owned by the media/content helper; the server calls exactly these names).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Markers:
    """Test markers read from a video URL's query string (documented in the README)."""

    duration: float | None = None  # emulator_duration=SECONDS: the video's length
    task_seconds: float | None = None  # emulator_task_seconds=SECONDS: create -> terminal time
    fail: str | None = None  # emulator_fail=REASON: the task fails with this message
    resolution: tuple[int, int] | None = None  # emulator_resolution=WxH


@dataclass(frozen=True)
class VideoFacts:
    duration: float  # seconds
    width: int
    height: int
    probed: bool  # True when read from real media, False when synthetic


def parse_markers(url: str) -> Markers:
    raise NotImplementedError


def synthetic_facts(source_key: str, markers: Markers) -> VideoFacts:
    """Stable facts derived from a URL or asset id (same key -> same facts), markers win."""
    raise NotImplementedError


def probe_bytes(data: bytes) -> VideoFacts:
    """Real facts from media bytes with PyAV; raises MediaError if unreadable or PyAV missing."""
    raise NotImplementedError


def limit_violation(facts: VideoFacts) -> str | None:
    """The platform's failure message when the video breaks the brief's limits, else None."""
    raise NotImplementedError


class MediaError(Exception):
    """The bytes are not a video the emulator can read."""
