"""Fixtures shared by every folder: a client against aioresponses (``mocked_client`` on
``mocked_api``) whose waits are recorded instead of slept (``recorded_sleep``), and an emulator
on a sped-up clock (``sped_up_emulator``)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import aioresponses.core as aioresponses_core
import pytest
from aiohttp import ClientResponse
from aioresponses import aioresponses

from asyncanalyze import AnalyzeAsyncClient, PollPolicy
from asyncanalyze.emulator import Emulator

from ._scripted import ScriptedServer

# Our own fixtures for users (analyze_client, analyze_emulator) are tested by using them here.
pytest_plugins = ["asyncanalyze.testing"]

BASE_URL = "https://api.test/v1.3"
API_KEY = "tlk_TEST_SECRET_KEY_0123456789"
# sped_up_emulator's speed: "one poll interval" (at most 20 emulated seconds) is 50 ms.
EMULATOR_SPEED = 400.0


class _ClientResponseCompat(ClientResponse):
    """aioresponses 0.7.9 predates aiohttp 3.14's required ``stream_writer`` argument."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(*args, **kwargs)


if "stream_writer" in inspect.signature(ClientResponse.__init__).parameters:
    aioresponses_core.ClientResponse = _ClientResponseCompat  # type: ignore[misc]


class RecordingSleep:
    """Stands in for asyncio.sleep and the clock: each wait is recorded, moves the fake clock
    forward and returns at once, as on virtual time: only once the rest of the loop has had
    its turns (a request in flight on a mocked server answers first), and a sleep cancelled
    meanwhile neither counts nor moves the clock."""

    # Loop turns a mocked request needs to be answered: the time that passes "at once".
    SETTLE_TURNS = 50

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 1000.0

    async def __call__(self, seconds: float) -> None:
        for _ in range(self.SETTLE_TURNS):
            await asyncio.sleep(0)
        self.waits.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)

    def clock(self) -> float:
        return self.now


@pytest.fixture
def recorded_sleep() -> RecordingSleep:
    """The sleep and clock of ``mocked_client``: waits are recorded, never slept."""
    return RecordingSleep()


@pytest.fixture
def mocked_api() -> Iterator[aioresponses]:
    """aioresponses standing in for the API at BASE_URL: register answers, read what was sent."""
    with aioresponses() as mock:
        yield mock


@pytest.fixture
async def mocked_client(recorded_sleep: RecordingSleep) -> AsyncIterator[AnalyzeAsyncClient]:
    """A client for BASE_URL (answered by ``mocked_api``) on ``recorded_sleep``'s clock."""
    async with AnalyzeAsyncClient(
        api_key=API_KEY,
        base_url=BASE_URL,
        sleep=recorded_sleep,
        clock=recorded_sleep.clock,
        poll_policy=PollPolicy(initial_delay=1.0, multiplier=2.0, max_delay=8.0, jitter=0.0),
    ) as client:
        yield client


def scripted_client_for(
    server: ScriptedServer, recorded_sleep: RecordingSleep, **options: Any
) -> AnalyzeAsyncClient:
    """A client whose requests ``server`` answers, on ``recorded_sleep``'s fake clock."""
    options.setdefault(
        "poll_policy", PollPolicy(initial_delay=1.0, multiplier=2.0, max_delay=8.0, jitter=0.0)
    )
    return AnalyzeAsyncClient(
        api_key=API_KEY,
        transport=server.transport,
        sleep=recorded_sleep,
        clock=recorded_sleep.clock,
        **options,
    )


@pytest.fixture
def scripted_server() -> ScriptedServer:
    """Answers a scripted_client's requests from a script (tests/_scripted.py)."""
    return ScriptedServer()


@pytest.fixture
async def scripted_client(
    scripted_server: ScriptedServer, recorded_sleep: RecordingSleep
) -> AsyncIterator[AnalyzeAsyncClient]:
    async with scripted_client_for(scripted_server, recorded_sleep) as client:
        yield client


@pytest.fixture
async def sped_up_emulator() -> AsyncIterator[Emulator]:
    """An emulator at EMULATOR_SPEED on the real clock; pair it with a client on its clock
    (``asyncanalyze.testing.emulator_client``)."""
    async with Emulator(speed=EMULATOR_SPEED) as emulator:
        yield emulator
