"""Fixtures for your own tests: a running emulator, fresh for each test.

Enable it in a ``conftest.py`` (it is not registered automatically)::

    pytest_plugins = ["asyncanalyze.emulator.pytest_plugin"]

    @pytest.mark.asyncio
    async def test_something(analyze_emulator):
        url = analyze_emulator.base_url   # point your client here, any non-empty API key

``analyze_emulator`` runs 100x faster than real time, so a typical task is ready in well under
a second. ``analyze_emulator_factory(**options)`` starts one with any ``Emulator`` option
(``clock=ManualClock()``, ``create_rpm=...``, ``faults=...``) and stops it after the test.
Needs the ``[testing]`` extra (pytest-asyncio); nothing else in the emulator imports a test
framework. ``asyncanalyze.testing`` adds ``analyze_client``, a client on the emulator's clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio

from ._emulator import Emulator

FIXTURE_SPEED = 100.0

EmulatorFactory = Callable[..., Awaitable[Emulator]]


@pytest_asyncio.fixture
async def analyze_emulator_factory() -> AsyncIterator[EmulatorFactory]:
    started: list[Emulator] = []

    async def start(**options: Any) -> Emulator:
        options.setdefault("speed", FIXTURE_SPEED)
        emulator = Emulator(**options)
        await emulator.start()
        started.append(emulator)
        return emulator

    try:
        yield start
    finally:
        for emulator in reversed(started):
            await emulator.stop()


@pytest_asyncio.fixture
async def analyze_emulator(analyze_emulator_factory: EmulatorFactory) -> Emulator:
    return await analyze_emulator_factory()
