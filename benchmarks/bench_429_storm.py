"""A 429 storm: a batch of 500 through ``analyze_many`` against a low create rate limit.

The emulator (own process) runs ``--create-rpm RPM`` on a clock sped up ``--speed`` times; its
limit is a token bucket per API key on emulated time, with a burst of one minute's worth (RPM
tokens). The client runs on the same emulated time, so the ``Retry-After`` it obeys and the
times below are emulated seconds. Every request is sent at once (``concurrency`` = batch size),
so all but the burst hit the wall together: the storm. A second row uses analyze_many's
default concurrency (50).

Reported: failed outcomes (target 0), 429s sent by the emulator (its ``rate_limited``), creates
(500 = none paid twice; idempotent replays are retries whose first answer was lost), and the
time until the last create and the last outcome vs the ideal at that rate:
  ideal create phase  = (batch - burst) / rate    (the bucket's burst goes out at once)
  no-burst ideal      = batch / rate              (the brief's yardstick)
  ideal finish        = ideal create phase + the task length

    python benchmarks/bench_429_storm.py [--batch 500] [--rpm 120] [--speed 10]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import aiohttp
from _common import API_KEY, EmulatorClock, emulator, emulator_stats, machine, print_table

from asyncanalyze import AnalyzeAsyncClient, AnalyzeRequest, VideoContext_Url
from asyncanalyze.batch import DEFAULT_BATCH_CONCURRENCY


async def run_one(args: argparse.Namespace, concurrency: int) -> list[object]:
    """One batch on a fresh emulator (a full token bucket); returns its table row."""
    clock = EmulatorClock(args.speed)
    requests = [
        AnalyzeRequest(
            video=VideoContext_Url(
                url=f"https://example.com/storm-{i}.mp4?emulator_task_seconds={args.task_seconds}"
            ),
            prompt="Summarize",
        )
        for i in range(args.batch)
    ]
    rate = args.rpm / 60.0  # creates per emulated second
    burst = min(args.batch, int(args.rpm))
    ideal_create = max(0, args.batch - burst) / rate
    limit_real = 4 * (args.batch / rate + args.task_seconds) / args.speed + 60
    failures: dict[str, int] = {}
    async with (
        emulator(speed=args.speed, create_rpm=args.rpm) as base_url,
        aiohttp.ClientSession() as admin,
    ):
        await clock.align(admin, base_url)
        async with AnalyzeAsyncClient(
            api_key=API_KEY, base_url=base_url, sleep=clock.sleep, clock=clock.now
        ) as client:
            started_real = time.perf_counter()
            started = clock.now()
            last_created = started
            ok = 0
            async with asyncio.timeout(limit_real):
                async for outcome in client.tasks.analyze_many(requests, concurrency=concurrency):
                    if outcome.ok:
                        ok += 1
                        assert outcome.task is not None
                        last_created = max(last_created, outcome.task.created_at.timestamp())
                    else:
                        name = type(outcome.error).__name__
                        failures[name] = failures.get(name, 0) + 1
            finished = clock.now()
            real = time.perf_counter() - started_real
        stats = await emulator_stats(admin, base_url)

    create_phase = last_created - started
    total = finished - started
    print(
        f"concurrency {concurrency}: real time {real:.1f} s; requests seen by the emulator:"
        f" {stats['requests']}" + (f"; FAILED OUTCOMES: {failures}" if failures else ""),
        flush=True,
    )
    return [
        concurrency,
        ok,
        sum(failures.values()),
        stats["rate_limited"],
        stats["creates"],
        stats["idempotent_replays"],
        f"{create_phase:.1f}",
        f"{ideal_create:.1f}",
        f"{create_phase / ideal_create:.2f}x" if ideal_create else "-",
        f"{args.batch / rate:.1f}",
        f"{total:.1f}",
        f"{ideal_create + args.task_seconds:.1f}",
        f"{total / (ideal_create + args.task_seconds):.2f}x",
        "met" if not failures and ok == args.batch else "MISSED",
    ]


async def main(args: argparse.Namespace) -> None:
    concurrencies = args.concurrency or [args.batch, DEFAULT_BATCH_CONCURRENCY]
    rows = [await run_one(args, concurrency) for concurrency in concurrencies]
    burst = min(args.batch, int(args.rpm))
    print(
        f"\n429 storm: batch {args.batch}, create limit {args.rpm:g}/min (burst {burst}),"
        f" tasks {args.task_seconds:g} s, emulator speed {args.speed:g}x; times in emulated s"
    )
    print(f"machine: {machine()}\n")
    print_table(
        [
            "concurrency",
            "ready",
            "failed",
            "429s",
            "creates",
            "replays",
            "create phase s",
            "ideal (N-burst)/rate s",
            "ratio",
            "N/rate s",
            "finish s",
            "ideal finish s",
            "ratio",
            "target (0 failed)",
        ],
        rows,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rpm", type=float, default=120.0, help="creates per emulated minute")
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--task-seconds", type=float, default=10.0, help="emulated")
    parser.add_argument(
        "--concurrency",
        type=int,
        action="append",
        help="repeatable; default: the whole batch at once, then analyze_many's default (50)",
    )
    asyncio.run(main(parser.parse_args()))
