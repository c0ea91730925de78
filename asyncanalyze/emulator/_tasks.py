"""The endpoints on existing tasks: retrieve, list, delete and cancel, for the caller's key.

Separate from create (no body, no idempotency, no background work) and from the rendering
and its caches (``_views``), which these handlers only read or invalidate.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from aiohttp import web

from ._clock import Clock
from ._config import EmulatorConfig
from ._guard import owner_of
from ._lifecycle import CANCELABLE, CANCELED, TERMINAL, TaskRecord, cancel, status_at
from ._list_query import ListQuery, validate_list_query
from ._stats import Stats
from ._status_index import IN_PROGRESS
from ._store import TaskStore
from ._views import TaskViews
from ._webhooks import WebhookDispatcher
from ._wire import JSON_HEADERS, ApiProblem, not_cancelable, not_found

_DELETE_CONFLICT = ApiProblem(
    409, "task_processing", "Cannot delete task while it is being processed"
)


@dataclass(eq=False)
class TaskHandlers:
    config: EmulatorConfig
    clock: Clock
    store: TaskStore
    stats: Stats
    views: TaskViews
    webhooks: WebhookDispatcher | None

    async def retrieve_task(self, request: web.Request) -> web.Response:
        record = self._requested_task(request)
        self.stats.polls[record.task_id] += 1
        status = status_at(record, self.clock.now())
        return web.Response(body=self.views.retrieve_body(record, status), headers=JSON_HEADERS)

    async def list_tasks(self, request: web.Request) -> web.Response:
        owner = owner_of(request, self.config.api_key)
        query = validate_list_query(request.query)
        now = self.clock.now()
        start = (query.page - 1) * query.page_limit
        matches: list[tuple[TaskRecord, str]] = []
        in_status: str | None = None
        if query.status in IN_PROGRESS and not _filters_beyond_status(query):
            # What a sweep asks: one page straight from the index, whatever the key's history.
            records, total = self.store.in_progress.page(
                owner, query.status, now, start, query.page_limit
            )
            return self._list_answer(query, [(r, query.status) for r in records], total)
        if query.status in IN_PROGRESS:
            candidates = self.store.in_progress.newest_first(owner, query.status, now)
            in_status = query.status
        else:
            candidates = self.store.newest_first(owner)
        for record in candidates:
            video = record.request.get("video", {})
            if query.video_url is not None and video.get("url") != query.video_url:
                continue
            if query.asset_id is not None and video.get("asset_id") != query.asset_id:
                continue
            if query.video_id is not None:
                continue  # no task here was made from a pre-indexed video id
            mode = record.request.get("analysis_mode", "general")
            if query.analysis_mode is not None and mode != query.analysis_mode:
                continue
            status = in_status or status_at(record, now)
            if query.status is not None and status != query.status:
                continue
            matches.append((record, status))
        return self._list_answer(query, matches[start : start + query.page_limit], len(matches))

    def _list_answer(
        self, query: ListQuery, page: list[tuple[TaskRecord, str]], total: int
    ) -> web.Response:
        body = {
            "data": [
                self.views.task_dict(record, status, shortened=True) for record, status in page
            ],
            "page_info": {
                "limit_per_page": query.page_limit,
                "page": query.page,
                "total_page": math.ceil(total / query.page_limit),
                "total_results": total,
            },
        }
        return web.Response(body=json.dumps(body).encode(), headers=JSON_HEADERS)

    async def delete_task(self, request: web.Request) -> web.Response:
        record = self._requested_task(request)
        if status_at(record, self.clock.now()) not in TERMINAL:
            raise _DELETE_CONFLICT
        self.views.forget(record.task_id)
        await self.store.delete(record)
        return web.Response(status=204)

    async def cancel_task(self, request: web.Request) -> web.Response:
        record = self._requested_task(request)
        task_id = record.task_id
        now = self.clock.now()
        status = status_at(record, now)
        if status in CANCELABLE:
            # No await between the status check and the change: two racing cancels, or a
            # cancel racing a delete, see one consistent state.
            cancel(record, now)
            self.stats.cancels += 1
            self.views.forget_body(record)
            if self.webhooks is not None:
                self.webhooks.schedule(record)
            await self.store.save(record)
        elif status != CANCELED:
            raise not_cancelable(task_id, status)
        # A repeated cancel answers as the first did.
        body = json.dumps({"task_id": record.task_id, "status": CANCELED}).encode()
        return web.Response(body=body, headers=JSON_HEADERS)

    def _requested_task(self, request: web.Request) -> TaskRecord:
        """The task the path names, if the caller's key owns it (404 otherwise)."""
        task_id = request.match_info["task_id"]
        record = self.store.get(task_id, owner_of(request, self.config.api_key))
        if record is None:
            raise not_found(task_id)
        return record


def _filters_beyond_status(query: ListQuery) -> bool:
    return any(
        value is not None
        for value in (query.video_url, query.asset_id, query.video_id, query.analysis_mode)
    )
