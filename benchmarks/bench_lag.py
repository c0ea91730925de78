"""Detection lag and requests per task of ``analyze_many`` as the batch grows, under emulated
network latency (issue 11).

For each batch size and each per-request latency (emulated milliseconds; the emulator gets
``--fault '*:latency=L/speed,latency_jitter=J'``, so every request, list pages included,
waits a log-normal round trip whose median is L emulated ms), one run of
``client.tasks.analyze_many(requests, concurrency=N)`` with every task in flight at once.
Durations are log-uniform over 30 s - 20 min of emulated time (``--quick``: 30 s - 3 min),
drawn with a fixed seed. Requests are counted by the emulator; lag is the emulator's clock
when the outcome arrives minus the task's ``completed_at``. "worst loop lag" is the largest
delay of a 10 ms ticker on the client's loop: real ms, and what that is in emulated seconds.
If it grows to a good part of a second the client was not keeping up and the speed is too
high for the machine.

    python benchmarks/bench_lag.py                      # 1,000 and 10,000 x 0/50/150/300 ms
    python benchmarks/bench_lag.py --quick              # 200 tasks x 0/150 ms, short tasks
    python benchmarks/bench_lag.py --tasks 500 --latency-ms 150 --speed 5
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time

import aiohttp
from _common import (
    API_KEY,
    EmulatorClock,
    emulator,
    emulator_stats,
    machine,
    percentile,
    print_table,
)

from asyncanalyze import AnalyzeAsyncClient, AnalyzeRequest, VideoContext_Url

MIN_SECONDS = 30.0
FULL_MAX_SECONDS, QUICK_MAX_SECONDS = 1200.0, 180.0
_TICK = 0.010
TARGET_REQUESTS, TARGET_P95, TARGET_MAX = 3.0, 10.0, 15.0


def durations_for(count: int, longest: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    low, high = math.log(MIN_SECONDS), math.log(longest)
    return [math.exp(rng.uniform(low, high)) for _ in range(count)]


async def one_run(
    count: int, latency_ms: float, jitter: float, speed: float, longest: float, seed: int
) -> dict[str, float]:
    durations = durations_for(count, longest, seed)
    real_latency = latency_ms / 1000 / speed
    faults = [f"*:latency={real_latency:.6f},latency_jitter={jitter}"] if latency_ms else []
    clock = EmulatorClock(speed)
    lags: list[float] = []
    failed = 0
    loop_lags: list[float] = []
    ticking = True

    async def tick() -> None:
        loop = asyncio.get_running_loop()
        while ticking:
            before = loop.time()
            await asyncio.sleep(_TICK)
            loop_lags.append(loop.time() - before - _TICK)

    args = [arg for fault in faults for arg in ("--fault", fault)]
    async with (
        emulator(speed=speed, extra_args=args) as base_url,
        aiohttp.ClientSession() as admin,
    ):
        await clock.align(admin, base_url)
        requests = (
            AnalyzeRequest(
                video=VideoContext_Url(
                    url=f"https://example.com/lag-{i}.mp4?emulator_task_seconds={s:.3f}"
                ),
                prompt="Summarize",
            )
            for i, s in enumerate(durations)
        )
        ticker = asyncio.create_task(tick())
        started = time.perf_counter()
        async with AnalyzeAsyncClient(
            api_key=API_KEY,
            base_url=base_url,
            sleep=clock.sleep,
            clock=clock.now,
            connection_limit=100,
        ) as client:
            async for outcome in client.tasks.analyze_many(
                requests, concurrency=count, timeout=3 * longest
            ):
                task = outcome.task
                if outcome.ok and task is not None and task.completed_at is not None:
                    lags.append(clock.now() - task.completed_at.timestamp())
                else:
                    failed += 1
        real = time.perf_counter() - started
        ticking = False
        await ticker
        stats = await emulator_stats(admin, base_url)
    counts = stats["requests"]
    return {
        "requests": sum(counts.values()) / count,
        "retrieves": counts.get("retrieve", 0) / count,
        "lists": counts.get("list", 0) / count,
        "p50": percentile(lags, 0.50),
        "p95": percentile(lags, 0.95),
        "max": max(lags, default=float("nan")),
        "failed": failed,
        "loop_lag": max(loop_lags, default=0.0),
        "real": real,
        "clock_error": clock.uncertainty,
    }


async def main(args: argparse.Namespace) -> None:
    sizes = [args.tasks] if args.tasks else ([200] if args.quick else [1000, 10_000])
    latencies = args.latency_ms or ([0.0, 150.0] if args.quick else [0.0, 50.0, 150.0, 300.0])
    longest = QUICK_MAX_SECONDS if args.quick else FULL_MAX_SECONDS
    rows = []
    for count in sizes:
        for latency in latencies:
            r = await one_run(count, latency, args.jitter, args.speed, longest, args.seed)
            met = (
                r["requests"] <= TARGET_REQUESTS
                and r["p95"] <= TARGET_P95
                and r["max"] <= TARGET_MAX
            )
            print(f"{count:,} tasks, {latency:g} ms: {r} in {r['real']:.0f} s real", flush=True)
            rows.append(
                [
                    f"{count:,}",
                    f"{latency:g} ms",
                    f"{r['requests']:.2f}",
                    f"{r['retrieves']:.3f}",
                    f"{r['lists']:.2f}",
                    f"{r['p50']:.1f}",
                    f"{r['p95']:.1f}",
                    f"{r['max']:.1f}",
                    f"{r['loop_lag'] * 1000:.0f} ms ({r['loop_lag'] * args.speed:.2f} s em.)",
                    str(int(r["failed"])),
                    "met" if met else "MISSED",
                ]
            )
    print(
        f"\nanalyze_many, all tasks in flight; durations log-uniform 30 s - {longest / 60:g} min;"
        f" speed {args.speed:g}x; latency jitter {args.jitter:g}; machine: {machine()}\n"
    )
    print_table(
        [
            "tasks",
            "latency (emulated)",
            "requests/task",
            "retrieves/task",
            "lists/task",
            "p50 lag s",
            "p95 lag s",
            "max lag s",
            "worst loop lag",
            "not ready",
            "target",
        ],
        rows,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 tasks, 0/150 ms, short tasks")
    parser.add_argument("--tasks", type=int, default=0, help="one batch size instead of the set")
    parser.add_argument(
        "--latency-ms", type=float, action="append", help="emulated ms per request (repeatable)"
    )
    parser.add_argument("--jitter", type=float, default=0.3, help="log-normal spread of latency")
    parser.add_argument("--speed", type=float, default=5.0, help="emulated seconds per real one")
    parser.add_argument("--seed", type=int, default=1200)
    asyncio.run(main(parser.parse_args()))
