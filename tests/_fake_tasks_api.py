"""A fake task service for driving a PollScheduler directly on virtual time: tasks with
statuses, newest-first status lists with pages, and levers to make it misbehave (a retrieve
that never answers, a pager that lies)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncanalyze import PageInfo, TasksListResponse
from asyncanalyze._convert import structure
from asyncanalyze._models import AnalyzeTaskResponse
from asyncanalyze.polling import PollScheduler

EPOCH = datetime(2026, 7, 1, tzinfo=UTC)
RESULT = {
    "generation_id": "g",
    "data": "text",
    "finish_reason": "stop",
    "usage": {"output_tokens": 1, "input_tokens": 1},
}


class FakeTasksApi:
    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.created: dict[str, int] = {}
        self.stuck: set[str] = set()  # retrieves of these never answer
        self.retrieves: list[str] = []
        self.lists: list[tuple[str | None, int]] = []
        # Replaces the honest pager when set: (status, page, limit) -> listing.
        self.pager: Callable[[str | None, int, int], TasksListResponse] | None = None
        self.hang_lists = False
        self.latency = 0.01  # seconds each request takes
        self.finish_at: dict[str, float] = {}  # ready from this loop time on
        self._order = 0

    def add(self, task_id: str, status: str = "processing") -> None:
        self._order += 1
        self.status[task_id] = status
        self.created[task_id] = self._order

    def current(self, task_id: str) -> str:
        finish = self.finish_at.get(task_id)
        if finish is not None and asyncio.get_running_loop().time() >= finish:
            self.status[task_id] = "ready"
        return self.status[task_id]

    def task(self, task_id: str, status: str | None = None, *, shortened: bool = False) -> Any:
        status = status or self.current(task_id)
        body: dict[str, Any] = {
            "task_id": task_id,
            "status": status,
            "created_at": (EPOCH + timedelta(seconds=self.created.get(task_id, 0))).isoformat(),
        }
        if status == "ready" and not shortened:
            body["result"] = RESULT
        return structure(body, AnalyzeTaskResponse)

    async def retrieve(self, task_id: str) -> AnalyzeTaskResponse:
        self.retrieves.append(task_id)
        if task_id in self.stuck:
            await asyncio.Event().wait()
        task = self.task(task_id)  # the state when the request arrives
        await asyncio.sleep(self.latency)
        return task  # type: ignore[no-any-return]

    async def list_page(self, status: str | None, page: int, limit: int) -> TasksListResponse:
        self.lists.append((status, page))
        if self.hang_lists:
            await asyncio.Event().wait()
        await asyncio.sleep(self.latency)
        if self.pager is not None:
            return self.pager(status, page, limit)
        matching = sorted(
            (tid for tid in self.status if status is None or self.current(tid) == status),
            key=lambda tid: -self.created[tid],
        )
        chunk = matching[(page - 1) * limit : page * limit]
        return TasksListResponse(
            data=[self.task(tid, shortened=True) for tid in chunk],
            page_info=PageInfo(total_page=-(-len(matching) // limit), total_results=len(matching)),
        )

    def scheduler(self, **options: Any) -> PollScheduler:
        loop = asyncio.get_running_loop()
        return PollScheduler(
            self.retrieve,
            self.list_page,
            sleep=asyncio.sleep,
            clock=loop.time,
            rng=random.Random(0),
            **options,
        )
