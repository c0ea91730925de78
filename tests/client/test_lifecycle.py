"""Cancellation and lifetime: cancelled waits go quiet and give their connections back; a
closed client, or one used from another loop, says so clearly.

Against the emulator at 400x with the client on its clock, so "one poll interval" (at most
20 emulated seconds) is 50 ms of real time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from aioresponses import aioresponses

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeRequest,
    ClientStateError,
    VideoContext_Url,
)
from asyncanalyze.emulator import Emulator, FaultConfig
from asyncanalyze.testing import emulator_client

from .._helpers import sent_count, task_json
from ..conftest import BASE_URL, EMULATOR_SPEED

# Longer than the largest poll gap (20 s) and the sweep interval (8 s), in emulated seconds.
QUIET = 2 * 20.0


def long_video(n: int) -> VideoContext_Url:
    return VideoContext_Url(url=f"https://videos.example/long-{n}.mp4?emulator_task_seconds=3000")


def requests_total(emu: Emulator) -> int:
    return sum(emu.stats()["requests"].values())


def acquired(client: AnalyzeAsyncClient) -> int:
    """Connections the client's pool has handed out and not got back."""
    session = client._transport._session
    if session is None:
        return 0
    return len(session.connector._acquired)  # type: ignore[union-attr]


async def emulated(seconds: float) -> None:
    await asyncio.sleep(seconds / EMULATOR_SPEED)


async def until(condition: Callable[[], bool], *, within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.002)


async def assert_quiet_and_released(emu: Emulator, client: AnalyzeAsyncClient) -> None:
    """No request reaches the emulator for two poll intervals, and no connection is held."""
    before = emu.stats()["requests"]
    await emulated(QUIET)
    assert emu.stats()["requests"] == before
    scheduler = client.tasks._scheduler
    assert scheduler is None or scheduler.in_flight == 0
    assert acquired(client) == 0
    # And the pool really is usable: with one connection, a new call goes through at once.
    async with asyncio.timeout(1.0):
        await client.tasks.list(page_limit=1)


@pytest.fixture
async def one_connection_client(sped_up_emulator: Emulator) -> AsyncIterator[AnalyzeAsyncClient]:
    async with emulator_client(sped_up_emulator, connection_limit=1) as client:
        yield client


async def test_cancelling_await_result_stops_polling_and_frees_the_connection(
    sped_up_emulator: Emulator, one_connection_client: AnalyzeAsyncClient
) -> None:
    """A cancelled await_result sends nothing more and holds no connection."""
    created = await one_connection_client.tasks.create(video=long_video(1), prompt="p")
    waiter = asyncio.create_task(one_connection_client.tasks.await_result(created))
    await until(lambda: sped_up_emulator.stats()["polls"].get(created.task_id, 0) >= 2)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await assert_quiet_and_released(sped_up_emulator, one_connection_client)


async def test_cancelling_during_a_request_frees_the_connection(
    sped_up_emulator: Emulator, one_connection_client: AnalyzeAsyncClient
) -> None:
    """Cancelled while its poll is on the wire, a wait gives the connection back at once."""
    created = await one_connection_client.tasks.create(video=long_video(2), prompt="p")
    sped_up_emulator.set_faults(retrieve=FaultConfig(latency=0.5))  # real seconds: the poll hangs
    waiter = asyncio.create_task(one_connection_client.tasks.await_result(created))
    await until(lambda: sped_up_emulator.stats()["requests"].get("retrieve", 0) >= 1)
    assert acquired(one_connection_client) == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    sped_up_emulator.set_faults()
    await assert_quiet_and_released(sped_up_emulator, one_connection_client)


async def test_cancelling_as_completed_stops_polling_and_frees_the_connection(
    sped_up_emulator: Emulator, one_connection_client: AnalyzeAsyncClient
) -> None:
    """A cancelled as_completed consumer leaves no wait, poll or connection behind."""
    created = [
        await one_connection_client.tasks.create(video=long_video(10 + i), prompt="p")
        for i in range(3)
    ]

    async def consume() -> None:
        async for _ in one_connection_client.tasks.as_completed(created):
            pass

    consumer = asyncio.create_task(consume())
    await until(lambda: sum(sped_up_emulator.stats()["polls"].values()) >= 6)
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    await assert_quiet_and_released(sped_up_emulator, one_connection_client)


async def test_cancelling_analyze_many_in_bulk_mode_stops_everything(
    sped_up_emulator: Emulator,
) -> None:
    """A cancelled analyze_many (sweeping 20 tasks) stops creating and polling, and its
    workers, scheduler and connections are all gone."""
    async with emulator_client(sped_up_emulator, connection_limit=4) as client:
        requests = (AnalyzeRequest(video=long_video(100 + i), prompt="p") for i in range(40))

        async def consume() -> None:
            async for _ in client.tasks.analyze_many(requests, concurrency=20):
                pass

        consumer = asyncio.create_task(consume())
        await until(lambda: sped_up_emulator.stats()["requests"].get("list", 0) >= 2)
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert (
            sped_up_emulator.stats()["creates"] == 20
        )  # the other 20 were never read from the input
        await assert_quiet_and_released(sped_up_emulator, client)
        runner = client.tasks._scheduler._runner if client.tasks._scheduler else None
        assert runner is None or runner.done()


