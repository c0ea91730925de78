"""Fidelity: the platform's own SDK (twelvelabs 1.3.6) cannot tell the emulator from the API."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from twelvelabs import AsyncTwelveLabs
from twelvelabs.analyze_async.batches.client import AsyncBatchesClient
from twelvelabs.analyze_async.tasks.client import AsyncTasksClient
from twelvelabs.analyze_async.tasks.raw_client import AsyncRawTasksClient
from twelvelabs.analyze_async.tasks.types import TasksListResponse
from twelvelabs.core.api_error import ApiError
from twelvelabs.errors import BadRequestError, ConflictError, NotFoundError
from twelvelabs.types import (
    AnalyzeImageInput,
    AnalyzePromptV2,
    AnalyzeTaskResponse,
    AsyncResponseFormat,
    BatchItemRequest,
    CancelAnalyzeTaskResponse,
    CreateAnalyzeTaskResponse,
    PageInfo,
    SegmentDefinition,
    SegmentField,
    VideoContext_AssetId,
    VideoContext_Url,
)

from asyncanalyze.emulator import Emulator, ManualClock

VIDEO = VideoContext_Url(url="https://example.com/video.mp4")


@pytest.fixture
async def httpx_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def sdk(emu: Emulator, http: httpx.AsyncClient, api_key: str = "tlk_sdk") -> AsyncTwelveLabs:
    return AsyncTwelveLabs(api_key=api_key, base_url=emu.base_url, httpx_client=http)


async def test_sdk_runs_the_whole_lifecycle(
    manual_emulator: Emulator, manual_clock: ManualClock, httpx_client: httpx.AsyncClient
) -> None:
    """create -> retrieve until ready -> list -> delete -> retrieve (NotFoundError)."""
    tasks = sdk(manual_emulator, httpx_client).analyze_async.tasks
    created = await tasks.create(video=VIDEO, prompt="Summarize this video", temperature=0.3)
    assert created.status == "queued"
    statuses = []
    for _ in range(100):
        task = await tasks.retrieve(created.task_id)
        statuses.append(task.status)
        if task.status in ("ready", "failed"):
            break
        manual_clock.advance(5)
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


async def test_sdk_typed_errors(manual_emulator: Emulator, httpx_client: httpx.AsyncClient) -> None:
    """400, 401, 404 and 409 surface as the SDK's own error types and status codes."""
    tasks = sdk(manual_emulator, httpx_client).analyze_async.tasks
    with pytest.raises(BadRequestError):
        await tasks.create(video=VIDEO, prompt="p", temperature=3)
    with pytest.raises(NotFoundError):
        await tasks.retrieve("000000000000000000000000")
    created = await tasks.create(video=VIDEO, prompt="p")
    with pytest.raises(ConflictError):
        await tasks.delete(created.task_id)
    async with Emulator(clock=ManualClock(), api_key="tlk_right") as strict:
        with pytest.raises(ApiError) as unauthorized:
            await sdk(strict, httpx_client, api_key="tlk_wrong").analyze_async.tasks.list()
    assert unauthorized.value.status_code == 401
    assert unauthorized.value.body["error"]["code"] == "api_key_invalid"


async def test_sdk_reads_a_failed_task(
    manual_emulator: Emulator, manual_clock: ManualClock, httpx_client: httpx.AsyncClient
) -> None:
    """A failed task decodes in the SDK with its error message."""
    tasks = sdk(manual_emulator, httpx_client).analyze_async.tasks
    video = VideoContext_Url(url="https://cdn.invalid/v.mp4")
    created = await tasks.create(video=video, prompt="p")
    manual_clock.advance(3600)
    task = await tasks.retrieve(created.task_id)
    assert task.status == "failed" and task.error is not None and task.error.message


# -- the walk: every public method of the SDK's analyze_async.tasks, discovered -----------------
#
# The methods are found by introspection, so a method a new SDK release adds makes its
# parametrized case fail ("not walked") until the emulator answers it and a walk below checks
# the answer. Each walk asserts the SDK's typed result, or its typed error.


def public_methods(cls: type) -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and inspect.isfunction(member)
    )


def parameters(method: Any) -> set[str]:
    return set(inspect.signature(method).parameters) - {"self", "request_options", "task_id"}


async def settle(tasks: AsyncTasksClient, clock: ManualClock, task_id: str) -> AnalyzeTaskResponse:
    for _ in range(200):
        task = await tasks.retrieve(task_id)
        if task.status in ("ready", "failed", "canceled"):
            return task
        clock.advance(30)
    raise AssertionError(f"task {task_id} never ended")


SEGMENTS = AsyncResponseFormat(
    type="segment_definitions",
    segment_definitions=[
        SegmentDefinition(
            id="scenes",
            description="Each scene",
            fields=[SegmentField(name="summary", type="string", description="What happens")],
        )
    ],
)


