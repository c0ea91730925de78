"""Probing real media with PyAV: facts read, garbage refused, a missing PyAV explained."""

from __future__ import annotations

import sys

import pytest

from asyncanalyze.emulator._media import MediaError, limit_violation
from asyncanalyze.emulator._probe import probe_bytes

from ._videos import make_audio_only, make_video


def test_probe_reads_duration_and_resolution(ok_video: bytes) -> None:
    facts = probe_bytes(ok_video)
    assert facts.probed is True
    assert (facts.width, facts.height) == (640, 360)
    assert facts.duration == pytest.approx(5.0, abs=0.1)
    assert limit_violation(facts) is None


@pytest.mark.parametrize(
    ("width", "height", "seconds", "message"),
    [
        (
            640,
            360,
            2,
            "Video duration is below the minimum of 4 seconds: the video is 2 seconds long",
        ),
        (
            300,
            300,
            5,
            "Video resolution 300x300 is outside the supported range 360x360 to 5184x2160",
        ),
        (
            1000,
            360,
            5,
            "Video aspect ratio 2.78:1 is outside the supported range 1:2.4 to 2.4:1",
        ),
        (360, 640, 5, None),  # portrait is fine: the range is orientation-free
    ],
)
def test_probed_videos_against_limits(
    width: int, height: int, seconds: int, message: str | None
) -> None:
    facts = probe_bytes(make_video(width, height, seconds))
    assert (facts.width, facts.height) == (width, height)
    assert facts.duration == pytest.approx(seconds, abs=0.1)
    assert limit_violation(facts) == message


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a video at all" * 50,
        bytes(range(256)) * 64,
        b"\x00\x00\x00\x18ftypmp42" + b"\xff" * 4000,  # an MP4 header with nothing behind it
    ],
    ids=["empty", "text", "noise", "fake-mp4-header"],
)
def test_probe_rejects_garbage(data: bytes) -> None:
    with pytest.raises(MediaError):
        probe_bytes(data)


def test_probe_rejects_truncated_video(ok_video: bytes) -> None:
    with pytest.raises(MediaError):
        probe_bytes(ok_video[:100])


def test_probe_rejects_audio_only_file() -> None:
    with pytest.raises(MediaError, match="does not contain a video stream"):
        probe_bytes(make_audio_only())


def test_probe_without_pyav_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, ok_video: bytes
) -> None:
    # A None entry in sys.modules makes `import av` raise ImportError.
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(MediaError, match=r"PyAV.*asyncanalyze\[media\]"):
        probe_bytes(ok_video)
