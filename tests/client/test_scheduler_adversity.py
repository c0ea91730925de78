"""The shared poll scheduler under adversity (issue 14 items 1, 2, 8, 12): a stuck poll, a slow
callback or a hung sweep holds up nobody else; a lying pager cannot make a sweep endless; a
list item never settles a wait; sweeps run only while they pay. All on virtual time."""

from __future__ import annotations

import asyncio

import pytest

from asyncanalyze import (
    PageInfo,
    PollPolicy,
    PollTimeoutError,
    RateLimitError,
    TasksListResponse,
)
from asyncanalyze._models import AnalyzeTaskResponse

from .._fake_tasks_api import FakeTasksApi
from .._virtual_time import run_virtual

POLICY = PollPolicy(initial_delay=1.0, multiplier=2.0, max_delay=20.0, jitter=0.0)


def test_a_stuck_retrieve_does_not_delay_a_ready_task() -> None:
    """One task's retrieve never answers; another, already ready, is reported at once."""

    async def main() -> float:
        api = FakeTasksApi()
        api.add("stuck")
        api.add("done", "ready")
        api.stuck.add("stuck")
        scheduler = api.scheduler()
        loop = asyncio.get_running_loop()
        stuck = scheduler.register("stuck", policy=POLICY, timeout=None)
        done = scheduler.register("done", policy=POLICY, timeout=None)
        await asyncio.sleep(0.5)  # the stuck poll is on the wire by now
        await scheduler.wait("done", policy=POLICY, timeout=None)
        assert (await done.future).result is not None and not stuck.future.done()
        elapsed = loop.time()
        await scheduler.aclose()
        return elapsed

    assert run_virtual(main) < 1.0


def test_a_slow_status_callback_holds_up_only_its_own_wait() -> None:
    """A 10 s on_status_change on one wait does not delay another wait's result."""

    async def main() -> tuple[float, list[str]]:
        api = FakeTasksApi()
        api.add("slow", "ready")
        api.add("quick", "ready")
        scheduler = api.scheduler()
        loop = asyncio.get_running_loop()
        seen: list[str] = []

        async def slow_callback(task: AnalyzeTaskResponse) -> None:
            await asyncio.sleep(10)
            seen.append(task.status.value)

        slow = asyncio.ensure_future(
            scheduler.wait("slow", policy=POLICY, timeout=None, on_status_change=slow_callback)
        )
        # Due a second later: polled while the slow callback is still running.
        await scheduler.wait("quick", policy=POLICY, timeout=None, first_delay=1.0)
        quick_at = loop.time()
        assert (await slow).status == "ready"
        await scheduler.aclose()
        return quick_at, seen

    quick_at, seen = run_virtual(main)
    assert quick_at < 2.0
    assert seen == ["ready"]  # the slow wait still saw its callback through first


def test_a_deadline_is_kept_while_a_poll_hangs() -> None:
    """A wait's timeout (as_completed's, which has no timer of its own) ends it on time even
    though its retrieve never answers."""

    async def main() -> float:
        api = FakeTasksApi()
        api.add("stuck")
        api.stuck.add("stuck")
        scheduler = api.scheduler()
        wait = scheduler.register("stuck", policy=POLICY, timeout=2.0)
        with pytest.raises(PollTimeoutError):
            await wait.future
        ended = asyncio.get_running_loop().time()
        await scheduler.aclose()
        return ended

    assert run_virtual(main) == pytest.approx(2.0, abs=0.05)


def test_a_webhook_hint_is_served_while_a_sweep_hangs() -> None:
    """With the list endpoint hanging mid-sweep, notify_terminal still ends its wait at once."""

    async def main() -> float:
        api = FakeTasksApi()
        for index in range(10):
            api.add(f"t{index}")
        api.hang_lists = True
        scheduler = api.scheduler(bulk_threshold=8)
        waits = {tid: scheduler.register(tid, policy=POLICY, timeout=None) for tid in api.status}
        await asyncio.sleep(5)
        assert api.lists and not api.retrieves  # a sweep is stuck on its first page
        api.status["t3"] = "ready"
        scheduler.notify_terminal("t3")
        started = asyncio.get_running_loop().time()
        await waits["t3"].future
        took = asyncio.get_running_loop().time() - started
        await scheduler.aclose()
        return took

    assert run_virtual(main) < 0.5


