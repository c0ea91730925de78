"""Recovery after a 429 episode: does a long-lived client get its full speed back?

The issue's measurement: 20 coroutines call ``tasks.retrieve(id)`` in a loop against the
emulator (own process, ``--speed 10``; the client runs on real time, as a user's would). For
``--episode`` seconds the emulator answers 5 % of retrieves with an injected 429
(``Retry-After: 1``), then the faults are switched off. Successful retrieves are counted per
second: before the episode, during it, and in the one-second windows starting 0, 5, 10 and 15 s
after the last 429 the client met (the last "retrying ... after RateLimitError" it logged).
No success ever carries a rate-limit header. Rows:

  retry-after only      the 429s carry Retry-After: 1 and nothing else
  headers, Reset 1 s    plus X-Ratelimit-Limit 100, -Remaining 0, -Used 100, -Reset 1 s ahead
  headers, Reset 60 s   the same with the Reset 60 s ahead

Target: throughput from 10 s after the last 429 on >= 90 % of the pre-episode level, judged on
the mean of the five one-second windows from +10 s to +15 s against the mean of the four before
the episode: on a shared machine single windows move by tens of percent. The table also gives
the moment the client stopped pacing the route at all ("unpaced after"), which does not
depend on load.

    python benchmarks/bench_ratelimit_recovery.py [--episode 5] [--after 16] [--senders 20]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Sequence

import aiohttp
from _common import API_KEY, emulator, machine, print_table, root_of

from asyncanalyze import AnalyzeAsyncClient, VideoContext_Url

VARIANTS: Sequence[tuple[str, dict[str, object]]] = (
    ("retry-after only", {"rate_limit_shape": "retry_after"}),
    ("headers, Reset 1 s", {"rate_limit_shape": "full", "rate_limit_reset": 1}),
    ("headers, Reset 60 s", {"rate_limit_shape": "full", "rate_limit_reset": 60}),
)
WARM_UP = 1.0
BEFORE = 4.0
AFTER_OFFSETS = (0, 5, 10, 15)
TARGET = 0.9


class LastRateLimit(logging.Handler):
    """Remembers when the SDK last logged a retry after a 429 (INFO: once per 429, not per
    request, so it costs nothing measurable)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.at = 0.0
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.args and "RateLimitError" in record.args:
            self.at = time.monotonic()
            self.count += 1


async def set_faults(session: aiohttp.ClientSession, base_url: str, faults: dict) -> None:
    async with session.post(f"{root_of(base_url)}/_emulator/faults", json=faults) as response:
        response.raise_for_status()


def per_second(times: list[float], start: float) -> float:
    return float(sum(1 for t in times if start <= t < start + 1.0))


async def run_variant(args: argparse.Namespace, shape: dict[str, object]) -> list[object]:
    done: list[float] = []
    last = LastRateLimit()
    log = logging.getLogger("asyncanalyze")
    log.addHandler(last)
    log.setLevel(logging.INFO)
    try:
        async with (
            emulator(speed=args.speed) as base_url,
            aiohttp.ClientSession() as admin,
            AnalyzeAsyncClient(api_key=API_KEY, base_url=base_url) as client,
        ):
            created = await client.tasks.create(
                video=VideoContext_Url(url="https://example.com/r.mp4?emulator_task_seconds=1"),
                prompt="Summarize",
            )
            task_id = created.task_id
            stop = asyncio.Event()

            async def loop_retrieves() -> None:
                while not stop.is_set():
                    await client.tasks.retrieve(task_id)
                    done.append(time.monotonic())

            async def watch_pacing() -> None:
                nonlocal unpaced_at
                # Internal state, read only here: whether the route still has a pacing lane.
                while not stop.is_set():
                    paced = bool(client._pipeline.gate._lanes)
                    if paced:
                        unpaced_at = None
                    elif unpaced_at is None:
                        unpaced_at = time.monotonic()
                    await asyncio.sleep(0.01)

            unpaced_at: float | None = None
            workers = [asyncio.create_task(loop_retrieves()) for _ in range(args.senders)]
            workers.append(asyncio.create_task(watch_pacing()))
            await asyncio.sleep(WARM_UP)
            started = time.monotonic()
            await asyncio.sleep(BEFORE)
            fault = {"too_many_requests": 0.05, "retry_after": 1, **shape}
            await set_faults(admin, base_url, {"retrieve": fault})
            episode_start = time.monotonic()
            await asyncio.sleep(args.episode)
            await set_faults(admin, base_url, {})
            faults_off = time.monotonic()
            await asyncio.sleep(args.after)
            stop.set()
            await asyncio.gather(*workers)
    finally:
        log.removeHandler(last)
    before = sum(per_second(done, started + s) for s in range(int(BEFORE))) / int(BEFORE)
    during = sum(1 for t in done if episode_start <= t < faults_off) / (faults_off - episode_start)
    anchor = last.at or faults_off
    after = [per_second(done, anchor + offset) for offset in AFTER_OFFSETS]
    unpaced = "never" if unpaced_at is None else f"{unpaced_at - anchor:.1f}"
    settled = sum(per_second(done, anchor + 10 + k) for k in range(5)) / 5
    at_ten = settled / before if before else 0.0
    return [
        f"{before:,.0f}",
        f"{during:,.0f}",
        *(f"{value:,.0f}" for value in after),
        f"{at_ten:.0%}",
        unpaced,
        last.count,
        f"{anchor - faults_off:+.2f}",
        "met" if at_ten >= TARGET else "MISSED",
    ]


async def main(args: argparse.Namespace) -> None:
    rows = []
    for name, shape in VARIANTS:
        row = await run_variant(args, shape)
        print(f"{name}: {row}", flush=True)
        rows.append([name, *row])
    print(
        f"\nRecovery after {args.episode:g} s of 5 % injected 429s (Retry-After 1):"
        f" {args.senders} coroutines retrieving one task, emulator speed {args.speed:g}x,"
        " client on real time; successful retrieves per second; no rate-limit header on any"
        " success; +N s = the one-second window starting N s after the last 429 the client met"
    )
    print(f"machine: {machine()}\n")
    print_table(
        [
            "429s carry",
            "before /s",
            "during /s",
            *(f"+{offset} s" for offset in AFTER_OFFSETS),
            "+10..+15 s mean vs before",
            "unpaced after s",
            "429s met",
            "last 429 vs faults off s",
            f"target (>= {TARGET:.0%} from +10 s)",
        ],
        rows,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episode", type=float, default=5.0, help="seconds of 429s")
    parser.add_argument("--after", type=float, default=16.0, help="seconds measured after")
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--speed", type=float, default=10.0)
    asyncio.run(main(parser.parse_args()))
