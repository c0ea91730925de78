"""Fidelity: the platform's own SDK (twelvelabs 1.3.6) cannot tell the emulator from the API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from twelvelabs import AsyncTwelveLabs
from twelvelabs.core.api_error import ApiError
from twelvelabs.errors import BadRequestError, ConflictError, NotFoundError
from twelvelabs.types import VideoContext_Url

from asyncanalyze.emulator import Emulator, ManualClock

VIDEO = VideoContext_Url(url="https://example.com/video.mp4")


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def sdk(emu: Emulator, http: httpx.AsyncClient, api_key: str = "tlk_sdk") -> AsyncTwelveLabs:
    return AsyncTwelveLabs(api_key=api_key, base_url=emu.base_url, httpx_client=http)


async def test_sdk_runs_the_whole_lifecycle(
    emu: Emulator, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    """create -> retrieve until ready -> list -> delete -> retrieve (NotFoundError)."""
    tasks = sdk(emu, http).analyze_async.tasks
    created = await tasks.create(video=VIDEO, prompt="Summarize this video", temperature=0.3)
    assert created.status == "queued"
    statuses = []
    for _ in range(100):
        task = await tasks.retrieve(created.task_id)
        statuses.append(task.status)
        if task.status in ("ready", "failed"):
            break
        clock.advance(5)
    assert statuses[0] == "queued" and statuses[-1] == "ready"
    assert "processing" in statuses
    assert task.result is not None and task.result.data
    assert task.result.finish_reason == "stop" and task.result.usage.output_tokens > 0
    assert task.completed_at is not None and task.created_at is not None

    page = await tasks.list(page=1, page_limit=10, status="ready")
    assert [item.task_id for item in page.data or []] == [created.task_id]
    assert page.page_info is not None and page.page_info.total_results == 1

    await tasks.delete(created.task_id)
    with pytest.raises(NotFoundError):
        await tasks.retrieve(created.task_id)


async def test_sdk_typed_errors(emu: Emulator, http: httpx.AsyncClient) -> None:
    """400, 401, 404 and 409 surface as the SDK's own error types and status codes."""
    tasks = sdk(emu, http).analyze_async.tasks
    with pytest.raises(BadRequestError):
        await tasks.create(video=VIDEO, prompt="p", temperature=3)
    with pytest.raises(NotFoundError):
        await tasks.retrieve("000000000000000000000000")
    created = await tasks.create(video=VIDEO, prompt="p")
    with pytest.raises(ConflictError):
        await tasks.delete(created.task_id)
    async with Emulator(clock=ManualClock(), api_key="tlk_right") as strict:
        with pytest.raises(ApiError) as unauthorized:
            await sdk(strict, http, api_key="tlk_wrong").analyze_async.tasks.list()
    assert unauthorized.value.status_code == 401
    assert unauthorized.value.body["error"]["code"] == "api_key_invalid"


async def test_sdk_reads_a_failed_task(
    emu: Emulator, clock: ManualClock, http: httpx.AsyncClient
) -> None:
    """A failed task decodes in the SDK with its error message."""
    tasks = sdk(emu, http).analyze_async.tasks
    video = VideoContext_Url(url="https://cdn.invalid/v.mp4")
    created = await tasks.create(video=video, prompt="p")
    clock.advance(3600)
    task = await tasks.retrieve(created.task_id)
    assert task.status == "failed" and task.error is not None and task.error.message
