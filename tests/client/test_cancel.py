"""client.tasks.cancel and what a canceled task means for every kind of wait: the request and
its answers (mocked: every shape the platform may send), then end to end on the emulator."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from aioresponses import aioresponses

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeRequest,
    BadRequestError,
    BatchProgress,
    CancelAnalyzeTaskResponse,
    ConflictError,
    CreateAnalyzeTaskResponse,
    InvalidRequestError,
    NotFoundError,
    PollPolicy,
    ResponseValidationError,
    TaskCanceledError,
    TaskFailedError,
    VideoContext_Url,
)
from asyncanalyze.emulator import Emulator, FaultConfig
from asyncanalyze.testing import emulator_client

from .._helpers import calls, sent_count, task_json
from ..conftest import BASE_URL

TASKS = f"{BASE_URL}/analyze/tasks"
TASK_ID = "64f8d2c7e4a1b37f8a9c5d12"
CANCELED = {"task_id": TASK_ID, "status": "canceled"}


# -- the request and its answers ----------------------------------------------------------------


async def test_cancel_posts_to_the_tasks_cancel_path(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """POST /analyze/tasks/{id}/cancel without a body; the answer is typed. The created
    response works as well as the id."""
    mocked_api.post(f"{TASKS}/{TASK_ID}/cancel", payload=CANCELED, repeat=True)
    answer = await mocked_client.tasks.cancel(TASK_ID)
    again = await mocked_client.tasks.cancel(CreateAnalyzeTaskResponse(TASK_ID, "queued"))  # type: ignore[arg-type]
    assert isinstance(answer, CancelAnalyzeTaskResponse)
    assert answer == again == CancelAnalyzeTaskResponse(TASK_ID, "canceled")  # type: ignore[arg-type]
    assert answer.status.is_terminal
    [(method, url, kwargs), _] = calls(mocked_api)
    assert (method, url) == ("POST", f"{TASKS}/{TASK_ID}/cancel")
    assert kwargs.get("data") is None


async def test_cancel_escapes_the_id_like_retrieve(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """The id is one escaped path segment; ids that would change the path are refused unsent."""
    mocked_api.post(f"{TASKS}/a%20b%3F/cancel", payload={"task_id": "a b?", "status": "canceled"})
    await mocked_client.tasks.cancel("a b?")
    for bad in ("../x", "a/b", "", ".", 42):
        with pytest.raises(InvalidRequestError):
            await mocked_client.tasks.cancel(bad)  # type: ignore[arg-type]
    assert sent_count(mocked_api) == 1


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (404, {"error": {"code": "resource_not_exist", "message": "no"}}, NotFoundError),
        (409, {"error": {"code": "task_not_cancelable", "message": "ready"}}, ConflictError),
        (409, {"code": "conflict", "message": "ready"}, ConflictError),  # the flat shape
        (409, None, ConflictError),  # an empty body
        (400, {"code": "parameter_invalid", "message": "The task is ready."}, BadRequestError),
    ],
)
async def test_cancel_refusals_are_typed(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, status: int, body: Any, error: type
) -> None:
    """404 for an unknown task; 409, or 400, for one that already ended: the refusals the
    platform's SDK declares for this call, in either error shape or none."""
    if body is None:
        mocked_api.post(f"{TASKS}/{TASK_ID}/cancel", status=status, body=b"")
    else:
        mocked_api.post(f"{TASKS}/{TASK_ID}/cancel", status=status, payload=body)
    with pytest.raises(error) as raised:
        await mocked_client.tasks.cancel(TASK_ID)
    assert raised.value.status_code == status
    assert sent_count(mocked_api) == 1  # a refusal is not retried


