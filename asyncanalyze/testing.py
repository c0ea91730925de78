"""A client that lives on an emulator's clock, and (for pytest) fixtures built on it.

Importable anywhere, pytest or not: a notebook, a script or the CLI can use
:func:`emulator_client`. The fixtures live in :mod:`asyncanalyze.pytest_plugin`, the only
module of the package that imports pytest; naming this module in a ``conftest.py`` enables
them too::

    pytest_plugins = ["asyncanalyze.testing"]

    @pytest.mark.asyncio
    async def test_summary(analyze_client):          # a client on a running 100x emulator
        created = await analyze_client.tasks.create(video=..., prompt="Summarize")
        task = await analyze_client.tasks.await_result(created)

They need the ``[testing]`` extra (pytest and pytest-asyncio).
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from ._client import AnalyzeAsyncClient
from ._mock_transport import MockTransport, json_response
from .emulator import Emulator, ScaledClock

__all__ = ["EMULATOR_API_KEY", "MockTransport", "emulator_client", "json_response"]

# pytest reads this when a conftest names this module in its own ``pytest_plugins``: the
# fixtures come along, while importing this module outside pytest never touches pytest.
pytest_plugins = ["asyncanalyze.pytest_plugin"]

# The fixtures' names stay importable from here, as they were before they moved; asking for
# one imports pytest (and needs the [testing] extra).
_FIXTURES: Final = frozenset({"analyze_client", "analyze_emulator", "analyze_emulator_factory"})

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


def __getattr__(name: str) -> Any:
    if name in _FIXTURES:
        from . import pytest_plugin  # lazily: only a test run asks for a fixture by name

        return getattr(pytest_plugin, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
