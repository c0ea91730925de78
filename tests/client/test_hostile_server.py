"""A server that misbehaves on purpose: huge or compressed-bomb bodies, redirects to another
host, bodies trickled byte by byte. The client's memory, time and key stay bounded."""

from __future__ import annotations

import asyncio
import gzip
import json
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from asyncanalyze import (
    DEFAULT_MAX_RESPONSE_BYTES,
    AnalyzeAsyncClient,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InternalServerError,
    InvalidRequestError,
    ResponseTooLargeError,
    ResponseValidationError,
)
from asyncanalyze._errors import KEPT_BODY_BYTES

from .._helpers import task_json

KEY = "tlk_HOSTILE_SERVER_TEST_KEY"
MiB = 1024 * 1024
CAP = 1 * MiB

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Server:
    """One loopback server whose single task route runs whatever handler a test sets."""

    def __init__(self) -> None:
        self.handler: Handler | None = None
        self.requests = 0
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._route)
        self.server = TestServer(app, host="127.0.0.1")

    async def _route(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        assert self.handler is not None
        return await self.handler(request)

    @property
    def base_url(self) -> str:
        return str(self.server.make_url("/v1.3"))

    def client(self, **options: Any) -> AnalyzeAsyncClient:
        options.setdefault("max_retries", 0)
        return AnalyzeAsyncClient(api_key=KEY, base_url=self.base_url, **options)


@pytest.fixture
async def hostile_server() -> AsyncIterator[Server]:
    server = Server()
    await server.server.start_server()
    try:
        yield server
    finally:
        await server.server.close()


def gzip_bomb(decoded_size: int) -> bytes:
    """gzip of ``decoded_size`` bytes of JSON-looking text, built without holding it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    block = b" " * MiB
    parts = [packer.compress(b'{"task_id": "t1", "pad": "')]
    parts += [packer.compress(block) for _ in range(decoded_size // MiB)]
    parts.append(packer.compress(b'"}') + packer.flush())
    return b"".join(parts)


async def peak_memory_of(call: Awaitable[Any]) -> tuple[int, BaseException | None]:
    """Peak bytes allocated (tracemalloc) while ``call`` runs, and what it raised."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        error: BaseException | None = None
        try:
            await call
        except Exception as exc:
            error = exc
        return tracemalloc.get_traced_memory()[1], error
    finally:
        tracemalloc.stop()


# -- body caps -----------------------------------------------------------------------------------


async def test_a_gzip_bomb_never_inflates_past_the_cap(hostile_server: Server) -> None:
    """64 MiB of JSON sent as ~64 KiB of gzip: ResponseTooLargeError once 1 MiB is decoded,
    and memory stays a small multiple of the cap (the body was read whole before: +614 MiB
    for a 299 KiB bomb)."""
    bomb = gzip_bomb(64 * MiB)
    assert len(bomb) < 100 * 1024

    async def handler(_: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=bomb, headers=headers)

    hostile_server.handler = handler
    async with hostile_server.client(max_response_bytes=CAP) as client:
        peak, error = await peak_memory_of(client.tasks.retrieve("t1"))
    assert isinstance(error, ResponseTooLargeError), error
    assert isinstance(error, ResponseValidationError)
    assert error.limit == CAP
    assert len(error.body) <= KEPT_BODY_BYTES
    assert peak < 8 * CAP, f"peak {peak / MiB:.1f} MiB"


async def test_an_endless_body_is_cut_at_the_cap(hostile_server: Server) -> None:
    """A body with no Content-Length that never ends is read only up to the cap."""
    sent = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while sent < 300 * MiB:  # stops when the client hangs up
                await response.write(b" " * 65536)
                sent += 65536
        except (ConnectionError, RuntimeError):
            pass
        return response

    hostile_server.handler = handler
    async with hostile_server.client(max_response_bytes=CAP) as client:
        peak, error = await peak_memory_of(client.tasks.retrieve("t1"))
    assert isinstance(error, ResponseTooLargeError), error
    assert peak < 8 * CAP
    assert sent < 100 * MiB  # the connection was dropped, not drained


async def test_a_declared_length_over_the_cap_is_refused_unread(hostile_server: Server) -> None:
    """A Content-Length above the cap is refused from the header, before the body is read."""
    body = json.dumps(task_json(pad="x" * (2 * CAP))).encode()

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    hostile_server.handler = handler
    async with hostile_server.client(max_response_bytes=CAP) as client:
        with pytest.raises(ResponseTooLargeError, match="1,048,576"):
            await client.tasks.retrieve("t1")


async def test_a_body_at_the_cap_is_fine(hostile_server: Server) -> None:
    """The cap is on the decoded size and inclusive: a body of exactly the cap is decoded,
    compressed or not."""
    overhead = len(json.dumps(task_json(pad="")))
    body = json.dumps(task_json(pad="x" * (CAP - overhead))).encode()
    assert len(body) == CAP
    for encoded, headers in ((body, {}), (gzip.compress(body), {"Content-Encoding": "gzip"})):

        async def handler(_: web.Request, data: bytes = encoded, h: Any = headers) -> web.Response:
            return web.Response(body=data, headers={**h, "Content-Type": "application/json"})

        hostile_server.handler = handler
        async with hostile_server.client(max_response_bytes=CAP) as client:
            assert (await client.tasks.retrieve("t1")).task_id == "t1"


def raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", raw_deflate)],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
async def test_compressed_answers_decode(
    hostile_server: Server, encoding: str, pack: Callable[[bytes], bytes]
) -> None:
    """The client inflates gzip and both flavours of "deflate" itself, and says so."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Accept-Encoding", ""))
        body = pack(json.dumps(task_json()).encode())
        return web.Response(
            body=body, headers={"Content-Encoding": encoding, "Content-Type": "application/json"}
        )

    hostile_server.handler = handler
    async with hostile_server.client() as client:
        assert (await client.tasks.retrieve("t1")).task_id == "t1"
    assert seen == ["gzip, deflate"]


async def test_an_encoding_it_cannot_inflate_is_a_validation_error(hostile_server: Server) -> None:
    """A server that ignores Accept-Encoding and sends brotli: a typed error with the raw
    bytes, not garbage handed to the JSON decoder."""

    async def handler(_: web.Request) -> web.Response:
        headers = {"Content-Encoding": "br", "Content-Type": "application/json"}
        return web.Response(body=b"\x1b\x03\x00\xf8", headers=headers)

    hostile_server.handler = handler
    async with hostile_server.client() as client:
        with pytest.raises(ResponseValidationError, match="'br'") as caught:
            await client.tasks.retrieve("t1")
    assert caught.value.body == b"\x1b\x03\x00\xf8"


async def test_a_corrupt_gzip_body_is_a_connection_error_and_retried(
    hostile_server: Server,
) -> None:
    """A body damaged in transit is the network's fault: a retried APIConnectionError."""

    async def handler(_: web.Request) -> web.Response:
        headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
        return web.Response(body=b"\x1f\x8b\x08\x00" + b"garbage" * 10, headers=headers)

    hostile_server.handler = handler
    async with hostile_server.client(max_retries=1) as client:
        with pytest.raises(APIConnectionError, match="corrupt"):
            await client.tasks.retrieve("t1")
    assert hostile_server.requests == 2


async def test_a_too_large_answer_is_not_retried(hostile_server: Server) -> None:
    """The same request would get the same body: one request, no retry."""

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=b" " * (CAP + 1), content_type="application/json")

    hostile_server.handler = handler
    async with hostile_server.client(max_response_bytes=CAP, max_retries=3) as client:
        with pytest.raises(ResponseTooLargeError):
            await client.tasks.retrieve("t1")
    assert hostile_server.requests == 1