async def test_cancelling_analyze_many_while_creates_hang(sped_up_emulator: Emulator) -> None:
    """Cancelled with its creates on the wire, analyze_many frees every connection."""
    sped_up_emulator.set_faults(create=FaultConfig(latency=0.5))
    async with emulator_client(sped_up_emulator, connection_limit=3) as client:
        requests = [AnalyzeRequest(video=long_video(200 + i), prompt="p") for i in range(6)]

        async def consume() -> None:
            async for _ in client.tasks.analyze_many(requests, concurrency=6):
                pass

        consumer = asyncio.create_task(consume())
        await until(lambda: sped_up_emulator.stats()["requests"].get("create", 0) >= 3)
        assert acquired(client) == 3
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        sped_up_emulator.set_faults()
        await assert_quiet_and_released(sped_up_emulator, client)


def client_tasks(tasks: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """The tasks that are not the in-process emulator's: older aiohttp (3.11.12 and before)
    ends the server's handler of a closed connection a few loop turns later; no client leak."""
    return {t for t in tasks if t.get_coro().__qualname__ != "RequestHandler.start"}


async def test_closing_the_client_ends_pending_waits(sped_up_emulator: Emulator) -> None:
    """aclose() while coroutines wait ends each wait with ClientStateError and leaves no task."""
    before = asyncio.all_tasks()
    client = emulator_client(sped_up_emulator)
    created = await client.tasks.create(video=long_video(300), prompt="p")
    waiter = asyncio.create_task(client.tasks.await_result(created))
    await until(lambda: sped_up_emulator.stats()["polls"].get(created.task_id, 0) >= 1)
    await client.aclose()
    with pytest.raises(ClientStateError):
        await waiter
    await asyncio.sleep(0)
    assert client_tasks(asyncio.all_tasks() - before) == set()


# -- a closed client, another loop, no loop at all --------------------------------------------

VIDEO = VideoContext_Url(url="https://videos.example/a.mp4")


async def _collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


CALLS: dict[str, Callable[[AnalyzeAsyncClient], Awaitable[Any]]] = {
    "list": lambda c: c.tasks.list(),
    "iter": lambda c: _collect(c.tasks.iter()),
    "create": lambda c: c.tasks.create(video=VIDEO, prompt="p"),
    "retrieve": lambda c: c.tasks.retrieve("t1"),
    "delete": lambda c: c.tasks.delete("t1"),
    "cancel": lambda c: c.tasks.cancel("t1"),
    "await_result": lambda c: c.tasks.await_result("t1"),
    "as_completed": lambda c: _collect(c.tasks.as_completed(["t1"])),
    "analyze_many": lambda c: _collect(
        c.tasks.analyze_many([AnalyzeRequest(video=VIDEO, prompt="p")])
    ),
}


@pytest.fixture
def answering_mock() -> Iterator[aioresponses]:
    with aioresponses() as mock:
        tasks = re.compile(re.escape(f"{BASE_URL}/analyze/tasks") + r"(\?.*)?$")
        one = re.compile(re.escape(f"{BASE_URL}/analyze/tasks/") + r".+")
        mock.get(tasks, payload={"data": [], "page_info": {}}, repeat=True)
        mock.post(tasks, status=202, payload={"task_id": "t1", "status": "queued"}, repeat=True)
        mock.get(one, payload=task_json(task_id="t1"), repeat=True)
        mock.delete(one, status=204, repeat=True)
        mock.post(one, payload={"task_id": "t1", "status": "canceled"}, repeat=True)
        yield mock


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_every_call_on_a_closed_client_is_a_client_state_error(
    name: str, answering_mock: aioresponses
) -> None:
    """After aclose(), each public call raises ClientStateError and sends nothing."""
    client = AnalyzeAsyncClient(api_key="k", base_url=BASE_URL)
    await client.tasks.retrieve("t1")
    await client.aclose()
    sent = sent_count(answering_mock)
    with pytest.raises(ClientStateError, match="closed"):
        await CALLS[name](client)
    assert sent_count(answering_mock) == sent


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_call_from_another_loop_is_a_client_state_error(
    name: str, answering_mock: aioresponses
) -> None:
    """A client bound to one loop raises ClientStateError for each call made in another."""
    client = AnalyzeAsyncClient(api_key="k", base_url=BASE_URL)

    async def first_loop() -> None:
        await client.tasks.retrieve("t1")
        await client._transport.aclose()  # only the pool, so the client stays bound

    asyncio.run(first_loop())
    sent = sent_count(answering_mock)

    async def second_loop() -> None:
        with pytest.raises(ClientStateError, match="another event loop"):
            await CALLS[name](client)

    asyncio.run(second_loop())
    assert sent_count(answering_mock) == sent


async def test_client_built_without_a_running_loop_runs_a_batch(sped_up_emulator: Emulator) -> None:
    """A client constructed where no loop runs (module level, a thread) works once used."""
    client = await asyncio.to_thread(emulator_client, sped_up_emulator)
    async with client:
        outcomes = await _collect(
            client.tasks.analyze_many(
                [
                    AnalyzeRequest(
                        video=VideoContext_Url(url=f"https://videos.example/s{i}.mp4"), prompt="p"
                    )
                    for i in range(3)
                ],
                timeout=10**5,
            )
        )
    assert [o.ok for o in outcomes] == [True] * 3
