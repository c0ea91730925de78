"""What sweeps cost and how late they see a task end, on virtual time against a fake service
with 150 ms per request (issue 11 items 1-3, issue 14 item 8).

Virtual time makes the latency exact and the runs deterministic: the client's own CPU time
costs no emulated seconds, unlike a sped-up emulator on a shared machine.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import weakref
from typing import Any

from asyncanalyze import AnalyzeTaskResponse, PollPolicy
from asyncanalyze.polling import PollScheduler

from .._fake_tasks_api import FakeTasksApi
from .._virtual_time import run_virtual

POLICY = PollPolicy()


def log_uniform(count: int, seed: int, low: float = 30.0, high: float = 1200.0) -> list[float]:
    rng = random.Random(seed)
    return [math.exp(rng.uniform(math.log(low), math.log(high))) for _ in range(count)]


async def wait_all(scheduler: PollScheduler, api: FakeTasksApi, ids: list[str]) -> list[float]:
    """Register a wait per task; the lag of each (seen at - finished at), once all ended."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    waits = []
    for task_id in ids:
        wait = scheduler.register(
            task_id, policy=POLICY, timeout=None, first_delay=POLICY.initial_delay
        )
        wait.future.add_done_callback(
            lambda _, tid=task_id: lags.append(loop.time() - api.finish_at[tid])
        )
        waits.append(wait)
    results = await asyncio.gather(*(w.future for w in waits))
    assert all(task.result is not None for task in results)
    return lags


def test_500_tasks_at_150_ms_are_seen_within_10_s_at_one_retrieve_each() -> None:
    """p95 lag <= 10 s, max <= 15 s; one retrieve per task although tasks finish (and the
    lists shift) while the sweeps walk them; under 2 requests per task besides the create."""

    async def main() -> tuple[list[float], FakeTasksApi]:
        api = FakeTasksApi()
        api.latency = 0.15
        ids = [f"t{index}" for index in range(500)]
        for task_id, seconds in zip(ids, log_uniform(500, seed=11), strict=True):
            api.add(task_id)
            api.finish_at[task_id] = seconds
        scheduler = api.scheduler()
        lags = await wait_all(scheduler, api, ids)
        await scheduler.aclose()
        return lags, api

    lags, api = run_virtual(main)
    lags.sort()
    assert lags[int(0.95 * len(lags))] <= 10.0
    assert lags[-1] <= 15.0
    assert len(api.retrieves) / 500 <= 1.05
    # Lists cost ~ mean duration / (50 x bulk_interval) per task: ~1 page per task here.
    assert (len(api.retrieves) + len(api.lists)) / 500 <= 2.1


def test_sweeps_cut_requests_per_task() -> None:
    """120 waits share sweeps: several times fewer requests than one poller per task."""

    def requests_per_task(bulk_threshold: int) -> float:
        async def main() -> float:
            api = FakeTasksApi()
            ids = [f"t{index}" for index in range(120)]
            for task_id, seconds in zip(ids, log_uniform(120, seed=3), strict=True):
                api.add(task_id)
                api.finish_at[task_id] = seconds
            scheduler = api.scheduler(bulk_threshold=bulk_threshold)
            await wait_all(scheduler, api, ids)
            await scheduler.aclose()
            return (len(api.retrieves) + len(api.lists)) / len(ids)

        return run_virtual(main)

    swept, polled = requests_per_task(8), requests_per_task(10**9)
    assert swept <= 3.0
    assert polled > 3 * swept, (swept, polled)


def test_a_few_waits_among_thousands_of_other_tasks_are_polled_not_swept() -> None:
    """8 waits while the account has 5,000 newer tasks in progress cost about what polling
    each costs, not a walk through 100 pages every sweep (issue 14 item 8)."""

    def requests(bulk_threshold: int) -> int:
        async def main() -> int:
            api = FakeTasksApi()
            ids = [f"mine{index}" for index in range(8)]
            for task_id in ids:
                api.add(task_id)
                api.finish_at[task_id] = 600.0
            for index in range(5000):
                api.add(f"other{index}")
            scheduler = api.scheduler(bulk_threshold=bulk_threshold)
            await wait_all(scheduler, api, ids)
            await scheduler.aclose()
            return len(api.retrieves) + len(api.lists)

        return run_virtual(main)

    assert requests(8) <= 1.3 * requests(10**9)


