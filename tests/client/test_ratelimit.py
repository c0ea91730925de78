"""Rate limits: a 429 holds its route for the wait asked, the route's senders go out paced,
and the pace climbs back on its own once the 429s stop.

Most tests run on a virtual-time loop (``tests/_virtual_time.py``): sleeps return at once
with the clock moved on, so pauses of minutes and episodes of seconds take milliseconds and
every figure is deterministic.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
from collections.abc import Mapping
from email.utils import formatdate

import pytest
from multidict import CIMultiDict

from asyncanalyze import AnalyzeRequest, VideoContext_Url
from asyncanalyze._pacing import Pace
from asyncanalyze._protocol import exhausted_quota, parse_rate_limit_headers
from asyncanalyze._ratelimit import RateGate
from asyncanalyze.emulator import Emulator, FaultConfig
from asyncanalyze.testing import emulator_client

from .._virtual_time import run_virtual


def report_success(gate: RateGate, route: str, headers: Mapping[str, str]) -> None:
    """What the client does with a 2xx's rate-limit headers."""
    exhausted = exhausted_quota(headers)
    if exhausted is not None:
        gate.exhausted(route, exhausted)


# The server's clock in the model servers below: an epoch instant plus the loop's time.
EPOCH = 1_767_225_600.0


def server_headers(now: float, **fields: float | int) -> CIMultiDict[str]:
    """Rate-limit headers as a server at loop time ``now`` writes them (Reset in epoch s)."""
    headers = CIMultiDict({"Date": formatdate(EPOCH + now, usegmt=True)})
    for name, value in fields.items():
        if name == "reset_in":
            headers["X-Ratelimit-Reset"] = str(math.ceil(EPOCH + now + value))
        elif name == "retry_after":
            headers["Retry-After"] = str(value)
        else:
            headers[f"X-Ratelimit-{name.capitalize()}"] = str(value)
    return headers


def new_gate() -> RateGate:
    loop = asyncio.get_running_loop()
    return RateGate(loop.time, asyncio.sleep, max_pause=60.0)


async def grant_times(gate: RateGate, route: str, senders: int) -> list[float]:
    """When each of ``senders`` concurrent senders on ``route`` is let through."""
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def one() -> float:
        if not gate.admit(route):
            await gate.wait_turn(route)
        return loop.time() - started

    return list(await asyncio.gather(*(one() for _ in range(senders))))


# -- pausing and pacing ------------------------------------------------------------------------


def test_an_unthrottled_route_lets_every_sender_through() -> None:
    """Before any 429 a route never holds anyone back."""

    async def main() -> list[float]:
        return await grant_times(new_gate(), "create", 50)

    assert run_virtual(main) == [0.0] * 50


def test_a_429_holds_its_route_for_retry_after_and_no_other() -> None:
    """After a 429 with Retry-After 2 the route's first sender goes at 2 s; another route's
    senders go at once."""

    async def main() -> tuple[list[float], list[float]]:
        gate = new_gate()
        gate.rate_limited("create", 2.0, parse_rate_limit_headers({}), sent_at=0.0)
        return await asyncio.gather(grant_times(gate, "create", 1), grant_times(gate, "poll", 5))

    held, free = run_virtual(main)
    assert held == [2.0]
    assert free == [0.0] * 5


def test_paced_senders_resume_at_the_stated_rate_then_probe() -> None:
    """A 429 stating Limit 60 with the window resetting in 60 s lets the queued senders go
    one at a time from the end of Retry-After, a second apart at first (no burst after the
    pause); after that the pace climbs."""

    async def main() -> list[float]:
        gate = new_gate()
        headers = server_headers(0.0, limit=60, remaining=0, reset_in=60)
        gate.rate_limited("create", 1.0, parse_rate_limit_headers(headers), sent_at=0.0)
        return await grant_times(gate, "create", 6)

    times = run_virtual(main)
    assert times[:2] == pytest.approx([1.0, 2.0])
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(later <= earlier for earlier, later in itertools.pairwise(gaps)), gaps
    assert gaps[-1] < gaps[0] / 3, gaps


def test_limit_is_not_read_as_a_per_minute_quota() -> None:
    """Limit 100 with a window ending in one second allows ~100 a second, not 100 a minute:
    20 queued senders are through well within two seconds of the pause."""

    async def main() -> list[float]:
        gate = new_gate()
        headers = server_headers(0.0, limit=100, remaining=0, reset_in=1)
        gate.rate_limited("poll", 1.0, parse_rate_limit_headers(headers), sent_at=0.0)
        return await grant_times(gate, "poll", 20)

    assert max(run_virtual(main)) < 1.5


