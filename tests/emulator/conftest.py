"""Emulator test fixtures: a manual-clock emulator and a raw aiohttp client that checks every
response body against the OpenAPI schema for its endpoint and status."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from asyncanalyze.emulator import Emulator, ManualClock
from asyncanalyze.emulator.pytest_plugin import (  # noqa: F401  (fixtures, re-exported)
    analyze_emulator,
    analyze_emulator_factory,
)

from ._openapi import validate

API_KEY = "tlk_emulator_test_key"
URL_VIDEO = {"type": "url", "url": "https://example.com/video.mp4"}


@pytest.fixture(scope="module")
def ok_video() -> bytes:
    """A 5 s 640x360 MP4 (the test is skipped without PyAV)."""
    from ._videos import make_video

    return make_video(640, 360, 5)


def body_for(**overrides: Any) -> dict[str, Any]:
    return {"video": URL_VIDEO, "prompt": "Summarize this video", **overrides}


@dataclass
class Answer:
    status: int
    headers: Any
    body: Any  # parsed JSON, or None for an empty body


class Api:
    """Raw HTTP against the emulator; every JSON answer is checked against the OpenAPI."""

    def __init__(self, session: aiohttp.ClientSession, emulator: Emulator, api_key: str | None):
        self.session = session
        self.emulator = emulator
        self.api_key = api_key

    async def call(
        self,
        method: str,
        path: str,
        *,
        schema: str | None,
        api_key: str | None = "",
        **kwargs: Any,
    ) -> Answer:
        headers = dict(kwargs.pop("headers", {}))
        key = self.api_key if api_key == "" else api_key
        if key is not None:
            headers["x-api-key"] = key
        url = self.emulator.base_url + path
        async with self.session.request(method, url, headers=headers, **kwargs) as response:
            raw = await response.read()
            body = await response.json(content_type=None) if raw else None
            answer = Answer(response.status, response.headers, body)
        self._check(answer, schema)
        return answer

    def _check(self, answer: Answer, schema: str | None) -> None:
        if answer.status == 204:
            assert answer.body is None
        elif answer.status >= 400:
            flat = self.emulator.config.error_shape == "flat"
            validate(
                answer.body,
                "List-async-analysis-tasksRequestBadRequestError" if flat else "ErrorResponse",
            )
            inner = answer.body if flat else answer.body["error"]
            assert set(inner) >= {"code", "message"}
        elif schema is not None:
            validate(answer.body, schema)

    async def create(self, body: Any = None, **kwargs: Any) -> Answer:
        if body is None:
            body = body_for()
        return await self.call(
            "POST", "/analyze/tasks", json=body, schema="CreateAnalyzeTaskResponse", **kwargs
        )

    async def create_id(self, body: Any = None, **kwargs: Any) -> str:
        answer = await self.create(body, **kwargs)
        assert answer.status == 202, answer.body
        return str(answer.body["task_id"])

    async def retrieve(self, task_id: str, **kwargs: Any) -> Answer:
        return await self.call(
            "GET", f"/analyze/tasks/{task_id}", schema="AnalyzeTaskResponse", **kwargs
        )

    async def list(self, params: dict[str, Any] | None = None, **kwargs: Any) -> Answer:
        return await self.call(
            "GET",
            "/analyze/tasks",
            params=params or {},
            schema="analyzeAsync_tasks_list_Response_200",
            **kwargs,
        )

    async def delete(self, task_id: str, **kwargs: Any) -> Answer:
        return await self.call("DELETE", f"/analyze/tasks/{task_id}", schema=None, **kwargs)

    async def cancel(self, task_id: str, **kwargs: Any) -> Answer:
        return await self.call(
            "POST",
            f"/analyze/tasks/{task_id}/cancel",
            schema="CancelAnalyzeTaskResponse",
            **kwargs,
        )


@contextlib.asynccontextmanager
async def loopback_server(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1 (a video host the emulator may fetch from); yields its URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
def manual_clock() -> ManualClock:
    """The clock of ``manual_emulator``: time moves only when a test advances it."""
    return ManualClock()


@pytest.fixture
def emulator_options() -> dict[str, Any]:
    """Override in a test module to start ``manual_emulator`` with other options."""
    return {}


@pytest.fixture
async def manual_emulator(
    manual_clock: ManualClock, emulator_options: dict[str, Any]
) -> AsyncIterator[Emulator]:
    """The emulator under test, on ``manual_clock``."""
    async with Emulator(clock=manual_clock, **emulator_options) as emulator:
        yield emulator


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def checked_api(http_session: aiohttp.ClientSession, manual_emulator: Emulator) -> Api:
    """Raw HTTP to ``manual_emulator``, every answer checked against the OpenAPI."""
    return Api(http_session, manual_emulator, API_KEY)


def error_code(answer: Answer) -> str:
    inner = answer.body.get("error", answer.body)
    return str(inner["code"])


def error_message(answer: Answer) -> str:
    inner = answer.body.get("error", answer.body)
    return str(inner["message"])
