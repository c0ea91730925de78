"""The HTTP surface assembled: the emulator's shared state, its routes, and the lifetime of
the background work (webhook delivery, media resolution) around serving.

The handlers live by resource (``_create``, ``_tasks``, ``_admin``) behind one request
``_guard``; this module only wires them together. Handlers stay lean on the hot path: no
middleware, status computed arithmetically, and the retrieve body cached per (task, status).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web

from ._admin import Introspection
from ._clock import Clock
from ._config import ADMIN_PREFIX, API_PREFIX, EmulatorConfig, FaultConfig
from ._create import CreateHandler
from ._faults import FaultInjector
from ._guard import Guard
from ._limits import MemoryBudget, Slots
from ._resolution import Resolver
from ._stats import Stats
from ._store import TaskStore
from ._tasks import TaskHandlers
from ._views import TaskViews
from ._webhooks import WebhookDispatcher


class EmulatorService:
    def __init__(self, config: EmulatorConfig, clock: Clock, store: TaskStore) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        stats = Stats()
        faults = FaultInjector(config.faults, config.seed)
        views = TaskViews()
        self.webhooks = (
            WebhookDispatcher(
                url=config.webhook_url,
                secret=config.webhook_secret or "",
                clock=clock,
                store=store,
                max_attempts=config.webhook_max_attempts,
                retry_base=config.webhook_retry_base,
                on_change=views.forget_body,
            )
            if config.webhook_url
            else None
        )
        body_memory = MemoryBudget(config.max_body_memory)
        media = Slots(config.media_concurrency)
        self.resolver = Resolver(store, media, self.webhooks, on_resolved=views.forget_body)
        self.guard = Guard(config, clock, stats, faults)
        self.create = CreateHandler(
            config=config,
            clock=clock,
            store=store,
            stats=stats,
            faults=faults,
            webhooks=self.webhooks,
            body_memory=body_memory,
            resolver=self.resolver,
        )
        self.tasks = TaskHandlers(config, clock, store, stats, views, self.webhooks)
        self.admin = Introspection(
            clock=clock,
            store=store,
            stats=stats,
            faults=faults,
            body_memory=body_memory,
            media=media,
            webhooks=self.webhooks,
        )
        self._session: aiohttp.ClientSession | None = None

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes)
        guard, tasks, admin = self.guard, self.tasks, self.admin
        many, one = f"{API_PREFIX}/analyze/tasks", f"{API_PREFIX}/analyze/tasks/{{task_id}}"
        app.router.add_get(many, guard.wrap("list", tasks.list_tasks), allow_head=False)
        app.router.add_post(many, guard.wrap("create", self.create.create_task))
        app.router.add_get(one, guard.wrap("retrieve", tasks.retrieve_task), allow_head=False)
        app.router.add_delete(one, guard.wrap("delete", tasks.delete_task))
        app.router.add_post(f"{one}/cancel", guard.wrap("cancel", tasks.cancel_task))
        # The platform's batch API (the official SDK's analyze_async.batches) is not modeled.
        app.router.add_route("*", f"{API_PREFIX}/analyze/batches{{tail:.*}}", guard.batches)
        if self.config.introspection:
            app.router.add_get(f"{ADMIN_PREFIX}/stats", admin.admin_stats)
            app.router.add_get(f"{ADMIN_PREFIX}/faults", admin.admin_get_faults)
            app.router.add_post(f"{ADMIN_PREFIX}/faults", admin.admin_set_faults)
            app.router.add_post(f"{ADMIN_PREFIX}/reset-stats", admin.admin_reset_stats)
            app.router.add_post(f"{ADMIN_PREFIX}/clock/advance", admin.admin_advance_clock)
        app.router.add_route("*", "/{tail:.*}", guard.unknown_route)
        return app

    async def start(self) -> None:
        for record in self.store.tasks.values():
            if record.processing_s is None and record.canceled_at is None:
                self.resolver.start(record, None)
            elif self.webhooks is not None:
                self.webhooks.schedule(record)
        if self.webhooks is not None:
            self._session = aiohttp.ClientSession()
            self.webhooks.start(self._session)

    async def stop(self) -> None:
        if self.webhooks is not None:
            await self.webhooks.stop()
        await self.resolver.stop()
        if self._session is not None:
            await self._session.close()

    # -- what Emulator's Python controls call -----------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return self.admin.snapshot()

    def reset_stats(self) -> None:
        self.admin.reset_stats()

    def set_faults(self, faults: Mapping[str, FaultConfig]) -> None:
        self.admin.set_faults(faults)
