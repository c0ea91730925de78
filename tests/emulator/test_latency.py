"""Emulated latency looks like a network: drawn per request around a median, with a tail,
seeded, capped, and applied to every request of the endpoint (issue 11 item 4)."""

from __future__ import annotations

import math
import statistics
import time

import pytest

from asyncanalyze import AnalyzeAsyncClient
from asyncanalyze.emulator import Emulator, FaultConfig
from asyncanalyze.emulator.__main__ import parse_fault
from asyncanalyze.emulator._config import MAX_LATENCY_FACTOR
from asyncanalyze.emulator._faults import FaultInjector


def draws(config: FaultConfig, count: int = 4000, seed: int = 0) -> list[float]:
    injector = FaultInjector({"*": config}, seed)
    return [injector.latency(config) for _ in range(count)]


def test_without_jitter_every_request_waits_the_same() -> None:
    assert set(draws(FaultConfig(latency=0.03), 50)) == {0.03}


def test_jitter_spreads_latency_log_normally_around_the_median() -> None:
    values = draws(FaultConfig(latency=0.1, latency_jitter=0.5))
    assert statistics.median(values) == pytest.approx(0.1, rel=0.05)
    p95 = sorted(values)[int(0.95 * len(values))]
    assert p95 == pytest.approx(0.1 * math.exp(1.645 * 0.5), rel=0.1)  # ~2.3x the median
    assert max(values) <= 0.1 * MAX_LATENCY_FACTOR
    assert len(set(values)) > 3000  # drawn afresh per request


def test_latency_draws_are_seeded_and_apart_from_the_fault_draws() -> None:
    config = FaultConfig(latency=0.1, latency_jitter=1.0)
    assert draws(config, 100, seed=7) == draws(config, 100, seed=7)
    assert draws(config, 100, seed=7) != draws(config, 100, seed=8)
    with_latency = FaultConfig(error_503=0.5, latency=0.1, latency_jitter=1.0)
    plain, jittered = FaultInjector({}, 3), FaultInjector({}, 3)
    picks_plain = [plain.pick(FaultConfig(error_503=0.5)) for _ in range(100)]
    picks_jittered = []
    for _ in range(100):
        jittered.latency(with_latency)
        picks_jittered.append(jittered.pick(with_latency))
    assert picks_plain == picks_jittered


@pytest.mark.parametrize("bad", [-0.1, math.nan])
def test_bad_jitter_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="latency_jitter"):
        FaultConfig(latency=0.1, latency_jitter=bad)


def test_the_command_line_takes_jitter() -> None:
    endpoint, config = parse_fault("*:latency=0.03,latency_jitter=0.5")
    assert endpoint == "*" and config == FaultConfig(latency=0.03, latency_jitter=0.5)


async def test_each_request_gets_its_own_delay() -> None:
    async with (
        Emulator(faults={"list": FaultConfig(latency=0.02, latency_jitter=0.3)}) as emu,
        AnalyzeAsyncClient(api_key="k", base_url=emu.base_url) as client,
    ):
        started = time.perf_counter()
        for _ in range(5):
            await client.tasks.list()
        took = time.perf_counter() - started
        assert emu.stats()["faults"]["latency"] == 5
    assert took >= 5 * 0.02 * math.exp(-3 * 0.3)
