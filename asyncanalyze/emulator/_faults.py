"""Seeded fault injection: the same seed and request sequence give the same faults."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping

from ._config import MAX_LATENCY_FACTOR, FaultConfig, normalise_faults

# The order faults are tried in; at most one fires per request.
_KINDS = ("reset", "error_500", "error_503", "too_many_requests")


class FaultInjector:
    def __init__(self, faults: Mapping[str, FaultConfig], seed: int) -> None:
        self._random = random.Random(seed)
        # Its own generator: switching latency on does not change which requests fail.
        self._latency_random = random.Random(seed + 1)
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

    def latency(self, config: FaultConfig) -> float:
        """This request's added latency (real seconds): log-normal around ``config.latency``."""
        if not config.latency:
            return 0.0
        self.injected["latency"] += 1
        if not config.latency_jitter:
            return config.latency
        factor = math.exp(self._latency_random.gauss(0.0, config.latency_jitter))
        return config.latency * min(factor, MAX_LATENCY_FACTOR)
