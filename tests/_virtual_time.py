"""An event loop on virtual time: whenever nothing is ready to run, the clock jumps to the
next timer instead of sleeping. ``asyncio.sleep(60)`` returns at once with ``loop.time()``
60 s later, and everything the loop runs sees one consistent, deterministic timeline.

Only for code that does no real I/O (aioresponses instead of sockets): a jump is taken
whenever the loop would otherwise block, so a real socket would never get its time.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_Select = list[tuple[selectors.SelectorKey, int]]


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> _Select:
        ready: _Select = super().select(0)
        if not ready and timeout is not None and timeout > 0:
            self.now += timeout
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


def run_virtual(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main()`` to completion on a fresh virtual-time loop."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