async def walk_create(tasks: AsyncTasksClient, clock: ManualClock) -> None:
    """Every create parameter is sent at least once, and each kind of task ends ready."""
    calls: list[dict[str, Any]] = [
        {
            "model_name": "pegasus1.6",
            "custom_id": "walk-general",
            "video": VIDEO,
            "prompt": "Give a title",
            "analysis_mode": "general",
            "temperature": 0.1,
            "max_tokens": 600,
            "response_format": AsyncResponseFormat(
                type="json_schema",
                json_schema={"type": "object", "properties": {"title": {"type": "string"}}},
            ),
        },
        {
            "model_name": "pegasus1.5",
            "video": VideoContext_AssetId(asset_id="a" * 24),
            "analysis_mode": "time_based_metadata",
            "response_format": SEGMENTS,
            "min_segment_duration": 2,
            "max_segment_duration": 30,
            "start_time": 0,
            "end_time": 60,
        },
        {
            "model_name": "pegasus1.6",
            "video": VIDEO,
            "analysis_mode": "time_based_metadata",
            "response_format": SEGMENTS,
            "max_tokens": "unlimited",
        },
        {
            "model_name": "pegasus1.6",
            "image": [AnalyzeImageInput(name="before", url="https://example.com/a.jpg")],
            "prompt": "Describe the image",
        },
        {
            "model_name": "pegasus1.6",
            "video": VIDEO,
            "prompt_v_2": AnalyzePromptV2(input_text="Hi"),
        },
    ]
    for kwargs in calls:
        created = await tasks.create(**kwargs)
        assert isinstance(created, CreateAnalyzeTaskResponse) and created.status == "queued"
        task = await settle(tasks, clock, created.task_id)
        assert isinstance(task, AnalyzeTaskResponse) and task.status == "ready"
        assert task.result is not None and task.result.data
    assert (await tasks.retrieve(created.task_id)).custom_id is None
    sent = {name for kwargs in calls for name in kwargs}
    assert sent == parameters(AsyncTasksClient.create)
    with pytest.raises(BadRequestError):
        await tasks.create(video=VIDEO, prompt="p", temperature=3)
    with pytest.raises(BadRequestError):  # unlimited is for pegasus1.6 segmentation only
        await tasks.create(video=VIDEO, prompt="p", max_tokens="unlimited")


async def walk_list(tasks: AsyncTasksClient, clock: ManualClock) -> None:
    """Every list filter is applied, each alone and all together, and the page is typed."""
    url = "https://example.com/listed.mp4"
    by_url = await tasks.create(video=VideoContext_Url(url=url), prompt="p")
    by_asset = await tasks.create(video=VideoContext_AssetId(asset_id="b" * 24), prompt="p")
    segmented = await tasks.create(
        model_name="pegasus1.5",
        video=VideoContext_AssetId(asset_id="b" * 24),
        analysis_mode="time_based_metadata",
        response_format=SEGMENTS,
    )
    canceled = await tasks.create(video=VideoContext_Url(url=url), prompt="p")
    await tasks.cancel(canceled.task_id)

    async def ids(**filters: Any) -> list[str]:
        page = await tasks.list(**filters)
        assert isinstance(page, TasksListResponse) and isinstance(page.page_info, PageInfo)
        return [item.task_id for item in page.data]

    assert await ids(video_url=url) == [canceled.task_id, by_url.task_id]
    assert await ids(asset_id="b" * 24) == [segmented.task_id, by_asset.task_id]
    assert await ids(analysis_mode="time_based_metadata") == [segmented.task_id]
    assert await ids(status="canceled") == [canceled.task_id]
    assert await ids(status="queued", video_url=url) == [by_url.task_id]
    every = {
        "page": 1,
        "page_limit": 1,
        "status": "queued",
        "video_url": url,
        "asset_id": None,
        "analysis_mode": "general",
    }
    assert set(every) == parameters(AsyncTasksClient.list)
    assert await ids(**every) == [by_url.task_id]
    assert await ids(page=2, page_limit=1, asset_id="b" * 24) == [by_asset.task_id]
    with pytest.raises(BadRequestError):
        await tasks.list(page_limit=51)


async def walk_retrieve(tasks: AsyncTasksClient, clock: ManualClock) -> None:
    created = await tasks.create(video=VIDEO, prompt="p", custom_id="walk-retrieve")
    task = await tasks.retrieve(created.task_id)
    assert isinstance(task, AnalyzeTaskResponse) and task.custom_id == "walk-retrieve"
    assert task.status == "queued" and task.completed_at is None
    with pytest.raises(NotFoundError):
        await tasks.retrieve("0" * 24)


async def walk_delete(tasks: AsyncTasksClient, clock: ManualClock) -> None:
    """Finished and canceled tasks delete (None); a running one is a ConflictError."""
    finished = await tasks.create(video=VIDEO, prompt="p")
    await settle(tasks, clock, finished.task_id)
    running = await tasks.create(video=VIDEO, prompt="p")
    with pytest.raises(ConflictError):
        await tasks.delete(running.task_id)
    await tasks.cancel(running.task_id)
    for task_id in (finished.task_id, running.task_id):
        assert await tasks.delete(task_id) is None
        with pytest.raises(NotFoundError):
            await tasks.retrieve(task_id)
    with pytest.raises(NotFoundError):
        await tasks.delete(finished.task_id)


