"""The client a command runs with: pointed at the real service, a given URL, or an emulator
started in this process (``--emulator``)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator

import attrs

from asyncanalyze import AnalyzeAsyncClient
from asyncanalyze.emulator import Emulator
from asyncanalyze.testing import EMULATOR_API_KEY, emulator_client

__all__ = ["DEFAULT_EMULATOR_SPEED", "Session", "open_session"]

# A minute of emulated time per real second: a 30 s task takes half a second, a 20 min one
# 20 s, which keeps `--emulator` runs interactive while statuses stay visible.
DEFAULT_EMULATOR_SPEED = 60.0


@attrs.define
class Session:
    client: AnalyzeAsyncClient
    emulator: Emulator | None = None


@contextlib.asynccontextmanager
async def open_session(args: argparse.Namespace) -> AsyncIterator[Session]:
    if args.emulator:
        speed = float(args.speed or DEFAULT_EMULATOR_SPEED)
        async with (
            Emulator(speed=speed) as emulator,
            emulator_client(emulator, api_key=args.api_key or EMULATOR_API_KEY) as client,
        ):
            yield Session(client, emulator)
        return
    async with AnalyzeAsyncClient(api_key=args.api_key, base_url=args.base_url) as client:
        yield Session(client)
