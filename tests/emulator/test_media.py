"""Video facts for the emulator: markers, synthetic facts, real probing, limits, fetching."""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from asyncanalyze.emulator._media import (
    DOWNLOAD_FAILED_MESSAGE,
    GENERIC_FAILURE_MESSAGE,
    Markers,
    MediaError,
    VideoFacts,
    fetch_video,
    is_unreachable_host,
    limit_violation,
    parse_markers,
    probe_bytes,
    synthetic_facts,
)

av = pytest.importorskip("av")

REPO_ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture(scope="module")
def ok_video() -> bytes:
    return make_video(640, 360, 5)


# -- probing real media ---------------------------------------------------------------------


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


# -- limits ---------------------------------------------------------------------------------


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


# -- markers --------------------------------------------------------------------------------

BASE = "https://cdn.example.com/clips/a.mp4"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"{BASE}?emulator_duration=12.5&emulator_task_seconds=3"
            "&emulator_fail=Bad+codec&emulator_resolution=640x360",
            Markers(duration=12.5, task_seconds=3.0, fail="Bad codec", resolution=(640, 360)),
        ),
        (f"{BASE}?emulator_fail=1", Markers(fail=GENERIC_FAILURE_MESSAGE)),
        (f"{BASE}?emulator_fail=TRUE", Markers(fail=GENERIC_FAILURE_MESSAGE)),
        (f"{BASE}?emulator_fail=Video%20is%20corrupt", Markers(fail="Video is corrupt")),
        (f"{BASE}?emulator_fail=false", Markers()),
        (f"{BASE}?emulator_fail=0&emulator_fail=1", Markers()),
        (f"{BASE}?emulator_fail=", Markers()),
        (f"{BASE}?emulator_fail=a%0Ab", Markers(fail="a b")),
        (f"{BASE}?emulator_resolution=1080X1920", Markers(resolution=(1080, 1920))),
        (f"{BASE}?emulator_duration=.5", Markers(duration=0.5)),
        (f"{BASE}?emulator_task_seconds=0", Markers(task_seconds=0.0)),
        # First well-formed occurrence wins; malformed ones are skipped.
        (
            f"{BASE}?emulator_duration=x&emulator_duration=9&emulator_duration=7",
            Markers(duration=9),
        ),
        (f"{BASE}?x=1&emulator_duration=5#frag", Markers(duration=5.0)),
    ],
)
def test_parse_markers(url: str, expected: Markers) -> None:
    assert parse_markers(url) == expected


@pytest.mark.parametrize(
    "query",
    [
        "emulator_duration=abc",
        "emulator_duration=-5",
        "emulator_duration=nan",
        "emulator_duration=inf",
        "emulator_duration=1e3",
        "emulator_duration=1_000",
        "emulator_duration=",
        "emulator_task_seconds=soon",
        "emulator_resolution=640x",
        "emulator_resolution=0x360",
        "emulator_resolution=640*360",
        "emulator_resolution=axb",
        "emulator_resolution=9999999x1",
        "emulator_resolution=-640x360",
        "emulator_unknown=1",
        "%zz=%zz&&&=",
    ],
)
def test_malformed_markers_are_ignored(query: str) -> None:
    assert parse_markers(f"{BASE}?{query}") == Markers()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a url",
        "64f8d2c7e4a1b37f8a9c5d12",
        "?emulator_duration=5",
        "/relative/path.mp4?emulator_duration=5",
        "http://[::1?emulator_duration=5",
    ],
)
def test_non_urls_have_no_markers(text: str) -> None:
    assert parse_markers(text) == Markers()


def test_fail_message_is_capped() -> None:
    markers = parse_markers(f"{BASE}?emulator_fail={'x' * 5000}")
    assert markers.fail is not None
    assert 0 < len(markers.fail) <= 500


# -- synthetic facts ------------------------------------------------------------------------


def test_synthetic_facts_are_stable_and_within_limits() -> None:
    keys = [f"https://example.com/v/{i}.mp4" for i in range(400)]
    facts = [synthetic_facts(k, Markers()) for k in keys]
    assert facts == [synthetic_facts(k, Markers()) for k in keys]
    assert all(not f.probed and limit_violation(f) is None for f in facts)
    durations = sorted(f.duration for f in facts)
    assert durations[0] >= 30 and durations[-1] <= 2400
    assert 60 <= durations[len(durations) // 2] <= 300  # skewed to a few minutes
    assert durations[-1] > 900  # but long videos happen
    resolutions = {(f.width, f.height) for f in facts}
    assert {(1920, 1080), (1280, 720), (1080, 1920)} <= resolutions


def test_markers_override_synthetic_facts() -> None:
    url = f"{BASE}?emulator_duration=2&emulator_resolution=300x300"
    facts = synthetic_facts(url, parse_markers(url))
    assert (facts.duration, facts.width, facts.height) == (2.0, 300, 300)
    assert limit_violation(facts) is not None


def test_markers_do_not_change_which_video_a_url_stands_for() -> None:
    plain = synthetic_facts(BASE, Markers())
    with_marker = f"{BASE}?emulator_task_seconds=5"
    assert synthetic_facts(with_marker, parse_markers(with_marker)) == plain


def test_synthetic_facts_are_the_same_in_other_processes() -> None:
    keys = [BASE, "64f8d2c7e4a1b37f8a9c5d12", "https://example.com/ünïcode.mp4"]
    script = (
        "import json, sys; from dataclasses import asdict;"
        "from asyncanalyze.emulator._media import Markers, synthetic_facts;"
        "print(json.dumps([asdict(synthetic_facts(k, Markers())) for k in sys.argv[1:]]))"
    )
    outputs = []
    # Different hash seeds would expose any use of the salted built-in hash().
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO_ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", script, *keys],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            timeout=30,
        )
        outputs.append(json.loads(done.stdout))
    here = [asdict(synthetic_facts(k, Markers())) for k in keys]
    assert outputs[0] == outputs[1] == here


