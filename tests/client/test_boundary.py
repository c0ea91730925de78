"""The request boundary: routes, MockTransport, the transport option, settings, and the
retry policy in tenacity's terms. Everything here runs on MockTransport, no socket."""

from __future__ import annotations

import asyncio
import gc
import math
import warnings
from collections.abc import Callable
from typing import Any

import attrs
import pytest
import tenacity
from aioresponses import aioresponses
from tenacity.retry import retry_base
from tenacity.stop import stop_base
from tenacity.wait import wait_base

import asyncanalyze._retry
from asyncanalyze import (
    AnalyzeAsyncClient,
    APIConnectionError,
    ClientSettings,
    ClientStateError,
    InternalServerError,
    InvalidRequestError,
    MockTransport,
    RateLimitError,
    RawResponse,
    Request,
    RetryPolicy,
    Route,
    TasksClient,
    Transport,
    VideoContext_Url,
)
from asyncanalyze.testing import json_response

from .._helpers import task_json
from ..conftest import BASE_URL, RecordingSleep

VIDEO = VideoContext_Url(url="https://example.com/a.mp4")


def answers(*responses: RawResponse | Exception) -> tuple[list[Request], MockTransport]:
    """A transport that answers with ``responses`` in turn (the last one from then on), and
    the list of requests it was sent."""
    seen: list[Request] = []

    def handler(request: Request) -> RawResponse:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return seen, MockTransport(handler)


def new_client(
    transport: MockTransport, recorded_sleep: RecordingSleep, **options: Any
) -> AnalyzeAsyncClient:
    return AnalyzeAsyncClient(
        api_key="k",
        transport=transport,
        sleep=recorded_sleep,
        clock=recorded_sleep.clock,
        **options,
    )


def by_route(request: Request) -> RawResponse:
    task_id = request.path.split("/")[3] if request.path.count("/") >= 3 else "t1"
    if request.route is Route.CREATE:
        return json_response(200, {"task_id": "t1", "status": "queued"})
    if request.route is Route.LIST:
        page = {"page": 1, "total_page": 1, "limit_per_page": 10, "total_results": 1}
        return json_response(200, {"data": [task_json()], "page_info": page})
    if request.route is Route.DELETE:
        return json_response(204)
    if request.route is Route.CANCEL:
        return json_response(200, {"task_id": task_id, "status": "canceled"})
    return json_response(200, task_json(task_id=task_id))


async def test_each_call_names_its_route_method_and_path(recorded_sleep: RecordingSleep) -> None:
    """create, retrieve, list, delete and cancel each send a Request that states its route,
    with the route's method and the task's path."""
    seen: list[Request] = []

    def handler(request: Request) -> RawResponse:
        seen.append(request)
        return by_route(request)

    async with new_client(MockTransport(handler), recorded_sleep) as client:
        await client.tasks.create(video=VIDEO, prompt="p")
        await client.tasks.retrieve("t1")
        await client.tasks.list()
        await client.tasks.delete("t1")
        await client.tasks.cancel("t1")
    assert [(r.route, r.method, r.path) for r in seen] == [
        (Route.CREATE, "POST", "/analyze/tasks"),
        (Route.RETRIEVE, "GET", "/analyze/tasks/t1"),
        (Route.LIST, "GET", "/analyze/tasks"),
        (Route.DELETE, "DELETE", "/analyze/tasks/t1"),
        (Route.CANCEL, "POST", "/analyze/tasks/t1/cancel"),
    ]
    assert seen[0].json() == {"video": {"type": "url", "url": VIDEO.url}, "prompt": "p"}
    assert str(seen[1].url) == "https://api.twelvelabs.io/v1.3/analyze/tasks/t1"


