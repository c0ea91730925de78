"""A sweep's walk against lists that move under it: a task ending above a page boundary moves
every later task up a place, so the one at the top of the next page is on neither page the
walk fetched. The walk looks at such a seam again at once, instead of a sweep later; and it
reports a task that ended as soon as the page that proves it comes back."""

from __future__ import annotations

import asyncio
import gc

import pytest

from asyncanalyze import (
    AnalyzeTaskResponse,
    APIConnectionError,
    PollPolicy,
    TasksListResponse,
    _list_spans,
    _sweep,
)

from .._fake_tasks_api import FakeTasksApi
from .._virtual_time import run_virtual

LATENCY = 0.15


def ten_pages() -> FakeTasksApi:
    """t0..t499 processing, created in that order: page 1 is t499..t450, page 8 t149..t100,
    page 9 t99..t50. Pages 1-8 go out together and are read at 0.15 s; pages 9 and 10 go out
    when they come back and are read at 0.30 s; a second look is read at 0.45 s."""
    api = FakeTasksApi()
    api.latency = LATENCY
    for index in range(500):
        api.add(f"t{index}")
    return api


def scan(
    api: FakeTasksApi,
    never_seen: frozenset[str] = frozenset(),
    ended_at: dict[str, float] | None = None,
    others: frozenset[str] = frozenset(),
    again: frozenset[str] = frozenset(),
) -> _sweep.SweepScan:
    """One walk for every task of ``api`` but ``others`` (another client's)."""

    async def main() -> _sweep.SweepScan:
        loop = asyncio.get_running_loop()
        known = {
            task_id: None if task_id in never_seen else api.task(task_id, "processing")
            for task_id in api.status
            if task_id not in others
        }

        def on_ended(task_id: str) -> None:
            if ended_at is not None:
                ended_at[task_id] = loop.time()

        return await _sweep.scan(
            api.list_page,
            known,
            first_stage=2,
            try_unfiltered=False,
            max_pages=600,
            on_ended=on_ended,
            again=again,
        )

    return run_virtual(main)


def test_a_task_that_moved_across_a_page_boundary_is_found_in_the_same_sweep() -> None:
    api = ten_pages()
    api.finish_at["t300"] = 0.2  # between pages 8 and 9: t99 moves up onto page 8
    found = scan(api)
    assert "t99" in found.still
    assert "t300" in found.still  # it was still running when page 4 was read
    assert not found.shifted
    assert not found.unknown


def test_a_task_that_ended_in_a_seam_is_reported_ended_in_the_same_sweep() -> None:
    api = ten_pages()
    api.finish_at["t300"] = 0.2
    api.finish_at["t99"] = 0.35  # ends after page 9 was read, before the second look
    found = scan(api)
    assert found.ended == {"t99"}
    assert not found.shifted


def test_a_second_look_costs_one_page_per_seam() -> None:
    api = ten_pages()
    api.finish_at["t300"] = 0.2
    scan(api)
    assert len(api.lists) == 11  # ten pages, then one across the 8|9 boundary


def test_a_walk_without_seams_asks_for_no_second_look() -> None:
    api = ten_pages()
    api.finish_at["t10"] = 0.05  # ends before any page is read: no list moves under the walk
    found = scan(api)
    assert found.ended == {"t10"}
    assert len(api.lists) == 10


def test_an_ended_task_is_reported_when_its_page_arrives_not_when_the_walk_ends() -> None:
    """Its retrieve starts while the walk goes on: with 200 pages at 300 ms, waiting for the
    whole walk added seconds to every task's lag."""
    api = ten_pages()
    api.finish_at["t300"] = 0.05  # on page 4, read at 0.15 s; the walk ends at 0.30 s
    api.finish_at["t10"] = 0.05  # on page 10
    ended_at: dict[str, float] = {}
    found = scan(api, ended_at=ended_at)
    assert found.ended == {"t300", "t10"}
    assert ended_at["t300"] < ended_at["t10"] == 2 * LATENCY


def test_a_walk_keeps_at_most_page_concurrency_pages_in_flight() -> None:
    """The rate gate paces every page, but a sweep never asks for more at once than this."""
    api = ten_pages()
    for index in range(500, 2000):
        api.add(f"t{index}")
    in_flight = 0
    most = 0
    list_page = api.list_page

    async def counted(status: str | None, page: int, limit: int) -> object:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            return await list_page(status, page, limit)
        finally:
            in_flight -= 1

    api.list_page = counted  # type: ignore[assignment,method-assign]
    found = scan(api)
    assert found.pages == 40
    assert most == _sweep.PAGE_CONCURRENCY


def test_a_task_never_seen_that_the_lists_lost_is_looked_for_again_not_retrieved() -> None:
    """Without a created_at to place it by, a new task missing from the lists may have moved
    between two pages: it is not retrieved (it is running), but looked for next sweep."""
    api = ten_pages()
    api.finish_at["t300"] = 0.2
    found = scan(api, never_seen=frozenset({"t99"}))
    assert "t99" in found.shifted
    assert not found.ended


