"""Request retries: what is retried, how long it waits, and that create never duplicates.

The pipeline's own behaviour, so on a scripted MockTransport (``scripted_client``); only the test of aiohttp's
exceptions becoming ours goes through aiohttp (and aioresponses)."""

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

from .._helpers import task_json
from .._scripted import ScriptedServer
from ..conftest import BASE_URL, RecordingSleep, scripted_client_for

TASK_URL = f"{BASE_URL}/analyze/tasks/t1"
TASK = "/analyze/tasks/t1"
TASKS = "/analyze/tasks"
CREATED = {"task_id": "t1", "status": "queued"}
VIDEO = VideoContext_Url(url="https://example.com/v.mp4")


RESET = APIConnectionError("ServerDisconnectedError")
TIMED_OUT = APITimeoutError("GET timed out")
REFUSED = APIConnectionError("cannot connect", request_sent=False)


def refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("api.test", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_get_retries_server_errors(
    scripted_client: AnalyzeAsyncClient,
    scripted_server: ScriptedServer,
    recorded_sleep: RecordingSleep,
    status: int,
) -> None:
    """A GET that meets 5xx/408 is retried and succeeds, with jittered waits within the cap."""
    scripted_server.get(TASK, status=status)
    scripted_server.get(TASK, status=status)
    scripted_server.get(TASK, payload=task_json())
    task = await scripted_client.tasks.retrieve("t1")
    assert task.task_id == task_json()["task_id"]
    assert scripted_server.sent == 3
    assert len(recorded_sleep.waits) == 2
    assert 0 <= recorded_sleep.waits[0] <= 0.5 and 0 <= recorded_sleep.waits[1] <= 1.0


async def test_get_honours_retry_after_on_429(
    scripted_client: AnalyzeAsyncClient,
    scripted_server: ScriptedServer,
    recorded_sleep: RecordingSleep,
) -> None:
    """A 429's Retry-After is the wait before the retry (no real sleeping in the test)."""
    scripted_server.get(TASK, status=429, headers={"Retry-After": "7"})
    scripted_server.get(TASK, payload=task_json())
    await scripted_client.tasks.retrieve("t1")
    assert recorded_sleep.waits == [
        7.0
    ]  # one wait: the retry and the route's 429 pause do not add up


async def test_retry_after_ms_wins(
    scripted_client: AnalyzeAsyncClient,
    scripted_server: ScriptedServer,
    recorded_sleep: RecordingSleep,
) -> None:
    """retry-after-ms is read in milliseconds."""
    scripted_server.get(TASK, status=503, headers={"retry-after-ms": "250"})
    scripted_server.get(TASK, payload=task_json())
    await scripted_client.tasks.retrieve("t1")
    assert recorded_sleep.waits == [0.25]


async def test_retry_after_beyond_cap_is_raised_at_once(
    scripted_client: AnalyzeAsyncClient,
    scripted_server: ScriptedServer,
    recorded_sleep: RecordingSleep,
) -> None:
    """Advice longer than max_retry_after is not waited for: the caller gets RateLimitError."""
    scripted_server.get(TASK, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimitError) as info:
        await scripted_client.tasks.retrieve("t1")
    assert info.value.retry_after == 3600.0
    assert scripted_server.sent == 1 and recorded_sleep.waits == []


async def test_retries_give_up_after_max_retries(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """After max_retries (default 3) the last error is raised: 4 attempts in all."""
    scripted_server.get(TASK, status=500, repeat=True)
    with pytest.raises(InternalServerError):
        await scripted_client.tasks.retrieve("t1")
    assert scripted_server.sent == 4


async def test_max_retries_per_call(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """RequestOptions.max_retries overrides the client's setting for one call."""
    scripted_server.get(TASK, status=500, repeat=True)
    with pytest.raises(InternalServerError):
        await scripted_client.tasks.retrieve("t1", request_options=RequestOptions(max_retries=0))
    assert scripted_server.sent == 1


async def test_max_retries_per_client(
    scripted_server: ScriptedServer, recorded_sleep: RecordingSleep
) -> None:
    """max_retries on the client sets the default for every call."""
    scripted_server.get(TASK, status=502, repeat=True)
    async with scripted_client_for(
        scripted_server,
        recorded_sleep,
        max_retries=1,
    ) as scripted_client:
        with pytest.raises(InternalServerError):
            await scripted_client.tasks.retrieve("t1")
    assert scripted_server.sent == 2


async def test_client_errors_are_not_retried(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """A 404 is final: one request, no retry."""
    scripted_server.get(TASK, status=404, repeat=True)
    with pytest.raises(NotFoundError):
        await scripted_client.tasks.retrieve("t1")
    assert scripted_server.sent == 1


async def test_get_retries_connection_errors_and_timeouts(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """Resets and timeouts on a GET are retried."""
    scripted_server.get(TASK, exception=RESET)
    scripted_server.get(TASK, exception=TIMED_OUT)
    scripted_server.get(TASK, payload=task_json())
    assert (await scripted_client.tasks.retrieve("t1")).status == "ready"


async def test_create_retry_reuses_the_same_idempotency_key(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """A create whose response was lost is retried with the same Idempotency-Key."""
    scripted_server.post(TASKS, exception=RESET)
    scripted_server.post(TASKS, status=503)
    scripted_server.post(TASKS, status=202, payload=CREATED)
    created = await scripted_client.tasks.create(video=VIDEO, prompt="p")
    assert created.task_id == "t1"
    keys = {request.headers.get("Idempotency-Key") for request in scripted_server.requests}
    assert scripted_server.sent == 3 and len(keys) == 1 and None not in keys


async def test_create_without_key_is_not_retried_after_ambiguous_failure(
    scripted_server: ScriptedServer, recorded_sleep: RecordingSleep
) -> None:
    """Without an Idempotency-Key, a reset or 5xx on create is raised, never repeated."""
    scripted_server.post(TASKS, exception=RESET)
    scripted_server.post(TASKS, status=500)
    async with scripted_client_for(
        scripted_server,
        recorded_sleep,
        idempotency_keys=False,
    ) as scripted_client:
        with pytest.raises(APIConnectionError):
            await scripted_client.tasks.create(video=VIDEO, prompt="p")
        with pytest.raises(InternalServerError):
            await scripted_client.tasks.create(video=VIDEO, prompt="p")
    assert scripted_server.sent == 2
    assert all("Idempotency-Key" not in request.headers for request in scripted_server.requests)


async def test_create_without_key_still_retries_safe_failures(
    scripted_server: ScriptedServer, recorded_sleep: RecordingSleep
) -> None:
    """A 429 or a refused connection means nothing was created: retried even without a key."""
    scripted_server.post(TASKS, status=429, headers={"Retry-After": "1"})
    scripted_server.post(TASKS, exception=REFUSED)
    scripted_server.post(TASKS, status=202, payload=CREATED)
    async with scripted_client_for(
        scripted_server,
        recorded_sleep,
        idempotency_keys=False,
    ) as scripted_client:
        assert (await scripted_client.tasks.create(video=VIDEO, prompt="p")).task_id == "t1"
    assert scripted_server.sent == 3


async def test_429_pauses_every_request_of_the_client(
    scripted_server: ScriptedServer, recorded_sleep: RecordingSleep
) -> None:
    """After a 429 with Retry-After, other requests of the same client wait too (no stampede)."""
    scripted_server.get(TASK, status=429, headers={"Retry-After": "30"})
    scripted_server.get(TASK, payload=task_json(), repeat=True)
    scripted_server.get("/analyze/tasks/t2", payload=task_json(task_id="t2"), repeat=True)
    async with scripted_client_for(
        scripted_server, recorded_sleep, max_retries=0
    ) as scripted_client:
        with pytest.raises(RateLimitError):
            await scripted_client.tasks.retrieve("t1")
        await scripted_client.tasks.retrieve("t2")
    assert (
        recorded_sleep.waits and 30.0 <= recorded_sleep.waits[0] <= 31.0
    )  # the pause, plus a little jitter


async def test_connection_errors_are_typed(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """Exhausted retries surface APIConnectionError / APITimeoutError, not aiohttp's types."""
    mocked_api.get(TASK_URL, exception=refused(), repeat=True)
    with pytest.raises(APIConnectionError) as refused_info:
        await mocked_client.tasks.retrieve("t1")
    assert refused_info.value.request_sent is False
    mocked_api.get(f"{TASK_URL}x", exception=TimeoutError(), repeat=True)
    with pytest.raises(APITimeoutError):
        await mocked_client.tasks.retrieve("t1x")


def test_full_jitter_stays_within_exponential_ceiling() -> None:
    """Computed waits are uniform within [0, min(max_delay, initial * 2**n)]."""
    wait = RetryPolicy(initial_delay=0.5, max_delay=8.0).wait_strategy
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (9, 8.0)]:
        state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
        state.attempt_number = attempt
        waits = [wait(state) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8  # it really spreads across the range