async def test_a_create_is_idempotent_only_with_a_key(recorded_sleep: RecordingSleep) -> None:
    """A create carries a fresh Idempotency-Key and says it is safe to repeat; without
    keys it says it is not."""
    created = json_response(200, {"task_id": "t1", "status": "queued"})
    seen, transport = answers(created)
    async with new_client(transport, recorded_sleep) as client:
        await client.tasks.create(video=VIDEO, prompt="p")
    more, transport = answers(created)
    async with new_client(transport, recorded_sleep, idempotency_keys=False) as client:
        await client.tasks.create(video=VIDEO, prompt="p")
    assert seen[0].idempotent and seen[0].headers["Idempotency-Key"]
    assert not more[0].idempotent and "Idempotency-Key" not in more[0].headers


async def test_an_async_handler_and_case_insensitive_headers(
    recorded_sleep: RecordingSleep,
) -> None:
    """The handler may be async; its headers are read without regard to case, so a
    Retry-After given as a plain dict is honoured."""
    calls = 0

    async def handler(request: Request) -> RawResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            return RawResponse(503, {"RETRY-AFTER": "7"}, b"")
        return json_response(200, task_json())

    async with new_client(MockTransport(handler), recorded_sleep) as client:
        task = await client.tasks.retrieve("t1")
    assert task.task_id == "t1"
    assert recorded_sleep.waits == [7.0]


async def test_a_closed_client_sends_nothing_on_a_mock_transport(
    recorded_sleep: RecordingSleep,
) -> None:
    """After aclose the transport is closed too: a call raises ClientStateError."""
    seen, transport = answers(json_response(200, task_json()))
    client = new_client(transport, recorded_sleep)
    await client.aclose()
    with pytest.raises(ClientStateError):
        await client.tasks.retrieve("t1")
    assert transport.closed and not seen


def test_transport_option_is_checked() -> None:
    """transport= takes a Transport only, and not together with a borrowed session."""
    assert isinstance(MockTransport(by_route), Transport)
    with pytest.raises(InvalidRequestError, match="transport"):
        AnalyzeAsyncClient(api_key="k", transport=object())  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError, match="session"):
        AnalyzeAsyncClient(
            api_key="k",
            transport=MockTransport(by_route),
            session=object(),  # type: ignore[arg-type]
        )
    with pytest.raises(TypeError):
        MockTransport("not a function")  # type: ignore[arg-type]


async def test_a_handler_returning_something_else_is_a_type_error(
    recorded_sleep: RecordingSleep,
) -> None:
    """A handler that returns no RawResponse is a bug in the test, said plainly."""
    async with new_client(MockTransport(lambda request: {"status": 200}), recorded_sleep) as client:  # type: ignore[arg-type, return-value]
        with pytest.raises(TypeError, match="RawResponse"):
            await client.tasks.retrieve("t1")


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("bulk_threshold", 0),
        ("bulk_threshold", 2.5),
        ("bulk_interval", math.nan),
        ("bulk_interval", -1.0),
        ("bulk_interval", math.inf),
        ("poll_timeout", math.nan),
        ("poll_timeout", -5.0),
        ("idempotency_keys", "yes"),
        ("sleep", 3),
        ("clock", "now"),
        ("default_headers", {"X-Custom": 1}),
    ],
)
def test_every_option_is_checked_at_construction(option: str, value: object) -> None:
    """A bad option fails when the client is built, naming the option."""
    with pytest.raises(InvalidRequestError, match=option):
        AnalyzeAsyncClient(api_key="k", **{option: value})


def test_settings_are_one_frozen_value_without_the_key_in_its_repr() -> None:
    """client.settings holds every option; it cannot be changed in place, and its repr
    leaves the API key out."""
    client = AnalyzeAsyncClient(api_key="secret-key", bulk_interval=3, max_retries=1)
    settings = client.settings
    assert isinstance(settings, ClientSettings)
    assert settings.bulk_interval == 3.0 and settings.retry_policy.max_retries == 1
    assert "secret-key" not in repr(settings)
    with pytest.raises(AttributeError):
        settings.timeout = 1.0  # type: ignore[misc]


