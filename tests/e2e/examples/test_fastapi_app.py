"""examples/fastapi_app.py end to end: HTTP calls through httpx (in-process ASGI, and a real
uvicorn server the emulator delivers signed webhooks to), the app on an emulator."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

_SKIP = "needs the [examples] extra: pip install -e '.[examples]'"
httpx = pytest.importorskip("httpx", reason=_SKIP)
uvicorn = pytest.importorskip("uvicorn", reason=_SKIP)
pytest.importorskip("fastapi", reason=_SKIP)

import fastapi_app  # noqa: E402

from asyncanalyze import VideoContext_Url  # noqa: E402
from asyncanalyze.emulator import Emulator  # noqa: E402
from asyncanalyze.testing import emulator_client  # noqa: E402

VIDEO = "https://example.com/a.mp4?emulator_task_seconds={}"
SECRET = "whsec_example"


@contextlib.asynccontextmanager
async def serve_in_process(app: Any) -> AsyncIterator[Any]:
    # httpx's ASGI transport sends no lifespan events: run the app's lifespan around it.
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            yield client


@pytest.fixture
async def fastapi_app_client(examples_emulator: Emulator) -> AsyncIterator[Any]:
    """The app without webhooks: background completion by polling alone."""
    async with serve_in_process(
        fastapi_app.create_app(lambda: emulator_client(examples_emulator))
    ) as c:
        yield c


async def create(http: Any, url: str) -> str:
    response = await http.post("/analyses", json={"video_url": url, "prompt": "Summarize"})
    assert response.status_code == 202
    assert response.json()["status"] in {"queued", "pending"}
    return str(response.json()["task_id"])


async def test_create_long_poll_and_background_completion(
    fastapi_app_client: Any, examples_emulator: Emulator
) -> None:
    task_id = await create(fastapi_app_client, VIDEO.format(30))
    now = (await fastapi_app_client.get(f"/analyses/{task_id}")).json()
    assert now == {"task_id": task_id, "status": now["status"]}
    assert now["status"] in {"queued", "pending"}

    done = (await fastapi_app_client.get(f"/analyses/{task_id}", params={"wait": 55})).json()
    assert done["status"] == "ready" and done["result"]
    # Completed in the background: reading it again asks the API nothing.
    retrieves = examples_emulator.stats()["requests"]["retrieve"]
    assert (await fastapi_app_client.get(f"/analyses/{task_id}")).json() == done
    assert examples_emulator.stats()["requests"]["retrieve"] == retrieves


async def test_failed_unknown_and_bad_requests(fastapi_app_client: Any) -> None:
    task_id = await create(
        fastapi_app_client, "https://example.com/a.mp4?emulator_fail=corrupt+video"
    )
    failed = (await fastapi_app_client.get(f"/analyses/{task_id}", params={"wait": 55})).json()
    assert failed["status"] == "failed" and "corrupt video" in failed["error"]

    assert (await fastapi_app_client.get("/analyses/000000000000000000000000")).status_code == 404
    assert (
        await fastapi_app_client.get("/analyses/000000000000000000000000?wait=1")
    ).status_code == 404
    assert (
        await fastapi_app_client.get("/analyses/abc?wait=99")
    ).status_code == 422  # over MAX_WAIT
    assert (await fastapi_app_client.post("/analyses", json={"video_url": "x"})).status_code == 422
    empty = await fastapi_app_client.post(
        "/analyses", json={"video_url": "", "prompt": "Summarize"}
    )
    assert empty.status_code == 400


async def test_long_poll_of_a_task_created_elsewhere(
    fastapi_app_client: Any, examples_emulator: Emulator
) -> None:
    async with emulator_client(examples_emulator) as other:  # another replica, a script, ...
        short = await other.tasks.create(video=VideoContext_Url(url=VIDEO.format(20)), prompt="S")
        long = await other.tasks.create(video=VideoContext_Url(url=VIDEO.format(3600)), prompt="S")
    ready = (await fastapi_app_client.get(f"/analyses/{short.task_id}", params={"wait": 55})).json()
    assert ready["status"] == "ready"
    # Not done within the wait: the current state, and the caller asks again.
    pending = (
        await fastapi_app_client.get(f"/analyses/{long.task_id}", params={"wait": 30})
    ).json()
    assert pending["status"] in {"queued", "pending", "processing"}


async def test_webhook_signature_is_checked(
    fastapi_app_client: Any, examples_emulator: Emulator
) -> None:
    body = b'{"id": "whe_1", "type": "analyze.task.ready", "data": {}}'
    assert (
        await fastapi_app_client.post("/webhooks/analyze", content=body)
    ).status_code == 404  # not on
    app = fastapi_app.create_app(lambda: emulator_client(examples_emulator), webhook_secret=SECRET)
    async with serve_in_process(app) as hooked:
        unsigned = await hooked.post("/webhooks/analyze", content=body)
        assert unsigned.status_code == 400
        forged = await hooked.post(
            "/webhooks/analyze", content=body, headers={"TL-Signature": "t=1,v1=" + "0" * 64}
        )
        assert forged.status_code == 400 and "does not match" in forged.json()["error"]


async def test_a_replayed_webhook_is_acted_on_once(examples_emulator: Emulator) -> None:
    """A signed event sent again (a replay inside its window) is answered as a duplicate."""
    body = json.dumps(
        {
            "id": "whe_1",
            "created_at": "2026-07-01T10:03:13Z",
            "type": "analyze.task.ready",
            "data": {"id": "t1", "status": "ready", "created_at": "2026-07-01T10:00:00Z"},
        }
    ).encode()
    t = int(time.time())
    digest = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"TL-Signature": f"t={t},v1={digest}"}
    app = fastapi_app.create_app(lambda: emulator_client(examples_emulator), webhook_secret=SECRET)
    async with serve_in_process(app) as hooked:
        answers = [
            (await hooked.post("/webhooks/analyze", content=body, headers=headers)).json()
            for _ in range(3)
        ]
    assert answers == [{"received": "whe_1"}, {"duplicate": "whe_1"}, {"duplicate": "whe_1"}]


async def test_webhooks_end_the_background_wait_without_polling() -> None:
    # A real server, so the emulator can deliver its signed events to it over HTTP.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    hook = f"http://127.0.0.1:{port}/webhooks/analyze"
    async with Emulator(speed=200, webhook_url=hook, webhook_secret=SECRET) as emu:
        app = fastapi_app.create_app(lambda: emulator_client(emu), webhook_secret=SECRET)
        server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(10):
                while not server.started:  # uvicorn offers no event for "ready"
                    await asyncio.sleep(0.01)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                task_id = await create(http, VIDEO.format(20))
                created_at = emu.clock.now()
                done = (await http.get(f"/analyses/{task_id}", params={"wait": 55})).json()
            assert done["status"] == "ready" and done["result"]
            # The task ended 20 emulated s in; with webhooks the background wait's first
            # poll is 60 s away (±20 %), so only the event can have ended it this early,
            # and one retrieve after the event fetched the result.
            assert emu.clock.now() - created_at < 45
            stats = emu.stats()
            assert stats["webhooks"]["delivered"] == 1
            assert stats["polls"][task_id] == 1
        finally:
            server.should_exit = True
            await serving
            sock.close()
