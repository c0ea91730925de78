"""The create endpoint: a body taken in, replayed or rate-limited, checked, and made a task.

Separate from the other task handlers: only create takes a body, keys idempotency, spends
rate-limit tokens and starts background work; the rest read or change a task that exists.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import _video
from ._clock import Clock
from ._config import EmulatorConfig
from ._create_request import parse_create
from ._faults import FaultInjector
from ._guard import drop_connection, owner_of
from ._intake import read_body, reserve_body
from ._lifecycle import Outcome, TaskRecord, initial_phases, resolve
from ._limits import MemoryBudget, Reservation
from ._media_fields import decode_video
from ._ratelimit import CreateRateLimiter, rate_limit_message
from ._resolution import Resolver
from ._stats import Stats
from ._store import IdempotencyEntry, TaskStore
from ._webhooks import WebhookDispatcher
from ._wire import JSON_HEADERS, error_body

# Decoding or hashing more than this would stall every other request: do it on a thread.
_INLINE_WORK_BYTES = 1 << 20


@dataclass(eq=False)
class CreateHandler:
    config: EmulatorConfig
    clock: Clock
    store: TaskStore
    stats: Stats
    faults: FaultInjector
    webhooks: WebhookDispatcher | None
    body_memory: MemoryBudget
    resolver: Resolver
    limiter: CreateRateLimiter | None = field(init=False)
    _ids: random.Random = field(init=False)

    def __post_init__(self) -> None:
        rpm = self.config.create_rpm
        self.limiter = CreateRateLimiter(rpm, self.clock) if rpm is not None else None
        self._ids = random.Random(f"task-ids:{self.config.seed}")

    async def create_task(self, request: web.Request) -> web.Response:
        owner = owner_of(request, self.config.api_key)
        held = await reserve_body(request, self.config.max_body_bytes, self.body_memory)
        try:
            return await self._create(request, owner, held)
        finally:
            held.release()

    async def _create(self, request: web.Request, owner: str, held: Reservation) -> web.Response:
        raw = await read_body(request, self.config.max_body_bytes)
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
                message = rate_limit_message(
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
            self.resolver.start(record, data, video_share)
        await persisted

        fault_config = self.faults.by_endpoint.get("create")
        if fault_config is not None and self.faults.drop_after_create(fault_config):
            drop_connection(request)
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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
