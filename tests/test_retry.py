"""Request retries: what is retried, how long it waits, and that create never duplicates."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses
from tenacity import RetryCallState

from asyncanalyze import (
    AnalyzeAsyncClient,
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    RequestOptions,
    RetryPolicy,
    VideoContext_Url,
)

from ._helpers import calls, header, sent_count, task_json
from .conftest import BASE_URL, RecordingSleep

TASK_URL = f"{BASE_URL}/analyze/tasks/t1"
TASKS = f"{BASE_URL}/analyze/tasks"
CREATED = {"task_id": "t1", "status": "queued"}
VIDEO = VideoContext_Url(url="https://example.com/v.mp4")


def refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.test", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_get_retries_server_errors(
    client: AnalyzeAsyncClient, mocked: aioresponses, sleep: RecordingSleep, status: int
) -> None:
    """A GET that meets 5xx/408 is retried and succeeds, with jittered waits within the cap."""
    mocked.get(TASK_URL, status=status)
    mocked.get(TASK_URL, status=status)
    mocked.get(TASK_URL, payload=task_json())
    task = await client.tasks.retrieve("t1")
    assert task.task_id == task_json()["task_id"]
    assert sent_count(mocked) == 3
    assert len(sleep.waits) == 2
    assert 0 <= sleep.waits[0] <= 0.5 and 0 <= sleep.waits[1] <= 1.0


async def test_get_honours_retry_after_on_429(
    client: AnalyzeAsyncClient, mocked: aioresponses, sleep: RecordingSleep
) -> None:
    """A 429's Retry-After is the wait before the retry (no real sleeping in the test)."""
    mocked.get(TASK_URL, status=429, headers={"Retry-After": "7"})
    mocked.get(TASK_URL, payload=task_json())
    await client.tasks.retrieve("t1")
    assert sleep.waits == [7.0]  # one wait: the retry and the route's 429 pause do not add up


async def test_retry_after_ms_wins(
    client: AnalyzeAsyncClient, mocked: aioresponses, sleep: RecordingSleep
) -> None:
    """retry-after-ms is read in milliseconds."""
    mocked.get(TASK_URL, status=503, headers={"retry-after-ms": "250"})
    mocked.get(TASK_URL, payload=task_json())
    await client.tasks.retrieve("t1")
    assert sleep.waits == [0.25]


async def test_retry_after_beyond_cap_is_raised_at_once(
    client: AnalyzeAsyncClient, mocked: aioresponses, sleep: RecordingSleep
) -> None:
    """Advice longer than max_retry_after is not waited for: the caller gets RateLimitError."""
    mocked.get(TASK_URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitError) as info:
        await client.tasks.retrieve("t1")
    assert info.value.retry_after == 3600.0
    assert sent_count(mocked) == 1 and sleep.waits == []


async def test_retries_give_up_after_max_retries(
    client: AnalyzeAsyncClient, mocked: aioresponses
) -> None:
    """After max_retries (default 3) the last error is raised: 4 attempts in all."""
    mocked.get(TASK_URL, status=500, repeat=True)
    with pytest.raises(InternalServerError):
        await client.tasks.retrieve("t1")
    assert sent_count(mocked) == 4


async def test_max_retries_per_call(client: AnalyzeAsyncClient, mocked: aioresponses) -> None:
    """RequestOptions.max_retries overrides the client's setting for one call."""
    mocked.get(TASK_URL, status=500, repeat=True)
    with pytest.raises(InternalServerError):
        await client.tasks.retrieve("t1", request_options=RequestOptions(max_retries=0))
    assert sent_count(mocked) == 1


async def test_max_retries_per_client(mocked: aioresponses, sleep: RecordingSleep) -> None:
    """max_retries on the client sets the default for every call."""
    mocked.get(TASK_URL, status=502, repeat=True)
    async with AnalyzeAsyncClient(
        api_key="k", base_url=BASE_URL, max_retries=1, sleep=sleep, clock=sleep.clock
    ) as c:
        with pytest.raises(InternalServerError):
            await c.tasks.retrieve("t1")
    assert sent_count(mocked) == 2


async def test_client_errors_are_not_retried(
    client: AnalyzeAsyncClient, mocked: aioresponses
) -> None:
    """A 404 is final: one request, no retry."""
    mocked.get(TASK_URL, status=404, repeat=True)
    with pytest.raises(NotFoundError):
        await client.tasks.retrieve("t1")
    assert sent_count(mocked) == 1


