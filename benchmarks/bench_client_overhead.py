"""Retrieve throughput of asyncanalyze vs raw aiohttp vs the official ``twelvelabs`` client.

One emulator process; in this process, for each concurrency (10, 100, 1000), every client is
opened and warmed up (connections open), then ``--rounds`` rounds alternate between them: in a
cell, ``concurrency`` coroutines call retrieve in a loop for ``--seconds``. The client order
rotates between rounds. Rates are medians over rounds; ours/raw ratios are the median of the
ratio within each round, because this shared VM's noise comes in bursts of seconds that hit
neighbouring cells alike (absolute rates of one cell varied 3x between runs; paired ratios
are steady).

Clients (one instance per concurrency, connection pool sized to it everywhere):
  raw-json    one shared aiohttp.ClientSession, same URL and headers, ``json.loads(body)``
              (what ``await response.json()`` does)
  raw-orjson  the same with ``orjson.loads``: the stricter baseline, because our client decodes
              with orjson when the [speed] extra is installed
  ours        ``client.tasks.retrieve(task_id)``: decode + structure into attrs models
  official    ``AsyncTwelveLabs(...).analyze_async.tasks.retrieve(task_id)`` on an
              httpx.AsyncClient with ``Limits(max_connections=N, max_keepalive_connections=N)``

    python benchmarks/bench_client_overhead.py [--seconds 1] [--rounds 9] [--status in-progress|ready]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import itertools
import json
import pstats
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import orjson
from _common import API_KEY, emulator, machine, median, print_table
from twelvelabs import AsyncTwelveLabs
from yarl import URL

from asyncanalyze import AnalyzeAsyncClient, VideoContext_Url
from asyncanalyze._protocol import Request, Route, task_path

CONCURRENCIES = (10, 100, 1000)
CLIENTS = ("raw-json", "raw-orjson", "ours", "official")
# --ladder: raw-orjson, then one difference from our client added per step, then ours.
LADDER = (
    "raw-orjson",
    "L1 + our headers per request",
    "L2 + ClientTimeout per request",
    "L3 + our connector and cookie jar",
    "L4 + URL object, redirects off",
    "L5 our AiohttpTransport.send",
    "L6 our request pipeline",
    "ours",
)
# Tasks that stay in progress for the whole run (an emulated day: what polls see almost every
# time, a body without a result), or finish at once (a body with a ~1 KB result to structure).
_TASK_SECONDS = {"in-progress": 86_400, "ready": 0}
# Each worker stops at the deadline; this cap also bounds a worker if the clock misbehaves.
_MAX_CALLS_PER_WORKER = 1_000_000

Call = Callable[[str], Awaitable[object]]


async def create_tasks(base_url: str, count: int, status: str) -> list[str]:
    seconds = _TASK_SECONDS[status]
    async with AnalyzeAsyncClient(api_key=API_KEY, base_url=base_url) as client:
        created = await asyncio.gather(
            *(
                client.tasks.create(
                    video=VideoContext_Url(
                        url=f"https://example.com/o{i}.mp4?emulator_task_seconds={seconds}"
                    ),
                    prompt="Summarize this video",
                )
                for i in range(count)
            )
        )
        ids = [task.task_id for task in created]
        if status == "ready":
            await asyncio.sleep(0.5)  # let every task reach "ready" (tasks are 0 s long)
        first = await client.tasks.retrieve(ids[0])
        assert (first.status.value == "ready") == (status == "ready"), first.status
    return ids


async def run_cell(
    call: Call, ids: list[str], concurrency: int, seconds: float, warmup: float
) -> tuple[float, int, float]:
    """Calls per second over ``seconds`` (after ``warmup``), the number of failed calls, and
    this process's CPU microseconds per completed call (the emulator runs in another process,
    so this is the client's own cost: steady on a loaded machine, where rates are not)."""
    cycle = itertools.cycle(ids)
    counts = {"done": 0, "errors": 0}

    async def worker(deadline: float, record: bool) -> None:
        for _ in range(_MAX_CALLS_PER_WORKER):
            if time.perf_counter() >= deadline:
                return
            try:
                await call(next(cycle))
            except Exception:
                if record:
                    counts["errors"] += 1
                continue
            if record:
                counts["done"] += 1

    await asyncio.gather(*(worker(time.perf_counter() + warmup, False) for _ in range(concurrency)))
    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(started + seconds, True) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return counts["done"] / elapsed, counts["errors"], cpu * 1e6 / max(1, counts["done"])


