"""API requests per task and detection lag for three ways of waiting on a 1,000-task batch.

Task durations (create -> terminal, set with the ``emulator_task_seconds`` marker) are spread
over 30 s - 20 min of emulated time, drawn once per distribution with a fixed seed and reused
for every strategy:
  log-uniform  exp(uniform(ln 30, ln 1200)): as many 30-60 s tasks as 10-20 min ones
  uniform      uniform(30, 1200): mostly long tasks
Strategies (each on a fresh emulator process, client on the emulator's clock):
  (a) analyze_many   ``client.tasks.analyze_many(requests, concurrency=1000)``
  (b) await_result   create all, then one ``await_result`` per task, on a client with
                     ``bulk_threshold`` above the batch size, so it never sweeps (per-task backoff)
  (c) fixed 5 s      create all, then per task: retrieve, sleep 5 emulated seconds, repeat
                     (the plain loop the platform's own SDK documents)
Requests are counted by the emulator (/_emulator/stats). Detection lag is, per task, the
emulated instant the client saw it terminal minus its ``completed_at``.

Each run has its own speed. The request rate a strategy generates in *real* time is its
emulated rate times the speed, and both processes share this machine's cores, so a speed the
machine cannot keep up with would stretch the poll gaps and understate requests: (c) makes
~200 requests per emulated second for 1,000 tasks, hence 20x. The table shows (c)'s achieved
median gap between polls and every run's worst event-loop lag, to show the machine kept up.
Conversely every real millisecond a request takes counts ``speed`` ms of emulated time, so a
high speed inflates the lag of strategies that send requests one after another (a sweep pages
through the in-progress lists sequentially): (a) runs at 100x (local page latency ~2-4 ms
becomes 0.2-0.4 emulated s, about the real service's) and at 25x.

    python benchmarks/bench_requests_per_task.py [--tasks 1000] [--runs a@100,a@25,b@40,c@20]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable

import aiohttp
from _common import (
    API_KEY,
    EmulatorClock,
    emulator,
    emulator_stats,
    machine,
    median,
    percentile,
    print_table,
)

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeRequest,
    AnalyzeTaskResponse,
    CreateAnalyzeTaskResponse,
    VideoContext_Url,
)

MIN_SECONDS, MAX_SECONDS = 30.0, 1200.0
FIXED_GAP = 5.0
STRATEGIES = ("analyze_many", "await_result", "fixed 5 s")  # (a), (b), (c)
_CREATE_CONCURRENCY = 200
_TICK = 0.010
# A 20-minute task plus creation and slack, in emulated seconds: every wait is bounded by it.
_EMULATED_LIMIT = 2 * MAX_SECONDS
# Real-time cap of one run, whatever the speed: a stuck run fails instead of hanging.
_REAL_LIMIT = 400.0
TARGET_REQUESTS, TARGET_LAG = 3.0, 10.0


def durations_for(distribution: str, count: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    if distribution == "log-uniform":
        low, high = math.log(MIN_SECONDS), math.log(MAX_SECONDS)
        return [math.exp(rng.uniform(low, high)) for _ in range(count)]
    return [rng.uniform(MIN_SECONDS, MAX_SECONDS) for _ in range(count)]


def video(index: int, seconds: float) -> VideoContext_Url:
    return VideoContext_Url(
        url=f"https://example.com/rpt-{index}.mp4?emulator_task_seconds={seconds:.3f}"
    )


class Run:
    """One strategy on one distribution: seen-at instants and loop lag, in one place."""

    def __init__(self, clock: EmulatorClock) -> None:
        self.clock = clock
        self.lags: list[float] = []  # detection lag per task, emulated seconds
        self.not_ready = 0
        self.loop_lags: list[float] = []
        self.gaps: list[float] = []  # (c): mean emulated gap between one task's polls
        self._ticking = True

    def saw(self, task: AnalyzeTaskResponse | None) -> None:
        if task is None or task.completed_at is None or task.status.value != "ready":
            self.not_ready += 1
            return
        self.lags.append(self.clock.now() - task.completed_at.timestamp())

    async def tick(self) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + _REAL_LIMIT
        while self._ticking and loop.time() < end:
            before = loop.time()
            await asyncio.sleep(_TICK)
            self.loop_lags.append(loop.time() - before - _TICK)

    def stop(self) -> None:
        self._ticking = False


async def create_all(
    client: AnalyzeAsyncClient, durations: list[float]
) -> list[CreateAnalyzeTaskResponse]:
    limiter = asyncio.Semaphore(_CREATE_CONCURRENCY)

    async def create(index: int, seconds: float) -> CreateAnalyzeTaskResponse:
        async with limiter:
            return await client.tasks.create(video=video(index, seconds), prompt="Summarize")

    return await asyncio.gather(*(create(i, s) for i, s in enumerate(durations)))


async def strategy_analyze_many(
    client: AnalyzeAsyncClient, run: Run, durations: list[float]
) -> None:
    requests = (
        AnalyzeRequest(video=video(i, s), prompt="Summarize") for i, s in enumerate(durations)
    )
    async for outcome in client.tasks.analyze_many(
        requests, concurrency=len(durations), timeout=_EMULATED_LIMIT
    ):
        run.saw(outcome.task if outcome.ok else None)


async def strategy_await_result(
    client: AnalyzeAsyncClient, run: Run, durations: list[float]
) -> None:
    created = await create_all(client, durations)

    async def one(task: CreateAnalyzeTaskResponse) -> None:
        try:
            result = await client.tasks.await_result(task, timeout=_EMULATED_LIMIT)
        except Exception:
            run.saw(None)
            return
        run.saw(result)

    await asyncio.gather(*(one(task) for task in created))


async def strategy_fixed(client: AnalyzeAsyncClient, run: Run, durations: list[float]) -> None:
    created = await create_all(client, durations)
    max_polls = math.ceil(_EMULATED_LIMIT / FIXED_GAP)

    async def one(task_id: str) -> None:
        first = run.clock.now()
        for count in range(1, max_polls + 1):
            task = await client.tasks.retrieve(task_id)
            if task.status.is_terminal:
                run.saw(task)
                if count > 1:
                    run.gaps.append((run.clock.now() - first) / (count - 1))
                return
            await client.sleep(FIXED_GAP)
        run.saw(None)

    await asyncio.gather(*(one(task.task_id) for task in created))


Strategy = Callable[[AnalyzeAsyncClient, Run, list[float]], Awaitable[None]]
RUNNERS: dict[str, Strategy] = {
    "analyze_many": strategy_analyze_many,
    "await_result": strategy_await_result,
    "fixed 5 s": strategy_fixed,
}


async def run_one(name: str, speed: float, durations: list[float]) -> dict:
    clock = EmulatorClock(speed)
    async with emulator(speed=speed) as base_url, aiohttp.ClientSession() as admin:
        await clock.align(admin, base_url)
        client = AnalyzeAsyncClient(
            api_key=API_KEY,
            base_url=base_url,
            sleep=clock.sleep,
            clock=clock.now,
            connection_limit=100,
            # (b) must never switch to sweeps; (a) and (c) keep the client's defaults.
            **({"bulk_threshold": 10 * len(durations) + 1} if name == "await_result" else {}),
        )
        run = Run(clock)
        ticker = asyncio.create_task(run.tick())
        started = time.perf_counter()
        try:
            async with client, asyncio.timeout(_REAL_LIMIT):
                await RUNNERS[name](client, run, durations)
        finally:
            run.stop()
            await ticker
        real_seconds = time.perf_counter() - started
        stats = await emulator_stats(admin, base_url)
    requests = stats["requests"]
    polls = stats["polls"]
    total = sum(requests.values())
    creates = requests.get("create", 0)
    return {
        "requests": requests,
        "per_task": total / len(durations),
        "per_task_no_create": (total - creates) / len(durations),
        "p50": percentile(run.lags, 0.50),
        "p95": percentile(run.lags, 0.95),
        "max": max(run.lags, default=float("nan")),
        "ready": len(run.lags),
        "not_ready": run.not_ready,
        "loop_lag": max(run.loop_lags, default=0.0),
        "real": real_seconds,
        "clock_error": clock.uncertainty,
        "median_polls": median(list(polls.values())),
        "gap": median(run.gaps),
    }


async def main(args: argparse.Namespace) -> None:
    plan: list[tuple[str, float]] = []
    for item in args.runs.split(","):
        letter, _, speed = item.partition("@")
        plan.append((STRATEGIES["abc".index(letter.strip())], float(speed)))
    distributions = ("log-uniform", "uniform")
    results: dict[tuple[str, str, float], dict] = {}
    for distribution in distributions:
        durations = durations_for(distribution, args.tasks, args.seed)
        for name, speed in plan:
            result = await run_one(name, speed, durations)
            results[distribution, name, speed] = result
            print(
                f"{distribution:<11} {name:<13} speed {speed:g}x: {result['requests']}"
                f" in {result['real']:.1f} s real",
                flush=True,
            )

    print(f"\n{args.tasks:,} tasks, durations 30 s - 20 min (emulated); machine: {machine()}")
    print("requests/task counts every API request (creates included); lag in emulated seconds\n")
    rows = []
    for (distribution, name, speed), r in results.items():
        target = ""
        if name == "analyze_many":
            met = r["per_task"] <= TARGET_REQUESTS and r["p95"] <= TARGET_LAG
            target = "met" if met else "MISSED"
        rows.append(
            [
                distribution,
                name,
                f"{speed:g}x",
                f"{r['ready']:,}" + (f" ({r['not_ready']} not ready)" if r["not_ready"] else ""),
                f"{r['per_task']:.2f}",
                f"{r['per_task_no_create']:.2f}",
                ", ".join(f"{k} {v:,}" for k, v in sorted(r["requests"].items())),
                f"{r['p50']:.1f}",
                f"{r['p95']:.1f}",
                f"{r['max']:.1f}",
                f"{r['gap']:.2f}" if name == "fixed 5 s" else "",
                f"{r['loop_lag'] * 1000:.0f} ms ({r['loop_lag'] * speed:.1f} s em.)",
                target,
            ]
        )
    print_table(
        [
            "durations",
            "strategy",
            "speed",
            "ready",
            "requests/task",
            "without creates",
            "requests",
            "p50 lag s",
            "p95 lag s",
            "max lag s",
            "achieved poll gap s",
            "worst loop lag",
            "target (a)",
        ],
        rows,
    )
    errors = {r["clock_error"] for r in results.values()}
    print(f"\nclock alignment uncertainty: <= {max(errors, default=0):.2f} emulated s")
    for (distribution, name, speed), r in results.items():
        baseline = next(
            (v for k, v in results.items() if k[0] == distribution and k[1] == "fixed 5 s"), None
        )
        if name != "fixed 5 s" and baseline is not None:
            print(
                f"{distribution}: {name} at {speed:g}x uses"
                f" {r['per_task'] / baseline['per_task']:.2f}x the requests of fixed 5 s polling"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument(
        "--runs",
        default="a@100,a@25,b@40,c@20",
        help="strategy@speed list; speeds sized to what 2 cores keep up with (see above)",
    )
    parser.add_argument("--seed", type=int, default=1200)
    asyncio.run(main(parser.parse_args()))
