"""Waits never starve under a rate limit, against a server that is not our emulator.

A starvation scenario, as a new user would write it: 200 coroutines each ``create`` a task
and ``await_result(timeout=120)`` on it, against a small independent aiohttp.web server whose
tasks take 1 s and which answers 5 % of requests with 429 (``Retry-After: 1``,
``X-Ratelimit-Limit: 100``, ``Remaining: 0``, ``Reset`` one second ahead), 5 % with 500/503,
and drops 1 % of connections unanswered. Every task must end ready, and each coroutine's
create plus wait within the 120 s its user allowed for the wait: a deadline is about the
task, not about our own pacing. (An older gate let 112 of 200 end ready; against this server it
let all 200 end ready, but its create pace kept widening and never relaxed, so the last
create+wait took 480-720 s.) Both ways of polling are covered: the list sweeps the client
uses for many waits, and one retrieve per task. The client gets 8 retries instead of 3 so that what fails is
starvation, not four 5xx in a row.

Time runs ``SPEED`` times faster than real time on both sides (the server's clock and the
client's injected clock and sleep), so 120 s of waiting costs at most 12 s.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any

import pytest
from aiohttp import web

from asyncanalyze import AnalyzeAsyncClient, VideoContext_Url

SPEED = 10.0
TASK_SECONDS = 1.0
COROUTINES = 200
WAIT_TIMEOUT = 120.0


class FastClock:
    """Epoch seconds running SPEED times faster than real time, shared by server and client."""

    def __init__(self) -> None:
        self._start = time.time()
        self._real_start = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._real_start) * SPEED

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / SPEED)


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class MisbehavingServer:
    """The Analyze async tasks API, minimally, with 429s, 5xx and dropped connections."""

    def __init__(self, clock: FastClock, seed: int = 3) -> None:
        self.clock = clock
        self.random = random.Random(seed)
        self.ids = itertools.count()
        self.created: dict[str, float] = {}
        self.answers: Counter[str] = Counter()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1.3/analyze/tasks", self.create)
        app.router.add_get("/v1.3/analyze/tasks", self.list)
        app.router.add_get("/v1.3/analyze/tasks/{task_id}", self.retrieve)
        return app

    def misbehave(self, request: web.Request) -> web.Response | None:
        draw = self.random.random()
        now = self.clock.now()
        if draw < 0.05:
            self.answers["429"] += 1
            headers = {
                "Retry-After": "1",
                "X-Ratelimit-Limit": "100",
                "X-Ratelimit-Remaining": "0",
                "X-Ratelimit-Reset": str(math.floor(now) + 1),
                "Date": formatdate(now, usegmt=True),
            }
            return web.json_response(
                {"code": "too_many_requests", "message": "slow down"}, status=429, headers=headers
            )
        if draw < 0.10:
            status = 500 if draw < 0.075 else 503
            self.answers[str(status)] += 1
            return web.json_response({"code": "internal", "message": "oops"}, status=status)
        if draw < 0.11:
            self.answers["dropped"] += 1
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)  # never reaches the client
        return None

    def task(self, task_id: str, *, full: bool) -> dict[str, Any]:
        created = self.created[task_id]
        ready = self.clock.now() >= created + TASK_SECONDS
        body: dict[str, Any] = {
            "task_id": task_id,
            "status": "ready" if ready else "processing",
            "created_at": stamp(created),
        }
        if ready:
            body["completed_at"] = stamp(created + TASK_SECONDS)
            if full:
                body["result"] = {
                    "generation_id": f"g-{task_id}",
                    "data": "A summary.",
                    "finish_reason": "stop",
                    "usage": {"output_tokens": 3},
                }
        return body

    async def create(self, request: web.Request) -> web.Response:
        trouble = self.misbehave(request)
        if trouble is not None:
            return trouble
        await request.read()
        task_id = f"task{next(self.ids):06d}"
        self.created[task_id] = self.clock.now()
        self.answers["created"] += 1
        return web.json_response({"task_id": task_id, "status": "processing"}, status=202)

    async def retrieve(self, request: web.Request) -> web.Response:
        trouble = self.misbehave(request)
        if trouble is not None:
            return trouble
        task_id = request.match_info["task_id"]
        if task_id not in self.created:
            return web.json_response({"code": "not_found", "message": task_id}, status=404)
        self.answers["retrieve"] += 1
        return web.json_response(self.task(task_id, full=True))

    async def list(self, request: web.Request) -> web.Response:
        trouble = self.misbehave(request)
        if trouble is not None:
            return trouble
        self.answers["list"] += 1
        page = int(request.query.get("page", "1"))
        limit = min(50, int(request.query.get("page_limit", "10")))
        wanted = request.query.get("status")
        tasks = [self.task(task_id, full=False) for task_id in reversed(self.created)]
        if wanted is not None:
            tasks = [task for task in tasks if task["status"] == wanted]
        chosen = tasks[(page - 1) * limit : page * limit]
        info = {
            "page": page,
            "limit_per_page": limit,
            "total_page": max(1, math.ceil(len(tasks) / limit)),
            "total_results": len(tasks),
        }
        return web.json_response({"data": chosen, "page_info": info})


@pytest.fixture
async def misbehaving_server() -> AsyncIterator[tuple[MisbehavingServer, str]]:
    server = MisbehavingServer(FastClock())
    runner = web.AppRunner(server.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield server, f"http://127.0.0.1:{port}/v1.3"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("bulk_threshold", [8, 10**9], ids=["sweeps", "per-task-polls"])
async def test_create_then_await_result_under_rate_limits_never_starves(
    misbehaving_server: tuple[MisbehavingServer, str], bulk_threshold: int
) -> None:
    """200 x (create, await_result(timeout=120)) on 1 s tasks, 5 % 429 with rate-limit
    headers, 5 % 5xx, 1 % dropped connections: all 200 end ready, one task per create."""
    server, base_url = misbehaving_server
    clock = server.clock
    async with AnalyzeAsyncClient(
        api_key="k",
        base_url=base_url,
        sleep=clock.sleep,
        clock=clock.now,
        max_retries=8,
        bulk_threshold=bulk_threshold,
    ) as client:

        async def create_and_wait(n: int) -> tuple[str, float]:
            started = clock.now()
            created = await client.tasks.create(
                video=VideoContext_Url(url=f"https://videos.example/{n}.mp4"), prompt="Summarize"
            )
            task = await client.tasks.await_result(created, timeout=WAIT_TIMEOUT)
            return task.status.value, clock.now() - started

        outcomes = await asyncio.gather(
            *(create_and_wait(n) for n in range(COROUTINES)), return_exceptions=True
        )
    statuses = Counter(o[0] if isinstance(o, tuple) else type(o).__name__ for o in outcomes)
    longest = max((o[1] for o in outcomes if isinstance(o, tuple)), default=math.nan)
    print(
        f"\n{dict(statuses)}, longest create+wait {longest:.1f} s (fast clock);"
        f" server answers {dict(server.answers)}"
    )
    assert statuses == {"ready": COROUTINES}
    assert longest < WAIT_TIMEOUT
    assert server.answers["created"] == COROUTINES
    assert server.answers["429"] > 0 and server.answers["dropped"] > 0