class Cell:
    """Builds one client for one concurrency; ``call`` does one retrieve end to end."""

    def __init__(self, name: str, base_url: str, concurrency: int) -> None:
        self.name = name
        self.base_url = base_url
        self.concurrency = concurrency
        self._close: Callable[[], Awaitable[object]] | None = None
        self.call: Call

    async def __aenter__(self) -> Cell:
        headers = {"x-api-key": API_KEY, "Accept": "application/json"}
        if self.name in {"raw-json", "raw-orjson"}:
            loads = json.loads if self.name == "raw-json" else orjson.loads
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.concurrency),
                headers=headers,
            )
            prefix = f"{self.base_url}/analyze/tasks/"

            async def raw_call(task_id: str) -> object:
                async with session.get(prefix + task_id) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(response.status)
                    return loads(body)

            self.call, self._close = raw_call, session.close
        elif self.name.startswith("L"):
            self.call, self._close = self._ladder_step(int(self.name[1]))
        elif self.name == "ours":
            client = AnalyzeAsyncClient(
                api_key=API_KEY, base_url=self.base_url, connection_limit=self.concurrency
            )
            self.call, self._close = client.tasks.retrieve, client.aclose
        else:
            limits = httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            )
            http = httpx.AsyncClient(limits=limits, timeout=60.0)
            official = AsyncTwelveLabs(api_key=API_KEY, base_url=self.base_url, httpx_client=http)
            self.call, self._close = official.analyze_async.tasks.retrieve, http.aclose
        return self

    def _ladder_step(self, step: int) -> tuple[Call, Callable[[], Awaitable[object]]]:
        """raw-orjson turned into our client one difference at a time (``--ladder``)."""
        client = AnalyzeAsyncClient(
            api_key=API_KEY, base_url=self.base_url, connection_limit=self.concurrency
        )
        pipeline = client._pipeline
        headers = pipeline.headers  # the exact headers ours sends (key, User-Agent, Accept)
        if step >= 5:
            transport = pipeline.transport
            prefix = f"{self.base_url}/analyze/tasks/"

            async def via_client(task_id: str) -> object:
                if step == 5:
                    path = task_path(task_id)
                    request = Request(
                        Route.RETRIEVE, "GET", path, URL(prefix + task_id, encoded=True), headers
                    )
                    raw = await transport.send(request)
                else:
                    raw = await pipeline.request(Route.RETRIEVE, task_path(task_id))
                return orjson.loads(raw.body)

            return via_client, client.aclose
        if step >= 3:
            connector = aiohttp.TCPConnector(
                limit=self.concurrency, limit_per_host=self.concurrency, ttl_dns_cache=300
            )
            session = aiohttp.ClientSession(
                connector=connector, cookie_jar=aiohttp.DummyCookieJar()
            )
        else:
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.concurrency))
        prefix = f"{self.base_url}/analyze/tasks/"

        async def raw_step(task_id: str) -> object:
            kwargs: dict = {"headers": headers}
            if step >= 2:
                kwargs["timeout"] = aiohttp.ClientTimeout(total=60.0, sock_connect=10.0)
            if step >= 4:
                kwargs.update(params=None, data=None, allow_redirects=False)
                kwargs["raise_for_status"] = False
                target: object = URL(prefix + task_id, encoded=True)
            else:
                target = prefix + task_id
            async with session.request("GET", target, **kwargs) as response:
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(response.status)
                return orjson.loads(body)

        return raw_step, session.close

    async def __aexit__(self, *exc: object) -> None:
        if self._close is not None:
            await self._close()


async def profile_ours(base_url: str, ids: list[str], concurrency: int, seconds: float) -> None:
    """cProfile of our client alone at one concurrency: where the time per request goes."""
    async with Cell("ours", base_url, concurrency) as cell:
        await run_cell(cell.call, ids, concurrency, 0.5, 0.5)
        profiler = cProfile.Profile()
        profiler.enable()
        rate, _, _ = await run_cell(cell.call, ids, concurrency, seconds, 0.0)
        profiler.disable()
    print(f"\ncProfile of ours at concurrency {concurrency} ({rate:,.0f} req/s under the profiler)")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def paired_ratio(
    rates: dict[tuple[str, int], list[float]], concurrency: int, base: str, *, inverse: bool = False
) -> float:
    """Median over rounds of ours / ``base`` measured in the same round (``base`` / ours with
    ``inverse``, for costs)."""
    pairs = zip(rates["ours", concurrency], rates[base, concurrency], strict=True)
    return median([other / ours if inverse else ours / other for ours, other in pairs])


def print_ladder(
    rates: dict[tuple[str, int], list[float]],
    concurrencies: tuple[int, ...],
    args: argparse.Namespace,
) -> None:
    print(f"\nladder, median of {args.rounds} rounds x {args.seconds:g} s; machine: {machine()}")
    headers = ["step", *(f"c={c} req/s (vs raw-orjson)" for c in concurrencies)]
    rows = []
    for name in LADDER:
        cells = []
        for concurrency in concurrencies:
            rate = median(rates[name, concurrency])
            pairs = zip(rates[name, concurrency], rates["raw-orjson", concurrency], strict=True)
            ratio = median([a / b for a, b in pairs])
            cells.append(f"{rate:,.0f} ({ratio:.2f}x)")
        rows.append([name, *cells])
    print_table(headers, rows)


