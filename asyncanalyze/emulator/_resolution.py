"""Tasks whose video facts need real media: fetched and probed in the background, a few at a
time, then resolved, saved and announced.

Separate from the create handler: a restart resumes this work too (tasks restored without
facts), and its background tasks live as long as the server, not a request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from . import _video
from ._lifecycle import TaskRecord, resolve
from ._limits import Reservation, Slots
from ._store import TaskStore
from ._webhooks import WebhookDispatcher


@dataclass(eq=False)
class Resolver:
    store: TaskStore
    media: Slots
    webhooks: WebhookDispatcher | None
    on_resolved: Callable[[TaskRecord], None]  # the task changed: cached views are stale
    _background: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    def start(
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
        self.on_resolved(record)
        if self.webhooks is not None:
            self.webhooks.schedule(record)
        await self.store.save(record)

    async def stop(self) -> None:
        for task in list(self._background):
            task.cancel()
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError):
                await task
