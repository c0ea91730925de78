"""Poll gaps come from a tenacity wait strategy: any tenacity wait spaces the polls, the default
keeps its 2 s / x1.3 / 20 s / +-20 % schedule, and jitter draws from the client's own rng."""

from __future__ import annotations

import math
import random

import pytest
import tenacity
from aioresponses import aioresponses
from tenacity import RetryCallState
from tenacity.wait import wait_base

from asyncanalyze import AnalyzeAsyncClient, InvalidRequestError, PollPolicy

from .._helpers import task_json
from ..conftest import BASE_URL, RecordingSleep

TASK_URL = f"{BASE_URL}/analyze/tasks/t1"


async def gaps_of(policy: PollPolicy, polls: int, rng: random.Random | None = None) -> list[float]:
    """The gaps ``await_result`` sleeps between ``polls`` polls of a task that then ends."""
    fake = RecordingSleep()
    with aioresponses() as mocked:
        for _ in range(polls - 1):
            mocked.get(TASK_URL, payload=task_json("processing", task_id="t1"))
        mocked.get(TASK_URL, payload=task_json("ready", task_id="t1"))
        async with AnalyzeAsyncClient(
            api_key="k", base_url=BASE_URL, sleep=fake, clock=fake.clock, poll_policy=policy
        ) as client:
            if rng is not None:
                client.rng = rng
            await client.tasks.await_result("t1", timeout=1e6)
    return fake.waits


async def test_fixed_wait_spaces_polls_evenly() -> None:
    assert await gaps_of(PollPolicy(wait=tenacity.wait_fixed(5)), 4) == [5.0, 5.0, 5.0]


async def test_chained_and_summed_waits_follow_tenacity() -> None:
    """attempt_number is the number of polls so far, as tenacity counts attempts."""
    chain = tenacity.wait_chain(*[tenacity.wait_fixed(1)] * 2, tenacity.wait_fixed(10))
    assert await gaps_of(PollPolicy(wait=chain), 5) == [1.0, 1.0, 10.0, 10.0]
    growing = tenacity.wait_incrementing(start=3, increment=2) + tenacity.wait_fixed(1)
    assert await gaps_of(PollPolicy(wait=growing), 4) == [4.0, 6.0, 8.0]


async def test_default_schedule_is_unchanged_and_repeatable() -> None:
    """2 s first, x1.3, capped at 20 s, each gap times uniform(0.8, 1.2) from the client's rng:
    the same seed gives the same gaps, as before tenacity drew them."""
    first = await gaps_of(PollPolicy(), 13, random.Random(7))
    again = await gaps_of(PollPolicy(), 13, random.Random(7))
    assert first == again
    reference = random.Random(7)
    expected = [min(20.0, 2.0 * 1.3**n) * reference.uniform(0.8, 1.2) for n in range(12)]
    assert first == pytest.approx(expected)
    assert max(first) <= 20.0 * 1.2


async def test_numbers_still_build_the_schedule() -> None:
    policy = PollPolicy(initial_delay=1, multiplier=3, max_delay=10, jitter=0)
    assert await gaps_of(policy, 5) == [1.0, 3.0, 9.0, 10.0]


def test_default_is_expressed_as_tenacity_waits() -> None:
    """A user reads (and can reuse) the default as a tenacity strategy."""
    strategy = PollPolicy(jitter=0).strategy
    assert isinstance(strategy, wait_base)
    state = RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = 3
    assert strategy(state) == pytest.approx(2.0 * 1.3**2)
    state.attempt_number = 5_000
    assert strategy(state) == 20.0


class _NeedsAFailure(wait_base):
    def __call__(self, retry_state: RetryCallState) -> float:
        if retry_state.outcome is None:
            raise RuntimeError("called before outcome was set")
        return 1.0 if retry_state.outcome.failed else 0.0


@pytest.mark.parametrize(
    "bad",
    [
        object(),
        5,
        lambda state: 5.0,  # a plain function: tenacity accepts it, PollPolicy wants a wait_*
        tenacity.stop_after_attempt(3),
        _NeedsAFailure(),  # like tenacity.wait_exception: polls have no failed attempt
    ],
)
def test_a_non_wait_is_refused(bad: object) -> None:
    with pytest.raises(InvalidRequestError, match="wait"):
        PollPolicy(wait=bad)  # type: ignore[arg-type]


def test_wait_and_numbers_together_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="either wait"):
        PollPolicy(initial_delay=5, wait=tenacity.wait_fixed(5))


class _GapsAfterFirst(wait_base):
    def __init__(self, later: float) -> None:
        self.later = later

    def __call__(self, retry_state: RetryCallState) -> float:
        return 1.0 if retry_state.attempt_number == 1 else self.later


@pytest.mark.parametrize(
    ("later", "expected"), [(math.nan, [1.0, 20.0]), (-3.0, [1.0]), (math.inf, [1.0, 86_400.0])]
)
async def test_a_strategy_gone_wrong_still_gives_a_usable_gap(
    later: float, expected: list[float]
) -> None:
    """NaN would stop the scheduler and infinity overflow the loop's timers: both are bounded
    (a negative gap means "poll now", so no sleep)."""
    assert await gaps_of(PollPolicy(wait=_GapsAfterFirst(later)), 3) == expected


def test_equal_policies_compare_equal() -> None:
    assert PollPolicy() == PollPolicy()
    fixed = tenacity.wait_fixed(5)
    assert PollPolicy(wait=fixed) == PollPolicy(wait=fixed)
