"""10,000 concurrent ``await_result`` waits under one event loop.

The emulator runs in its own process on a fast clock (``--speed``, default 50x) and the client
runs on the same emulated time (sleeps divided by the speed, clock read from the emulator's
clock), so poll gaps and sweep intervals keep their production values in emulated seconds.

Phases:
  1. create ``--tasks`` tasks (200 creates in flight) whose ``emulator_task_seconds`` are spread
     uniformly over ``--min-seconds``..``--max-seconds`` emulated seconds, so none ends before
     the memory is measured and completions are spread over the run;
  2. start one ``await_result`` per task (each in its own asyncio task, as a user would with
     ``asyncio.gather``), let every wait be registered and the first bulk sweep land, then
     measure memory while all of them are pending: tracemalloc (Python allocations made since
     just before the waits started, i.e. coroutine + asyncio task + future + scheduler state +
     the last task seen per wait) and the RSS delta, each divided by the number of waits;
  3. wait for all to finish (bounded by ``--limit`` real seconds) while a ticker coroutine
     sleeps 10 ms at a time and records how late it wakes: the worst event-loop lag.

    python benchmarks/bench_scale.py [--tasks 10000] [--speed 50]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
import tracemalloc

import aiohttp
from _common import (
    API_KEY,
    EmulatorClock,
    emulator,
    emulator_stats,
    machine,
    percentile,
    print_table,
    rss_bytes,
)

from asyncanalyze import AnalyzeAsyncClient, CreateAnalyzeTaskResponse, VideoContext_Url

_CREATE_CONCURRENCY = 200
_TICK = 0.010  # real seconds between ticker wake-ups
# Before measuring, every wait must be registered and the first bulk sweep done (so each wait
# holds the last task it saw, as it will for the rest of its life): checked on the emulator's
# list count every half second, for at most 30 s.
_SETTLE_STEP = 0.5
_SETTLE_STEPS = 60
_SWEEP_PAGE = 50
MEMORY_TARGET = 8 * 1024
LAG_TARGET = 0.100


class Ticker:
    """Sleeps ``_TICK`` at a time and records how much later than asked it woke up."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._stop = asyncio.Event()

    async def run(self, limit: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + limit
        while not self._stop.is_set() and loop.time() < end:
            before = loop.time()
            await asyncio.sleep(_TICK)
            self.lags.append(loop.time() - before - _TICK)

    def stop(self) -> None:
        self._stop.set()


async def create_all(
    client: AnalyzeAsyncClient, durations: list[float]
) -> list[CreateAnalyzeTaskResponse]:
    limiter = asyncio.Semaphore(_CREATE_CONCURRENCY)

    async def create(index: int, seconds: float) -> CreateAnalyzeTaskResponse:
        url = f"https://example.com/scale-{index}.mp4?emulator_task_seconds={seconds:.3f}"
        async with limiter:
            return await client.tasks.create(video=VideoContext_Url(url=url), prompt="Summarize")

    return await asyncio.gather(*(create(i, s) for i, s in enumerate(durations)))


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    durations = [rng.uniform(args.min_seconds, args.max_seconds) for _ in range(args.tasks)]
    clock = EmulatorClock(args.speed)
    async with emulator(speed=args.speed) as base_url, aiohttp.ClientSession() as admin:
        await clock.align(admin, base_url)
        async with AnalyzeAsyncClient(
            api_key=API_KEY, base_url=base_url, sleep=clock.sleep, clock=clock.now
        ) as client:
            started = time.perf_counter()
            created = await create_all(client, durations)
            create_seconds = time.perf_counter() - started

            gc.collect()
            rss_before = rss_bytes()
            tracemalloc.start()
            traced_before, _ = tracemalloc.get_traced_memory()
            waits = [asyncio.create_task(client.tasks.await_result(task)) for task in created]
            first_sweep_pages = -(-args.tasks // _SWEEP_PAGE)
            for _ in range(_SETTLE_STEPS):
                await asyncio.sleep(_SETTLE_STEP)
                listed = (await emulator_stats(admin, base_url))["requests"].get("list", 0)
                if listed >= first_sweep_pages:
                    break
            pending = sum(not wait.done() for wait in waits)
            gc.collect()
            traced_after, _ = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss_after = rss_bytes()
            in_flight = client.tasks._scheduler.in_flight if client.tasks._scheduler else 0

            ticker = Ticker()
            ticker_task = asyncio.create_task(ticker.run(args.limit))
            wait_started = time.perf_counter()
            try:
                async with asyncio.timeout(args.limit):
                    results = await asyncio.gather(*waits, return_exceptions=True)
            finally:
                ticker.stop()
                await ticker_task
                for wait in waits:
                    wait.cancel()
            wait_seconds = time.perf_counter() - wait_started
        stats = await emulator_stats(admin, base_url)

    ready = sum(1 for r in results if not isinstance(r, BaseException) and r.status == "ready")
    failed = len(results) - ready
    per_wait_traced = (traced_after - traced_before) / max(1, pending)
    per_wait_rss = (rss_after - rss_before) / max(1, pending)
    worst_lag = max(ticker.lags, default=0.0)
    requests = stats["requests"]
    total_requests = sum(requests.values())

    print(f"\n{args.tasks:,} concurrent await_result waits, emulator speed {args.speed:g}x")
    print(f"machine: {machine()}")
    print(
        f"task durations uniform {args.min_seconds:g}-{args.max_seconds:g} emulated s;"
        f" creates took {create_seconds:.1f} s real; waits took {wait_seconds:.1f} s real"
    )
    print(f"requests seen by the emulator: {requests} ({total_requests / args.tasks:.2f} per task)")
    if failed:
        errors = {type(r).__name__ for r in results if isinstance(r, BaseException)}
        print(f"NOT ALL READY: {failed} failed ({', '.join(sorted(errors)) or 'not ready'})")
    print()
    print_table(
        [
            "waits",
            "pending at measurement",
            "completed ready",
            "tracemalloc / wait",
            "RSS delta / wait",
            "worst loop lag",
            "p99 loop lag",
            "targets",
        ],
        [
            [
                f"{args.tasks:,}",
                f"{pending:,} (scheduler: {in_flight:,})",
                f"{ready:,}",
                f"{per_wait_traced / 1024:.2f} KiB",
                f"{per_wait_rss / 1024:.2f} KiB",
                f"{worst_lag * 1000:.0f} ms",
                f"{percentile(ticker.lags, 0.99) * 1000:.1f} ms",
                "all ready {}; memory <= 8 KiB {}; lag <= 100 ms {}".format(
                    "met" if ready == args.tasks else "MISSED",
                    "met" if per_wait_traced <= MEMORY_TARGET else "MISSED",
                    "met" if worst_lag <= LAG_TARGET else "MISSED",
                ),
            ]
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--speed", type=float, default=50.0)
    parser.add_argument("--min-seconds", type=float, default=900.0, help="emulated")
    parser.add_argument("--max-seconds", type=float, default=2400.0, help="emulated")
    parser.add_argument("--limit", type=float, default=300.0, help="real seconds for the waits")
    parser.add_argument("--seed", type=int, default=4)
    asyncio.run(main(parser.parse_args()))