def test_a_task_never_seen_that_already_ended_is_retrieved_in_the_same_sweep() -> None:
    """The unfiltered list's first page holds the newest tasks in any status."""
    api = ten_pages()
    api.finish_at["t499"] = 0.05
    found = scan(api, never_seen=frozenset({"t499"}))
    assert found.ended == {"t499"}
    assert api.lists[-1] == (None, 1)


def test_a_second_look_puts_the_boundary_near_the_middle_of_its_page() -> None:
    """Any boundary between pages of 50, deep into a list of 200,000, has at least 10 items
    of the second look's page on either side: a task that moved a few places either way is on
    it."""
    for boundary in range(_list_spans.PAGE_LIMIT, 200_000, _list_spans.PAGE_LIMIT):
        page, limit = _list_spans.straddling_page(boundary)
        first = (page - 1) * limit
        assert _list_spans.MIN_STRADDLING_LIMIT <= limit <= _list_spans.PAGE_LIMIT
        assert first + 10 <= boundary <= first + limit - 10, (boundary, page, limit)


def test_a_walk_is_complete_when_its_last_page_comes_back_before_page_1() -> None:
    """Pages come back in any order: page 1 (which tells the total) may be the slowest.
    A task never seen and missing from a fully walked list is then looked for next sweep;
    had the walk thought the list unfinished, it would be polled on its own."""
    api = FakeTasksApi()
    api.latency = LATENCY
    api.add("theirs")
    for index in range(100):
        api.add(f"t{index}")
    api.finish_at["t0"] = 0.0  # t1..t99 and theirs: exactly two full pages
    list_page = api.list_page

    async def slow_first_page(status: str | None, page: int, limit: int) -> object:
        if status is not None and page == 1:
            await asyncio.sleep(0.1)
        return await list_page(status, page, limit)

    api.list_page = slow_first_page  # type: ignore[assignment,method-assign]
    found = scan(api, never_seen=frozenset({"t0"}), others=frozenset({"theirs"}))
    assert found.shifted == {"t0"}
    assert not found.unknown


