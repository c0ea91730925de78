"""The batch engine against the emulator: as_completed, analyze_many, sweeps and the journal.

(What sweeps cost is measured on virtual time in tests/client/test_sweep_costs.py: real timing at a high
speed made it flaky.)

The client runs on the emulator's sped-up clock (its sleeps shrink by the same factor), so it
behaves as it would over real minutes while the test takes a fraction of a second.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from asyncanalyze import (
    AnalysisMode,
    AnalyzeAsyncClient,
    AnalyzeRequest,
    BatchProgress,
    InvalidRequestError,
    ModelName,
    NotFoundError,
    PollPolicy,
    SegmentDefinition,
    SegmentResponseFormat,
    TaskFailedError,
    VideoContext_AssetId,
    VideoContext_Url,
)
from asyncanalyze.emulator import Emulator

from ..conftest import EMULATOR_SPEED


def scaled_client(
    emu: Emulator, speed: float = EMULATOR_SPEED, **options: object
) -> AnalyzeAsyncClient:
    """A client whose clock and sleeps run at the emulator's speed."""
    loop = asyncio.get_running_loop()

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / speed)

    return AnalyzeAsyncClient(
        api_key="test-key",
        base_url=emu.base_url,
        sleep=sleep,
        clock=lambda: loop.time() * speed,
        **options,  # type: ignore[arg-type]
    )


def video(task_seconds: float, *, fail: str | None = None, tag: str = "") -> VideoContext_Url:
    url = f"https://videos.example/{tag}{task_seconds}.mp4?emulator_task_seconds={task_seconds}"
    if fail:
        url += f"&emulator_fail={fail}"
    return VideoContext_Url(url=url)


async def test_as_completed_yields_in_completion_order_with_failures_as_values(
    sped_up_emulator: Emulator,
) -> None:
    """Outcomes come as tasks end (shortest first); a failed task is a value, not a raise."""
    async with scaled_client(sped_up_emulator) as client:
        created = [
            await client.tasks.create(video=video(s, fail=f, tag="o"), prompt="p")
            for s, f in [(300, None), (40, None), (120, "Codec%20broken")]
        ]
        outcomes = [o async for o in client.tasks.as_completed(created)]
    assert [o.task_id for o in outcomes] == [created[i].task_id for i in (1, 2, 0)]
    assert outcomes[0].ok and outcomes[0].task is not None and outcomes[0].task.result
    failed = outcomes[1]
    assert not failed.ok and isinstance(failed.error, TaskFailedError)
    assert failed.task is not None and failed.task.error is not None
    assert failed.task.error.message == "Codec broken"
    with pytest.raises(TaskFailedError):
        failed.result_or_raise()


async def test_as_completed_reports_unknown_ids_per_item(sped_up_emulator: Emulator) -> None:
    """A 404 for one id is that item's error; the others still complete."""
    async with scaled_client(sped_up_emulator) as client:
        good = await client.tasks.create(video=video(30), prompt="p")
        outcomes = [o async for o in client.tasks.as_completed([good, "ffffffffffffffffffffffff"])]
    errors = {o.task_id: o.error for o in outcomes}
    assert isinstance(errors["ffffffffffffffffffffffff"], NotFoundError)
    assert errors[good.task_id] is None


async def test_leaving_as_completed_early_stops_all_polling(sped_up_emulator: Emulator) -> None:
    """Breaking out of as_completed drops every remaining wait and the scheduler goes idle."""
    async with scaled_client(sped_up_emulator) as client:
        created = [
            await client.tasks.create(video=video(s, tag="b"), prompt="p")
            for s in (30, 3000, 3000, 3000)
        ]
        async for outcome in client.tasks.as_completed(created):
            assert outcome.task_id == created[0].task_id
            break
        # The abandoned generator is closed by the loop's async-generator finaliser.
        for _ in range(5):
            await asyncio.sleep(0)
        scheduler = client.tasks._scheduler
        assert scheduler is not None and scheduler.in_flight == 0
        runner = scheduler._runner
        if runner is not None:  # it stops a poll that was in flight (cancelled, not awaited)
            await asyncio.wait([runner], timeout=10)
            assert runner.done()
        polls = dict(sped_up_emulator.stats()["polls"])
        await asyncio.sleep(20 / EMULATOR_SPEED)  # 20 emulated seconds: a poll would have been due
        assert sped_up_emulator.stats()["polls"] == polls