async def walk_cancel(tasks: AsyncTasksClient, clock: ManualClock) -> None:
    """The typed answer, twice the same; the canceled task as retrieve shows it; 409 for a
    finished task, 404 for an unknown one."""
    created = await tasks.create(video=VIDEO, prompt="p", custom_id="walk-cancel")
    clock.advance(1)
    first = await tasks.cancel(created.task_id)
    assert isinstance(first, CancelAnalyzeTaskResponse)
    assert (first.task_id, first.status) == (created.task_id, "canceled")
    assert await tasks.cancel(created.task_id) == first
    task = await settle(tasks, clock, created.task_id)
    assert task.status == "canceled" and task.result is None
    assert task.completed_at is not None and task.completed_at > task.created_at
    assert task.error is not None and task.error.code == "user_canceled"
    assert task.custom_id == "walk-cancel"
    ready = await tasks.create(video=VIDEO, prompt="p")
    await settle(tasks, clock, ready.task_id)
    with pytest.raises(ConflictError):
        await tasks.cancel(ready.task_id)
    with pytest.raises(NotFoundError):
        await tasks.cancel("0" * 24)


WALKS = {
    "cancel": walk_cancel,
    "create": walk_create,
    "delete": walk_delete,
    "list": walk_list,
    "retrieve": walk_retrieve,
}


@pytest.mark.parametrize("method", public_methods(AsyncTasksClient))
async def test_every_tasks_method_is_answered(
    method: str,
    manual_emulator: Emulator,
    manual_clock: ManualClock,
    httpx_client: httpx.AsyncClient,
) -> None:
    """Each public method of the official AsyncTasksClient gets the platform's answers."""
    assert method in WALKS, f"analyze_async.tasks.{method} is not walked against the emulator"
    await WALKS[method](sdk(manual_emulator, httpx_client).analyze_async.tasks, manual_clock)


@pytest.mark.parametrize("method", public_methods(AsyncRawTasksClient))
async def test_every_raw_tasks_method_answers_with_the_platforms_status(
    method: str,
    manual_emulator: Emulator,
    manual_clock: ManualClock,
    httpx_client: httpx.AsyncClient,
) -> None:
    """``with_raw_response``: the same methods, with the platform's HTTP status and headers."""
    raw = sdk(manual_emulator, httpx_client).analyze_async.tasks.with_raw_response
    assert isinstance(raw, AsyncRawTasksClient)
    created = (await raw.create(video=VIDEO, prompt="p")).data
    calls = {
        "create": (raw.create(video=VIDEO, prompt="p"), 202, CreateAnalyzeTaskResponse),
        "list": (raw.list(status="queued"), 200, TasksListResponse),
        "retrieve": (raw.retrieve(created.task_id), 200, AnalyzeTaskResponse),
        "cancel": (raw.cancel(created.task_id), 200, CancelAnalyzeTaskResponse),
        "delete": (_cancel_then_delete(raw, created.task_id), 204, type(None)),
    }
    assert method in calls, f"analyze_async.tasks.with_raw_response.{method} is not walked"
    call, status, data_type = calls.pop(method)
    for other, _, _ in calls.values():
        other.close()  # only the method under test is sent
    response = await call
    assert isinstance(response.data, data_type)
    # The SDK keeps the httpx response private; 1.3.6 is the version the constraints pin.
    assert response._response.status_code == status
    if status != 204:
        assert response.headers["content-type"].startswith("application/json")


async def _cancel_then_delete(raw: AsyncRawTasksClient, task_id: str) -> Any:
    await raw.cancel(task_id)
    return await raw.delete(task_id)


BATCH_CALLS: dict[str, Callable[[AsyncBatchesClient], Awaitable[Any]]] = {
    "cancel": lambda batches: batches.cancel("c" * 24),
    "create": lambda batches: batches.create(
        model_name="pegasus1.5",
        analysis_mode="general",
        requests=[BatchItemRequest(video={"type": "asset_id", "asset_id": "a" * 24})],
    ),
    "delete": lambda batches: batches.delete("c" * 24),
    "list": lambda batches: batches.list(),
    "results": lambda batches: _drain(batches.results("c" * 24)),
    "retrieve": lambda batches: batches.retrieve("c" * 24),
}


async def _drain(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


@pytest.mark.parametrize("method", public_methods(AsyncBatchesClient))
async def test_every_batches_method_gets_the_documented_501(
    method: str, manual_emulator: Emulator, httpx_client: httpx.AsyncClient
) -> None:
    """The batch API is not modeled: every call is a 501 not_implemented, in the platform's
    error shape (docs/emulator.md), never a 404 that could pass for "no such batch"."""
    assert method in BATCH_CALLS, f"analyze_async.batches.{method} is not walked"
    with pytest.raises(ApiError) as answer:
        await BATCH_CALLS[method](sdk(manual_emulator, httpx_client).analyze_async.batches)
    assert answer.value.status_code == 501
    assert answer.value.body["error"]["code"] == "not_implemented"
