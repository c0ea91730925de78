"""Fetching a video URL: bounded in size and time, no redirects, nothing of upstream leaked."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from asyncanalyze.emulator._fetch import fetch_video
from asyncanalyze.emulator._media import DOWNLOAD_FAILED_MESSAGE, MediaError
from asyncanalyze.emulator._probe import probe_bytes
from asyncanalyze.emulator._urls import is_unreachable_host

ELSEWHERE_HITS = web.AppKey("elsewhere_hits", list[str])


@pytest.fixture
async def fetch_video_server(ok_video: bytes) -> AsyncIterator[TestServer]:
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


async def test_fetch_returns_the_served_bytes(
    fetch_video_server: TestServer, ok_video: bytes
) -> None:
    data = await fetch_video(
        str(fetch_video_server.make_url("/video.mp4")), max_bytes=10**6, timeout=5
    )
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
    fetch_video_server: TestServer, path: str, max_bytes: int, reason: str
) -> None:
    with pytest.raises(MediaError) as caught:
        await fetch_video(str(fetch_video_server.make_url(path)), max_bytes=max_bytes, timeout=5)
    assert str(caught.value).startswith(DOWNLOAD_FAILED_MESSAGE)
    assert reason in str(caught.value)
    # Nothing of the upstream answer (status, location, body) reaches the task's message.
    assert not any(word in str(caught.value) for word in ("HTTP", "404", "302", "elsewhere"))
    assert fetch_video_server.app[ELSEWHERE_HITS] == []


async def test_fetch_times_out(fetch_video_server: TestServer) -> None:
    with pytest.raises(MediaError, match="timed out"):
        await fetch_video(str(fetch_video_server.make_url("/stalled")), max_bytes=100, timeout=0.1)


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
