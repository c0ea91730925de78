"""Emulator time: real time scaled by a speed factor, or a manual clock tests move by hand.

Task status is computed from emulator time whenever a task is read, so the clock is the only
thing that makes tasks progress. The webhook scheduler needs to know how long to sleep in real
time until an emulator instant; ``real_delay`` answers that (``None`` means "never on its own":
only ``ManualClock.advance`` can get there).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

# 2026-01-01T00:00:00Z: a fixed, recognisable start so manual-clock tests print stable timestamps.
DEFAULT_MANUAL_START = 1_767_225_600.0


class Clock(Protocol):
    def now(self) -> float:
        """Emulator time as UTC epoch seconds."""
        ...

    def real_delay(self, until: float) -> float | None:
        """Real seconds until emulator time reaches ``until``; None if it never will by itself."""
        ...

    def on_advance(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever the clock jumps (only manual clocks jump)."""
        ...


class ScaledClock:
    """Wall-clock start plus elapsed real time multiplied by ``speed``."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = time.time() if start is None else start
        self._mono_start = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._mono_start) * self.speed

    def real_delay(self, until: float) -> float | None:
        return max(0.0, (until - self.now()) / self.speed)

    def on_advance(self, callback: Callable[[], None]) -> None:
        # A scaled clock never jumps, so there is nothing to notify.
        return None

    def not_before(self, instant: float) -> None:
        """Jump to ``instant`` if behind it: a restarted fast clock must not run backwards."""
        lag = instant - self.now()
        if lag > 0:
            self._start += lag


class ManualClock:
    """Time stands still until ``advance`` is called: fully deterministic tests."""

    def __init__(self, start: float = DEFAULT_MANUAL_START) -> None:
        self._now = start
        self._listeners: list[Callable[[], None]] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        for listener in list(self._listeners):
            listener()
        return self._now

    def real_delay(self, until: float) -> float | None:
        return 0.0 if until <= self._now else None

    def on_advance(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)