def requests_for(count: int, *, tag: str) -> Iterator[AnalyzeRequest]:
    for i in range(count):
        # Spread log-uniformly over 30 s to 20 min: many short videos, a few long ones.
        seconds = round(30 * 40 ** ((i * 0.6180339887) % 1))
        fail = "1" if i % 10 == 9 else None
        yield AnalyzeRequest(
            video=video(seconds, fail=fail, tag=f"{tag}{i}-"),
            prompt=f"Summarize video {i}",
            metadata={"row": i},
        )


async def test_analyze_many_yields_one_outcome_per_request(sped_up_emulator: Emulator) -> None:
    """Every request gets exactly one outcome with its metadata; failures are values."""
    progress: list[BatchProgress] = []
    async with scaled_client(sped_up_emulator) as client:
        outcomes = [
            o
            async for o in client.tasks.analyze_many(
                requests_for(40, tag="m"), concurrency=40, on_progress=progress.append
            )
        ]
    assert sorted(o.index for o in outcomes) == list(range(40))
    assert all(o.request.metadata == {"row": o.index} for o in outcomes)
    failed = [o for o in outcomes if not o.ok]
    assert sorted(o.index for o in failed) == [9, 19, 29, 39]
    assert all(isinstance(o.error, TaskFailedError) for o in failed)
    final = progress[-1]
    assert (final.submitted, final.created, final.running, final.ready, final.failed) == (
        40,
        40,
        0,
        36,
        4,
    )
    assert sped_up_emulator.stats()["creates"] == 40


@pytest.mark.slow
async def test_analyze_many_respects_concurrency_and_reads_lazily(
    sped_up_emulator: Emulator,
) -> None:
    """No more than `concurrency` tasks run at once and the input is consumed as slots free."""
    pulled = 0
    most_running = 0

    def source() -> Iterator[AnalyzeRequest]:
        nonlocal pulled
        for request in requests_for(30, tag="lazy"):
            pulled += 1
            yield request

    def track(progress: BatchProgress) -> None:
        nonlocal most_running
        most_running = max(most_running, progress.created - progress.ready - progress.failed)

    async with scaled_client(sped_up_emulator) as client:
        first = True
        async for _ in client.tasks.analyze_many(source(), concurrency=5, on_progress=track):
            if first:
                assert pulled <= 6  # five slots, plus at most the one waiting for a slot
                first = False
    assert most_running <= 5
    assert pulled == 30


async def test_analyze_many_accepts_async_iterables(sped_up_emulator: Emulator) -> None:
    """An async generator of requests works like a list."""

    async def source() -> AsyncIterator[AnalyzeRequest]:
        for request in requests_for(3, tag="async"):
            yield request

    async with scaled_client(sped_up_emulator) as client:
        outcomes = [o async for o in client.tasks.analyze_many(source())]
    assert len(outcomes) == 3


async def test_invalid_request_is_an_outcome_not_a_crash(sped_up_emulator: Emulator) -> None:
    """A request that breaks a rule comes back as that item's InvalidRequestError."""
    bad = AnalyzeRequest(video=video(30), prompt="   ")
    async with scaled_client(sped_up_emulator) as client:
        outcomes = [o async for o in client.tasks.analyze_many([bad, *requests_for(1, tag="v")])]
    errors = {o.index: o.error for o in outcomes}
    assert isinstance(errors[0], InvalidRequestError) and errors[1] is None
    assert sped_up_emulator.stats()["creates"] == 1


async def test_journal_resumes_without_creating_twice(
    sped_up_emulator: Emulator, tmp_path: Path
) -> None:
    """Stopping a journaled batch midway and re-running it creates each task exactly once."""
    journal = tmp_path / "batch.sqlite3"
    requests = list(requests_for(12, tag="j"))
    async with scaled_client(sped_up_emulator) as client:
        first_run: list[int] = []
        async for outcome in client.tasks.analyze_many(requests, concurrency=12, journal=journal):
            first_run.append(outcome.index)
            if len(first_run) == 4:
                break
        assert sped_up_emulator.stats()["creates"] == 12
        progress: list[BatchProgress] = []
        second = [
            o
            async for o in client.tasks.analyze_many(
                requests, journal=journal, on_progress=progress.append
            )
        ]
    assert sorted(o.index for o in second) == list(range(12))
    # What the first run yielded comes back from the journal; so may a task that ended while
    # that run was being left (it was journaled, just never yielded).
    from_journal = {o.index for o in second if o.from_journal}
    assert set(first_run) <= from_journal
    # Progress tells the 12 tasks of the first run apart from new ones: none was created.
    last = progress[-1]
    assert (last.created, last.resumed, last.ready + last.failed) == (0, 12, 12)
    assert sped_up_emulator.stats()["creates"] == 12
    assert sped_up_emulator.stats()["tasks"]["total"] == 12