async def main(args: argparse.Namespace) -> None:
    concurrencies = tuple(args.concurrency or CONCURRENCIES)
    clients = LADDER if args.ladder else CLIENTS
    rates: dict[tuple[str, int], list[float]] = {}
    errors: dict[tuple[str, int], int] = {}
    cpus: dict[tuple[str, int], list[float]] = {}
    async with emulator(speed=1.0) as base_url:
        ids = await create_tasks(base_url, args.tasks, args.status)
        if args.profile:
            await profile_ours(base_url, ids, args.profile, args.seconds)
            return
        for concurrency in concurrencies:
            # Every client of this concurrency stays open (own pool, warmed up once) while the
            # rounds alternate between them in short cells: this shared VM's noise comes in
            # bursts of seconds, so neighbouring cells see the same conditions and the ratio
            # of two clients within one round is far steadier than their absolute rates.
            async with contextlib.AsyncExitStack() as stack:
                cells = {
                    name: await stack.enter_async_context(Cell(name, base_url, concurrency))
                    for name in clients
                }
                for cell in cells.values():
                    await run_cell(cell.call, ids, concurrency, args.warmup, 0.0)
                for round_number in range(args.rounds):
                    # Rotate the order so no client always runs first or last.
                    shift = round_number % len(clients)
                    for name in clients[shift:] + clients[:shift]:
                        if name == "official" and round_number >= args.official_rounds:
                            continue  # ~100x slower and its in-flight calls take long to drain
                        rate, failed, cpu = await run_cell(
                            cells[name].call, ids, concurrency, args.seconds, 0.0
                        )
                        rates.setdefault((name, concurrency), []).append(rate)
                        cpus.setdefault((name, concurrency), []).append(cpu)
                        errors[name, concurrency] = errors.get((name, concurrency), 0) + failed
                        print(
                            f"round {round_number + 1} c={concurrency:<5} {name:<34}"
                            f" {rate:>9,.0f} req/s {cpu:>7.1f} CPU us/req  errors {failed}",
                            flush=True,
                        )

    if args.ladder:
        print_ladder(rates, concurrencies, args)
        return
    print(f"\nretrieve throughput, median of {args.rounds} rounds x {args.seconds:g} s per cell")
    print(f"machine: {machine()}")
    print(f"{args.tasks} tasks, status {args.status!r}; emulator in its own process\n")
    print("ours / raw-*: median over rounds of the ratio within a round; ours / official: of")
    print(f"the medians (official runs {min(args.rounds, args.official_rounds)} rounds)\n")
    measured = [name for name in CLIENTS if (name, concurrencies[0]) in rates]
    headers = [
        "concurrency",
        *(f"{name} req/s" for name in measured),
        "ours / raw-json",
        "ours / raw-orjson",
        *(["ours / official"] if "official" in measured else []),
        "errors",
    ]
    rows = []
    for concurrency in concurrencies:
        med = {name: median(rates[name, concurrency]) for name in measured}
        rows.append(
            [
                concurrency,
                *(f"{med[name]:,.0f}" for name in measured),
                f"{paired_ratio(rates, concurrency, 'raw-json'):.2f}x",
                f"{paired_ratio(rates, concurrency, 'raw-orjson'):.2f}x",
                *([f"{med['ours'] / med['official']:.2f}x"] if "official" in measured else []),
                sum(errors[name, concurrency] for name in measured),
            ]
        )
    print_table(headers, rows)
    print(
        "\nclient CPU per request (this process; median over rounds), and the ratio raw / ours"
        " of it:\nwhat the throughput ratio tends to where the client's CPU is the bottleneck\n"
    )
    cpu_headers = [
        "concurrency",
        *(f"{name} CPU us/req" for name in ("raw-json", "raw-orjson", "ours")),
        "raw-json / ours",
        "raw-orjson / ours",
    ]
    cpu_rows = []
    for concurrency in concurrencies:
        cpu = {name: median(cpus[name, concurrency]) for name in ("raw-json", "raw-orjson", "ours")}
        cpu_rows.append(
            [
                concurrency,
                *(f"{cpu[name]:.1f}" for name in ("raw-json", "raw-orjson", "ours")),
                f"{paired_ratio(cpus, concurrency, 'raw-json', inverse=True):.2f}x",
                f"{paired_ratio(cpus, concurrency, 'raw-orjson', inverse=True):.2f}x",
            ]
        )
    print_table(cpu_headers, cpu_rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=1.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up seconds per client")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--official-rounds", type=int, default=3)
    parser.add_argument("--status", choices=sorted(_TASK_SECONDS), default="in-progress")
    parser.add_argument(
        "--concurrency", type=int, action="append", help="repeatable; default 10, 100, 1000"
    )
    parser.add_argument(
        "--ladder", action="store_true", help="only the raw-to-ours ladder (where the gap is)"
    )
    parser.add_argument(
        "--profile", type=int, metavar="N", help="only cProfile our client at concurrency N"
    )
    asyncio.run(main(parser.parse_args()))
