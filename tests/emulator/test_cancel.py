"""The cancel endpoint and the ``canceled`` state: answers, lifecycle, list, delete, webhook,
persistence and counters. Every JSON answer is checked against the platform's schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asyncanalyze.emulator import Emulator, FaultConfig, ManualClock
from asyncanalyze.emulator._wire import rfc3339

from .conftest import Api, body_for, error_code

FAILING_VIDEO = {"type": "url", "url": "https://cdn.invalid/a.mp4"}


async def test_cancel_a_queued_task(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """200 {task_id, status: canceled}; retrieve then shows it canceled for good, with its
    cancel instant as completed_at, the user_canceled reason and no result."""
    task_id = await checked_api.create_id()
    manual_clock.advance(0.5)
    canceled_at = rfc3339(manual_clock.now())
    answer = await checked_api.cancel(task_id)
    assert answer.status == 200
    assert answer.body == {"task_id": task_id, "status": "canceled"}
    task = (await checked_api.retrieve(task_id)).body
    assert task["status"] == "canceled"
    assert task["completed_at"] == canceled_at
    assert task["error"] == {
        "code": "user_canceled",
        "message": "The task was canceled by the user.",
    }
    assert "result" not in task
    manual_clock.advance(3600)  # long past the moment it would have been ready
    later = (await checked_api.retrieve(task_id)).body
    assert later["status"] == "canceled" and later["completed_at"] == task["completed_at"]


@pytest.mark.parametrize("elapsed", [2.5, 6.0, 20.0])
async def test_cancel_works_in_every_running_status(
    checked_api: Api, manual_clock: ManualClock, elapsed: float
) -> None:
    """queued, pending and processing tasks can all be canceled (the task takes 40 s)."""
    url = "https://example.com/v.mp4?emulator_task_seconds=40"
    task_id = await checked_api.create_id(body_for(video={"type": "url", "url": url}))
    manual_clock.advance(elapsed)
    assert (await checked_api.retrieve(task_id)).body["status"] in {
        "queued",
        "pending",
        "processing",
    }
    assert (await checked_api.cancel(task_id)).status == 200
    assert (await checked_api.retrieve(task_id)).body["status"] == "canceled"


async def test_a_repeated_cancel_answers_the_same(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """Cancel is idempotent: the same 200 answer, the reason and instant unchanged, counted once."""
    task_id = await checked_api.create_id()
    first = await checked_api.cancel(task_id)
    before = (await checked_api.retrieve(task_id)).body
    manual_clock.advance(10)
    second = await checked_api.cancel(task_id)
    assert (second.status, second.body) == (first.status, first.body)
    assert (await checked_api.retrieve(task_id)).body == before
    stats = manual_emulator.stats()
    assert stats["cancels"] == 1 and stats["requests"]["cancel"] == 2
    assert stats["tasks"]["by_status"] == {"canceled": 1}


async def test_a_finished_task_cannot_be_canceled(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """ready and failed tasks answer 409 (the platform's state-conflict status) and stay as
    they were."""
    ready = await checked_api.create_id()
    failed = await checked_api.create_id({"video": FAILING_VIDEO, "prompt": "p"})
    manual_clock.advance(3600)
    for task_id, status in ((ready, "ready"), (failed, "failed")):
        answer = await checked_api.cancel(task_id)
        assert answer.status == 409 and error_code(answer) == "task_not_cancelable"
        assert status in answer.body["error"]["message"]
        assert (await checked_api.retrieve(task_id)).body["status"] == status


async def test_cancel_of_an_unknown_task_is_404(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """Unknown ids, another key's task and a deleted task are all 404 resource_not_exist."""
    unknown = await checked_api.cancel("0" * 24)
    assert unknown.status == 404 and error_code(unknown) == "resource_not_exist"
    task_id = await checked_api.create_id()
    assert (await checked_api.cancel(task_id, api_key="someone-else")).status == 404
    manual_clock.advance(3600)
    assert (await checked_api.delete(task_id)).status == 204
    assert (await checked_api.cancel(task_id)).status == 404


async def test_cancel_needs_the_api_key(checked_api: Api) -> None:
    task_id = await checked_api.create_id()
    answer = await checked_api.cancel(task_id, api_key=None)
    assert answer.status == 401 and error_code(answer) == "api_key_invalid"


async def test_canceled_tasks_are_listed_filtered_and_deletable(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """status=canceled lists exactly the canceled tasks (validated as list items), the other
    statuses no longer do, and a canceled task may be deleted at once."""
    keep = await checked_api.create_id()
    stop = await checked_api.create_id()
    await checked_api.cancel(stop)

    async def ids(**params: Any) -> list[str]:
        answer = await checked_api.list(params)
        assert answer.status == 200
        return [item["task_id"] for item in answer.body["data"]]

    assert await ids(status="canceled") == [stop]
    assert await ids(status="queued") == [keep]
    listed = (await checked_api.list({"status": "canceled"})).body["data"][0]
    assert listed["error"]["code"] == "user_canceled" and "completed_at" in listed
    assert (await checked_api.delete(stop)).status == 204
    assert (await checked_api.delete(keep)).status == 409  # still queued
    assert await ids(status="canceled") == []


async def test_cancel_faults_can_be_injected(checked_api: Api, manual_emulator: Emulator) -> None:
    """``cancel`` is an endpoint of its own for faults (and stats)."""
    task_id = await checked_api.create_id()
    manual_emulator.set_faults(cancel=FaultConfig(error_503=1.0))
    assert (await checked_api.cancel(task_id)).status == 503
    manual_emulator.set_faults()
    assert (await checked_api.cancel(task_id)).status == 200


async def test_cancel_survives_a_restart(
    http_session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """With db_path the canceled state, its instant and reason come back after a restart."""
    db = str(tmp_path / "tasks.sqlite")
    clock = ManualClock()
    async with Emulator(clock=clock, db_path=db) as first:
        api = Api(http_session, first, "k")
        task_id = await api.create_id()
        clock.advance(1)
        await api.cancel(task_id)
        before = (await api.retrieve(task_id)).body
    clock = ManualClock()
    async with Emulator(clock=clock, db_path=db) as second:
        api = Api(http_session, second, "k")
        clock.advance(3600)
        assert (await api.retrieve(task_id)).body == before
        assert second.stats()["tasks"]["by_status"] == {"canceled": 1}
