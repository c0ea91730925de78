"""The client a command runs with: pointed at the real service, a given URL, or an emulator
started in this process (``--emulator``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

import attrs

from asyncanalyze import AnalyzeAsyncClient
from asyncanalyze.emulator import Emulator

__all__ = ["DEFAULT_EMULATOR_SPEED", "Session", "emulated_client", "open_session"]

# A minute of emulated time per real second: a 30 s task takes half a second, a 20 min one
# 20 s, which keeps `--emulator` runs interactive while statuses stay visible.
DEFAULT_EMULATOR_SPEED = 60.0
# An emulator started without api_key accepts any non-empty key.
EMULATOR_API_KEY = "emulator-key"


@attrs.define
class Session:
    client: AnalyzeAsyncClient
    emulator: Emulator | None = None


def emulated_client(emulator: Emulator, speed: float, api_key: str | None) -> AnalyzeAsyncClient:
    """A client that lives on the emulator's clock: poll gaps, sweep intervals, Retry-After
    and deadlines all count emulated seconds, so it behaves (and its detection lag measures)
    as it would against the real service, only ``speed`` times faster."""

    async def scaled_sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / speed)

    return AnalyzeAsyncClient(
        api_key=api_key or EMULATOR_API_KEY,
        base_url=emulator.base_url,
        sleep=scaled_sleep,
        clock=emulator.clock.now,
    )


@contextlib.asynccontextmanager
async def open_session(args: argparse.Namespace) -> AsyncIterator[Session]:
    if args.emulator:
        speed = float(args.speed or DEFAULT_EMULATOR_SPEED)
        async with (
            Emulator(speed=speed) as emulator,
            emulated_client(emulator, speed, args.api_key) as client,
        ):
            yield Session(client, emulator)
        return
    async with AnalyzeAsyncClient(api_key=args.api_key, base_url=args.base_url) as client:
        yield Session(client)