@pytest.mark.parametrize("again", ["t399", "t198"])
def test_the_seam_of_a_task_shifted_last_sweep_too_is_looked_at_first(
    again: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more seams than second looks, the task that would otherwise be polled on its own
    (in a seam two sweeps running) gets its look."""
    monkeypatch.setattr(_sweep, "PAGE_CONCURRENCY", 1)  # pages read 0.15 s apart
    monkeypatch.setattr(_sweep, "MAX_SEAM_LOOKS", 1)
    api = ten_pages()
    api.finish_at["t480"] = 0.35  # after page 2 is read: t399 (top of page 3) moves up
    api.finish_at["t470"] = 0.95  # after page 6 is read: t198 (then top of page 7) moves up
    found = scan(api, again=frozenset({again}))
    assert again in found.still
    assert found.shifted == {"t399", "t198"} - {again}


def test_a_slow_walk_gets_more_pages_in_flight_next_sweep() -> None:
    """20 pages at 2 s a round trip take 6 s at 8 in flight, most of an 8 s interval: the next
    sweeps keep more in flight (bounded), so a task is still looked at about every interval."""

    async def main() -> list[int]:
        api = FakeTasksApi()
        api.latency = 2.0
        ids = [f"t{index}" for index in range(1000)]
        for task_id in ids:
            api.add(task_id)
            api.finish_at[task_id] = 120.0
        in_flight = 0
        most_by_sweep: list[int] = []
        list_page = api.list_page

        async def counted(status: str | None, page: int, limit: int) -> object:
            nonlocal in_flight
            in_flight += 1
            if page == 1 and status == "processing":
                most_by_sweep.append(0)
            if most_by_sweep:
                most_by_sweep[-1] = max(most_by_sweep[-1], in_flight)
            try:
                return await list_page(status, page, limit)
            finally:
                in_flight -= 1

        api.list_page = counted  # type: ignore[assignment,method-assign]
        scheduler = api.scheduler()
        waits = [scheduler.register(tid, policy=PollPolicy(), timeout=None) for tid in ids]
        await asyncio.gather(*(w.future for w in waits))
        await scheduler.aclose()
        return most_by_sweep

    most_by_sweep = run_virtual(main)
    assert most_by_sweep[0] == _sweep.PAGE_CONCURRENCY
    assert _sweep.PAGE_CONCURRENCY < max(most_by_sweep) <= _sweep.MAX_PAGE_CONCURRENCY


def test_pages_in_flight_follow_how_long_the_last_walk_took() -> None:
    interval = 8.0
    assert _sweep.next_page_concurrency(8, 1.0, interval) == _sweep.PAGE_CONCURRENCY
    assert _sweep.next_page_concurrency(8, 8.0, interval) == 16
    assert _sweep.next_page_concurrency(16, 60.0, interval) == _sweep.MAX_PAGE_CONCURRENCY
    assert _sweep.next_page_concurrency(32, 0.5, interval) == _sweep.PAGE_CONCURRENCY


def test_a_second_look_at_an_earlier_list_proves_nothing_about_a_task_that_moved_on() -> None:
    """The walk has moved past the queued list when it looks at a queued seam again: a task
    missing from that look may have moved on to a list already walked. It is looked for
    again, never retrieved as ended."""

    async def main() -> _sweep.SweepScan:
        api = FakeTasksApi()
        api.latency = LATENCY
        for index in range(100):
            api.add(f"q{index}", "queued")  # page 1: q99..q50, page 2: q49..q0
        loop = asyncio.get_running_loop()
        # Queued page 1 is read at 0.15 s, page 2 at 0.30 s, pending at 0.45 s, processing
        # at 0.60 s, the second look at the queued seam at 0.75 s.
        loop.call_at(0.2, api.status.__setitem__, "q80", "processing")  # q49 moves up
        loop.call_at(0.65, api.status.__setitem__, "q49", "pending")  # after pending's walk
        known = {task_id: api.task(task_id, "queued") for task_id in api.status}
        return await _sweep.scan(
            api.list_page, known, first_stage=0, try_unfiltered=False, max_pages=100
        )

    found = run_virtual(main)
    assert "q49" in found.shifted
    assert not found.ended


def test_a_sweep_tells_a_later_wait_the_status_an_earlier_one_already_saw() -> None:
    """A sweep compares a listed task with its first wait's last look: a second wait on the
    same task, registered later, still hears the status (and keeps it for a timeout)."""

    async def main() -> list[str]:
        api = FakeTasksApi()
        ids = [f"t{index}" for index in range(20)]
        for task_id in ids:
            api.add(task_id)
            api.finish_at[task_id] = 100.0
        scheduler = api.scheduler()
        waits = [scheduler.register(tid, policy=PollPolicy(), timeout=None) for tid in ids]
        await asyncio.sleep(20)  # swept: t0's first wait has seen "processing"
        heard: list[str] = []
        later = scheduler.register(
            "t0",
            policy=PollPolicy(),
            timeout=None,
            on_status_change=lambda task: heard.append(task.status.value),
        )
        await asyncio.sleep(20)  # more sweeps, t0 still processing
        heard_before_the_end = list(heard)
        await asyncio.gather(*(w.future for w in [*waits, later]))
        await scheduler.aclose()
        return heard_before_the_end

    assert run_virtual(main) == ["processing"]


def test_pages_failing_together_fail_the_walk_once_and_leave_no_error_unread() -> None:
    """Two pages of one window fail: the walk raises the first; the second's error is read,
    not left for asyncio to report as never retrieved."""

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        reported: list[str] = []
        loop.set_exception_handler(lambda _, context: reported.append(context["message"]))
        api = ten_pages()
        list_page = api.list_page

        async def failing(status: str | None, page: int, limit: int) -> TasksListResponse:
            listing = await list_page(status, page, limit)
            if page in (3, 4):
                raise APIConnectionError("connection reset")
            return listing

        known = {task_id: api.task(task_id, "processing") for task_id in api.status}
        failed = False
        try:
            await _sweep.scan(failing, known, first_stage=2, try_unfiltered=False, max_pages=50)
        except APIConnectionError:
            failed = True  # dropped here, with the walk's frame and its page futures
        assert failed
        gc.collect()
        await asyncio.sleep(0)
        return reported

    assert run_virtual(main) == []


def test_an_end_seen_during_the_task_s_own_poll_is_retrieved_when_it_returns() -> None:
    """The poll on the wire may have been answered before the task ended: once it comes
    back still running, the task is retrieved again at once, not a sweep later."""

    async def main() -> float:
        api = FakeTasksApi()
        ids = [f"t{index}" for index in range(20)]
        for task_id in ids:
            api.add(task_id)
            api.finish_at[task_id] = 50.0 if task_id == "t0" else 500.0
        loop = asyncio.get_running_loop()
        retrieve = api.retrieve
        slow = [True]

        async def first_t0_retrieve_is_slow(task_id: str) -> AnalyzeTaskResponse:
            if task_id == "t0" and slow[0]:
                slow[0] = False
                task = api.task(task_id)  # read now (running), answered 20 s later
                await asyncio.sleep(20)
                return task  # type: ignore[no-any-return]
            return await retrieve(task_id)

        api.retrieve = first_t0_retrieve_is_slow  # type: ignore[method-assign]
        scheduler = api.scheduler()
        waits = {tid: scheduler.register(tid, policy=PollPolicy(), timeout=None) for tid in ids}
        await asyncio.sleep(45)
        scheduler.notify_terminal("t0")  # an early hint: t0 is polled alone, 45 s -> 65 s
        await waits["t0"].future
        seen_at = loop.time()
        await scheduler.aclose()
        return seen_at

    # A sweep after 50 s sees t0 gone while its poll is on the wire; that poll comes back
    # at 65 s with "processing", and t0 is retrieved again then (a sweep later: ~72 s).
    assert run_virtual(main) < 66.0
