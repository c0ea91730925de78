"""Shared by the examples' tests: import examples/*.py by name, and the emulator they use."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asyncanalyze.emulator import Emulator

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

# The examples are scripts, not a package: put their folder on the path so a test imports
# one as `import aiohttp_app`, exactly the module a user runs with `python examples/...`.
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))


@pytest.fixture
async def examples_emulator() -> AsyncIterator[Emulator]:
    """An emulator at 200x for the example apps (they build their clients on its clock)."""
    async with Emulator(speed=200) as emulator:
        yield emulator
