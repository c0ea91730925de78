"""The emulator's in-progress index answers status-filtered lists exactly as a walk over every
task would, as time passes and tasks are created, resolved, canceled and deleted; and lists
10,000 tasks in progress quickly."""

from __future__ import annotations

import dataclasses
import random
import time

import aiohttp
import pytest

from asyncanalyze import AnalyzeAsyncClient, VideoContext_Url
from asyncanalyze.emulator import Emulator
from asyncanalyze.emulator._lifecycle import TaskRecord, cancel, status_at
from asyncanalyze.emulator._status_index import IN_PROGRESS, StatusIndex


def make_record(rng: random.Random, number: int, now: float) -> TaskRecord:
    record = TaskRecord(
        task_id=f"t{number}",
        owner=rng.choice(["a", "b"]),
        created_at=now,
        request={},
        video_key=f"v{number}",
        queued_s=rng.choice([0.0, rng.uniform(0, 5)]),
        pending_s=rng.uniform(0, 5),
    )
    if rng.random() < 0.7:
        record.processing_s = rng.choice([0.0, rng.uniform(0, 30)])
        if rng.random() < 0.1:
            record.failure = "broken"
    return record


@pytest.mark.parametrize("seed", range(5))
def test_index_matches_a_brute_force_scan(seed: int) -> None:
    rng = random.Random(seed)
    index = StatusIndex()
    records: list[TaskRecord] = []
    now = 1000.0
    for step in range(600):
        now += rng.choice([0.0, rng.uniform(0, 2)])
        action = rng.random()
        if action < 0.4:
            record = make_record(rng, step, now)
            records.append(record)
            index.add(record)
        elif action < 0.55 and records:
            record = rng.choice(records)
            if record.processing_s is None:
                record.processing_s = rng.uniform(0, 10)
                index.touch(record)
        elif action < 0.62 and records:
            record = rng.choice(records)
            if status_at(record, now) in IN_PROGRESS:
                cancel(record, now)
                index.touch(record)
        elif action < 0.67 and records:
            record = records.pop(rng.randrange(len(records)))
            index.remove(record)
        for owner in ("a", "b"):
            for status in IN_PROGRESS:
                expected = [
                    r.task_id
                    for r in reversed(records)
                    if r.owner == owner and status_at(r, now) == status
                ]
                got = [r.task_id for r in index.newest_first(owner, status, now)]
                assert got == expected, (step, owner, status)


async def test_ten_thousand_tasks_in_progress_list_fast() -> None:
    """The 200 pages of status=processing over 10,000 tasks in progress (next to 10,000 ended
    ones) answer in a few seconds at most, not the minutes of a walk of every task per page."""
    async with (
        Emulator(speed=1.0, fetch_media=False) as emu,
        AnalyzeAsyncClient(api_key="k", base_url=emu.base_url) as client,
    ):
        created = await client.tasks.create(
            video=VideoContext_Url(url="https://videos.example/a.mp4"), prompt="Describe"
        )
        store = emu._store  # type: ignore[attr-defined]
        model = store.tasks[created.task_id]
        now = emu.clock.now()
        for number in range(20_000):
            in_progress = number >= 10_000  # the newer half
            store._index(
                dataclasses.replace(
                    model,
                    task_id=f"t{number}",
                    created_at=now - 10.0,
                    queued_s=0.0,
                    pending_s=0.0,
                    processing_s=10**6 if in_progress else 1.0,
                    task_seconds=None,
                    canceled_at=None,
                    failure=None,
                )
            )
        seen: set[str] = set()
        started = time.perf_counter()
        async with aiohttp.ClientSession(headers={"x-api-key": "k"}) as session:
            for page in range(1, 201):
                url = f"{emu.base_url}/analyze/tasks?status=processing&page={page}&page_limit=50"
                async with session.get(url) as response:
                    body = await response.json()
                seen.update(
                    item["_id"] if "_id" in item else item["task_id"] for item in body["data"]
                )
        took = time.perf_counter() - started
    assert seen == {f"t{number}" for number in range(10_000, 20_000)}
    assert took < 3.0, took