# -- fetching -------------------------------------------------------------------------------

ELSEWHERE_HITS = web.AppKey("elsewhere_hits", list[str])


@pytest.fixture
async def video_server(ok_video: bytes) -> AsyncIterator[TestServer]:
    release = asyncio.Event()

    async def video(_: web.Request) -> web.Response:
        return web.Response(body=ok_video, content_type="video/mp4")

    async def big(_: web.Request) -> web.Response:
        return web.Response(body=b"x" * 5000)

    async def big_streamed(request: web.Request) -> web.StreamResponse:
        # No Content-Length: the size limit must hold while streaming too.
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(10):
            await response.write(b"y" * 1000)
        await response.write_eof()
        return response

    async def stalled(_: web.Request) -> web.Response:
        await release.wait()
        return web.Response(body=b"late")

    async def moved(_: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere?delete=all")

    async def elsewhere(request: web.Request) -> web.Response:
        request.app[ELSEWHERE_HITS].append(request.path_qs)
        return web.Response(body=ok_video)

    app = web.Application()
    app[ELSEWHERE_HITS] = []
    app.router.add_get("/moved", moved)
    app.router.add_get("/elsewhere", elsewhere)
    app.router.add_get("/video.mp4", video)
    app.router.add_get("/big", big)
    app.router.add_get("/big-streamed", big_streamed)
    app.router.add_get("/stalled", stalled)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        release.set()
        await server.close()


async def test_fetch_returns_the_served_bytes(video_server: TestServer, ok_video: bytes) -> None:
    data = await fetch_video(str(video_server.make_url("/video.mp4")), max_bytes=10**6, timeout=5)
    assert data == ok_video
    assert probe_bytes(data).duration == pytest.approx(5.0, abs=0.1)


@pytest.mark.parametrize(
    ("path", "max_bytes", "reason"),
    [
        ("/missing", 10**6, "the server did not return the file"),
        ("/moved", 10**6, "the server did not return the file"),
        ("/big", 1000, "maximum allowed size of 1000 bytes"),
        ("/big-streamed", 1000, "maximum allowed size of 1000 bytes"),
    ],
)
async def test_fetch_failures(
    video_server: TestServer, path: str, max_bytes: int, reason: str
) -> None:
    with pytest.raises(MediaError) as caught:
        await fetch_video(str(video_server.make_url(path)), max_bytes=max_bytes, timeout=5)
    assert str(caught.value).startswith(DOWNLOAD_FAILED_MESSAGE)
    assert reason in str(caught.value)
    # Nothing of the upstream answer (status, location, body) reaches the task's message.
    assert not any(word in str(caught.value) for word in ("HTTP", "404", "302", "elsewhere"))
    assert video_server.app[ELSEWHERE_HITS] == []


async def test_fetch_times_out(video_server: TestServer) -> None:
    with pytest.raises(MediaError, match="timed out"):
        await fetch_video(str(video_server.make_url("/stalled")), max_bytes=100, timeout=0.1)


async def test_fetch_connection_refused() -> None:
    # Bind then close: the port is free and nothing listens on it.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(MediaError, match="could not be reached") as caught:
        await fetch_video(f"http://127.0.0.1:{port}/v.mp4", max_bytes=100, timeout=5)
    assert str(caught.value).startswith(DOWNLOAD_FAILED_MESSAGE)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/v.mp4", "not a url", "https://video.invalid/v.mp4", "file:///etc/passwd"],
)
async def test_fetch_refuses_without_network(url: str) -> None:
    with pytest.raises(MediaError) as caught:
        await fetch_video(url, max_bytes=100, timeout=5)
    assert str(caught.value).startswith(DOWNLOAD_FAILED_MESSAGE)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://video.invalid/a.mp4", True),
        ("https://cdn.EXAMPLE.Invalid./a.mp4", True),
        ("http://invalid/a.mp4", True),
        ("https://user:pw@x.invalid:8443/a.mp4?q=1", True),
        ("https://invalid.example.com/a.mp4", False),
        ("https://example.com/a.invalid", False),
        ("https://example.com/?h=x.invalid", False),
        ("not a url", False),
        ("", False),
        ("http://[::1", False),
    ],
)
def test_is_unreachable_host(url: str, expected: bool) -> None:
    assert is_unreachable_host(url) is expected


@pytest.mark.parametrize(("max_bytes", "timeout"), [(100, 0), (100, -1), (-1, 5)])
async def test_fetch_rejects_nonsense_limits(max_bytes: int, timeout: float) -> None:
    # A zero timeout would mean "no timeout" to aiohttp.
    with pytest.raises(ValueError):
        await fetch_video("http://127.0.0.1:9/v.mp4", max_bytes=max_bytes, timeout=timeout)
