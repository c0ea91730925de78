"""Real media for the probing tests, made with PyAV (importing this skips without PyAV)."""

from __future__ import annotations

import io

import pytest

av = pytest.importorskip("av")


def make_video(width: int, height: int, seconds: int, *, fps: int = 1) -> bytes:
    """A real MP4 of black frames; one frame per second keeps it a few kilobytes."""
    codec = "mpeg4" if "mpeg4" in av.codecs_available else "libx264"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(seconds * fps):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def make_audio_only() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="wav") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame(format="s16", layout="mono", samples=8000)
        frame.sample_rate = 8000
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()
