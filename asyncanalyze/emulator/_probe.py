"""Real facts from media bytes, read with PyAV (the optional ``[media]`` extra).

For base64 uploads and fetched loopback videos. Separate from fetching (bytes in, facts out,
no I/O: it runs on a worker thread) and bounded for hostile input.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

from ._media import MediaError, VideoFacts

if TYPE_CHECKING:
    # Annotations only: PyAV is optional and imported lazily where it is used.
    from av.container import InputContainer
    from av.video.stream import VideoStream


def probe_bytes(data: bytes) -> VideoFacts:
    """Real facts from media bytes with PyAV; raises MediaError if unreadable or PyAV missing."""
    try:
        import av
    except ImportError as exc:
        raise MediaError(
            "Reading video files needs PyAV, which is not installed; "
            "install the media extra: pip install 'asyncanalyze[media]'"
        ) from exc

    if not data:
        raise MediaError("The video file is empty")
    try:
        # A BytesIO source means no network or filesystem I/O can block, and FFmpeg's probing
        # is bounded by the data length, so garbage input fails fast instead of hanging.
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise MediaError("The file does not contain a video stream")
            stream = container.streams.video[0]
            width = int(stream.codec_context.width or 0)
            height = int(stream.codec_context.height or 0)
            duration = _container_duration(container.duration)
            if duration is None:
                duration = _stream_duration(stream)
            if duration is None:
                duration = _demuxed_duration(container, stream)
    except MediaError:
        raise
    except (av.FFmpegError, OSError, ValueError, TypeError, IndexError, EOFError) as exc:
        raise MediaError("The file is not a readable video") from exc
    if width <= 0 or height <= 0:
        raise MediaError("The video's resolution could not be determined")
    if duration is None:
        raise MediaError("The video's duration could not be determined")
    return VideoFacts(duration=duration, width=width, height=height, probed=True)


def _positive(value: float) -> float | None:
    return value if math.isfinite(value) and value > 0 else None


def _container_duration(duration: int | None) -> float | None:
    # FFmpeg reports container duration in AV_TIME_BASE units (microseconds).
    if duration is None:
        return None
    return _positive(duration / 1_000_000)


def _stream_duration(stream: VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        found = _positive(float(stream.duration * stream.time_base))
        if found is not None:
            return found
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    if stream.frames and rate:
        return _positive(stream.frames / float(rate))
    return None


# Demuxing reads packets only (no decoding), but an absurd packet count is not a video we want
# to spend time on; the cap bounds the work for hostile input.
_MAX_DEMUX_PACKETS = 200_000


def _demuxed_duration(container: InputContainer, stream: VideoStream) -> float | None:
    """Last resort for containers without duration metadata (raw streams, broken indexes).

    The end of the last timestamped packet, or, for elementary streams whose packets carry no
    timestamps, the packet count divided by the frame rate.
    """
    end: float | None = None
    packets = 0
    for count, packet in enumerate(container.demux(stream)):
        if count >= _MAX_DEMUX_PACKETS:
            break
        if packet.size == 0:  # the flush packet demux() yields at the end
            continue
        packets += 1
        if packet.pts is None or packet.time_base is None:
            continue
        packet_end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
        end = packet_end if end is None else max(end, packet_end)
    if end is not None:
        start = stream.start_time or 0
        base = stream.time_base
        return _positive(end - (float(start * base) if base is not None else 0.0))
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    if packets and rate:
        return _positive(packets / float(rate))
    return None
