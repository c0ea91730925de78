"""Shared by the benchmarks: the emulator in its own process, its clock and stats, the machine.

Every benchmark talks to ``python -m asyncanalyze.emulator`` started as a child process bound
to 127.0.0.1, so server work never shares the client's event loop (it does share the CPU
cores: see ``machine()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import signal
import statistics
import sys
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import aiohttp

API_KEY = "bench"
# Long enough for a cold interpreter to import aiohttp and bind; a hung start fails loudly.
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


async def start_server(
    *, speed: float = 10.0, extra_args: Sequence[str] = ()
) -> tuple[asyncio.subprocess.Process, str]:
    """Start the emulator on a free loopback port; returns the process and its base URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncanalyze.emulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--speed",
        str(speed),
        *extra_args,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), _START_TIMEOUT)
    except TimeoutError:
        line = b""
    base_url = line.decode().strip()
    if not base_url.startswith("http"):
        process.kill()
        await process.wait()
        raise SystemExit(f"emulator did not start: {base_url!r}")
    return process, base_url


async def stop_server(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def emulator(
    *,
    speed: float = 10.0,
    create_rpm: float | None = None,
    introspection: bool = True,
    extra_args: Sequence[str] = (),
) -> AsyncIterator[str]:
    """``async with emulator(speed=100) as base_url``: the server runs for the block."""
    args: list[str] = list(extra_args)
    if introspection:
        args.append("--introspection")
    if create_rpm is not None:
        args += ["--create-rpm", str(create_rpm)]
    process, base_url = await start_server(speed=speed, extra_args=args)
    try:
        yield base_url
    finally:
        await stop_server(process)


def root_of(base_url: str) -> str:
    """``http://127.0.0.1:PORT/v1.3`` -> ``http://127.0.0.1:PORT`` (where /_emulator lives)."""
    return base_url.rsplit("/v1.3", 1)[0]


async def emulator_stats(session: aiohttp.ClientSession, base_url: str) -> dict:
    async with session.get(f"{root_of(base_url)}/_emulator/stats") as response:
        response.raise_for_status()
        return await response.json()


async def reset_stats(session: aiohttp.ClientSession, base_url: str) -> None:
    async with session.post(f"{root_of(base_url)}/_emulator/reset-stats") as response:
        response.raise_for_status()


def parse_rfc3339(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class EmulatorClock:
    """The emulator's clock, read locally: its time = a sampled instant + elapsed x speed.

    The emulator runs a ``ScaledClock`` (wall start + monotonic elapsed x speed) in another
    process, so the client cannot share the object as the CLI does in-process. We sample
    ``/_emulator/stats`` ``clock.now`` a few times and keep the sample with the shortest round
    trip: its error is at most half that round trip times the speed, plus the 1 ms rounding
    of the RFC 3339 timestamp (about 0.1-0.2 emulated seconds at 100x, measured and printed).
    """

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self._anchor_emulated = 0.0
        self._anchor_local = 0.0
        self.uncertainty = 0.0

    async def align(self, session: aiohttp.ClientSession, base_url: str, samples: int = 7) -> None:
        best: tuple[float, float, float] | None = None
        for _ in range(samples):
            before = time.monotonic()
            stats = await emulator_stats(session, base_url)
            after = time.monotonic()
            rtt = after - before
            if best is None or rtt < best[0]:
                best = (rtt, (before + after) / 2, parse_rfc3339(stats["clock"]["now"]))
        assert best is not None
        rtt, local, emulated = best
        self._anchor_local, self._anchor_emulated = local, emulated
        self.uncertainty = (rtt / 2) * self.speed + 0.001

    def now(self) -> float:
        return self._anchor_emulated + (time.monotonic() - self._anchor_local) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation): a value that was actually observed."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine() -> str:
    return (
        f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu_model()},"
        f" Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/status", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown table, so the output can be pasted into RESULTS.md as is."""
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
