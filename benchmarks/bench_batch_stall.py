"""How long a journaled ``analyze_many`` of large inline (base64) videos stalls the event loop.

A ticker coroutine sleeps 5 ms at a time and records how late it wakes: the worst stall. Each
phase sends ``--count`` requests of ``--mib`` MiB of video (distinct bytes, so distinct
fingerprints) through a journaled batch, all in flight at once:

  * ``engine``: the batch engine alone (``run_batch`` with a create and a wait that answer at
    once, no HTTP), as shipped (``off-loop``: each large request checked and fingerprinted
    once, in a worker thread, in GIL-releasing slices) and with its size threshold raised so
    that this work runs on the event loop (``on-loop``). Their ratio is what the worker thread
    buys.
  * ``client``: the same batch through ``client.tasks.analyze_many`` against the emulator (in
    its own process). On top of the engine, each create body is encoded to JSON on the loop
    (``_pipeline.Pipeline.request``) and aiohttp writes the 40 MB body: those stalls belong to the send
    path, not to the batch engine.

The videos are random bytes, so the emulator may fail the tasks: only the client's stalls are
measured.

    python benchmarks/bench_batch_stall.py [--count 20] [--mib 30]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import API_KEY, emulator, machine, print_table

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeRequest,
    AnalyzeTaskResponse,
    AnalyzeTaskStatus,
    CreateAnalyzeTaskResponse,
    VideoContext_Base64String,
    batch,
)

_TICK = 0.005


class Ticker:
    """Sleeps ``_TICK`` at a time and records the worst lateness."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._stop = False

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop:
            asked = loop.time()
            await asyncio.sleep(_TICK)
            self.worst = max(self.worst, loop.time() - asked - _TICK)

    def stop(self) -> None:
        self._stop = True


def videos(count: int, mib: int) -> list[str]:
    block = os.urandom(mib * 1024 * 1024)
    return [base64.b64encode(bytes([i]) + block[1:]).decode() for i in range(count)]


def requests_for(payloads: list[str]) -> list[AnalyzeRequest]:
    return [
        AnalyzeRequest(video=VideoContext_Base64String(base64_string=p), prompt="Describe")
        for p in payloads
    ]


async def measured(outcomes: AsyncIterator[object]) -> tuple[float, float, int]:
    """(worst stall, wall seconds, outcomes) while draining ``outcomes``."""
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    started = time.perf_counter()
    count = 0
    async for _ in outcomes:
        count += 1
    wall = time.perf_counter() - started
    ticker.stop()
    await ticking
    return ticker.worst, wall, count


READY = AnalyzeTaskResponse(
    task_id="t", status=AnalyzeTaskStatus.READY, created_at=datetime.now(UTC)
)


async def engine_run(payloads: list[str], journal: Path) -> tuple[float, float, int]:
    async def create(body: dict[str, Any], key: str | None) -> CreateAnalyzeTaskResponse:
        return CreateAnalyzeTaskResponse(task_id="t", status=AnalyzeTaskStatus.QUEUED)

    async def wait_for(task_id: str) -> AnalyzeTaskResponse:
        return READY

    return await measured(
        batch.run_batch(
            requests_for(payloads),
            create=create,
            wait_for=wait_for,
            concurrency=len(payloads),
            journal=journal,
            on_progress=None,
        )
    )


async def client_run(base_url: str, payloads: list[str], journal: Path) -> tuple[float, float, int]:
    async with AnalyzeAsyncClient(api_key=API_KEY, base_url=base_url, timeout=300) as client:
        return await measured(
            client.tasks.analyze_many(
                requests_for(payloads), concurrency=len(payloads), journal=journal
            )
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--mib", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"building {args.count} videos of {args.mib} MiB ...", flush=True)
    payloads = videos(args.count, args.mib)
    shipped = batch._OFF_LOOP_CHARS
    rows = []
    worst = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, threshold in (("off-loop", shipped), ("on-loop", 10**15)):
            batch._OFF_LOOP_CHARS = threshold  # type: ignore[misc]
            print(f"engine, {name}: running ...", flush=True)
            stall, wall, outcomes = await engine_run(payloads, Path(folder) / f"e-{name}.db")
            worst[name] = stall
            rows.append(("engine", name, outcomes, f"{stall * 1000:.0f}", f"{wall:.1f}"))
        batch._OFF_LOOP_CHARS = shipped  # type: ignore[misc]
        async with emulator(speed=1000) as base_url:
            print("client, off-loop: running ...", flush=True)
            stall, wall, outcomes = await client_run(base_url, payloads, Path(folder) / "c.db")
            rows.append(("client", "off-loop", outcomes, f"{stall * 1000:.0f}", f"{wall:.1f}"))
    print(f"\n{args.count} requests of {args.mib} MiB, all in flight, journaled:\n")
    print_table(["path", "check + fingerprint", "outcomes", "worst loop stall ms", "wall s"], rows)
    ratio = worst["on-loop"] / worst["off-loop"] if worst["off-loop"] else float("inf")
    print(f"\nengine: worst stall on-loop / off-loop, same run: {ratio:.1f}x")


if __name__ == "__main__":
    asyncio.run(main())
