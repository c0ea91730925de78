"""``Emulator``: the server's lifetime (bind, serve, stop) and its Python-side controls."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from aiohttp import web

from ._app import EmulatorService
from ._clock import Clock, ManualClock, ScaledClock
from ._config import ADMIN_PREFIX, API_PREFIX, EmulatorConfig, FaultConfig
from ._lifecycle import TaskRecord
from ._store import TaskStore


class Emulator:
    """A local Analyze async tasks API on 127.0.0.1 (a free port unless ``port`` is given).

    ``Emulator(speed=100, create_rpm=60, ...)`` takes every ``EmulatorConfig`` field as a
    keyword, or a whole ``config=``. Use it as ``async with Emulator() as emu:`` or call
    ``await emu.start()`` / ``await emu.stop()``. ``emu.base_url`` is what a client points at.
    """

    def __init__(self, config: EmulatorConfig | None = None, **options: Any) -> None:
        base = config or EmulatorConfig()
        self.config = dataclasses.replace(base, **options) if options else base
        self.clock: Clock = self.config.clock or ScaledClock(self.config.speed)
        self._store = TaskStore(self.config.db_path)
        self._service = EmulatorService(self.config, self.clock, self._store)
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the emulator is not running: call start() first")
        return f"http://{self.config.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + API_PREFIX

    @property
    def admin_url(self) -> str:
        return self.url + ADMIN_PREFIX

    async def start(self) -> Emulator:
        if self._runner is not None:
            return self
        await self._store.open()
        if isinstance(self.clock, ScaledClock) and self._store.tasks:
            # Tasks from an earlier run may be stamped ahead of the wall clock (a fast clock).
            self.clock.not_before(max(task.created_at for task in self._store.tasks.values()))
        runner = web.AppRunner(self._service.build_app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.config.host, self.config.port)
            await site.start()
            await self._service.start()
        except BaseException:
            await runner.cleanup()
            await self._store.close()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await self._service.stop()
        await runner.cleanup()
        await self._store.close()

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- controls for tests ---------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Requests per endpoint, polls per task, creates, replays, faults, 429s, task statuses."""
        return self._service.snapshot()

    def reset_stats(self) -> None:
        self._service.reset_stats()

    def set_faults(
        self, faults: Mapping[str, FaultConfig] | None = None, **per_endpoint: FaultConfig
    ) -> None:
        """Replace the faults: ``set_faults(create=FaultConfig(error_503=0.5))``; none = off.

        Keys are ``list``, ``create``, ``retrieve``, ``delete`` or ``"*"`` (every endpoint).
        """
        self._service.set_faults({**(faults or {}), **per_endpoint})

    def advance(self, seconds: float) -> float:
        """Move a manual clock forward; returns the new emulator time."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs Emulator(clock=ManualClock())")
        return self.clock.advance(seconds)

    def task(self, task_id: str) -> TaskRecord | None:
        """The stored task, whichever key owns it (tests use it to read schedules)."""
        return self._store.tasks.get(task_id)
