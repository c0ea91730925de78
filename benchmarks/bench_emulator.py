"""How many retrieve requests a second the emulator serves (one server process, one client).

Starts ``python -m asyncanalyze.emulator --port 0`` in its own process, creates tasks, then
polls them with raw aiohttp (``--concurrency`` requests in flight) for ``--seconds`` and prints
a table. Measures the emulator, not our client: the client side is as thin as aiohttp gets.

    python benchmarks/bench_emulator.py [--tasks 100] [--concurrency 100] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time

import aiohttp
from _common import API_KEY, start_server, stop_server


async def create_tasks(session: aiohttp.ClientSession, base_url: str, count: int) -> list[str]:
    ids = []
    for index in range(count):
        body = {
            "video": {"type": "url", "url": f"https://example.com/bench-{index}.mp4"},
            "prompt": "Summarize this video",
        }
        async with session.post(f"{base_url}/analyze/tasks", json=body) as response:
            response.raise_for_status()
            ids.append((await response.json())["task_id"])
    return ids


async def hammer(
    session: aiohttp.ClientSession, urls: list[str], concurrency: int, seconds: float
) -> tuple[int, int, float]:
    cycle = itertools.cycle(urls)
    deadline = time.perf_counter() + seconds
    done = errors = 0

    async def worker() -> None:
        nonlocal done, errors
        while time.perf_counter() < deadline:
            async with session.get(next(cycle)) as response:
                await response.read()
                if response.status == 200:
                    done += 1
                else:
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, errors, time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    process, base_url = await start_server()
    try:
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        headers = {"x-api-key": API_KEY}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            ids = await create_tasks(session, base_url, args.tasks)
            urls = [f"{base_url}/analyze/tasks/{task_id}" for task_id in ids]
            await hammer(session, urls, args.concurrency, 1.0)  # warm up connections
            done, errors, elapsed = await hammer(session, urls, args.concurrency, args.seconds)
    finally:
        await stop_server(process)
    print(f"emulator retrieve throughput ({args.tasks} tasks, concurrency {args.concurrency})")
    print(f"{'requests':>10} {'errors':>8} {'seconds':>8} {'req/s':>9}")
    print(f"{done:>10} {errors:>8} {elapsed:>8.2f} {done / elapsed:>9.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(main(parser.parse_args()))
