"""Rate-limit coordination: one 429 pauses a route, then its senders go out paced."""

from __future__ import annotations

from multidict import CIMultiDict

from asyncanalyze import AnalyzeRequest, VideoContext_Url
from asyncanalyze._ratelimit import RateGate
from asyncanalyze.emulator import Emulator
from asyncanalyze.testing import emulator_client


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_unthrottled_route_waits_nothing() -> None:
    """Before any 429 a route costs nothing."""
    assert RateGate(Clock()).reserve("create") == 0.0


def test_429_pauses_then_paces_senders_at_the_announced_rate() -> None:
    """After a 429 each sender gets its own slot, Limit-per-minute apart, after Retry-After."""
    clock = Clock()
    gate = RateGate(clock)
    gate.rate_limited("create", 2.0, CIMultiDict({"X-Ratelimit-Limit": "120"}))
    waits = [gate.reserve("create") for _ in range(4)]
    assert waits == [2.0, 2.5, 3.0, 3.5]
    assert gate.reserve("poll") == 0.0  # other routes are not held back


def test_repeated_429s_widen_the_spacing() -> None:
    """A 429 despite pacing means the pace was too fast: the spacing grows."""
    clock = Clock()
    gate = RateGate(clock)
    gate.rate_limited("create", None, CIMultiDict({"X-Ratelimit-Limit": "60"}))
    clock.now += 1
    gate.rate_limited("create", None, CIMultiDict({"X-Ratelimit-Limit": "60"}), sent_at=clock.now)
    first, second = gate.reserve("create"), gate.reserve("create")
    assert second - first == 1.5


def test_burst_sent_before_pacing_does_not_compound() -> None:
    """429s for requests sent before the pace was set leave the spacing at the announced rate."""
    clock = Clock()
    gate = RateGate(clock)
    limit = CIMultiDict({"X-Ratelimit-Limit": "60"})
    for _ in range(100):
        gate.rate_limited("create", None, limit, sent_at=clock.now - 0.5)
    first, second = gate.reserve("create"), gate.reserve("create")
    assert second - first == 1.0


def test_remaining_zero_slows_down_before_the_wall() -> None:
    """A success that reports Remaining 0 starts pacing without waiting for a 429."""
    gate = RateGate(Clock())
    gate.succeeded("create", CIMultiDict({"X-Ratelimit-Limit": "30", "X-Ratelimit-Remaining": "0"}))
    assert [gate.reserve("create") for _ in range(2)] == [0.0, 2.0]


def test_pacing_fades_once_there_is_room() -> None:
    """Responses with plenty remaining relax the pace until the lane is dropped."""
    clock = Clock()
    gate = RateGate(clock)
    gate.rate_limited("create", 1.0, CIMultiDict({"X-Ratelimit-Limit": "600"}))
    clock.now += 5
    roomy = CIMultiDict({"X-Ratelimit-Limit": "600", "X-Ratelimit-Remaining": "590"})
    for _ in range(60):
        gate.succeeded("create", roomy)
    assert gate.reserve("create") == 0.0 and not gate._lanes


async def test_batch_under_a_tight_create_limit_loses_nothing() -> None:
    """200 creates at once against a 60/min limit (burst 60): every request succeeds, none is
    created twice, and after the first wave's 140 refusals the paced retries meet almost no
    further 429 (a stampede would meet one per sender per token)."""
    count = 200
    requests = [
        AnalyzeRequest(
            video=VideoContext_Url(url=f"https://v.example/{i}.mp4?emulator_task_seconds=30"),
            prompt="p",
        )
        for i in range(count)
    ]
    async with Emulator(speed=400, create_rpm=60) as emu, emulator_client(emu) as client:
        outcomes = [o async for o in client.tasks.analyze_many(requests, concurrency=count)]
        stats = emu.stats()
    assert [o for o in outcomes if not o.ok] == []
    assert stats["tasks"]["total"] == count
    first_wave = count - 60
    assert stats["rate_limited"] <= first_wave + 10, stats["rate_limited"]


def test_user_limit_spaces_sends_and_never_fades() -> None:
    """limit(route, per_minute) spaces sends evenly from the first one, and roomy responses
    never relax it below that pace."""
    clock = Clock()
    gate = RateGate(clock)
    gate.limit("create", 120)
    roomy = CIMultiDict({"X-Ratelimit-Limit": "600", "X-Ratelimit-Remaining": "590"})
    for _ in range(60):
        gate.succeeded("create", roomy)
    assert [gate.reserve("create") for _ in range(3)] == [0.0, 0.5, 1.0]


async def test_creates_per_minute_keeps_a_batch_under_the_quota() -> None:
    """With creates_per_minute matching the plan, a batch meets no 429 at all."""
    requests = [
        AnalyzeRequest(
            video=VideoContext_Url(url=f"https://v.example/q{i}.mp4?emulator_task_seconds=30"),
            prompt="p",
        )
        for i in range(40)
    ]
    async with (
        Emulator(speed=400, create_rpm=10) as emu,
        emulator_client(emu, creates_per_minute=10) as client,
    ):
        outcomes = [o async for o in client.tasks.analyze_many(requests, concurrency=40)]
        stats = emu.stats()
    assert all(o.ok for o in outcomes)
    assert stats["rate_limited"] == 0