def test_closing_stops_every_poll_callback_and_sweep_in_flight() -> None:
    """aclose() cancels the work in flight: nothing is left running on the loop."""

    async def main() -> int:
        api = FakeTasksApi()
        for index in range(3):
            api.add(f"t{index}")
            api.stuck.add(f"t{index}")
        scheduler = api.scheduler()
        for tid in api.status:
            scheduler.register(tid, policy=POLICY, timeout=None)
        await asyncio.sleep(1)
        await scheduler.aclose()
        await asyncio.sleep(0)
        return len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()])

    assert run_virtual(main) == 0


def full_pages_for_ever(status: str | None, page: int, limit: int) -> TasksListResponse:
    """A lying pager: every page full of tasks nobody waits on, and no total_page."""
    from .._fake_tasks_api import FakeTasksApi as Api

    api = Api()
    for index in range(limit):
        api.add(f"other-{page}-{index}")
    return TasksListResponse(
        data=[api.task(tid, shortened=True) for tid in api.status], page_info=PageInfo()
    )


@pytest.mark.parametrize("pager", ["endless", "repeating"])
def test_a_lying_pager_cannot_make_a_sweep_endless(pager: str) -> None:
    """Full pages for ever (or the same page whatever the number): each sweep stops after a
    bounded number of pages, sweeps keep their interval, and deadlines stay live."""

    async def main() -> tuple[int, float, int]:
        api = FakeTasksApi()
        for index in range(10):
            api.add(f"t{index}")
        if pager == "endless":
            api.pager = full_pages_for_ever
        else:
            api.pager = lambda status, page, limit: full_pages_for_ever(status, 1, limit)
        scheduler = api.scheduler(bulk_threshold=8, bulk_interval=8.0)
        loop = asyncio.get_running_loop()
        for tid in api.status:
            scheduler.register(tid, policy=POLICY, timeout=None)
        short = scheduler.register("t0", policy=POLICY, timeout=5.0)
        with pytest.raises(PollTimeoutError):
            await short.future
        ended = loop.time()
        await asyncio.sleep(60)
        lists = len(api.lists)
        await scheduler.aclose()
        return lists, ended, len(api.retrieves)

    lists, ended, _ = run_virtual(main)
    assert ended == pytest.approx(5.0, abs=0.05)
    # ~9 sweeps in 65 s, each at most one page per waited task plus one per list.
    assert lists <= 9 * (10 + 4)


def test_tasks_the_pager_never_reaches_are_polled_on_their_own() -> None:
    """A pager that repeats page 1 hides most tasks: they are still seen to finish."""

    async def main() -> list[str]:
        api = FakeTasksApi()
        for index in range(60):
            api.add(f"t{index}")
        honest = api.list_page

        def first_page_only(status: str | None, page: int, limit: int) -> TasksListResponse:
            return TasksListResponse(
                data=[api.task(f"t{59 - i}", shortened=True) for i in range(limit)],
                page_info=PageInfo(total_page=10**9),
            )

        api.pager = first_page_only
        scheduler = api.scheduler(bulk_threshold=8)
        waits = [scheduler.register(tid, policy=POLICY, timeout=None) for tid in api.status]
        await asyncio.sleep(20)
        for tid in api.status:
            api.status[tid] = "ready"
        await asyncio.wait_for(asyncio.gather(*(w.future for w in waits)), 60)
        del honest
        await scheduler.aclose()
        return [w.task_id for w in waits if w.future.result().result is None]

    assert run_virtual(main) == []


