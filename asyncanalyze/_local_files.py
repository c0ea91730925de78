"""Local video files as inline (base64) video, checked before anything is uploaded.

The platform accepts at most 30 MiB inline and checks duration, resolution and aspect ratio
only after the task was created, minutes later. Checking here turns that into an
InvalidRequestError in milliseconds. The media rules need PyAV (the ``[media]`` extra); without
it only the size is checked and the platform has the last word on the rest.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import math
import os
import stat
from typing import TYPE_CHECKING, Final

from ._checks import MAX_BASE64_VIDEO_BYTES, check_video_facts
from ._errors import InvalidRequestError
from ._models import VideoContext_Base64String

if TYPE_CHECKING:
    from av.video.stream import VideoStream

__all__ = ["video_from_path", "video_from_path_sync"]

_log: Final = logging.getLogger("asyncanalyze")
_PARAMETER: Final = "path"


def video_from_path_sync(
    path: str | os.PathLike[str], *, check_media: bool = True
) -> VideoContext_Base64String:
    """Read a local video into a :class:`VideoContext_Base64String`, refusing what the
    platform would refuse.

    * Over 30 MiB: InvalidRequestError from the file's size alone, before reading it.
    * With ``check_media`` and PyAV installed: a file PyAV cannot read as video, or one
      outside 4 s to 2 h, 360x360 to 5184x2160 (either orientation) or 1:2.4 to 2.4:1,
      raises InvalidRequestError naming the rule. Without PyAV this check is skipped
      (logged at DEBUG), never an error.

    A missing or unreadable file raises the usual OSError (FileNotFoundError, ...).
    Blocking; in a coroutine use :func:`video_from_path`.
    """
    data = _read_bounded(path)
    if check_media:
        _check_media(data, os.fspath(path))
    return VideoContext_Base64String(base64_string=base64.b64encode(data).decode("ascii"))


async def video_from_path(
    path: str | os.PathLike[str], *, check_media: bool = True
) -> VideoContext_Base64String:
    """:func:`video_from_path_sync` in a worker thread, so reading and probing up to 30 MiB
    never stalls the event loop."""
    return await asyncio.to_thread(video_from_path_sync, path, check_media=check_media)


def _too_big(size: int) -> InvalidRequestError:
    return InvalidRequestError(
        _PARAMETER,
        f"is {size / 2**20:.1f} MiB ({size:,} bytes); inline video is limited to"
        f" {MAX_BASE64_VIDEO_BYTES:,} bytes (30 MiB): upload it as an asset or pass a URL",
    )


def _read_bounded(path: str | os.PathLike[str]) -> bytes:
    # Everything decidable from stat() is decided before open(): a 2 GB file costs nothing,
    # and opening a FIFO for reading would block until someone writes to it.
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise InvalidRequestError(_PARAMETER, f"{os.fspath(path)!r} is not a regular file")
    if info.st_size > MAX_BASE64_VIDEO_BYTES:
        raise _too_big(info.st_size)
    with open(path, "rb") as file:
        # One byte past the limit: a file that grew since stat() is refused, not truncated.
        data = file.read(MAX_BASE64_VIDEO_BYTES + 1)
    if len(data) > MAX_BASE64_VIDEO_BYTES:
        raise _too_big(len(data))
    if not data:
        raise InvalidRequestError(_PARAMETER, f"{os.fspath(path)!r} is empty")
    return data


def _check_media(data: bytes, name: str) -> None:
    try:
        import av
    except ImportError:
        _log.debug("PyAV not installed: %s sent without duration/resolution checks", name)
        return
    try:
        # From memory, not the path: the bytes checked are exactly the bytes sent.
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise InvalidRequestError(_PARAMETER, f"{name!r} has no video stream")
            stream = container.streams.video[0]
            width = int(stream.codec_context.width or 0)
            height = int(stream.codec_context.height or 0)
            duration = _positive(container.duration / 1_000_000 if container.duration else 0.0)
            if duration is None:
                duration = _stream_duration(stream)
    except InvalidRequestError:
        raise
    except (av.FFmpegError, OSError, ValueError, TypeError, IndexError, EOFError) as exc:
        raise InvalidRequestError(
            _PARAMETER, f"{name!r} is not a readable video ({type(exc).__name__})"
        ) from None
    if width <= 0 or height <= 0:
        raise InvalidRequestError(_PARAMETER, f"{name!r}: the video's resolution is unknown")
    check_video_facts(duration, width, height, parameter=_PARAMETER)


def _positive(value: float) -> float | None:
    return value if math.isfinite(value) and value > 0 else None


def _stream_duration(stream: VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        found = _positive(float(stream.duration * stream.time_base))
        if found is not None:
            return found
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    if stream.frames and rate:
        return _positive(stream.frames / float(rate))
    return None