def test_the_route_is_never_held_longer_than_the_server_asked() -> None:
    """Retry-After 2 with a window resetting in an hour holds the route 2 s, not an hour; a
    Reset alone (no Retry-After) holds it until the reset; an absurd wait is capped."""

    async def main() -> list[list[float]]:
        gate = new_gate()
        long_reset = server_headers(0.0, limit=100, remaining=0, reset_in=3600)
        gate.rate_limited("a", 2.0, parse_rate_limit_headers(long_reset), sent_at=0.0)
        gate.rate_limited(
            "b", 5.0, parse_rate_limit_headers({}), sent_at=0.0
        )  # what a Reset 5 s ahead comes to
        gate.rate_limited("c", 86_000.0, parse_rate_limit_headers({}), sent_at=0.0)
        return list(
            await asyncio.gather(*(grant_times(gate, route, 1) for route in ("a", "b", "c")))
        )

    assert run_virtual(main) == [[2.0], [5.0], [60.0]]


def test_a_burst_sent_before_the_cut_does_not_cut_again() -> None:
    """Many 429s for requests sent before the first one came back cut the rate once."""
    pace = Pace()
    pace.throttled(0.0, sent_at=-0.1, pause=1.0, stated=None)
    once = pace.rate(1.0)
    for _ in range(100):
        pace.throttled(0.01, sent_at=-0.1, pause=1.0, stated=None)
    assert pace.rate(1.0) == once


def test_429s_at_the_new_pace_keep_cutting() -> None:
    """A 429 for a request sent at the cut rate halves it again."""
    pace = Pace()
    pace.throttled(0.0, sent_at=0.0, pause=1.0, stated=None)
    first = pace.rate(1.0)
    pace.throttled(1.0, sent_at=1.0, pause=0.0, stated=None)
    assert pace.rate(1.0) == pytest.approx(first / 2, rel=0.01)


def test_the_rate_climbs_back_by_time_alone() -> None:
    """With no header ever, a cut route is back at its old rate one second after its pause,
    far above it two seconds later, and released (no pacing at all) soon after."""
    pace = Pace()
    pace.throttled(0.0, sent_at=0.0, pause=1.0, stated=None)
    peak = pace.rate(2.0)
    assert pace.rate(1.0) == pytest.approx(peak / 2)
    assert pace.rate(4.0) > 100 * peak
    assert not pace.released(4.0)
    assert pace.released(5.0)


def test_remaining_zero_on_a_success_paces_before_the_wall() -> None:
    """A success reporting Remaining 0 of Limit 30 with the reset 60 s away spaces the next
    requests at the stated one per two seconds until the reset, without waiting for a 429;
    after the reset the pace climbs again."""

    async def main() -> tuple[list[float], list[float]]:
        gate = new_gate()
        report_success(gate, "create", server_headers(0.0, limit=30, remaining=0, reset_in=60))
        held = await grant_times(gate, "create", 5)
        await asyncio.sleep(60)
        return held, await grant_times(gate, "create", 5)

    held, after_reset = run_virtual(main)
    assert held == pytest.approx([0.0, 2.0, 4.0, 6.0, 8.0])
    assert after_reset[-1] < 4.0


def test_remaining_zero_without_a_limit_pauses_until_the_reset_at_most() -> None:
    """Remaining 0 with no Limit holds the route until Reset, capped at max_pause; with room
    left, or with no Reset, nothing changes."""

    async def main() -> list[list[float]]:
        gate = new_gate()
        report_success(gate, "a", server_headers(0.0, remaining=0, reset_in=10))
        report_success(gate, "b", server_headers(0.0, remaining=0, reset_in=7200))
        report_success(gate, "c", server_headers(0.0, limit=30, remaining=5, reset_in=60))
        report_success(gate, "d", CIMultiDict({"X-Ratelimit-Remaining": "0"}))
        routes = ("a", "b", "c", "d")
        return list(await asyncio.gather(*(grant_times(gate, route, 1) for route in routes)))

    assert run_virtual(main) == [[10.0], [60.0], [0.0], [0.0]]


def test_a_user_quota_spaces_sends_from_the_first_and_never_lifts() -> None:
    """limit(route, 120) lets one through at once and the rest 0.5 s apart, and stays in
    force however long the route runs without a 429."""

    async def main() -> tuple[list[float], list[float]]:
        gate = new_gate()
        gate.limit("create", 120)
        first = await grant_times(gate, "create", 3)
        await asyncio.sleep(3600)
        return first, await grant_times(gate, "create", 3)

    first, later = run_virtual(main)
    assert first == pytest.approx([0.0, 0.5, 1.0])
    assert later == pytest.approx([0.0, 0.5, 1.0])


# -- recovery after a 429 episode, on virtual time ---------------------------------------------

SENDERS = 20
# The unthrottled pace of a busy client: 20 senders at ~6,000 requests a second.
LATENCY = SENDERS / 6000
EPISODE_START, EPISODE_LENGTH, WINDOW = 3.0, 5.0, 1.0


