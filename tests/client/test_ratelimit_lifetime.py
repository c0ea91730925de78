"""The rate gate under cancellation, closing and deadlines: a cancelled
sender gives its turn back, ``aclose()`` wakes every sender that waits (for a slot or for a
retry), and a per-call timeout bounds the wait for a slot.

Each test runs the real client against aioresponses on a virtual-time loop
(``tests/_virtual_time.py``): a pause of minutes costs nothing, and the times asserted are
the loop's, so they do not depend on how busy the machine is.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeRequest,
    ClientStateError,
    RateLimitError,
    RequestOptions,
    VideoContext_Url,
)

from .._helpers import echo_task, sent_count
from .._virtual_time import run_virtual
from ..conftest import API_KEY, BASE_URL

TASK_URL = re.compile(re.escape(BASE_URL) + r"/analyze/tasks/[^/?]+$")
TASKS_URL = f"{BASE_URL}/analyze/tasks"
VIDEO = VideoContext_Url(url="https://videos.example/a.mp4")


def one_a_second() -> dict[str, str]:
    """A 429 that states 60 requests for the minute until its window resets."""
    reset = str(int(time.time()) + 60)
    return {
        "Retry-After": "1",
        "X-Ratelimit-Limit": "60",
        "X-Ratelimit-Remaining": "0",
        "X-Ratelimit-Reset": reset,
    }


def in_virtual_time(
    test: Callable[[aioresponses, AnalyzeAsyncClient, asyncio.AbstractEventLoop], Awaitable[Any]],
    **options: Any,
) -> Any:
    async def main() -> Any:
        loop = asyncio.get_running_loop()
        with aioresponses() as mocked:
            async with AnalyzeAsyncClient(api_key=API_KEY, base_url=BASE_URL, **options) as client:
                return await test(mocked, client, loop)

    return run_virtual(main)


async def elapsed(loop: asyncio.AbstractEventLoop, call: Awaitable[Any]) -> float:
    started = loop.time()
    await call
    return loop.time() - started


def test_cancelled_paced_retrieves_give_their_turns_back() -> None:
    """200 retrieves queued behind a paced route (one a second) and then cancelled leave
    nothing behind: once the server has been idle, the next retrieve goes at once (it used to
    wait for the 200 dead slots, ~197 s)."""

    async def test(
        mocked_api: aioresponses, mocked_client: AnalyzeAsyncClient, loop: asyncio.AbstractEventLoop
    ) -> float:
        mocked_api.get(TASK_URL, status=429, headers=one_a_second())
        mocked_api.get(TASK_URL, callback=echo_task, repeat=True)
        await mocked_client.tasks.retrieve("t0")  # meets the 429: the route is paced from now on
        queued = [asyncio.create_task(mocked_client.tasks.retrieve(f"t{i}")) for i in range(200)]
        await asyncio.sleep(0.5)
        for task in queued:
            task.cancel()
        await asyncio.gather(*queued, return_exceptions=True)
        await asyncio.sleep(5)
        return await elapsed(loop, mocked_client.tasks.retrieve("t-next"))

    assert in_virtual_time(test) < 1.0


def test_leaving_a_quota_paced_batch_gives_the_create_slots_back() -> None:
    """With creates_per_minute=60, leaving analyze_many(concurrency=100) after its first
    outcome frees the queued creates' turns: the next create() waits about a second at most
    (it used to wait ~97 s)."""

    async def test(
        mocked_api: aioresponses, mocked_client: AnalyzeAsyncClient, loop: asyncio.AbstractEventLoop
    ) -> float:
        ids = itertools.count()

        def created(url: Any, **kwargs: Any) -> CallbackResult:
            return CallbackResult(
                status=202, payload={"task_id": f"t{next(ids)}", "status": "queued"}
            )

        mocked_api.post(TASKS_URL, callback=created, repeat=True)
        mocked_api.get(TASK_URL, callback=echo_task, repeat=True)
        mocked_api.get(
            re.compile(re.escape(TASKS_URL) + r"\?.*"), payload={"data": []}, repeat=True
        )
        requests = [AnalyzeRequest(video=VIDEO, prompt=f"p{i}") for i in range(200)]
        batch = mocked_client.tasks.analyze_many(requests, concurrency=100)
        async for _ in batch:
            break
        await batch.aclose()
        return await elapsed(loop, mocked_client.tasks.create(video=VIDEO, prompt="next"))

    assert in_virtual_time(test, creates_per_minute=60) <= 1.5


def test_aclose_wakes_senders_waiting_for_a_slot() -> None:
    """Creates and retrieves held by a 30 s Retry-After end with ClientStateError as soon as
    the client is closed, with nothing more sent and no task of the client left running."""

    async def test(
        mocked_api: aioresponses, mocked_client: AnalyzeAsyncClient, loop: asyncio.AbstractEventLoop
    ) -> tuple[float, list[BaseException | None], int, set[asyncio.Task[Any]]]:
        mocked_api.post(TASKS_URL, status=429, headers={"Retry-After": "30"})
        mocked_api.get(TASK_URL, status=429, headers={"Retry-After": "30"})
        mocked_api.post(TASKS_URL, status=202, payload={"task_id": "t1", "status": "queued"})
        mocked_api.get(TASK_URL, callback=echo_task, repeat=True)
        calls = [
            mocked_client.tasks.create(video=VIDEO, prompt="p"),
            mocked_client.tasks.retrieve("t1"),
            *(mocked_client.tasks.retrieve(f"t{i}") for i in range(5)),
        ]
        waiting = [asyncio.ensure_future(call) for call in calls]
        await asyncio.sleep(1)
        sent = sent_count(mocked_api)
        started = loop.time()
        await mocked_client.aclose()
        outcomes = await asyncio.gather(*waiting, return_exceptions=True)
        left = asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]
        errors = [o if isinstance(o, BaseException) else None for o in outcomes]
        return loop.time() - started, errors, sent_count(mocked_api) - sent, left

    took, errors, sent_after_close, left = in_virtual_time(test)
    assert took < 0.1
    assert all(isinstance(error, ClientStateError) for error in errors), errors
    assert sent_after_close == 0
    assert not left


def test_aclose_wakes_senders_in_a_retry_backoff() -> None:
    """A retrieve waiting out a 503's Retry-After of 30 s ends with ClientStateError as soon
    as the client is closed."""

    async def test(
        mocked_api: aioresponses, mocked_client: AnalyzeAsyncClient, loop: asyncio.AbstractEventLoop
    ) -> tuple[float, BaseException | None]:
        mocked_api.get(TASK_URL, status=503, headers={"Retry-After": "30"})
        mocked_api.get(TASK_URL, callback=echo_task, repeat=True)
        waiting = asyncio.ensure_future(mocked_client.tasks.retrieve("t1"))
        await asyncio.sleep(1)
        started = loop.time()
        await mocked_client.aclose()
        (outcome,) = await asyncio.gather(waiting, return_exceptions=True)
        return loop.time() - started, outcome if isinstance(outcome, BaseException) else None

    took, error = in_virtual_time(test)
    assert took < 0.1
    assert isinstance(error, ClientStateError), error


def test_a_per_call_timeout_bounds_the_wait_for_a_slot() -> None:
    """Behind a 30 s pause, a call with timeout_in_seconds=5 raises RateLimitError at once
    with nothing sent and retry_after saying how long the wait would have been; with 40 s it
    waits its turn; without a per-call timeout it waits too."""

    async def test(
        mocked_api: aioresponses, mocked_client: AnalyzeAsyncClient, loop: asyncio.AbstractEventLoop
    ) -> tuple[float, BaseException | None, int, list[float]]:
        mocked_api.get(TASK_URL, status=429, headers={"Retry-After": "30"})
        mocked_api.get(TASK_URL, callback=echo_task, repeat=True)
        first = asyncio.ensure_future(mocked_client.tasks.retrieve("t1"))
        await asyncio.sleep(1)
        sent = sent_count(mocked_api)
        started = loop.time()
        try:
            await mocked_client.tasks.retrieve(
                "t2", request_options=RequestOptions(timeout_in_seconds=5)
            )
        except RateLimitError as exc:
            error: BaseException | None = exc
        else:
            error = None
        refused_after = loop.time() - started
        sent_meanwhile = sent_count(mocked_api) - sent
        waits = await asyncio.gather(
            elapsed(loop, first),
            elapsed(
                loop,
                mocked_client.tasks.retrieve(
                    "t3", request_options=RequestOptions(timeout_in_seconds=40)
                ),
            ),
        )
        return refused_after, error, sent_meanwhile, waits

    refused_after, error, sent_meanwhile, waits = in_virtual_time(test)
    assert refused_after < 0.1 and sent_meanwhile == 0
    assert isinstance(error, RateLimitError), error
    assert error.retry_after is not None and 29 <= error.retry_after <= 31
    assert waits[1] == pytest.approx(29, abs=1.5)  # sent once the pause is over
