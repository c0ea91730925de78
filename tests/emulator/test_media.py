"""The platform's media limits: which facts fail a task, with which message, in which order."""

from __future__ import annotations

import pytest

from asyncanalyze.emulator._media import VideoFacts, limit_violation


@pytest.mark.parametrize(
    ("duration", "width", "height", "expected"),
    [
        (4.0, 1920, 1080, None),
        (7200.0, 1920, 1080, None),
        (360.0, 360, 360, None),
        (60.0, 5184, 2160, None),  # the documented maximum, exactly 2.4:1
        (60.0, 2160, 5184, None),
        (60.0, 864, 360, None),  # exactly 2.4:1
        (60.0, 1080, 1920, None),
        (60.0, 3840, 2160, None),
        (
            3.999,
            1920,
            1080,
            "Video duration is below the minimum of 4 seconds: the video is 3.999 seconds long",
        ),
        (
            7200.5,
            1920,
            1080,
            "Video duration exceeds maximum allowed duration of 7200 seconds (2 hours): "
            "the video is 7200.5 seconds long",
        ),
        (60.0, 359, 640, "Video resolution 359x640 is outside the supported range"),
        (60.0, 5185, 2160, "Video resolution 5185x2160 is outside the supported range"),
        (60.0, 2400, 2400, "Video resolution 2400x2400 is outside the supported range"),
        (60.0, 0, 0, "Video resolution 0x0 is outside the supported range"),
        (60.0, 360, 865, "Video aspect ratio 1:2.403 is outside the supported range"),
        (60.0, 3000, 1000, "Video aspect ratio 3:1 is outside the supported range"),
        (float("nan"), 1920, 1080, "Video duration could not be determined"),
    ],
)
def test_limit_violation(duration: float, width: int, height: int, expected: str | None) -> None:
    found = limit_violation(VideoFacts(duration, width, height, probed=False))
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(expected)


def test_duration_is_checked_before_resolution() -> None:
    found = limit_violation(VideoFacts(1.0, 100, 100, probed=True))
    assert found is not None
    assert found.startswith("Video duration is below")
