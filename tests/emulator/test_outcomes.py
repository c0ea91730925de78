"""How tasks end: generated results, documented failure markers, real media probing."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import AsyncIterator
from fractions import Fraction

import jsonschema
import pytest
from aiohttp import web

from asyncanalyze.emulator import Emulator, ManualClock

from .conftest import Api, body_for, loopback_server

DONE = 24 * 3600.0  # past any task's end


def url_video(url: str) -> dict[str, str]:
    return {"type": "url", "url": url}


async def finished(api: Api, clock: ManualClock, task_id: str) -> dict[str, object]:
    clock.advance(DONE)
    answer = await api.retrieve(task_id)
    assert answer.status == 200
    return answer.body  # type: ignore[no-any-return]


async def settled(emu: Emulator, task_id: str) -> None:
    """Wait (briefly, in real time) for the background fetch/probe of a task to finish."""
    for _ in range(500):
        record = emu.task(task_id)
        if record is not None and record.processing_s is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the video was never probed")


async def test_json_schema_result_validates(checked_api: Api, manual_clock: ManualClock) -> None:
    """With response_format, result.data is JSON that validates against the given schema."""
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
            "mood": {"type": "string", "enum": ["calm", "tense"]},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "scene": {
                "type": "object",
                "properties": {"indoor": {"type": "boolean"}, "score": {"type": "number"}},
                "required": ["indoor", "score"],
            },
        },
        "required": ["title", "rating", "mood", "tags", "scene"],
    }
    body = body_for(response_format={"type": "json_schema", "json_schema": schema})
    task = await finished(checked_api, manual_clock, await checked_api.create_id(body))
    result = task["result"]
    assert isinstance(result, dict) and result["finish_reason"] == "stop"
    jsonschema.validate(json.loads(result["data"]), schema)


async def test_segmentation_result_is_keyed_by_definition(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """A segment_definitions task's data maps each definition id to timed segments."""
    body = {
        "model_name": "pegasus1.5",
        "analysis_mode": "time_based_metadata",
        "video": {"type": "asset_id", "asset_id": "69abc123def456789012abcd"},
        "response_format": {
            "type": "segment_definitions",
            "segment_definitions": [
                {
                    "id": "highlight",
                    "description": "A notable moment",
                    "fields": [{"name": "summary", "type": "string", "description": "What"}],
                }
            ],
        },
    }
    task = await finished(checked_api, manual_clock, await checked_api.create_id(body))
    data = json.loads(task["result"]["data"])  # type: ignore[index]
    segment = data["highlight"][0]
    assert {"start_time", "end_time", "metadata"} <= set(segment)
    assert isinstance(segment["metadata"]["summary"], str)


