"""Counters tests and benchmarks read: requests per endpoint and per task, replays, faults."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)  # by endpoint name
    polls: Counter[str] = field(default_factory=Counter)  # retrieves by task id
    creates: int = 0  # tasks actually created
    idempotent_replays: int = 0  # creates answered with an existing task
    idempotent_mismatches: int = 0  # replays whose body differed from the original request
    rate_limited: int = 0  # 429s from the create rate limit (injected 429s count as faults)
    cancels: int = 0  # tasks actually canceled (a repeated cancel is not counted again)
    rate_limit_shapes: Counter[str] = field(default_factory=Counter)  # injected 429s by shape

    def reset(self) -> None:
        """Every counter back to zero, in place: whoever holds this object sees the reset."""
        fresh = Stats()
        for item in fields(self):
            setattr(self, item.name, getattr(fresh, item.name))

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "polls": dict(self.polls),
            "creates": self.creates,
            "idempotent_replays": self.idempotent_replays,
            "idempotent_mismatches": self.idempotent_mismatches,
            "rate_limited": self.rate_limited,
            "cancels": self.cancels,
            "rate_limit_shapes": dict(self.rate_limit_shapes),
        }
