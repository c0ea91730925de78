"""The emulator under hostile load: bodies too large, too deep, too many values or too many
at once, prompts that cost CPU, and many media fetches. Each is bounded and answered with
the platform's error shape (the Api helper checks every error body against the OpenAPI)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from asyncanalyze.emulator import Emulator, EmulatorConfig, ManualClock, _intake
from asyncanalyze.emulator.__main__ import build_parser, config_from_args
from asyncanalyze.emulator._config import DEFAULT_MAX_BODY_BYTES

from .conftest import API_KEY, Api, body_for, error_code, error_message, loopback_server

MiB = 1024 * 1024


async def post_raw(api: Api, data: Any, **headers: str) -> Any:
    if isinstance(data, bytes):
        data = io.BytesIO(data)  # aiohttp warns about large raw bytes
    return await api.call(
        "POST",
        "/analyze/tasks",
        data=data,
        headers={"Content-Type": "application/json", **headers},
        schema="CreateAnalyzeTaskResponse",
    )


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    return {"max_body_bytes": 1 * MiB}


# -- size ------------------------------------------------------------------------------------


async def test_a_body_over_the_limit_is_413(checked_api: Api) -> None:
    """A body over max_body_bytes answers 413 content_too_large in the platform's error
    shape, whether its length is declared or it arrives chunked."""
    body = json.dumps(body_for(prompt="x " * MiB)).encode()

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    for data in (body, chunked()):
        answer = await post_raw(checked_api, data)
        assert answer.status == 413, answer.body
        assert error_code(answer) == "content_too_large"
        assert "1048576 bytes" in error_message(answer)
    assert checked_api.emulator.stats()["creates"] == 0


async def test_the_default_limit_fits_the_largest_video_and_no_more() -> None:
    """The default leaves room for a 30 MiB video's 40 MiB of base64 plus the rest of the
    request (so an oversize video still gets the platform's own 400), and stops well before
    the 60 MB prompts that used to block the emulator."""
    largest_video_json = len(json.dumps(body_for(video={"type": "base64_string"}))) + (
        (30 * MiB + 2) // 3 * 4
    )
    assert largest_video_json + 100_000 <= DEFAULT_MAX_BODY_BYTES < 60_000_000
    assert EmulatorConfig().max_body_bytes == DEFAULT_MAX_BODY_BYTES


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_limits_must_be_positive_ints(bad: Any) -> None:
    """Every limit is a positive int."""
    for name in ("max_body_bytes", "max_body_memory", "media_concurrency"):
        with pytest.raises(ValueError, match=name):
            EmulatorConfig(**{name: bad})


# -- shape -----------------------------------------------------------------------------------


async def test_a_deeply_nested_body_is_400_not_500(checked_api: Api) -> None:
    """100,000 nested arrays used to raise RecursionError inside the server (500)."""
    answer = await post_raw(checked_api, b"[" * 100_000 + b"]" * 100_000)
    assert answer.status == 400
    assert error_code(answer) == "parameter_invalid"


async def test_a_schema_nested_just_under_the_parser_limit_is_400_not_500(checked_api: Api) -> None:
    """JSON the parser accepts can still be too deep for the checks that walk it."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(900):
        schema = {"type": "array", "items": schema}
    body = body_for(response_format={"type": "json_schema", "json_schema": schema})
    answer = await post_raw(checked_api, json.dumps(body).encode())
    assert answer.status in (400, 422)


async def test_a_body_of_countless_tiny_values_is_refused_before_parsing(checked_api: Api) -> None:
    """900 KiB of "{}," would parse into ~300,000 dicts (tens of MiB): refused from the raw
    bytes, with memory staying near the body's own size."""
    body = b'{"prompt": "p", "video": {"type": "url", "url": "https://e.com/a"}, "custom_id": ['
    body += b"{}," * 300_000 + b"{}]}"
    tracemalloc.start()
    try:
        answer = await post_raw(checked_api, body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert answer.status == 400
    assert "too many JSON values" in error_message(answer)
    assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB"


# -- CPU -------------------------------------------------------------------------------------


async def test_a_prompt_padded_with_whitespace_is_over_the_token_limit(checked_api: Api) -> None:
    """Whitespace costs no token in the emulator's count, so 500,000 spaces and a word once
    passed as one token, after a regex scan of the whole text; a prompt beyond 100,000
    characters is now over 2,000 tokens without counting."""
    answer = await checked_api.create(body_for(prompt=" " * 500_000 + "Summarize"))
    assert answer.status == 400
    assert "2000 tokens" in error_message(answer)


async def test_a_long_prompt_under_the_limits_still_passes(checked_api: Api) -> None:
    """The character bound never refuses a prompt the token rule accepts in practice."""
    answer = await checked_api.create(body_for(prompt="Summarize this video. " * 400))
    assert answer.status == 202, answer.body


# -- memory held by bodies at once ------------------------------------------------------------


async def test_concurrent_large_bodies_share_a_bounded_budget() -> None:
    """Eight 2 MiB creates at once against max_body_memory=7 MiB: all succeed, and the bytes
    held for bodies never exceed the budget (the rest wait, unread, in their sockets).
    (16 x 60 MB bodies took 1.1 GB before.)"""
    payload = base64.b64encode(b"not a video" * (1536 * 1024 // 11)).decode()
    body = json.dumps(body_for(video={"type": "base64_string", "base64_string": payload}))
    assert 2 * MiB <= len(body) < 2.2 * MiB
    budget = 7 * MiB
    options = {"max_body_memory": budget, "fetch_media": True}
    async with (
        Emulator(clock=ManualClock(), **options) as emu,
        aiohttp.ClientSession() as session,
    ):
        api = Api(session, emu, API_KEY)
        answers = await asyncio.gather(*(post_raw(api, body.encode()) for _ in range(8)))
        assert [a.status for a in answers] == [202] * 8
        limits = emu.stats()["limits"]
        assert 0 < limits["body_bytes_peak"] <= budget
        # Decoded videos stay counted until probed; once probed, everything is given back.
        for _ in range(500):
            if emu.stats()["limits"]["body_bytes_held"] == 0:
                break
            await asyncio.sleep(0.01)
        assert emu.stats()["limits"]["body_bytes_held"] == 0


async def test_a_request_larger_than_the_whole_budget_still_runs_alone() -> None:
    """A budget smaller than one body does not deadlock: that body takes the whole budget."""
    async with (
        Emulator(clock=ManualClock(), max_body_memory=1024) as emu,
        aiohttp.ClientSession() as session,
    ):
        answer = await Api(session, emu, API_KEY).create(body_for(prompt="p " * 1000))
        assert answer.status == 202


# -- media fetches ---------------------------------------------------------------------------


async def test_media_fetches_run_a_few_at_a_time() -> None:
    """Twelve loopback-URL creates fetch at most media_concurrency videos at once (40 creates
    fetched 40 at once before, 616 MiB); the others queue."""
    gate = asyncio.Event()
    active = peak = 0

    async def video(_: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            await gate.wait()
        finally:
            active -= 1
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/v.mp4", video)
    async with (
        loopback_server(app) as host,
        Emulator(clock=ManualClock(), media_concurrency=3) as emu,
        aiohttp.ClientSession() as session,
    ):
        try:
            api = Api(session, emu, API_KEY)
            for n in range(12):
                url = f"{host}/v.mp4?n={n}"
                await api.create_id(body_for(video={"type": "url", "url": url}))
            for _ in range(500):
                limits = emu.stats()["limits"]
                if limits["media_in_flight"] + limits["media_queued"] == 12 and active == 3:
                    break
                await asyncio.sleep(0.01)
            assert (limits["media_in_flight"], limits["media_queued"]) == (3, 9)
            gate.set()
            for _ in range(500):
                if emu.stats()["limits"]["media_in_flight"] == 0:
                    break
                await asyncio.sleep(0.01)
            assert emu.stats()["limits"]["media_peak"] == 3
        finally:
            gate.set()
    assert peak == 3


async def test_a_stalled_upload_lets_go_of_its_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that declares a body and stops sending it gets 408 after the read timeout,
    and the body memory it held is given back (a slow sender cannot starve the others)."""
    monkeypatch.setattr(_intake, "_BODY_READ_SECONDS", 0.2)
    async with Emulator(clock=ManualClock()) as emu:
        reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
        writer.write(
            b"POST /v1.3/analyze/tasks HTTP/1.1\r\nHost: emulator\r\nx-api-key: k\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=30)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        assert status_line.split()[1] == b"408"
        assert emu.stats()["limits"]["body_bytes_held"] == 0


def test_limit_flags_map_onto_the_config() -> None:
    """The command line sets each limit; without flags the defaults hold."""
    flags = ["--max-body-bytes=1000", "--max-body-memory=5000", "--media-concurrency=2"]
    config = config_from_args(build_parser().parse_args(flags))
    assert (config.max_body_bytes, config.max_body_memory, config.media_concurrency) == (
        1000,
        5000,
        2,
    )
    assert config_from_args(build_parser().parse_args([])).max_body_bytes == (
        DEFAULT_MAX_BODY_BYTES
    )
