"""pytest fixtures for your own tests: an emulator and a client on its clock, fresh per test.

Enable them in a ``conftest.py`` with ``pytest_plugins = ["asyncanalyze.testing"]`` (or name
this module). This is the one module of the package, with
:mod:`asyncanalyze.emulator.pytest_plugin`, that imports a test framework: the ``[testing]``
extra installs it. The fixtures run in pytest-asyncio's default (strict) mode: mark your async
tests with ``@pytest.mark.asyncio``, or set ``asyncio_mode = "auto"``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from ._client import AnalyzeAsyncClient
from .emulator import Emulator
from .emulator.pytest_plugin import analyze_emulator, analyze_emulator_factory
from .testing import emulator_client

__all__ = ["analyze_client", "analyze_emulator", "analyze_emulator_factory"]


@pytest_asyncio.fixture
async def analyze_client(analyze_emulator: Emulator) -> AsyncIterator[AnalyzeAsyncClient]:
    """An AnalyzeAsyncClient on a fresh emulator (100x real time), closed after the test."""
    async with emulator_client(analyze_emulator) as client:
        yield client
