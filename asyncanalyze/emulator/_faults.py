"""Seeded fault injection: the same seed and request sequence give the same faults."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping

from ._config import FaultConfig, normalise_faults

# The order faults are tried in; at most one fires per request.
_KINDS = ("reset", "error_500", "error_503", "too_many_requests")


class FaultInjector:
    def __init__(self, faults: Mapping[str, FaultConfig], seed: int) -> None:
        self._random = random.Random(seed)
        self.by_endpoint: dict[str, FaultConfig] = normalise_faults(faults)
        self.injected: Counter[str] = Counter()

    def configure(self, faults: Mapping[str, FaultConfig]) -> None:
        """Replace every endpoint's faults (an empty mapping switches them all off)."""
        self.by_endpoint = normalise_faults(faults)

    def pick(self, config: FaultConfig) -> str | None:
        """The fault to inject before answering, if any (latency is applied separately)."""
        for kind in _KINDS:
            probability: float = getattr(config, kind)
            if probability and self._random.random() < probability:
                self.injected[kind] += 1
                return kind
        return None

    def drop_after_create(self, config: FaultConfig) -> bool:
        fire = bool(config.drop_after_create) and self._random.random() < config.drop_after_create
        if fire:
            self.injected["drop_after_create"] += 1
        return fire

    def record_latency(self) -> None:
        self.injected["latency"] += 1
