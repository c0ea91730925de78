"""Signed webhook events on terminal transitions (a cancel included), retried with backoff.

One background loop holds a heap of (terminal instant, task id). It sleeps until the earliest
instant on the emulator clock (a manual clock wakes it when advanced), then delivers. This is
the only place the emulator runs code "when a task ends"; status itself is computed on read.

Signature: ``TL-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{raw_body}")>``.
``t`` is real wall time, not emulator time, so a receiver's "at most 5 minutes off" check holds
even when the emulator runs a fast or manual clock. Retries of one event reuse its ``id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from ._clock import Clock
from ._lifecycle import TaskRecord, status_at, terminal_at
from ._store import TaskStore
from ._wire import webhook_event

_TIMEOUT = aiohttp.ClientTimeout(total=10)


def sign(secret: str, timestamp: int, raw_body: str) -> str:
    digest = hmac.new(
        secret.encode(), f"{timestamp}.{raw_body}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_id(task_id: str, status: str) -> str:
    return "whe_" + hashlib.sha256(f"{task_id}:{status}".encode()).hexdigest()[:32]


class WebhookDispatcher:
    def __init__(
        self,
        *,
        url: str,
        secret: str,
        clock: Clock,
        store: TaskStore,
        max_attempts: int,
        retry_base: float,
        on_change: Callable[[TaskRecord], None],
    ) -> None:
        self.url = url
        self._secret = secret
        self._clock = clock
        self._store = store
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._on_change = on_change
        self._heap: list[tuple[float, str]] = []
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        # A canceled task is due twice (its cancel, and its original end): one delivery at a time.
        self._delivering: set[str] = set()
        self._session: aiohttp.ClientSession | None = None
        self.delivered = 0
        self.failed_attempts = 0
        clock.on_advance(self._wake.set)

    def new_state(self) -> dict[str, object]:
        return {"url": self.url, "delivered": False, "attempts": 0}

    def start(self, session: aiohttp.ClientSession) -> None:
        self._session = session
        self._loop_task = asyncio.create_task(self._run(), name="emulator-webhooks")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._deliveries) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def schedule(self, record: TaskRecord) -> None:
        end = terminal_at(record)
        state = record.webhook
        if end is None or state is None or state["delivered"]:
            return
        if state["attempts"] >= self._max_attempts:
            return
        heapq.heappush(self._heap, (end, record.task_id))
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            if self._heap:
                due, task_id = self._heap[0]
                delay = self._clock.real_delay(due)
                if delay == 0:
                    heapq.heappop(self._heap)
                    self._spawn(task_id)
                    continue
            else:
                delay = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _spawn(self, task_id: str) -> None:
        task = asyncio.create_task(self._deliver(task_id))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, task_id: str) -> None:
        record = self._store.tasks.get(task_id)
        if record is None or record.webhook is None or record.webhook["delivered"]:
            return
        if task_id in self._delivering:
            return
        self._delivering.add(task_id)
        try:
            await self._attempts(record, record.webhook)
        finally:
            self._delivering.discard(task_id)

    async def _attempts(self, record: TaskRecord, state: dict[str, Any]) -> None:
        assert self._session is not None
        task_id = record.task_id
        status = status_at(record, self._clock.now())
        raw = json.dumps(
            webhook_event(event_id(task_id, status), record, status, self._clock.now()),
            separators=(",", ":"),
        )
        while state["attempts"] < self._max_attempts:
            if state["attempts"]:
                await asyncio.sleep(self._retry_base * 2 ** (state["attempts"] - 1))
            state["attempts"] += 1
            headers = {
                "Content-Type": "application/json",
                "TL-Signature": sign(self._secret, int(time.time()), raw),
            }
            try:
                async with self._session.post(
                    self.url, data=raw.encode(), headers=headers, timeout=_TIMEOUT
                ) as response:
                    ok = 200 <= response.status < 300
                    error = None if ok else f"HTTP {response.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            if ok:
                state["delivered"] = True
                state.pop("last_error", None)
                self.delivered += 1
            else:
                state["last_error"] = error
                self.failed_attempts += 1
            self._on_change(record)
            await self._store.save(record)
            if ok:
                return
