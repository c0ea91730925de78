"""examples/aiohttp_app.py end to end: HTTP calls to the app, the app on an emulator."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp_app
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from asyncanalyze import AnalyzeAsyncClient, ClientStateError
from asyncanalyze.emulator import Emulator
from asyncanalyze.testing import emulator_client

VIDEO = "https://example.com/a.mp4?emulator_task_seconds={}"


@pytest.fixture
async def aiohttp_app_client(examples_emulator: Emulator) -> AsyncIterator[TestClient[Any, Any]]:
    app = aiohttp_app.create_app(lambda: emulator_client(examples_emulator))
    async with TestClient(TestServer(app)) as client:
        yield client


async def sse_events(response: ClientResponse) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    event = ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield event, json.loads(line.removeprefix("data: "))


async def create(client: TestClient[Any, Any], url: str) -> str:
    response = await client.post("/analyses", json={"video_url": url, "prompt": "Summarize"})
    assert response.status == 202
    body = await response.json()
    assert body["status"] in {"queued", "pending"}
    return str(body["task_id"])


async def test_create_then_stream_until_ready(aiohttp_app_client: TestClient[Any, Any]) -> None:
    task_id = await create(aiohttp_app_client, VIDEO.format(60))
    got = await aiohttp_app_client.get(f"/analyses/{task_id}")
    assert got.status == 200
    assert (await got.json())["status"] in {"queued", "pending"}

    response = await aiohttp_app_client.get(f"/analyses/{task_id}/events")
    assert response.headers["Content-Type"] == "text/event-stream"
    events = [item async for item in sse_events(response)]
    statuses = [data["status"] for name, data in events if name == "status"]
    assert statuses[-1] == "ready"
    assert len(statuses) == len(set(statuses))  # one event per change, never a repeat
    name, final = events[-1]
    assert name == "ready"
    assert final["task_id"] == task_id and final["result"]

    done = await (await aiohttp_app_client.get(f"/analyses/{task_id}")).json()
    assert done == final


async def test_failed_task_ends_the_stream_with_failed(
    aiohttp_app_client: TestClient[Any, Any],
) -> None:
    task_id = await create(
        aiohttp_app_client, "https://example.com/a.mp4?emulator_fail=corrupt+video"
    )
    response = await aiohttp_app_client.get(f"/analyses/{task_id}/events")
    name, final = [item async for item in sse_events(response)][-1]
    assert name == "failed"
    assert final["status"] == "failed" and "corrupt video" in final["error"]


async def test_unknown_and_bad_requests(aiohttp_app_client: TestClient[Any, Any]) -> None:
    assert (await aiohttp_app_client.get("/analyses/000000000000000000000000")).status == 404
    assert (await aiohttp_app_client.get("/analyses/..%2Fetc")).status == 404
    response = await aiohttp_app_client.get("/analyses/000000000000000000000000/events")
    assert [item async for item in sse_events(response)] == [
        ("error", {"error": "no such analysis"})
    ]
    assert (await aiohttp_app_client.post("/analyses", data=b"not json")).status == 400
    assert (await aiohttp_app_client.post("/analyses", json={"video_url": "x"})).status == 400
    refused = await aiohttp_app_client.post(
        "/analyses", json={"video_url": "", "prompt": "Summarize"}
    )
    assert refused.status == 400


async def test_shutdown_ends_open_streams_then_closes_the_client(
    examples_emulator: Emulator,
) -> None:
    made: list[AnalyzeAsyncClient] = []

    def factory() -> AnalyzeAsyncClient:
        made.append(emulator_client(examples_emulator))
        return made[0]

    server = TestServer(aiohttp_app.create_app(factory))
    client = TestClient(server)
    await client.start_server()
    try:
        task_id = await create(client, VIDEO.format(3600))  # far longer than the test
        response = await client.get(f"/analyses/{task_id}/events")
        events = sse_events(response)
        first = await anext(events)
        assert first[0] == "status"
        # Shut the server down while the stream is open: it must end promptly, not hold
        # shutdown for its timeout, and tell the browser to reconnect.
        closing = asyncio.create_task(server.close())
        rest = [item async for item in events]
        assert rest[-1] == ("error", {"error": "server shutting down, reconnect"})
        await asyncio.wait_for(closing, 5)
    finally:
        await client.close()
    with pytest.raises(ClientStateError, match="closed"):
        await made[0].tasks.retrieve(task_id)
