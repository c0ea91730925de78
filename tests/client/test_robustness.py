"""Hard edges: borrowed sessions, closing mid-retry, bad options, leaks."""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses

from asyncanalyze import (
    AnalyzeAsyncClient,
    ClientStateError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PollPolicy,
    RequestOptions,
    ResponseValidationError,
    VideoContext_Url,
)

from .._helpers import calls, header, sent_count, task_json
from ..conftest import BASE_URL

TASK_URL = f"{BASE_URL}/analyze/tasks/t1"


async def test_borrowed_session_that_raises_for_status_still_gets_typed_errors(
    mocked_api: aioresponses,
) -> None:
    """A lent session with raise_for_status=True does not turn a 404 into retried noise."""
    mocked_api.get(TASK_URL, status=404, repeat=True)
    async with (
        aiohttp.ClientSession(raise_for_status=True) as session,
        AnalyzeAsyncClient(api_key="k", base_url=BASE_URL, session=session) as client,
    ):
        with pytest.raises(NotFoundError):
            await client.tasks.retrieve("t1")
    assert sent_count(mocked_api) == 1


async def test_close_during_retry_wait_opens_no_new_pool(mocked_api: aioresponses) -> None:
    """aclose() while a retry sleeps ends that request with ClientStateError, no new session."""
    mocked_api.get(TASK_URL, status=503, repeat=True)
    parked = asyncio.Event()
    release = asyncio.Event()

    async def sleep(seconds: float) -> None:
        parked.set()
        await release.wait()

    client = AnalyzeAsyncClient(api_key="k", base_url=BASE_URL, sleep=sleep)
    request = asyncio.create_task(client.tasks.retrieve("t1"))
    await parked.wait()
    await client.aclose()
    release.set()
    with pytest.raises(ClientStateError):
        await request
    assert client._transport._session is None


@pytest.mark.parametrize(
    "options",
    [
        {"timeout_in_seconds": 0},
        {"timeout_in_seconds": -1},
        {"timeout_in_seconds": math.nan},
        {"timeout_in_seconds": math.inf},
        {"max_retries": -1},
        {"max_retries": 1.5},
    ],
)
async def test_bad_request_options_send_nothing(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, options: dict[str, Any]
) -> None:
    """Timeouts must be finite and positive, retries a non-negative int: else nothing is sent
    (the RequestOptions itself refuses to be built)."""
    with pytest.raises(InvalidRequestError):
        await mocked_client.tasks.retrieve("t1", request_options=RequestOptions(**options))
    assert sent_count(mocked_api) == 0


@pytest.mark.parametrize("timeout", [0, math.inf, math.nan, -3])
def test_bad_client_timeouts_are_refused(timeout: float) -> None:
    """The client refuses timeouts that would disable or break every request."""
    with pytest.raises(InvalidRequestError):
        AnalyzeAsyncClient(api_key="k", timeout=timeout)


async def test_idempotency_key_from_request_options_is_sent(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """An Idempotency-Key given in additional_headers is the one sent, not replaced."""
    mocked_api.post(
        f"{BASE_URL}/analyze/tasks", status=202, payload={"task_id": "t", "status": "queued"}
    )
    options = RequestOptions(additional_headers={"idempotency-key": "mine-1"})
    await mocked_client.tasks.create(
        video=VideoContext_Url(url="https://e.com/v.mp4"), prompt="p", request_options=options
    )
    [(_, _, kwargs)] = calls(mocked_api)
    keys = [v for k, v in kwargs["headers"].items() if k.lower() == "idempotency-key"]
    assert keys == ["mine-1"]
    assert header(kwargs, "idempotency-key") == "mine-1"


async def test_deeply_nested_body_is_a_validation_error(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """A pathologically nested 2xx body raises ResponseValidationError, not RecursionError."""
    mocked_api.get(TASK_URL, body="[" * 5_000 + "]" * 5_000)
    with pytest.raises(ResponseValidationError):
        await mocked_client.tasks.retrieve("t1")


def test_poll_delay_never_overflows() -> None:
    """Thousands of polls with a steep multiplier still give the capped delay."""
    assert PollPolicy(multiplier=50.0, max_delay=20.0).delay(5_000) == 20.0


async def test_403_ends_the_wait_at_once(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """403 is fatal for await_result, like 401 and 404."""
    mocked_api.get(TASK_URL, status=403, repeat=True)
    with pytest.raises(PermissionDeniedError):
        await mocked_client.tasks.await_result("t1")
    assert sent_count(mocked_api) == 1


async def test_unexpected_error_fails_only_its_wait(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug-shaped exception while polling fails that wait; the scheduler keeps serving."""
    original = mocked_client.tasks.retrieve

    async def flaky(task_id: str, **kwargs: object) -> object:
        if task_id == "boom":
            raise RuntimeError("unexpected")
        return await original(task_id)

    monkeypatch.setattr(mocked_client.tasks, "retrieve", flaky)
    mocked_client.tasks._scheduler = None
    mocked_api.get(TASK_URL, payload=task_json(task_id="t1"))
    with pytest.raises(RuntimeError, match="unexpected"):
        await mocked_client.tasks.await_result("boom")
    assert (await mocked_client.tasks.await_result("t1")).status == "ready"


MALFORMED_2XX = [
    pytest.param(b"", id="empty"),
    pytest.param(b"<html>oops</html>", id="html"),
    pytest.param(b"\xff\xfe\x00", id="not-utf8"),
    pytest.param(b"null", id="null"),
    pytest.param(b"[]", id="array"),
    pytest.param(b'{"task_id": 7, "status": "queued"}', id="wrong-types"),
    pytest.param(b'{"data": "x"}', id="wrong-shape"),
    pytest.param(b"[" * 5_000 + b"]" * 5_000, id="deep"),
]


@pytest.mark.parametrize("body", MALFORMED_2XX)
@pytest.mark.parametrize("call", ["create", "list", "retrieve", "await_result"])
async def test_every_malformed_2xx_is_a_response_validation_error(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, call: str, body: bytes
) -> None:
    """Whatever a 2xx body holds, each call that reads one raises ResponseValidationError
    with the raw bytes, never KeyError, TypeError or a result built from nothing."""
    tasks = f"{BASE_URL}/analyze/tasks"
    mocked_api.post(tasks, status=202, body=body)
    mocked_api.get(re.compile(re.escape(tasks) + r"(\?.*)?$"), status=200, body=body)
    mocked_api.get(TASK_URL, status=200, body=body, repeat=True)
    calls = {
        "create": lambda: mocked_client.tasks.create(
            video=VideoContext_Url(url="https://e.com/v.mp4"), prompt="p"
        ),
        "list": lambda: mocked_client.tasks.list(),
        "retrieve": lambda: mocked_client.tasks.retrieve("t1"),
        "await_result": lambda: mocked_client.tasks.await_result("t1"),
    }
    with pytest.raises(ResponseValidationError) as info:
        await calls[call]()
    assert info.value.body == body
