"""await_result: backoff, terminal states, deadline, fatal errors, callbacks, cancellation."""

from __future__ import annotations

import asyncio

import pytest
from aioresponses import aioresponses

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeTaskResponse,
    AuthenticationError,
    CreateAnalyzeTaskResponse,
    NotFoundError,
    PollPolicy,
    PollTimeoutError,
    TaskFailedError,
)
from asyncanalyze._config import PollPolicy as Policy

from .._helpers import sent_count, task_json
from ..conftest import BASE_URL, RecordingSleep

TASK_URL = f"{BASE_URL}/analyze/tasks/t1"


def queue(mocked: aioresponses, *statuses: str) -> None:
    for status in statuses:
        extra = {"error": {"message": "Video too long"}} if status == "failed" else {}
        mocked.get(TASK_URL, payload=task_json(status, task_id="t1", **extra))


async def test_polls_until_ready_with_growing_gaps(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, recorded_sleep: RecordingSleep
) -> None:
    """Polls back off per PollPolicy (1, 2, 4 s here) and return the ready task."""
    queue(mocked_api, "queued", "pending", "processing", "ready")
    task = await mocked_client.tasks.await_result("t1")
    assert task.status == "ready" and task.result is not None
    assert recorded_sleep.waits == [1.0, 2.0, 4.0]


async def test_just_created_task_skips_the_first_poll(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, recorded_sleep: RecordingSleep
) -> None:
    """Given a CreateAnalyzeTaskResponse, the first poll waits initial_delay first."""
    queue(mocked_api, "ready")
    await mocked_client.tasks.await_result(CreateAnalyzeTaskResponse(task_id="t1", status="queued"))  # type: ignore[arg-type]
    assert recorded_sleep.waits == [1.0]


async def test_failed_task_raises_with_the_task(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """failed ends the wait with TaskFailedError carrying the final task."""
    queue(mocked_api, "processing", "failed")
    with pytest.raises(TaskFailedError) as info:
        await mocked_client.tasks.await_result("t1")
    assert info.value.task.status == "failed"
    assert "Video too long" in str(info.value)


async def test_canceled_task_raises(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """canceled is terminal and raises TaskFailedError too."""
    queue(mocked_api, "canceled")
    with pytest.raises(TaskFailedError):
        await mocked_client.tasks.await_result("t1")


async def test_unknown_status_keeps_polling(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """A status the SDK has never seen is treated as not terminal."""
    queue(mocked_api, "warming_up", "ready")
    assert (await mocked_client.tasks.await_result("t1")).status == "ready"


async def test_timeout_raises_with_last_task(mocked_api: aioresponses) -> None:
    """Past the deadline, PollTimeoutError (a TimeoutError) carries the last task seen."""
    fake = RecordingSleep()
    mocked_api.get(TASK_URL, payload=task_json("processing", task_id="t1"), repeat=True)
    async with AnalyzeAsyncClient(
        api_key="k",
        base_url=BASE_URL,
        sleep=fake,
        clock=fake.clock,
        poll_policy=PollPolicy(initial_delay=2, multiplier=1, max_delay=2, jitter=0),
    ) as client:
        with pytest.raises(PollTimeoutError) as info:
            await client.tasks.await_result("t1", timeout=9)
    assert isinstance(info.value, TimeoutError)
    assert info.value.task is not None and info.value.task.status == "processing"
    assert fake.now - 1000.0 == pytest.approx(9.0)
    assert sent_count(mocked_api) == 5  # at 0, 2, 4, 6, 8; the deadline at 9 ends the wait


@pytest.mark.parametrize(("status", "error"), [(401, AuthenticationError), (404, NotFoundError)])
async def test_fatal_errors_end_the_wait_at_once(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, status: int, error: type[Exception]
) -> None:
    """401/403/404 stop polling immediately: one request, no loop."""
    mocked_api.get(TASK_URL, status=status, repeat=True)
    with pytest.raises(error):
        await mocked_client.tasks.await_result("t1")
    assert sent_count(mocked_api) == 1


async def test_transient_failures_do_not_end_the_wait(
    mocked_api: aioresponses, recorded_sleep: RecordingSleep
) -> None:
    """A poll that fails even after its request retries is retried at the next poll."""
    mocked_api.get(TASK_URL, status=503)
    mocked_api.get(TASK_URL, status=429)
    mocked_api.get(TASK_URL, payload=task_json(task_id="t1"))
    async with AnalyzeAsyncClient(
        api_key="k",
        base_url=BASE_URL,
        sleep=recorded_sleep,
        clock=recorded_sleep.clock,
        max_retries=0,
    ) as client:
        assert (await client.tasks.await_result("t1")).status == "ready"
    assert sent_count(mocked_api) == 3


async def test_status_callback_sees_each_change_once(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """on_status_change (sync or async) is called once per new status, in order."""
    queue(mocked_api, "queued", "queued", "processing", "processing", "ready")
    seen: list[str] = []

    async def record(task: AnalyzeTaskResponse) -> None:
        seen.append(task.status.value)

    await mocked_client.tasks.await_result("t1", on_status_change=record)
    assert seen == ["queued", "processing", "ready"]


async def test_cancelling_the_wait_stops_polling(mocked_api: aioresponses) -> None:
    """Cancelling await_result mid-wait stops it at once: no request after the cancellation."""
    mocked_api.get(TASK_URL, payload=task_json("processing", task_id="t1"), repeat=True)
    third_poll_done = asyncio.Event()

    fake = RecordingSleep()

    async def sleep_until_third_poll(seconds: float) -> None:
        if sent_count(mocked_api) >= 3:
            third_poll_done.set()
            await asyncio.Event().wait()  # parked here until cancelled
        await fake(seconds)

    async with AnalyzeAsyncClient(
        api_key="k", base_url=BASE_URL, sleep=sleep_until_third_poll, clock=fake.clock
    ) as c:
        waiter = asyncio.create_task(c.tasks.await_result("t1"))
        await third_poll_done.wait()
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        for _ in range(20):
            await asyncio.sleep(0)  # let anything still scheduled run; nothing should be
        assert sent_count(mocked_api) == 3


def test_default_poll_policy_is_frugal() -> None:
    """The default policy polls a 20-minute task far less than fixed 5 s polling (240 polls)."""
    policy = Policy()
    elapsed, polls = 0.0, 0
    while elapsed < 20 * 60:
        polls += 1
        elapsed += policy.delay(polls)
    assert polls < 80
    assert policy.max_delay <= 20.0  # worst detection lag stays under 2 % of 20 minutes


@pytest.mark.parametrize("timeout", [0, -1, "soon"])
async def test_bad_timeout_is_refused(mocked_client: AnalyzeAsyncClient, timeout: object) -> None:
    """A non-positive or non-number timeout is an InvalidRequestError before any poll."""
    with pytest.raises(ValueError, match="timeout"):
        await mocked_client.tasks.await_result("t1", timeout=timeout)  # type: ignore[arg-type]