def test_assigning_a_client_attribute_warns_and_still_applies() -> None:
    """The old mutable attributes still read as before; assigning one is deprecated and
    changes the settings."""
    client = AnalyzeAsyncClient(api_key="k")
    assert client.poll_timeout == client.settings.poll_timeout
    with pytest.warns(DeprecationWarning, match="poll_timeout"):
        client.poll_timeout = 5.0
    assert client.settings.poll_timeout == 5.0
    with pytest.warns(DeprecationWarning), pytest.raises(InvalidRequestError):
        client.bulk_interval = math.nan


async def test_an_assigned_sleep_and_retry_policy_reach_the_next_retries(
    recorded_sleep: RecordingSleep,
) -> None:
    """Assigned after the client has sent requests, the new sleep and retry policy are what
    the following retries use (as before the settings became one value)."""
    seen, transport = answers(
        json_response(200, task_json()),
        json_response(500),
        json_response(200, task_json()),
    )
    client = AnalyzeAsyncClient(api_key="k", transport=transport, clock=recorded_sleep.clock)
    async with client:
        await client.tasks.retrieve("t1")
        with pytest.warns(DeprecationWarning):
            client.sleep = recorded_sleep
        with pytest.warns(DeprecationWarning):
            client.retry_policy = RetryPolicy(wait=tenacity.wait_fixed(7))
        await client.tasks.retrieve("t1")
    assert len(seen) == 3
    assert recorded_sleep.waits == [7.0]


async def test_a_tasks_client_built_from_a_client_still_works_and_warns(
    recorded_sleep: RecordingSleep,
) -> None:
    """TasksClient(client), the way it was built before resources saw only a requester."""
    seen, transport = answers(json_response(200, task_json()))
    async with new_client(transport, recorded_sleep) as client:
        with pytest.warns(DeprecationWarning, match="client.tasks"):
            tasks = TasksClient(client)  # type: ignore[arg-type]
        assert (await tasks.retrieve("t1")).task_id == "t1"
    assert [request.route for request in seen] == [Route.RETRIEVE]


# -- retries in tenacity's terms --------------------------------------------------------------


def test_the_policy_exposes_tenacity_strategies_built_from_its_numbers() -> None:
    """wait/stop/retry in use are tenacity objects; evolving a number rebuilds them."""
    policy = RetryPolicy(max_retries=2)
    assert isinstance(policy.wait_strategy, wait_base)
    assert isinstance(policy.stop_strategy, stop_base)
    assert isinstance(policy.retry_strategy, retry_base)
    assert attrs.evolve(policy, max_retries=5).stop_strategy.max_retries == 5  # type: ignore[attr-defined]
    with pytest.raises(InvalidRequestError, match="wait"):
        RetryPolicy(wait=3)  # type: ignore[arg-type]


async def test_a_replaced_wait_is_used(recorded_sleep: RecordingSleep) -> None:
    """RetryPolicy(wait=tenacity.wait_fixed(3)) waits 3 s between tries."""
    seen, transport = answers(
        json_response(500), json_response(500), json_response(200, task_json())
    )
    policy = RetryPolicy(wait=tenacity.wait_fixed(3))
    async with new_client(transport, recorded_sleep, retry_policy=policy) as client:
        await client.tasks.retrieve("t1")
    assert len(seen) == 3 and recorded_sleep.waits == [3.0, 3.0]


async def test_a_replaced_stop_is_used(recorded_sleep: RecordingSleep) -> None:
    """RetryPolicy(stop=tenacity.stop_after_attempt(2)) gives up after the second try."""
    seen, transport = answers(json_response(500))
    policy = RetryPolicy(stop=tenacity.stop_after_attempt(2), wait=tenacity.wait_none())
    async with new_client(transport, recorded_sleep, retry_policy=policy) as client:
        with pytest.raises(InternalServerError):
            await client.tasks.retrieve("t1")
    assert len(seen) == 2