async def test_identical_requests_are_distinct_tasks_in_a_journal(
    sped_up_emulator: Emulator, tmp_path: Path
) -> None:
    """The same request twice in one batch is two tasks, and stays two on a re-run."""
    request = next(requests_for(1, tag="dup"))
    journal = tmp_path / "dup.sqlite3"
    async with scaled_client(sped_up_emulator) as client:
        first = [o async for o in client.tasks.analyze_many([request, request], journal=journal)]
        again = [o async for o in client.tasks.analyze_many([request, request], journal=journal)]
    assert len({o.task_id for o in first}) == 2
    assert {o.task_id for o in again} == {o.task_id for o in first}
    assert sped_up_emulator.stats()["creates"] == 2


async def test_await_result_keeps_single_wait_semantics(sped_up_emulator: Emulator) -> None:
    """await_result on one task polls on its backoff and returns the ready task."""
    statuses: list[str] = []
    async with scaled_client(
        sped_up_emulator,
        poll_policy=PollPolicy(initial_delay=2, multiplier=1.3, max_delay=20, jitter=0),
    ) as client:
        created = await client.tasks.create(video=video(200, tag="single"), prompt="p")
        task = await client.tasks.await_result(
            created, on_status_change=lambda t: statuses.append(t.status.value)
        )
    assert task.status == "ready" and task.result is not None
    assert statuses[-1] == "ready" and "processing" in statuses
    polls = sped_up_emulator.stats()["polls"][created.task_id]
    assert 5 <= polls <= 25  # backoff: far fewer than 40 fixed 5-second polls