async def test_small_max_tokens_cuts_with_finish_reason_length(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """A result cut at max_tokens says finish_reason length and carries the truncation note."""
    task = await finished(
        checked_api, manual_clock, await checked_api.create_id(body_for(max_tokens=3))
    )
    result = task["result"]
    assert result["finish_reason"] == "length"  # type: ignore[index]
    assert result["usage"]["output_tokens"] <= 3  # type: ignore[index]
    assert "truncated" in task["error"]["message"]  # type: ignore[index]


async def test_results_are_deterministic(checked_api: Api, manual_clock: ManualClock) -> None:
    """The same request on a fresh emulator with the same seed yields the same result."""
    first = await finished(checked_api, manual_clock, await checked_api.create_id())
    async with Emulator(clock=ManualClock()) as other:
        again_api = Api(checked_api.session, other, checked_api.api_key)
        again = await finished(again_api, other.clock, await again_api.create_id())  # type: ignore[arg-type]
    assert first["task_id"] == again["task_id"]
    assert first["result"] == again["result"]


async def test_unreachable_host_fails_when_processing_starts(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """A URL under .invalid fails, at the moment processing would have started."""
    task_id = await checked_api.create_id(body_for(video=url_video("https://videos.invalid/a.mp4")))
    record = manual_emulator.task(task_id)
    assert record is not None
    manual_clock.advance(record.queued_s + record.pending_s)
    task = (await checked_api.retrieve(task_id)).body
    assert task["status"] == "failed"
    assert "could not be downloaded" in task["error"]["message"]
    assert "result" not in task and "completed_at" in task


@pytest.mark.parametrize("url", ["http://[::1/v.mp4", "http://[::1"])
async def test_a_url_python_cannot_split_still_makes_a_task(
    checked_api: Api, manual_clock: ManualClock, url: str
) -> None:
    """An unbalanced IPv6 bracket passes the platform's URL check: the task gets synthetic
    facts (nothing is fetched) instead of the create failing with a 500."""
    task = await finished(
        checked_api, manual_clock, await checked_api.create_id(body_for(video=url_video(url)))
    )
    assert task["status"] == "ready"


async def test_fail_marker_fails_at_the_end_with_its_reason(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """emulator_fail=REASON fails the task with that message."""
    url = "https://example.com/v.mp4?emulator_fail=boom"
    task = await finished(
        checked_api, manual_clock, await checked_api.create_id(body_for(video=url_video(url)))
    )
    assert task["status"] == "failed"
    assert "boom" in task["error"]["message"]  # type: ignore[index]


async def test_too_short_video_fails_on_limits(checked_api: Api, manual_clock: ManualClock) -> None:
    """A video under 4 s (emulator_duration marker) fails with a limit message."""
    url = "https://example.com/v.mp4?emulator_duration=2"
    task = await finished(
        checked_api, manual_clock, await checked_api.create_id(body_for(video=url_video(url)))
    )
    assert task["status"] == "failed" and task["error"]["message"]  # type: ignore[index]


async def test_task_seconds_marker_fixes_the_total(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """emulator_task_seconds=N makes the task terminal exactly N seconds after create."""
    url = "https://example.com/v.mp4?emulator_task_seconds=100&emulator_duration=7000"
    task_id = await checked_api.create_id(body_for(video=url_video(url)))
    manual_clock.advance(99.9)
    assert (await checked_api.retrieve(task_id)).body["status"] == "processing"
    manual_clock.advance(0.2)
    assert (await checked_api.retrieve(task_id)).body["status"] == "ready"


def make_video(seconds: float, width: int, height: int) -> bytes:
    """A tiny real MP4 of black frames made with PyAV (2 frames a second)."""
    av = pytest.importorskip("av")
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=2)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, 2)
        for index in range(int(seconds * 2)):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:  # black: a new frame holds whatever memory it got
                plane.update(bytes(plane.buffer_size))
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def b64_video(data: bytes) -> dict[str, str]:
    return {"type": "base64_string", "base64_string": base64.b64encode(data).decode()}


async def test_base64_video_is_probed(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """A real base64 video's duration is probed and drives the processing time."""
    task_id = await checked_api.create_id(body_for(video=b64_video(make_video(6, 480, 360))))
    await settled(manual_emulator, task_id)
    record = manual_emulator.task(task_id)
    assert record is not None and record.facts_probed
    assert record.duration == pytest.approx(6, abs=0.6)
    task = await finished(checked_api, manual_clock, task_id)
    assert task["status"] == "ready"
    assert task["video_source"] == {  # the payload is not echoed back
        "type": "base64_string",
        "system_metadata": {"duration": pytest.approx(6, abs=0.6)},
    }


async def test_base64_video_outside_limits_fails(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """A real video below 360 px fails the task (asynchronously, as the platform does)."""
    answer = await checked_api.create(body_for(video=b64_video(make_video(5, 320, 240))))
    assert answer.status == 202
    await settled(manual_emulator, answer.body["task_id"])
    task = await finished(checked_api, manual_clock, answer.body["task_id"])
    assert task["status"] == "failed"


async def test_base64_bytes_that_are_not_video_fail_the_task(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """Valid base64 of non-video bytes is accepted at create and fails the task."""
    task_id = await checked_api.create_id(body_for(video=b64_video(b"definitely not a video" * 50)))
    await settled(manual_emulator, task_id)
    task = await finished(checked_api, manual_clock, task_id)
    assert task["status"] == "failed" and task["error"]["message"]  # type: ignore[index]


@pytest.fixture
async def loopback_video_server() -> AsyncIterator[str]:
    """A loopback server with /ok.mp4 (a real video) and /missing.mp4 (404)."""
    video = make_video(5, 640, 360)

    async def serve_video(request: web.Request) -> web.Response:
        return web.Response(body=video)

    app = web.Application()
    app.router.add_get("/ok.mp4", serve_video)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_loopback_url_is_fetched_and_probed(
    checked_api: Api,
    manual_emulator: Emulator,
    manual_clock: ManualClock,
    loopback_video_server: str,
) -> None:
    """A loopback URL is downloaded and probed; a 404 there fails the task."""
    good = await checked_api.create_id(body_for(video=url_video(loopback_video_server + "/ok.mp4")))
    bad = await checked_api.create_id(
        body_for(video=url_video(loopback_video_server + "/missing.mp4"))
    )
    await settled(manual_emulator, good)
    await settled(manual_emulator, bad)
    record = manual_emulator.task(good)
    assert record is not None and record.facts_probed
    assert (await finished(checked_api, manual_clock, good))["status"] == "ready"
    assert (await finished(checked_api, manual_clock, bad))["status"] == "failed"


async def test_a_redirect_is_never_followed(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """A loopback video URL answering 302 to another path (here an "admin" URL that deletes
    things) fails the task as undownloadable: the emulator never requests the target, and
    the failure tells nothing of what the upstream answered."""
    admin_hits: list[str] = []

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/internal-admin?delete=all")

    async def admin(request: web.Request) -> web.Response:
        admin_hits.append(request.path_qs)
        return web.Response(body=make_video(5, 640, 360))

    app = web.Application()
    app.router.add_get("/video.mp4", redirect)
    app.router.add_get("/internal-admin", admin)
    async with loopback_server(app) as host:
        task_id = await checked_api.create_id(body_for(video=url_video(host + "/video.mp4")))
        await settled(manual_emulator, task_id)
        task = await finished(checked_api, manual_clock, task_id)
    assert admin_hits == []
    assert task["status"] == "failed"
    message = task["error"]["message"]  # type: ignore[index]
    assert message.startswith("The video could not be downloaded")
    assert "302" not in message and "HTTP" not in message and "admin" not in message


async def test_pending_until_the_probe_is_done(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """A task whose video is still being probed does not get past pending."""
    blocker = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await blocker.wait()
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/slow.mp4", slow)
    async with loopback_server(app) as host:
        try:
            task_id = await checked_api.create_id(body_for(video=url_video(host + "/slow.mp4")))
            manual_clock.advance(DONE)
            assert (await checked_api.retrieve(task_id)).body["status"] == "pending"
            blocker.set()
            await settled(manual_emulator, task_id)
            assert (await checked_api.retrieve(task_id)).body["status"] == "failed"
        finally:
            blocker.set()  # before the server closes: it waits for its handlers
