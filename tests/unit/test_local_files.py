"""Local files: video_from_path[_sync] reads a file as inline video and refuses, before any
upload, what the platform would refuse (size from stat alone; media rules with PyAV)."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import asyncanalyze
from asyncanalyze import (
    AnalyzeAsyncClient,
    InvalidRequestError,
    VideoContext_Base64String,
    _local_files,
    video_from_path,
    video_from_path_sync,
)
from asyncanalyze._checks import MAX_BASE64_VIDEO_BYTES, check_video_facts


def media_helpers() -> Any:
    """The emulator tests' PyAV video generator (skips the test when PyAV is missing)."""
    return pytest.importorskip("tests.emulator._videos")


def write_video(tmp_path: Path, width: int, height: int, seconds: int, name: str = "v.mp4") -> Path:
    path = tmp_path / name
    path.write_bytes(media_helpers().make_video(width, height, seconds))
    return path


# -- size, from stat alone ---------------------------------------------------------------------


def test_too_big_file_is_refused_without_opening_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 31 MiB (sparse) file is refused from its size alone; it is never opened or read."""
    path = tmp_path / "big.mp4"
    with path.open("wb") as file:
        file.truncate(31 * 2**20)

    def no_open(*_: object, **__: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr(_local_files, "open", no_open, raising=False)
    with pytest.raises(InvalidRequestError) as info:
        video_from_path_sync(path)
    assert info.value.parameter == "path"
    assert "31.0 MiB" in info.value.rule and "30 MiB" in info.value.rule
    assert "asset" in info.value.rule  # says what to do instead


def test_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    """30 MiB exactly passes the size rule (the platform's limit is inclusive)."""
    path = tmp_path / "edge.bin"
    with path.open("wb") as file:
        file.truncate(MAX_BASE64_VIDEO_BYTES)
    video = video_from_path_sync(path, check_media=False)
    assert len(video.base64_string) == 4 * -(-MAX_BASE64_VIDEO_BYTES // 3)


def test_file_grown_past_the_limit_after_stat_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read is bounded too: a file that grows between stat and read is not truncated."""
    path = tmp_path / "growing.bin"
    path.write_bytes(b"x" * 10)
    real_stat = os.stat

    def stale_stat(target: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        result = real_stat(target, *args, **kwargs)
        with path.open("ab") as file:
            file.truncate(MAX_BASE64_VIDEO_BYTES + 5)
        return result

    monkeypatch.setattr(_local_files.os, "stat", stale_stat)
    with pytest.raises(InvalidRequestError, match="30 MiB"):
        video_from_path_sync(path, check_media=False)


def test_empty_file_directory_and_missing_file(tmp_path: Path) -> None:
    """Empty files and directories are InvalidRequestError; a missing file is the usual OSError."""
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InvalidRequestError, match="empty"):
        video_from_path_sync(empty)
    with pytest.raises(InvalidRequestError, match="not a regular file"):
        video_from_path_sync(tmp_path)
    with pytest.raises(FileNotFoundError):
        video_from_path_sync(tmp_path / "nope.mp4")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A named pipe is refused from stat; opening it would block until a writer came."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InvalidRequestError, match="not a regular file"):
        video_from_path_sync(fifo)


# -- media rules (PyAV) ----------------------------------------------------------------------


def test_valid_video_becomes_inline_video(tmp_path: Path) -> None:
    """A 5 s 640x360 video passes and round-trips through base64 unchanged."""
    path = write_video(tmp_path, 640, 360, 5)
    video = video_from_path_sync(path)
    assert isinstance(video, VideoContext_Base64String)
    assert base64.b64decode(video.base64_string) == path.read_bytes()


@pytest.mark.parametrize(
    ("width", "height", "seconds", "rule"),
    [
        (640, 360, 2, "minimum duration is 4 s"),
        (300, 300, 5, "resolution 300x300 is outside 360x360 to 5184x2160"),
        (1000, 360, 5, "aspect ratio 2.778:1 (1000x360) is outside 1:2.4 to 2.4:1"),
    ],
)
def test_videos_outside_the_limits_are_refused_naming_the_rule(
    tmp_path: Path, width: int, height: int, seconds: int, rule: str
) -> None:
    """Too short, too small or too wide: InvalidRequestError naming the broken rule."""
    path = write_video(tmp_path, width, height, seconds)
    with pytest.raises(InvalidRequestError) as info:
        video_from_path_sync(path)
    assert rule in info.value.rule


def test_portrait_video_passes(tmp_path: Path) -> None:
    """The resolution range is orientation-free: 360x640 is as good as 640x360."""
    video_from_path_sync(write_video(tmp_path, 360, 640, 5))


def test_unreadable_and_audio_only_files_are_refused(tmp_path: Path) -> None:
    """Bytes PyAV cannot read as video, or audio without video, are refused before upload."""
    media = media_helpers()
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"definitely not a video" * 100)
    with pytest.raises(InvalidRequestError, match="not a readable video"):
        video_from_path_sync(garbage)
    audio = tmp_path / "audio.wav"
    audio.write_bytes(media.make_audio_only())
    with pytest.raises(InvalidRequestError, match="no video stream"):
        video_from_path_sync(audio)


def test_check_media_false_skips_the_media_rules(tmp_path: Path) -> None:
    """check_media=False sends any bytes within the size limit (the platform decides)."""
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video")
    assert video_from_path_sync(garbage, check_media=False).base64_string


def test_without_pyav_the_media_check_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the [media] extra only the size is checked; nothing crashes."""
    monkeypatch.setitem(sys.modules, "av", None)  # makes `import av` raise ImportError
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video")
    assert video_from_path_sync(garbage).base64_string


async def test_async_helper_reads_off_the_loop_and_the_emulator_accepts_it(
    tmp_path: Path, analyze_client: AnalyzeAsyncClient
) -> None:
    """await video_from_path gives a video the emulator probes and analyzes to ready."""
    video = await video_from_path(write_video(tmp_path, 640, 360, 5))
    created = await analyze_client.tasks.create(video=video, prompt="Summarize")
    task = await analyze_client.tasks.await_result(created, timeout=600)
    assert task.status == "ready"


async def test_async_helper_raises_the_same_errors(tmp_path: Path) -> None:
    """The async helper reports a bad file exactly like the sync one."""
    with pytest.raises(InvalidRequestError, match="not a regular file"):
        await asyncanalyze.video_from_path(tmp_path)


# -- the rules themselves (no PyAV) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "width", "height"),
    [
        (4.0, 360, 360),
        (7200.0, 5184, 2160),  # every upper bound at once; exactly 2.4:1
        (60.0, 2160, 5184),
        (60.0, 360, 864),  # 1:2.4 exactly
        (None, 1920, 1080),  # unknown duration: left to the platform
    ],
)
def test_limits_accept_their_boundaries(duration: float | None, width: int, height: int) -> None:
    """Each limit includes its boundary, in either orientation."""
    check_video_facts(duration, width, height)


@pytest.mark.parametrize(
    ("duration", "width", "height", "rule"),
    [
        (3.99, 640, 360, "minimum duration"),
        (7200.5, 640, 360, "maximum duration is 7200 s"),
        (60.0, 359, 640, "resolution"),
        (60.0, 2161, 2161, "resolution"),
        (60.0, 5185, 2160, "resolution"),
        (60.0, 865, 360, "aspect ratio 2.403:1"),
        (60.0, 360, 865, "aspect ratio"),
    ],
)
def test_limits_refuse_just_past_them(duration: float, width: int, height: int, rule: str) -> None:
    """Just past each limit is refused, naming the rule."""
    with pytest.raises(InvalidRequestError, match=rule):
        check_video_facts(duration, width, height)
