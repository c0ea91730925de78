"""Introspection: the counters and limits a test or benchmark reads, and the controls
(faults, the manual clock) served under ``/_emulator`` and called from ``Emulator``.

Separate from the API handlers: none of this is the platform's API, and nothing on the hot
path depends on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ._clock import Clock, ManualClock
from ._config import FaultConfig
from ._faults import FaultInjector
from ._lifecycle import status_at
from ._limits import MemoryBudget, Slots
from ._stats import Stats
from ._store import TaskStore
from ._webhooks import WebhookDispatcher
from ._wire import rfc3339


@dataclass(eq=False)
class Introspection:
    clock: Clock
    store: TaskStore
    stats: Stats
    faults: FaultInjector
    body_memory: MemoryBudget
    media: Slots
    webhooks: WebhookDispatcher | None

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
        self.stats.reset()
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