async def test_cancel_is_retried_as_idempotent(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """A repeated cancel answers the same, so transient failures are retried (unlike a create
    without its key)."""
    mocked_api.post(f"{TASKS}/{TASK_ID}/cancel", status=503)
    mocked_api.post(f"{TASKS}/{TASK_ID}/cancel", status=429, headers={"Retry-After": "1"})
    mocked_api.post(f"{TASKS}/{TASK_ID}/cancel", payload=CANCELED)
    assert (await mocked_client.tasks.cancel(TASK_ID)).status == "canceled"
    assert sent_count(mocked_api) == 3


async def test_a_cancel_answer_that_does_not_fit_is_a_validation_error(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    mocked_api.post(f"{TASKS}/{TASK_ID}/cancel", payload={"status": "canceled"})
    with pytest.raises(ResponseValidationError) as raised:
        await mocked_client.tasks.cancel(TASK_ID)
    assert raised.value.body == b'{"status": "canceled"}'


async def test_a_cancel_answer_for_another_task_is_refused(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """An answer naming another task (a confused proxy or cache) is a ResponseValidationError,
    as for retrieve, and ends no wait; the same id in other case is the same task."""
    mocked_api.post(
        f"{TASKS}/{TASK_ID}/cancel", payload={"task_id": "0" * 24, "status": "canceled"}
    )
    mocked_api.post(f"{TASKS}/{TASK_ID}/cancel", payload={**CANCELED, "task_id": TASK_ID.upper()})
    with pytest.raises(ResponseValidationError, match="asked for task"):
        await mocked_client.tasks.cancel(TASK_ID)
    assert (await mocked_client.tasks.cancel(TASK_ID)).task_id == TASK_ID.upper()


async def test_canceled_task_raises_task_canceled_error(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """await_result on a task that ends canceled raises TaskCanceledError, a TaskFailedError
    whose .task is the canceled task with its reason; a failed task stays a plain
    TaskFailedError."""
    reason = {"code": "user_canceled", "message": "The task was canceled by the user."}
    mocked_api.get(f"{TASKS}/t1", payload=task_json("canceled", task_id="t1", error=reason))
    mocked_api.get(f"{TASKS}/t2", payload=task_json("failed", task_id="t2", error={"message": "x"}))
    with pytest.raises(TaskCanceledError) as canceled:
        await mocked_client.tasks.await_result("t1")
    assert isinstance(canceled.value, TaskFailedError)
    assert canceled.value.task.status == "canceled"
    assert (
        canceled.value.task.error is not None and canceled.value.task.error.code == reason["code"]
    )
    assert "canceled" in str(canceled.value)
    with pytest.raises(TaskFailedError) as failed:
        await mocked_client.tasks.await_result("t2")
    assert type(failed.value) is TaskFailedError


async def test_canceling_a_waited_task_ends_the_wait_at_once(mocked_api: aioresponses) -> None:
    """A cancel through the same client ends its waits on that task with one retrieve, not at
    the next poll: here the poll never comes (the client's sleeps never return)."""
    mocked_api.get(f"{TASKS}/t1", payload=task_json("processing", task_id="t1"))
    mocked_api.get(f"{TASKS}/t1", payload=task_json("canceled", task_id="t1"))
    mocked_api.post(f"{TASKS}/t1/cancel", payload={"task_id": "t1", "status": "canceled"})

    async def never(seconds: float) -> None:
        await asyncio.Event().wait()

    async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL, sleep=never) as client:
        wait = asyncio.create_task(client.tasks.await_result("t1"))
        for _ in range(100):
            if sent_count(mocked_api) == 1:
                break
            await asyncio.sleep(0)
        assert sent_count(mocked_api) == 1 and not wait.done()
        await client.tasks.cancel("t1")
        with pytest.raises(TaskCanceledError):
            await asyncio.wait_for(wait, 1)
    assert sent_count(mocked_api) == 3  # the first poll, the cancel, one retrieve


# -- end to end on the emulator -------------------------------------------------------------------

LONG = 3000  # emulated seconds: no task here ends on its own during a test


def video(tag: str, seconds: int = LONG) -> VideoContext_Url:
    return VideoContext_Url(url=f"https://videos.example/{tag}.mp4?emulator_task_seconds={seconds}")


async def until(condition: Any, *, turns: int = 2000) -> None:
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("condition never held")


async def test_cancel_ends_await_result_and_the_sdk_sees_the_platforms_answers(
    sped_up_emulator: Emulator,
) -> None:
    """Against the emulator: the wait ends with TaskCanceledError after one extra retrieve;
    a second cancel answers the same; a finished task is a ConflictError; an unknown one a
    NotFoundError."""
    async with emulator_client(
        sped_up_emulator, poll_policy=PollPolicy(initial_delay=600.0)
    ) as client:
        created = await client.tasks.create(video=video("waited"), prompt="p")
        wait = asyncio.create_task(client.tasks.await_result(created))
        await asyncio.sleep(0)
        answer = await client.tasks.cancel(created)
        with pytest.raises(TaskCanceledError) as raised:
            await asyncio.wait_for(wait, 5)
        task = raised.value.task
        assert task.status == "canceled" and task.result is None
        assert task.error is not None and task.error.code == "user_canceled"
        assert task.completed_at is not None
        assert await client.tasks.cancel(created.task_id) == answer
        quick = await client.tasks.create(video=video("quick", 5), prompt="p")
        await client.tasks.await_result(quick)
        with pytest.raises(ConflictError):
            await client.tasks.cancel(quick)
        with pytest.raises(NotFoundError):
            await client.tasks.cancel("f" * 24)
        await client.tasks.delete(created.task_id)  # a canceled task can be deleted at once
    assert sped_up_emulator.stats()["polls"][created.task_id] == 1


async def test_as_completed_and_a_concurrent_cancel(sped_up_emulator: Emulator) -> None:
    """A task canceled while as_completed waits on it comes out first, as a failed outcome
    with TaskCanceledError; the other task still ends ready."""
    async with emulator_client(sped_up_emulator) as client:
        stopped = await client.tasks.create(video=video("stopped"), prompt="p")
        done = await client.tasks.create(video=video("done", 60), prompt="p")
        stream = client.tasks.as_completed([stopped, done], timeout=LONG)
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)
        await client.tasks.cancel(stopped)
        canceled = await asyncio.wait_for(first, 5)
        ready = await asyncio.wait_for(stream.__anext__(), 5)
        await stream.aclose()
    assert canceled.task_id == stopped.task_id and not canceled.ok
    assert isinstance(canceled.error, TaskCanceledError)
    assert canceled.task is not None and canceled.task.status == "canceled"
    assert ready.task_id == done.task_id and ready.ok


async def test_analyze_many_reports_a_canceled_task_and_carries_on(
    sped_up_emulator: Emulator,
) -> None:
    """A task canceled mid-batch is that request's outcome (TaskCanceledError, counted as
    failed), not a crash or a hang; the rest of the batch ends normally."""
    requests = [
        AnalyzeRequest(video=video(f"m{i}", 200), prompt="p", metadata={"i": i}) for i in range(3)
    ]
    progress: list[BatchProgress] = []
    async with emulator_client(sped_up_emulator) as client:
        batch = client.tasks.analyze_many(requests, on_progress=progress.append)
        first = asyncio.ensure_future(batch.__anext__())
        await until(lambda: bool(progress) and progress[-1].running == 3)
        victim = (await client.tasks.list(page_limit=1)).data[0].task_id
        await client.tasks.cancel(victim)
        results = [await asyncio.wait_for(first, 5)]
        results += [o async for o in batch]
    canceled = [o for o in results if not o.ok]
    assert len(results) == 3 and len(canceled) == 1
    assert canceled[0].task_id == victim and isinstance(canceled[0].error, TaskCanceledError)
    assert canceled[0].request.metadata is not None
    assert canceled[0].to_dict()["status"] == "canceled"
    assert canceled[0].to_dict()["error_type"] == "TaskCanceledError"
    assert progress[-1].failed == 1 and progress[-1].ready == 2


# -- analyze_many(cancel_on_exit=...) ------------------------------------------------------------


def batch_requests(n: int, tag: str) -> list[AnalyzeRequest]:
    return [AnalyzeRequest(video=video(f"{tag}{i}"), prompt="p") for i in range(n)]


async def in_progress(client: AnalyzeAsyncClient) -> dict[str, str]:
    return {task.task_id: task.status.value async for task in client.tasks.iter()}


async def test_leaving_a_batch_early_keeps_its_tasks_running_by_default(
    sped_up_emulator: Emulator,
) -> None:
    """Without cancel_on_exit, leaving the loop stops only the waiting: no cancel is sent."""
    async with emulator_client(sped_up_emulator) as client:
        quick = AnalyzeRequest(video=video("quick", 20), prompt="p")
        batch = client.tasks.analyze_many([quick, *batch_requests(3, "keep")])
        async for _ in batch:
            break
        await batch.aclose()
        statuses = await in_progress(client)
    assert "cancel" not in sped_up_emulator.stats()["requests"]
    assert sorted(statuses.values()).count("canceled") == 0
    assert len([s for s in statuses.values() if s != "ready"]) == 3


@pytest.mark.parametrize("how", ["break", "consumer cancelled", "client closed"])
async def test_cancel_on_exit_cancels_every_task_still_running(
    sped_up_emulator: Emulator, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With cancel_on_exit=True, ending the batch early (leaving the loop, cancelling its
    consumer, closing the client under it) cancels each task it still waits on, once, and
    logs what it did; tasks that already ended are left alone."""
    caplog.set_level(logging.INFO, logger="asyncanalyze")
    client = emulator_client(sped_up_emulator)
    quick = AnalyzeRequest(video=video("quick", 20), prompt="p")
    batch = client.tasks.analyze_many([quick, *batch_requests(4, how[:4])], cancel_on_exit=True)
    first = await batch.__anext__()  # the quick task ends first; 4 are still running
    assert first.ok
    if how == "break":
        await batch.aclose()
    elif how == "consumer cancelled":
        inside = asyncio.Event()

        async def consume() -> Any:
            inside.set()  # the next step runs into the batch until it waits there
            return await batch.__anext__()

        consumer = asyncio.ensure_future(consume())
        await inside.wait()  # so the consumer is cancelled while it waits inside the batch
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
    else:
        await client.aclose()
        await batch.aclose()
    if not client.closed:
        statuses = await in_progress(client)
        await client.aclose()
    else:
        async with emulator_client(sped_up_emulator) as reader:
            statuses = await in_progress(reader)
    assert sorted(statuses.values()) == ["canceled"] * 4 + ["ready"]
    assert (
        sped_up_emulator.stats()["cancels"] == 4
        and sped_up_emulator.stats()["requests"]["cancel"] == 4
    )
    logged = [r.getMessage() for r in caplog.records if "cancel_on_exit" in r.getMessage()]
    assert len(logged) == 1 and "canceled 4 of the 4 tasks" in logged[0]


async def test_cancel_on_exit_does_nothing_when_the_batch_completes(
    sped_up_emulator: Emulator,
) -> None:
    async with emulator_client(sped_up_emulator) as client:
        requests = [AnalyzeRequest(video=video(f"c{i}", 20), prompt="p") for i in range(3)]
        outcomes = [o async for o in client.tasks.analyze_many(requests, cancel_on_exit=True)]
    assert all(o.ok for o in outcomes)
    assert "cancel" not in sped_up_emulator.stats()["requests"]


async def test_cancel_on_exit_is_best_effort_and_never_masks_the_exit(
    sped_up_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Cancels that keep failing are logged as unconfirmed; the batch still ends as it was
    asked to (here: the consumer's own exception), within the cancel timeout."""
    caplog.set_level(logging.INFO, logger="asyncanalyze")
    progress: list[BatchProgress] = []
    async with emulator_client(sped_up_emulator, max_retries=1) as client:
        batch = client.tasks.analyze_many(
            batch_requests(3, "fail"), cancel_on_exit=True, on_progress=progress.append
        )

        async def consume() -> None:
            async for _ in batch:
                pass

        consumer = asyncio.ensure_future(consume())
        await until(lambda: bool(progress) and progress[-1].created == 3)
        sped_up_emulator.set_faults(cancel=FaultConfig(error_500=1.0))
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        statuses = await in_progress(client)
    assert sorted(statuses.values()) != ["canceled"] * 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "3 tasks may still be running" in warnings[0].getMessage()
    assert "InternalServerError" in warnings[0].getMessage()


def test_cancel_on_exit_must_be_a_bool() -> None:
    async def run() -> None:
        async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL) as client:
            with pytest.raises(InvalidRequestError, match="cancel_on_exit"):
                await client.tasks.analyze_many([], cancel_on_exit="yes").__anext__()  # type: ignore[arg-type]

    asyncio.run(run())


async def test_a_canceled_journaled_task_is_created_anew_on_resume(
    sped_up_emulator: Emulator, tmp_path: Path
) -> None:
    """cancel_on_exit with a journal: the tasks it canceled have no result, so the next run
    creates them anew (recreated=True) and finishes the batch; the one that was done comes
    from the journal."""
    journal = str(tmp_path / "run.db")
    quick = AnalyzeRequest(video=video("jquick", 20), prompt="p")
    slow = [AnalyzeRequest(video=video(f"jslow{i}", 60), prompt="p") for i in range(2)]
    async with emulator_client(sped_up_emulator) as client:
        batch = client.tasks.analyze_many([quick, *slow], journal=journal, cancel_on_exit=True)
        assert (await batch.__anext__()).ok
        await batch.aclose()
        assert sped_up_emulator.stats()["cancels"] == 2
        rerun = [o async for o in client.tasks.analyze_many([quick, *slow], journal=journal)]
    by_index = {o.index: o for o in rerun}
    assert all(o.ok for o in rerun) and len(rerun) == 3
    assert by_index[0].from_journal and not by_index[0].recreated
    assert by_index[1].recreated and by_index[2].recreated
    assert sped_up_emulator.stats()["creates"] == 5


async def test_a_canceled_outcome_in_the_journal_is_created_anew_on_resume(
    sped_up_emulator: Emulator, tmp_path: Path
) -> None:
    """A task canceled while the batch watched is reported canceled (and journaled so); a
    re-run creates it anew, once, while the ready ones come from the journal."""
    journal = str(tmp_path / "run.db")
    requests = [AnalyzeRequest(video=video(f"o{i}", 100), prompt="p") for i in range(2)]
    progress: list[BatchProgress] = []
    async with emulator_client(sped_up_emulator) as client:
        batch = client.tasks.analyze_many(requests, journal=journal, on_progress=progress.append)
        first = asyncio.ensure_future(batch.__anext__())
        await until(lambda: bool(progress) and progress[-1].running == 2)
        victim = (await client.tasks.list(page_limit=1)).data[0].task_id
        await client.tasks.cancel(victim)
        outcomes = [await asyncio.wait_for(first, 5)] + [o async for o in batch]
        assert [isinstance(o.error, TaskCanceledError) for o in outcomes] == [True, False]
        rerun = {o.index: o async for o in client.tasks.analyze_many(requests, journal=journal)}
    redone = rerun[outcomes[0].index]
    assert redone.ok and redone.recreated and redone.task_id != victim
    assert rerun[outcomes[1].index].from_journal
    assert sped_up_emulator.stats()["creates"] == 3