def test_a_long_lived_wait_stops_paying_for_sweeps() -> None:
    """After a batch drains, the one wait left is polled on its backoff: no more sweeps."""

    async def main() -> tuple[int, int]:
        api = FakeTasksApi()
        ids = [f"t{index}" for index in range(20)]
        for index, task_id in enumerate(ids):
            api.add(task_id)
            api.finish_at[task_id] = 60.0 if index else 3600.0
        scheduler = api.scheduler()
        waits = [scheduler.register(tid, policy=POLICY, timeout=None) for tid in ids]
        await asyncio.gather(*(w.future for w in waits[1:]))
        await asyncio.sleep(120)  # the sweep mode notices the batch is gone
        lists_before = len(api.lists)
        await asyncio.sleep(3000)
        lists_after = len(api.lists)
        await waits[0].future
        await scheduler.aclose()
        return lists_before, lists_after

    before, after = run_virtual(main)
    assert after == before


def test_a_batch_s_last_task_keeps_the_sweep_pace() -> None:
    """Once sweeping stops paying (one task left), the task the sweeps watched is polled at
    their pace, not on the backoff its long wait has grown to (up to 20 s)."""

    async def main() -> tuple[list[float], PollScheduler]:
        api = FakeTasksApi()
        ids = [f"t{index}" for index in range(20)]
        for index, task_id in enumerate(ids):
            api.add(task_id)
            api.finish_at[task_id] = 60.0 if index else 900.0
        loop = asyncio.get_running_loop()
        polled_at: list[float] = []
        retrieve = api.retrieve

        async def timed_retrieve(task_id: str) -> AnalyzeTaskResponse:
            if task_id == "t0":
                polled_at.append(loop.time())
            return await retrieve(task_id)

        api.retrieve = timed_retrieve  # type: ignore[method-assign]
        scheduler = api.scheduler()
        await wait_all(scheduler, api, ids)
        await scheduler.aclose()
        return polled_at, scheduler

    polled_at, scheduler = run_virtual(main)
    alone = [at for at in polled_at if at > 120.0]
    gaps = [later - earlier for earlier, later in itertools.pairwise(alone)]
    assert max(gaps) <= scheduler.bulk_interval + 0.5
    assert len(gaps) > 50  # polled alone for most of its 900 s


def test_sweeps_keep_no_list_item_that_brings_no_news() -> None:
    """A task listed again in the status it had is not held on to: with 10,000 waits, keeping
    each sweep's items until the next pushed tens of thousands of objects a sweep into the
    collector's oldest generation, whose full collections stalled the loop."""

    async def main() -> tuple[int, int]:
        api = FakeTasksApi()
        ids = [f"t{index}" for index in range(20)]
        for task_id in ids:
            api.add(task_id)
            api.finish_at[task_id] = 100.0
        listed: list[list[weakref.ref[AnalyzeTaskResponse]]] = []
        list_page = api.list_page

        async def tracked_list_page(status: str | None, page: int, limit: int) -> Any:
            listing = await list_page(status, page, limit)
            listed.append([weakref.ref(item) for item in listing.data])
            return listing

        api.list_page = tracked_list_page  # type: ignore[method-assign]
        scheduler = api.scheduler()
        waits = [scheduler.register(tid, policy=POLICY, timeout=None) for tid in ids]
        await asyncio.sleep(60)  # several sweeps, every task still processing
        first_sweep_alive = sum(ref() is not None for ref in listed[0])
        later_alive = sum(ref() is not None for refs in listed[1:] for ref in refs)
        await asyncio.gather(*(w.future for w in waits))
        await scheduler.aclose()
        assert len(listed) > 3
        return first_sweep_alive, later_alive

    first_sweep_alive, later_alive = run_virtual(main)
    assert first_sweep_alive == 20  # the first look is news: each wait keeps it as `last`
    assert later_alive == 0
