"""Test helpers for your own code: a client that lives on an emulator's clock, and fixtures.

Enable the fixtures in a ``conftest.py``::

    pytest_plugins = ["asyncanalyze.testing"]

    async def test_summary(analyze_client):          # a client on a running 100x emulator
        created = await analyze_client.tasks.create(video=..., prompt="Summarize")
        task = await analyze_client.tasks.await_result(created)

``analyze_emulator`` and ``analyze_emulator_factory`` (from ``asyncanalyze.emulator``) come
with it. Needs pytest-asyncio.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Final

import pytest_asyncio

from ._client import AnalyzeAsyncClient
from .emulator import Emulator, ScaledClock
from .emulator.pytest_plugin import analyze_emulator, analyze_emulator_factory

__all__ = [
    "EMULATOR_API_KEY",
    "analyze_client",
    "analyze_emulator",
    "analyze_emulator_factory",
    "emulator_client",
]

# An emulator started without api_key accepts any non-empty key.
EMULATOR_API_KEY: Final = "emulator-key"


def emulator_client(emulator: Emulator, **options: Any) -> AnalyzeAsyncClient:
    """A client for ``emulator`` that runs on its clock.

    Poll gaps, sweep intervals, Retry-After and deadlines then count emulated seconds, so the
    client behaves (and measures lag) as it would against the real service, only ``speed``
    times faster. ``options`` go to :class:`AnalyzeAsyncClient`.
    """
    clock = emulator.clock
    if not isinstance(clock, ScaledClock):
        raise TypeError("emulator_client needs an emulator on a ScaledClock (speed=...)")
    speed = clock.speed

    async def scaled_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / speed)

    options.setdefault("api_key", EMULATOR_API_KEY)
    return AnalyzeAsyncClient(
        base_url=emulator.base_url, sleep=scaled_sleep, clock=clock.now, **options
    )


@pytest_asyncio.fixture
async def analyze_client(analyze_emulator: Emulator) -> AsyncIterator[AnalyzeAsyncClient]:
    """An AnalyzeAsyncClient on a fresh emulator (100x real time), closed after the test."""
    async with emulator_client(analyze_emulator) as client:
        yield client