def test_a_filtered_list_item_saying_ready_is_retrieved_not_trusted() -> None:
    """A task listed in status=processing with status ready resolves with its full result
    from a retrieve, never from the shortened list item (issue 14 item 12)."""

    async def main() -> tuple[AnalyzeTaskResponse, list[str]]:
        api = FakeTasksApi()
        for index in range(60):  # more than one page: no unfiltered shortcut
            api.add(f"t{index}")

        def processing_list_says_ready(
            status: str | None, page: int, limit: int
        ) -> TasksListResponse:
            ids = sorted(api.status, key=lambda tid: -api.created[tid])
            chunk = ids[(page - 1) * limit : page * limit]
            return TasksListResponse(
                data=[
                    api.task(tid, "ready" if tid == "t5" else "processing", shortened=True)
                    for tid in chunk
                ],
                page_info=PageInfo(total_page=2),
            )

        api.pager = processing_list_says_ready
        scheduler = api.scheduler(bulk_threshold=8)
        waits = {tid: scheduler.register(tid, policy=POLICY, timeout=None) for tid in api.status}
        await asyncio.sleep(0.5)  # the first sweep retrieves them all (never seen before)
        api.retrieves.clear()
        api.status["t5"] = "ready"
        task = await asyncio.wait_for(waits["t5"].future, 30)
        retrieves = list(api.retrieves)
        await scheduler.aclose()
        return task, retrieves

    task, retrieves = run_virtual(main)
    assert task.result is not None
    assert retrieves == ["t5"]


def test_a_429_during_a_sweep_delays_that_sweep_only() -> None:
    """The first sweep's page gets a 429: a webhook hint meanwhile is still served at once,
    and the next sweep, on schedule, sees every other task end."""

    async def main() -> tuple[float, float]:
        api = FakeTasksApi()
        for index in range(10):
            api.add(f"t{index}")
        honest = api.list_page
        refused = [False]

        async def refuse_once(status: str | None, page: int, limit: int) -> TasksListResponse:
            if not refused[0]:
                refused[0] = True
                raise RateLimitError("slow down", status_code=429, retry_after=30)
            return await honest(status, page, limit)

        api.list_page = refuse_once  # type: ignore[method-assign]
        scheduler = api.scheduler(bulk_threshold=8, bulk_interval=8.0)
        loop = asyncio.get_running_loop()
        waits = {tid: scheduler.register(tid, policy=POLICY, timeout=None) for tid in api.status}
        await asyncio.sleep(1)
        assert refused[0]
        for tid in api.status:
            api.status[tid] = "ready"
        scheduler.notify_terminal("t0")
        await waits["t0"].future
        hint_at = loop.time()
        await asyncio.gather(*(w.future for w in waits.values()))
        all_at = loop.time()
        await scheduler.aclose()
        return hint_at, all_at

    hint_at, all_at = run_virtual(main)
    assert hint_at < 1.5
    assert all_at < 8.5  # the second sweep, at 8 s


def test_a_hint_for_a_task_on_the_wire_retrieves_it_again() -> None:
    """A webhook arriving while the task's retrieve is in flight (answered before it ended)
    is not lost: the task is retrieved once more when that retrieve comes back."""

    async def main() -> tuple[float, int]:
        api = FakeTasksApi()
        api.add("t1")
        api.latency = 1.0
        scheduler = api.scheduler()
        loop = asyncio.get_running_loop()
        wait = scheduler.register("t1", policy=PollPolicy(initial_delay=3600.0), timeout=None)
        await asyncio.sleep(0.5)  # the first retrieve is on the wire, answering "processing"
        api.status["t1"] = "ready"
        scheduler.notify_terminal("t1")
        await wait.future
        took = loop.time()
        await scheduler.aclose()
        return took, len(api.retrieves)

    took, retrieves = run_virtual(main)
    assert retrieves == 2 and took < 2.5