async def test_a_huge_error_body_keeps_a_prefix_and_its_status(hostile_server: Server) -> None:
    """A 503 with a 20 MiB body is still a retryable 503 (not "too large"); its .body keeps
    only a bounded prefix."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=503, headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            await response.write(b"<html>")
            for _ in range(20 * 16):  # 20 MiB, unless the client hangs up first
                await response.write(b"x" * 65536)
        except (ConnectionError, RuntimeError):
            pass
        return response

    hostile_server.handler = handler
    async with hostile_server.client() as client:
        peak, error = await peak_memory_of(client.tasks.retrieve("t1"))
    assert isinstance(error, InternalServerError), error
    assert error.status_code == 503
    assert error.body.startswith(b"<html>xxx") and len(error.body) == KEPT_BODY_BYTES
    assert peak < 8 * MiB


def test_exceptions_keep_only_a_prefix_of_any_body() -> None:
    """However an error is built, .body holds at most KEPT_BODY_BYTES; the message still
    gives the full size."""
    big = b"y" * (5 * MiB)
    validation = ResponseValidationError("bad", body=big, status_code=200)
    status = APIStatusError("bad", status_code=500, body=big)
    assert len(validation.body) == len(status.body) == KEPT_BODY_BYTES
    assert "5,242,880 bytes" in str(validation)


def test_the_default_cap_and_its_checks() -> None:
    """The option is an int >= 1, and the default stays tens of MiB, not hundreds."""
    assert 64 * MiB >= DEFAULT_MAX_RESPONSE_BYTES
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(InvalidRequestError):
            AnalyzeAsyncClient(api_key="k", max_response_bytes=bad)


async def test_the_largest_legitimate_page_fits_the_default_cap(hostile_server: Server) -> None:
    """A page of 50 ready tasks whose results use the largest token budget the platform
    allows (98,304 tokens, ~4 characters each) is read whole under the default cap."""
    longest_result = "w" * (98_304 * 4)
    item = task_json(result={**task_json()["result"], "data": longest_result})
    page = {
        "data": [{**item, "task_id": f"t{n}"} for n in range(50)],
        "page_info": {"limit_per_page": 50, "page": 1, "total_page": 1, "total_results": 50},
    }
    body = json.dumps(page).encode()
    assert len(body) > 16 * MiB  # what the old default refused

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    hostile_server.handler = handler
    async with hostile_server.client() as client:
        listed = await client.tasks.list(page_limit=50)
    assert len(listed.data) == 50


# -- what held up: redirects and slow bodies ------------------------------------------------------


async def test_redirects_are_not_followed_and_the_key_stays_home(hostile_server: Server) -> None:
    """A 302 to another host is an error for the caller; the other host sees no request (so
    never the key)."""
    elsewhere = Server()
    await elsewhere.server.start_server()
    seen: list[str | None] = []

    async def steal(request: web.Request) -> web.Response:
        seen.append(request.headers.get("x-api-key"))
        return web.json_response(task_json())

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound(elsewhere.base_url + "/analyze/tasks/t1")

    elsewhere.handler, hostile_server.handler = steal, redirect
    try:
        async with hostile_server.client(max_retries=3) as client:
            with pytest.raises(APIStatusError) as info:
                await client.tasks.retrieve("t1")
    finally:
        await elsewhere.server.close()
    assert info.value.status_code == 302
    assert seen == [] and elsewhere.requests == 0
    assert hostile_server.requests == 1


async def test_a_redirect_to_another_path_of_the_same_host_is_not_followed(
    hostile_server: Server,
) -> None:
    """A 302 from the task's path to another path of the same host is an error for the
    caller: only the task's path is ever asked, so the other path never sees the key."""
    paths: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        paths.append(request.path)
        if request.path.endswith("/analyze/tasks/t1"):
            raise web.HTTPFound("/collect?from=t1")
        return web.json_response(task_json())

    hostile_server.handler = handler
    async with hostile_server.client(max_retries=3) as client:
        with pytest.raises(APIStatusError) as info:
            await client.tasks.retrieve("t1")
    assert info.value.status_code == 302
    assert paths == ["/v1.3/analyze/tasks/t1"]
    assert KEY not in f"{info.value} {info.value!r}"


async def test_a_trickled_body_is_bounded_by_the_request_timeout(hostile_server: Server) -> None:
    """Slowloris: a server that sends headers, then a byte now and then, for ever, ends in
    APITimeoutError after the request timeout instead of holding the call."""
    stop = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            while not stop.is_set():
                await response.write(b" ")
                await asyncio.sleep(0.05)
        except (ConnectionError, RuntimeError):
            pass
        return response

    hostile_server.handler = handler
    try:
        async with hostile_server.client(timeout=0.5) as client:
            with pytest.raises(APITimeoutError):
                await asyncio.wait_for(client.tasks.retrieve("t1"), timeout=30)
    finally:
        stop.set()