def episode(
    throttled: Mapping[str, float | int] | None, seconds_after: float
) -> tuple[list[float], float]:
    """20 senders in a closed loop through one gate against a server that answers 5 % of
    requests with 429 + Retry-After 1 (plus ``throttled``'s rate-limit headers) for 5 s and
    never sends a rate-limit header on a success. Returns the success times and the last 429."""

    async def main() -> tuple[list[float], float]:
        loop = asyncio.get_running_loop()
        gate = new_gate()
        rng = random.Random(10)
        successes: list[float] = []
        last_429 = 0.0
        end = EPISODE_START + EPISODE_LENGTH + seconds_after

        async def sender() -> None:
            nonlocal last_429
            while loop.time() < end:
                if not gate.admit("poll"):
                    await gate.wait_turn("poll")
                sent_at = loop.time()
                await asyncio.sleep(LATENCY)
                now = loop.time()
                in_episode = EPISODE_START <= now < EPISODE_START + EPISODE_LENGTH
                if in_episode and rng.random() < 0.05:
                    last_429 = now
                    headers = server_headers(now, retry_after=1, **(throttled or {}))
                    gate.rate_limited(
                        "poll", 1.0, parse_rate_limit_headers(headers), sent_at=sent_at
                    )
                else:
                    successes.append(now)

        await asyncio.gather(*(sender() for _ in range(SENDERS)))
        await gate.aclose()
        return successes, last_429

    return run_virtual(main)


def rate_in(times: list[float], start: float) -> float:
    return sum(1 for t in times if start <= t < start + WINDOW) / WINDOW


@pytest.mark.parametrize(
    "throttled",
    [
        None,
        {"limit": 100, "remaining": 0, "used": 100, "reset_in": 1},
        {"limit": 100, "remaining": 0, "used": 100, "reset_in": 60},
    ],
    ids=["retry-after-only", "headers-reset-1s", "headers-reset-60s"],
)
def test_full_speed_is_back_within_ten_seconds_of_the_last_429(
    throttled: Mapping[str, float | int] | None,
) -> None:
    """A 429 episode: after 5 s of 5 % 429s, throughput in the second starting 10 s
    after the last 429 is >= 90 % of the pre-episode level, with no header on any success
    (it was 0.1 % before: the pace never relaxed)."""
    successes, last_429 = episode(throttled, seconds_after=12.0)
    before = sum(rate_in(successes, start) for start in (0.0, 1.0, 2.0)) / 3
    assert last_429 > EPISODE_START
    assert rate_in(successes, last_429 + 10.0) >= 0.9 * before, (
        before,
        [rate_in(successes, last_429 + k) for k in range(11)],
    )


# -- against the emulator ---------------------------------------------------------------------


async def test_the_route_is_unpaced_again_after_an_episode_end_to_end() -> None:
    """Against the emulator, on its clock: 20 retrieve loops meet 5 s of injected 429s; within
    10 emulated seconds of the last one the route is released again (no lane left at all)."""
    async with Emulator(speed=5) as emu, emulator_client(emu) as client:
        created = await client.tasks.create(
            video=VideoContext_Url(url="https://v.example/r.mp4"), prompt="p"
        )
        emu.set_faults(retrieve=FaultConfig(too_many_requests=0.05, retry_after=1))
        stop = asyncio.Event()
        seen_lane = False

        async def loop_retrieves() -> None:
            nonlocal seen_lane
            while not stop.is_set():
                await client.tasks.retrieve(created.task_id)
                seen_lane = seen_lane or bool(client._pipeline.gate._lanes)

        workers = [asyncio.create_task(loop_retrieves()) for _ in range(SENDERS)]
        await client.sleep(EPISODE_LENGTH)
        emu.set_faults()
        faults_off = emu.clock.now()
        released_at = None
        while emu.clock.now() < faults_off + 15:
            await client.sleep(0.25)
            if not client._pipeline.gate._lanes:
                released_at = emu.clock.now()
                break
        stop.set()
        await asyncio.gather(*workers)
        injected = emu.stats()["faults"].get("too_many_requests", 0)
    assert injected > 0 and seen_lane
    assert released_at is not None and released_at - faults_off <= 10.0


async def test_batch_under_a_tight_create_limit_loses_nothing() -> None:
    """200 creates at once against a 60/min limit (burst 60): every request succeeds, none is
    created twice, and after the first wave's 140 refusals the paced retries meet few more
    (a stampede would meet one per sender per token)."""
    count = 200
    requests = [
        AnalyzeRequest(
            video=VideoContext_Url(url=f"https://v.example/{i}.mp4?emulator_task_seconds=30"),
            prompt="p",
        )
        for i in range(count)
    ]
    async with Emulator(speed=100, create_rpm=60) as emu, emulator_client(emu) as client:
        outcomes = [o async for o in client.tasks.analyze_many(requests, concurrency=count)]
        stats = emu.stats()
    assert [o for o in outcomes if not o.ok] == []
    assert stats["tasks"]["total"] == count
    first_wave = count - 60
    assert stats["rate_limited"] <= first_wave + 30, stats["rate_limited"]


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
