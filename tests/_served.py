"""An emulator serving from its own event loop in a background thread.

Tests use it when the code under test runs its own loops (``asyncio.run`` in an example, the
CLI's ``main``) or when the test's loop must hold nothing but the client.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from asyncanalyze.emulator import Emulator


class ThreadedEmulator:
    def __init__(self, **options: Any) -> None:
        self._background: list[asyncio.Task[Any]] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.emulator = Emulator(**options)
        self.call(self.emulator.start())

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the emulator's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def stats(self) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            return self.emulator.stats()

        return self.call(read())  # type: ignore[no-any-return]

    def start_background(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        """Run ``make()`` on the emulator's loop until ``close()``."""

        async def start() -> None:
            self._background.append(asyncio.create_task(make()))

        self.call(start())

    def close(self) -> None:
        async def stop_background() -> None:
            for task in self._background:
                task.cancel()

        self.call(stop_background())
        self.call(self.emulator.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()