KILL_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from asyncanalyze import AnalyzeAsyncClient, AnalyzeRequest, VideoContext_Url

    base_url, journal, speed = sys.argv[1], sys.argv[2], float(sys.argv[3])

    async def main():
        loop = asyncio.get_running_loop()

        async def sleep(seconds):
            await asyncio.sleep(seconds / speed)

        requests = (
            AnalyzeRequest(
                video=VideoContext_Url(
                    url=f"https://videos.example/k{i}.mp4?emulator_task_seconds={60 + i * 20}"
                ),
                prompt=f"Describe {i}",
            )
            for i in range(30)
        )
        async with AnalyzeAsyncClient(
            api_key="kill-key", base_url=base_url, sleep=sleep, clock=lambda: loop.time() * speed
        ) as client:
            async for outcome in client.tasks.analyze_many(requests, concurrency=10, journal=journal):
                print(outcome.index, outcome.task_id, flush=True)

    asyncio.run(main())
    """
)


def journal_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path) as db:
            return int(db.execute("SELECT COUNT(*) FROM requests").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
async def test_sigkill_midway_then_rerun_creates_each_task_once(tmp_path: Path) -> None:
    """A batch killed with SIGKILL mid-run and run again ends with exactly one task per request."""
    script = tmp_path / "batch.py"
    script.write_text(KILL_SCRIPT)
    journal = tmp_path / "kill.sqlite3"
    speed = 100.0
    async with Emulator(speed=speed) as emu:
        args = [sys.executable, str(script), emu.base_url, str(journal), str(speed)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        victim = await asyncio.create_subprocess_exec(
            *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        assert victim.stdout is not None
        # Kill once some tasks are finished and others are created but still running.
        for _ in range(3):
            line = await asyncio.wait_for(victim.stdout.readline(), timeout=60)
            assert line, (await victim.stderr.read()).decode() if victim.stderr else ""
        assert 0 < journal_rows(journal) < 30
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        created_before_rerun = emu.stats()["tasks"]["total"]
        assert created_before_rerun < 30

        rerun = await asyncio.create_subprocess_exec(
            *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        out, err = await asyncio.wait_for(rerun.communicate(), timeout=120)
        assert rerun.returncode == 0, err.decode()
        stats = emu.stats()
    indexes = sorted(int(line.split()[0]) for line in out.decode().splitlines())
    assert indexes == list(range(30))
    assert stats["tasks"]["total"] == 30  # every request created exactly once
    assert stats["creates"] == 30


async def test_testing_fixture_client_runs_on_emulator_time(sped_up_emulator: Emulator) -> None:
    """asyncanalyze.testing.emulator_client waits in emulated seconds: a 10-minute task is
    ready in a fraction of a real second."""
    from asyncanalyze.testing import emulator_client

    loop = asyncio.get_running_loop()
    started = loop.time()
    async with emulator_client(sped_up_emulator) as client:
        created = await client.tasks.create(video=video(600, tag="fixture"), prompt="p")
        assert (await client.tasks.await_result(created)).status == "ready"
    assert loop.time() - started < 600 / EMULATOR_SPEED * 2


async def test_analyze_client_fixture(analyze_client: AnalyzeAsyncClient) -> None:
    """The analyze_client fixture users enable gives a working client on a fresh emulator."""
    created = await analyze_client.tasks.create(video=video(60, tag="fx"), prompt="p")
    task = await analyze_client.tasks.await_result(created)
    assert task.result is not None and task.result.data


async def test_custom_id_rides_along_to_each_outcome(sped_up_emulator: Emulator) -> None:
    """custom_id goes to the platform and to the outcome (attribute and to_dict), like
    metadata; a request refused before sending still reports the one it was given."""
    requests = [
        AnalyzeRequest(video=video(30, tag="c"), prompt="p", custom_id="row-1", metadata={"n": 1}),
        AnalyzeRequest(video=video(60, tag="c"), prompt="p"),
        AnalyzeRequest(video=video(30, tag="c"), prompt="p", custom_id="row 3"),  # refused
    ]
    async with scaled_client(sped_up_emulator) as client:
        outcomes = {o.index: o async for o in client.tasks.analyze_many(requests)}
    assert outcomes[0].custom_id == "row-1" and outcomes[0].to_dict()["custom_id"] == "row-1"
    assert outcomes[0].task is not None and outcomes[0].task.custom_id == "row-1"
    assert outcomes[0].to_dict()["metadata"] == {"n": 1}
    assert outcomes[1].custom_id is None and outcomes[1].to_dict()["custom_id"] is None
    assert isinstance(outcomes[2].error, InvalidRequestError) and outcomes[2].task_id is None
    assert outcomes[2].custom_id == "row 3"  # as given, so the refused row can be found


async def test_custom_id_and_analysis_mode_come_back_from_retrieve_and_list(
    sped_up_emulator: Emulator,
) -> None:
    """Created with custom_id and analysis_mode, a task carries both in retrieve and in list,
    and list filters by mode and video."""
    segments = SegmentResponseFormat([SegmentDefinition(id="goal", description="A goal")])
    async with scaled_client(sped_up_emulator) as client:
        general = await client.tasks.create(video=video(30, tag="m"), prompt="p", custom_id="g-1")
        segmented = await client.tasks.create(
            video=VideoContext_AssetId("asset-9"),
            model_name=ModelName.PEGASUS_1_6,
            analysis_mode=AnalysisMode.TIME_BASED_METADATA,
            response_format=segments,
            custom_id="s-1",
        )
        task = await client.tasks.await_result(segmented)
        only_segments = await client.tasks.list(analysis_mode="time_based_metadata")
        by_asset = [t async for t in client.tasks.iter(asset_id="asset-9")]
        by_url = await client.tasks.list(video_url=video(30, tag="m").url)
    assert task.custom_id == "s-1" and "goal" in task.result.json()  # type: ignore[union-attr]
    assert task.request_params is not None
    assert task.request_params.analysis_mode == AnalysisMode.TIME_BASED_METADATA
    assert task.video_source is not None and task.video_source.asset_id == "asset-9"
    assert [(t.task_id, t.custom_id) for t in only_segments.data] == [(segmented.task_id, "s-1")]
    assert [t.task_id for t in by_asset] == [segmented.task_id]
    assert [(t.task_id, t.custom_id) for t in by_url.data] == [(general.task_id, "g-1")]