async def test_get_retries_connection_errors_and_timeouts(
    client: AnalyzeAsyncClient, mocked: aioresponses
) -> None:
    """Resets and timeouts on a GET are retried."""
    mocked.get(TASK_URL, exception=aiohttp.ServerDisconnectedError())
    mocked.get(TASK_URL, exception=TimeoutError())
    mocked.get(TASK_URL, payload=task_json())
    assert (await client.tasks.retrieve("t1")).status == "ready"


async def test_connection_errors_are_typed(
    client: AnalyzeAsyncClient, mocked: aioresponses
) -> None:
    """Exhausted retries surface APIConnectionError / APITimeoutError, not aiohttp's types."""
    mocked.get(TASK_URL, exception=refused(), repeat=True)
    with pytest.raises(APIConnectionError) as refused_info:
        await client.tasks.retrieve("t1")
    assert refused_info.value.request_sent is False
    mocked.get(f"{TASK_URL}x", exception=TimeoutError(), repeat=True)
    with pytest.raises(APITimeoutError):
        await client.tasks.retrieve("t1x")


async def test_create_retry_reuses_the_same_idempotency_key(
    client: AnalyzeAsyncClient, mocked: aioresponses
) -> None:
    """A create whose response was lost is retried with the same Idempotency-Key."""
    mocked.post(TASKS, exception=aiohttp.ServerDisconnectedError())
    mocked.post(TASKS, status=503)
    mocked.post(TASKS, status=202, payload=CREATED)
    created = await client.tasks.create(video=VIDEO, prompt="p")
    assert created.task_id == "t1"
    keys = {header(kwargs, "idempotency-key") for _, _, kwargs in calls(mocked)}
    assert sent_count(mocked) == 3 and len(keys) == 1 and None not in keys


async def test_create_without_key_is_not_retried_after_ambiguous_failure(
    mocked: aioresponses, sleep: RecordingSleep
) -> None:
    """Without an Idempotency-Key, a reset or 5xx on create is raised, never repeated."""
    mocked.post(TASKS, exception=aiohttp.ServerDisconnectedError())
    mocked.post(TASKS, status=500)
    async with AnalyzeAsyncClient(
        api_key="k", base_url=BASE_URL, idempotency_keys=False, sleep=sleep, clock=sleep.clock
    ) as client:
        with pytest.raises(APIConnectionError):
            await client.tasks.create(video=VIDEO, prompt="p")
        with pytest.raises(InternalServerError):
            await client.tasks.create(video=VIDEO, prompt="p")
    assert sent_count(mocked) == 2
    assert all(header(kwargs, "idempotency-key") is None for _, _, kwargs in calls(mocked))


async def test_create_without_key_still_retries_safe_failures(
    mocked: aioresponses, sleep: RecordingSleep
) -> None:
    """A 429 or a refused connection means nothing was created: retried even without a key."""
    mocked.post(TASKS, status=429, headers={"Retry-After": "1"})
    mocked.post(TASKS, exception=refused())
    mocked.post(TASKS, status=202, payload=CREATED)
    async with AnalyzeAsyncClient(
        api_key="k", base_url=BASE_URL, idempotency_keys=False, sleep=sleep, clock=sleep.clock
    ) as client:
        assert (await client.tasks.create(video=VIDEO, prompt="p")).task_id == "t1"
    assert sent_count(mocked) == 3


async def test_429_pauses_every_request_of_the_client(
    mocked: aioresponses, sleep: RecordingSleep
) -> None:
    """After a 429 with Retry-After, other requests of the same client wait too (no stampede)."""
    mocked.get(TASK_URL, status=429, headers={"Retry-After": "30"})
    mocked.get(TASK_URL, payload=task_json(), repeat=True)
    mocked.get(f"{BASE_URL}/analyze/tasks/t2", payload=task_json(task_id="t2"), repeat=True)
    async with AnalyzeAsyncClient(
        api_key="k", base_url=BASE_URL, sleep=sleep, clock=sleep.clock, max_retries=0
    ) as client:
        with pytest.raises(RateLimitError):
            await client.tasks.retrieve("t1")
        await client.tasks.retrieve("t2")
    assert sleep.waits and 30.0 <= sleep.waits[0] <= 31.0  # the pause, plus a little jitter


def test_full_jitter_stays_within_exponential_ceiling() -> None:
    """Computed waits are uniform within [0, min(max_delay, initial * 2**n)]."""
    wait = RetryPolicy(initial_delay=0.5, max_delay=8.0).wait_strategy
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (9, 8.0)]:
        state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = attempt
        waits = [wait(state) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # it really spreads across the range