async def test_a_replaced_retry_predicate_is_used(recorded_sleep: RecordingSleep) -> None:
    """RetryPolicy(retry=retry_if_exception_type(APIConnectionError)) leaves a 500 alone."""
    seen, transport = answers(json_response(500), json_response(200, task_json()))
    policy = RetryPolicy(retry=tenacity.retry_if_exception_type(APIConnectionError))
    async with new_client(transport, recorded_sleep, retry_policy=policy) as client:
        with pytest.raises(InternalServerError):
            await client.tasks.retrieve("t1")
    assert len(seen) == 1


async def test_no_policy_repeats_a_create_that_may_have_been_done(
    recorded_sleep: RecordingSleep,
) -> None:
    """Even a policy retrying everything does not resend a keyless create after a failure
    that may have reached the server; one that never left is resent."""
    lost = APIConnectionError("reset", request_sent=True)
    never_sent = APIConnectionError("refused", request_sent=False)
    policy = RetryPolicy(retry=tenacity.retry_always, wait=tenacity.wait_none())
    seen, transport = answers(lost, json_response(200, {"task_id": "t1", "status": "queued"}))
    async with new_client(
        transport, recorded_sleep, retry_policy=policy, idempotency_keys=False
    ) as c:
        with pytest.raises(APIConnectionError):
            await c.tasks.create(video=VIDEO, prompt="p")
    assert len(seen) == 1
    seen, transport = answers(never_sent, json_response(200, {"task_id": "t1", "status": "queued"}))
    async with new_client(
        transport, recorded_sleep, retry_policy=policy, idempotency_keys=False
    ) as c:
        await c.tasks.create(video=VIDEO, prompt="p")
    assert len(seen) == 2


async def test_429s_have_their_own_budget(recorded_sleep: RecordingSleep) -> None:
    """With max_retries=1 and max_rate_limit_retries=3, three 429s and one 500 are ridden
    out, a fourth 429 is not."""
    limited = json_response(429, headers={"Retry-After": "0"})
    ok = json_response(200, task_json())
    policy = RetryPolicy(max_retries=1, max_rate_limit_retries=3)
    seen, transport = answers(limited, json_response(500), limited, limited, ok)
    async with new_client(transport, recorded_sleep, retry_policy=policy) as client:
        await client.tasks.retrieve("t1")
    assert len(seen) == 5
    seen, transport = answers(limited, limited, limited, limited, ok)
    async with new_client(transport, recorded_sleep, retry_policy=policy) as client:
        with pytest.raises(RateLimitError):
            await client.tasks.retrieve("t1")
    assert len(seen) == 4


async def test_the_happy_path_never_enters_tenacity(
    recorded_sleep: RecordingSleep, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that succeeds at once builds no retry state at all."""

    def refuse(*args: object, **kwargs: object) -> Callable[..., object]:
        raise AssertionError("tenacity entered on the happy path")

    monkeypatch.setattr(asyncanalyze._retry, "RetryCallState", refuse)
    _, transport = answers(json_response(200, task_json()))
    async with new_client(transport, recorded_sleep) as client:
        for _ in range(3):
            await client.tasks.retrieve("t1")


def test_an_unclosed_client_is_collected_with_its_pool() -> None:
    """A client left unclosed warns when collected, and its connection pool is collected
    (and warns) in the same collection, not at some later one in unrelated code."""
    clients = [AnalyzeAsyncClient(api_key="k", base_url=BASE_URL)]

    async def use() -> None:
        with aioresponses() as mocked:
            mocked.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json())
            await clients[0].tasks.retrieve("t1")

    asyncio.run(use())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clients.clear()
        gc.collect()
    messages = [str(warning.message) for warning in caught]
    assert any("unclosed AnalyzeAsyncClient" in message for message in messages)
    assert any("Unclosed client session" in message for message in messages)
