"""The HTTP surface: routes, the five API handlers and the introspection endpoints.

Handlers stay lean on the hot path: no middleware, status computed arithmetically, and the
retrieve body cached per (task, status) so a poll of an unchanged task is a dict lookup.
Failure machinery (faults, rate limits) costs nothing unless configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from aiohttp import web

from . import _video
from ._clock import Clock, ManualClock
from ._config import ADMIN_PREFIX, API_PREFIX, EmulatorConfig, FaultConfig
from ._create_request import parse_create
from ._faults import FaultInjector
from ._lifecycle import (
    CANCELABLE,
    CANCELED,
    TERMINAL,
    Outcome,
    TaskRecord,
    cancel,
    initial_phases,
    resolve,
    status_at,
    terminal_at,
)
from ._limits import MemoryBudget, Reservation, Slots
from ._list_query import validate_list_query
from ._media_fields import decode_video
from ._output import build_result
from ._ratelimit import CreateRateLimiter, injected_429_headers
from ._stats import Stats
from ._store import IdempotencyEntry, TaskStore
from ._webhooks import WebhookDispatcher
from ._wire import (
    JSON_HEADERS,
    ApiProblem,
    error_body,
    not_cancelable,
    not_found,
    not_modeled,
    rfc3339,
    task_dict,
)

# Decoding or hashing more than this would stall every other request: do it on a thread.
_INLINE_WORK_BYTES = 1 << 20
# What a create holds per body byte: the raw bytes, the parsed text, the decoded video.
_BODY_COPIES = 3
# Real seconds a create may wait for its share of body memory, and then to receive its body:
# long enough for a queue of large uploads, short enough that a stalled sender lets go.
_BODY_WAIT_SECONDS = 60.0
_BODY_READ_SECONDS = 60.0
_BUSY = ApiProblem(503, "internal_error", "The service is temporarily unavailable.")
_BODY_TIMEOUT = ApiProblem(408, "request_timeout", "The request body was not received in time.")
_API_KEY_INVALID = ApiProblem(
    401,
    "api_key_invalid",
    "API Key is either invalid or expired. Please check your API key or generate a new one "
    "from the dashboard and try again.",
)
_DELETE_CONFLICT = ApiProblem(
    409, "task_processing", "Cannot delete task while it is being processed"
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Dropped(Exception):
    """The connection was closed on purpose (an injected fault): nothing is to be sent."""


class EmulatorService:
    def __init__(self, config: EmulatorConfig, clock: Clock, store: TaskStore) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self.stats = Stats()
        self.faults = FaultInjector(config.faults, config.seed)
        self.limiter = (
            CreateRateLimiter(config.create_rpm, clock) if config.create_rpm is not None else None
        )
        self.webhooks = (
            WebhookDispatcher(
                url=config.webhook_url,
                secret=config.webhook_secret or "",
                clock=clock,
                store=store,
                max_attempts=config.webhook_max_attempts,
                retry_base=config.webhook_retry_base,
                on_change=self._forget_body,
            )
            if config.webhook_url
            else None
        )
        self._ids = random.Random(f"task-ids:{config.seed}")
        self._bodies: dict[str, tuple[str, bytes]] = {}
        self._results: dict[str, dict[str, Any]] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self.body_memory = MemoryBudget(config.max_body_memory)
        self.media = Slots(config.media_concurrency)

    # -- lifetime -------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes)
        tasks, one_task = f"{API_PREFIX}/analyze/tasks", f"{API_PREFIX}/analyze/tasks/{{task_id}}"
        app.router.add_get(tasks, self._guard("list", self.list_tasks), allow_head=False)
        app.router.add_post(tasks, self._guard("create", self.create_task))
        app.router.add_get(one_task, self._guard("retrieve", self.retrieve_task), allow_head=False)
        app.router.add_delete(one_task, self._guard("delete", self.delete_task))
        app.router.add_post(f"{one_task}/cancel", self._guard("cancel", self.cancel_task))
        # The platform's batch API (the official SDK's analyze_async.batches) is not modeled.
        app.router.add_route("*", f"{API_PREFIX}/analyze/batches{{tail:.*}}", self.batches)
        if self.config.introspection:
            app.router.add_get(f"{ADMIN_PREFIX}/stats", self.admin_stats)
            app.router.add_get(f"{ADMIN_PREFIX}/faults", self.admin_get_faults)
            app.router.add_post(f"{ADMIN_PREFIX}/faults", self.admin_set_faults)
            app.router.add_post(f"{ADMIN_PREFIX}/reset-stats", self.admin_reset_stats)
            app.router.add_post(f"{ADMIN_PREFIX}/clock/advance", self.admin_advance_clock)
        app.router.add_route("*", "/{tail:.*}", self.unknown_route)
        return app

    async def start(self) -> None:
        for record in self.store.tasks.values():
            if record.processing_s is None and record.canceled_at is None:
                self._resolve_in_background(record, None)
            elif self.webhooks is not None:
                self.webhooks.schedule(record)
        if self.webhooks is not None:
            self._session = aiohttp.ClientSession()
            self.webhooks.start(self._session)

    async def stop(self) -> None:
        if self.webhooks is not None:
            await self.webhooks.stop()
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

    # -- the request pipeline ---------------------------------------------------------------

    def _guard(self, endpoint: str, handler: Handler) -> Handler:
        """Count the request, apply faults, check the key, turn ApiProblem into an answer."""
        shape = self.config.error_shape

        async def guarded(request: web.Request) -> web.StreamResponse:
            # Looked up per request: reset_stats() swaps in a fresh Stats object.
            self.stats.requests[endpoint] += 1
            try:
                fault_config = self.faults.by_endpoint.get(endpoint)
                if fault_config is not None:
                    early = await self._inject(fault_config, request)
                    if early is not None:
                        return early
                return await handler(request)
            except ApiProblem as problem:
                return _error(shape, problem)
            except _Dropped:
                return web.Response(status=500)  # never reaches the client: transport is gone

        return guarded

    async def _inject(self, config: FaultConfig, request: web.Request) -> web.Response | None:
        if config.latency:
            self.faults.record_latency()
            await asyncio.sleep(config.latency)
        kind = self.faults.pick(config)
        if kind is None:
            return None
        if kind == "reset":
            _drop_connection(request)
        if kind == "too_many_requests":
            self.stats.rate_limit_shapes[config.rate_limit_shape] += 1
            headers = {**JSON_HEADERS, **injected_429_headers(config, self.clock.now())}
            message = _rate_limit_message("injected", config.retry_after)
            body = error_body(self.config.error_shape, "too_many_requests", message)
            return _injected(429, b"" if config.empty_body else body, headers)
        status = 503 if kind == "error_503" else 500
        message = (
            "The service is temporarily unavailable."
            if status == 503
            else "An internal error occurred. Please try again later."
        )
        body = error_body(self.config.error_shape, "internal_error", message)
        return _injected(status, b"" if config.empty_body else body, JSON_HEADERS)

    def _owner(self, request: web.Request) -> str:
        key = request.headers.get("x-api-key")
        if not key or (self.config.api_key is not None and key != self.config.api_key):
            raise _API_KEY_INVALID
        return key

    # -- the API ----------------------------------------------------------------------------

    async def create_task(self, request: web.Request) -> web.Response:
        owner = self._owner(request)
        limit = self.config.max_body_bytes
        declared = request.content_length
        if declared is not None and declared > limit:
            raise _too_large(limit)  # refused unread
        # Held until create answers, but the decoded video's share goes with it to its probe.
        expected = limit if declared is None else declared
        held = await self._take_body_memory(_BODY_COPIES * expected)
        try:
            return await self._create(request, owner, held)
        finally:
            held.release()

    async def _take_body_memory(self, size: int) -> Reservation:
        try:
            async with asyncio.timeout(_BODY_WAIT_SECONDS):
                return await self.body_memory.take(size)
        except TimeoutError:
            raise _BUSY from None

    async def _read_body(self, request: web.Request) -> bytes:
        # Not request.read(): it keeps the body on the request object, which aiohttp holds
        # while the connection stays open, so sixteen idle keep-alive clients kept sixteen
        # 40 MiB bodies alive after their creates had answered.
        limit = self.config.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(_BODY_READ_SECONDS):
                while chunk := await request.content.readany():
                    size += len(chunk)
                    if size > limit:  # chunked: no length was declared up front
                        raise _too_large(limit)
                    chunks.append(chunk)
        except TimeoutError:
            raise _BODY_TIMEOUT from None
        return b"".join(chunks)

    async def _create(self, request: web.Request, owner: str, held: Reservation) -> web.Response:
        raw = await self._read_body(request)
        idempotency_key = request.headers.get("Idempotency-Key")
        if len(raw) > _INLINE_WORK_BYTES:
            fingerprint = await asyncio.to_thread(_sha256, raw)
        else:
            fingerprint = _sha256(raw)
        if idempotency_key:
            entry = self.store.idempotency.get((owner, idempotency_key))
            if entry is not None:
                return self._replay(entry, fingerprint)

        headers = JSON_HEADERS
        if self.limiter is not None:
            decision = self.limiter.take(owner)
            if self.config.rate_limit_headers_on_success or not decision.allowed:
                headers = {**JSON_HEADERS, **decision.headers}
            if not decision.allowed:
                self.stats.rate_limited += 1
                message = _rate_limit_message(
                    str(decision.headers["X-Ratelimit-Limit"]), decision.retry_after
                )
                body = error_body(self.config.error_shape, "too_many_requests", message)
                return web.Response(status=429, body=body, headers=headers)

        create = parse_create(raw)
        del raw  # the parsed request holds all that is needed; 40 MiB less while decoding
        data = None
        if create.base64_payload is not None:
            if len(create.base64_payload) > _INLINE_WORK_BYTES:
                data = await asyncio.to_thread(decode_video, create.base64_payload)
            else:
                data = decode_video(create.base64_payload)

        # Everything from the idempotency re-check to indexing the task runs without an await,
        # so two racing creates with one key cannot both make a task.
        if idempotency_key:
            entry = self.store.idempotency.get((owner, idempotency_key))
            if entry is not None:
                return self._replay(entry, fingerprint)
        record, outcome = self._new_record(owner, create.request, create.output_schema, data)
        idempotency = (
            (idempotency_key, IdempotencyEntry(record.task_id, fingerprint))
            if idempotency_key
            else None
        )
        persisted = self.store.add(record, idempotency)
        self.stats.creates += 1
        if outcome is not None:
            resolve(record, outcome)
            if self.webhooks is not None:
                self.webhooks.schedule(record)
        else:
            video_share = held.split(len(data) if data is not None else 0)
            self._resolve_in_background(record, data, video_share)
        await persisted

        fault_config = self.faults.by_endpoint.get("create")
        if fault_config is not None and self.faults.drop_after_create(fault_config):
            _drop_connection(request)
        body = json.dumps({"task_id": record.task_id, "status": "queued"}).encode()
        return web.Response(status=202, body=body, headers=headers)

    def _replay(self, entry: IdempotencyEntry, fingerprint: str) -> web.Response:
        # Same key, same owner: the original answer, whatever the body says this time. The
        # platform documents no conflict answer, so a changed body is only counted.
        self.stats.idempotent_replays += 1
        if entry.fingerprint != fingerprint:
            self.stats.idempotent_mismatches += 1
        body = json.dumps({"task_id": entry.task_id, "status": "queued"}).encode()
        return web.Response(status=202, body=body, headers=JSON_HEADERS)

    def _new_record(
        self,
        owner: str,
        request: dict[str, Any],
        output_schema: dict[str, Any] | None,
        data: bytes | None,
    ) -> tuple[TaskRecord, Outcome | None]:
        task_id = self._new_task_id()
        video = _video.source_of(request)
        markers = _video.markers_for(video)
        key = _video.video_key(video, data)
        url = video.get("url")
        outcome: Outcome | None = None
        if _video.needs_background(video, data, fetch_media=self.config.fetch_media):
            estimated = _video.synthetic_outcome(key, markers, None).duration
        else:
            outcome = _video.synthetic_outcome(key, markers, url)
            estimated = outcome.duration
        queued, pending = initial_phases(
            task_id, task_seconds=markers.task_seconds, estimated_duration=estimated
        )
        record = TaskRecord(
            task_id=task_id,
            owner=owner,
            created_at=self.clock.now(),
            request=request,
            video_key=key,
            queued_s=queued,
            pending_s=pending,
            task_seconds=markers.task_seconds,
            output_schema=output_schema,
            webhook=self.webhooks.new_state() if self.webhooks is not None else None,
        )
        return record, outcome

    def _new_task_id(self) -> str:
        while True:
            task_id = f"{self._ids.getrandbits(96):024x}"
            if task_id not in self.store.tasks and task_id not in self.store.retired:
                return task_id

    def _resolve_in_background(
        self, record: TaskRecord, data: bytes | None, held: Reservation | None = None
    ) -> None:
        task = asyncio.create_task(self._resolve(record, data, held))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _resolve(
        self, record: TaskRecord, data: bytes | None, held: Reservation | None
    ) -> None:
        video = _video.source_of(record.request)
        markers = _video.markers_for(video)
        url = video.get("url")
        try:
            if data is None and url is None:
                # A base64 task interrupted by a restart: its bytes were never stored.
                outcome = _video.synthetic_outcome(record.video_key, markers, None)
            else:
                # A few at a time: each may hold up to 30 MiB of video while it is probed.
                async with self.media.hold():
                    outcome = await _video.probed_outcome(record.video_key, markers, data, url)
        finally:
            data = None  # not kept through the awaits below: the budget no longer counts it
            if held is not None:
                held.release()
        resolve(record, outcome)
        self._forget_body(record)
        if self.webhooks is not None:
            self.webhooks.schedule(record)
        await self.store.save(record)

    async def retrieve_task(self, request: web.Request) -> web.Response:
        owner = self._owner(request)
        task_id = request.match_info["task_id"]
        record = self.store.get(task_id, owner)
        if record is None:
            raise not_found(task_id)
        self.stats.polls[task_id] += 1
        status = status_at(record, self.clock.now())
        cached = self._bodies.get(task_id)
        if cached is not None and cached[0] == status:
            return web.Response(body=cached[1], headers=JSON_HEADERS)
        body = json.dumps(self._task_dict(record, status, shortened=False)).encode()
        self._bodies[task_id] = (status, body)
        return web.Response(body=body, headers=JSON_HEADERS)

    async def list_tasks(self, request: web.Request) -> web.Response:
        owner = self._owner(request)
        query = validate_list_query(request.query)
        now = self.clock.now()
        matches: list[tuple[TaskRecord, str]] = []
        for record in self.store.newest_first(owner):
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
            status = status_at(record, now)
            if query.status is not None and status != query.status:
                continue
            matches.append((record, status))
        start = (query.page - 1) * query.page_limit
        page = matches[start : start + query.page_limit]
        body = {
            "data": [self._task_dict(record, status, shortened=True) for record, status in page],
            "page_info": {
                "limit_per_page": query.page_limit,
                "page": query.page,
                "total_page": math.ceil(len(matches) / query.page_limit),
                "total_results": len(matches),
            },
        }
        return web.Response(body=json.dumps(body).encode(), headers=JSON_HEADERS)

    async def delete_task(self, request: web.Request) -> web.Response:
        owner = self._owner(request)
        task_id = request.match_info["task_id"]
        record = self.store.get(task_id, owner)
        if record is None:
            raise not_found(task_id)
        if status_at(record, self.clock.now()) not in TERMINAL:
            raise _DELETE_CONFLICT
        self._forget_body(record)
        self._results.pop(task_id, None)
        await self.store.delete(record)
        return web.Response(status=204)

    def _requested_task(self, request: web.Request) -> TaskRecord:
        """The task the path names, if the caller's key owns it (404 otherwise)."""
        task_id = request.match_info["task_id"]
        record = self.store.get(task_id, self._owner(request))
        if record is None:
            raise not_found(task_id)
        return record

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
            self._forget_body(record)
            if self.webhooks is not None:
                self.webhooks.schedule(record)
            await self.store.save(record)
        elif status != CANCELED:
            raise not_cancelable(task_id, status)
        # A repeated cancel answers as the first did.
        body = json.dumps({"task_id": record.task_id, "status": CANCELED}).encode()
        return web.Response(body=body, headers=JSON_HEADERS)

    async def batches(self, request: web.Request) -> web.Response:
        self.stats.requests["other"] += 1
        return _error(self.config.error_shape, not_modeled("the analyze batches API"))

    async def unknown_route(self, request: web.Request) -> web.Response:
        self.stats.requests["other"] += 1
        problem = ApiProblem(
            404,
            "resource_not_exist",
            f"The endpoint {request.method} {request.path} does not exist.",
        )
        return _error(self.config.error_shape, problem)

    def _task_dict(self, record: TaskRecord, status: str, *, shortened: bool) -> dict[str, Any]:
        completed = terminal_at(record) if status in TERMINAL else None
        result = None
        if status == "ready":
            result = self._results.get(record.task_id)
            if result is None:
                result = self._results[record.task_id] = build_result(record)
        return task_dict(record, status, completed, result, shortened=shortened)

    def _forget_body(self, record: TaskRecord) -> None:
        self._bodies.pop(record.task_id, None)

    # -- introspection ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        now = self.clock.now()
        by_status = Counter(status_at(record, now) for record in self.store.tasks.values())
        stats = self.stats.snapshot()
        stats["faults"] = dict(self.faults.injected)
        stats["tasks"] = {"total": len(self.store.tasks), "by_status": dict(by_status)}
        stats["limits"] = {
            "body_bytes_held": self.body_memory.held,
            "body_bytes_peak": self.body_memory.peak,
            "bodies_waiting": self.body_memory.waiting,
            "media_in_flight": self.media.in_flight,
            "media_queued": self.media.queued,
            "media_peak": self.media.peak,
        }
        if self.webhooks is not None:
            stats["webhooks"] = {
                "delivered": self.webhooks.delivered,
                "failed_attempts": self.webhooks.failed_attempts,
            }
        stats["clock"] = {
            "now": rfc3339(now),
            "manual": isinstance(self.clock, ManualClock),
            "speed": getattr(self.clock, "speed", None),
        }
        return stats

    def reset_stats(self) -> None:
        self.stats = Stats()
        self.faults.injected.clear()
        self.body_memory.reset_peak()
        self.media.reset_peak()

    def set_faults(self, faults: Mapping[str, FaultConfig]) -> None:
        self.faults.configure(faults)

    async def admin_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.snapshot())

    async def admin_get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(
            {name: config.to_dict() for name, config in self.faults.by_endpoint.items()}
        )

    async def admin_set_faults(self, request: web.Request) -> web.Response:
        try:
            raw = await request.json()
            if not isinstance(raw, dict):
                raise ValueError("expected an object of endpoint -> fault settings")
            self.set_faults({name: FaultConfig.from_dict(value) for name, value in raw.items()})
        except (ValueError, TypeError, AttributeError) as exc:
            return web.json_response(
                {"error": {"code": "parameter_invalid", "message": str(exc)}}, status=400
            )
        return await self.admin_get_faults(request)

    async def admin_reset_stats(self, request: web.Request) -> web.Response:
        self.reset_stats()
        return web.Response(status=204)

    async def admin_advance_clock(self, request: web.Request) -> web.Response:
        if not isinstance(self.clock, ManualClock):
            return web.json_response(
                {"error": {"code": "clock_not_manual", "message": "Only a manual clock advances."}},
                status=409,
            )
        try:
            seconds = float((await request.json())["seconds"])
            self.clock.advance(seconds)
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response(
                {"error": {"code": "parameter_invalid", "message": f"seconds: {exc}"}}, status=400
            )
        return web.json_response({"now": rfc3339(self.clock.now())})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413, "content_too_large", f"The request body exceeds the maximum size of {limit} bytes."
    )


def _error(shape: Any, problem: ApiProblem) -> web.Response:
    return web.Response(status=problem.status, body=problem.body(shape), headers=JSON_HEADERS)


def _injected(status: int, body: bytes, headers: Mapping[str, str]) -> web.Response:
    if not body:
        headers = {name: value for name, value in headers.items() if name != "Content-Type"}
    return web.Response(status=status, body=body, headers=headers)


def _rate_limit_message(limit: str, retry_after: int) -> str:
    return (
        f"You have exceeded the rate limit ({limit}). "
        f"Please try again later after {retry_after} seconds."
    )


def _drop_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise _Dropped
