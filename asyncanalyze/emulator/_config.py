"""The emulator's settings as frozen values; defaults are named constants."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from ._clock import ManualClock

DEFAULT_HOST = "127.0.0.1"
DEFAULT_SPEED = 1.0
DEFAULT_SEED = 0
DEFAULT_WEBHOOK_MAX_ATTEMPTS = 5
DEFAULT_WEBHOOK_RETRY_BASE = 0.5  # real seconds before the 2nd attempt; doubles after that
# The largest create the platform takes is a 30 MiB video: 40 MiB of base64 in the JSON. One
# MiB more leaves room for the prompt and a schema, so an oversize video still meets the
# platform's own 400; anything larger answers 413 before its body is read.
DEFAULT_MAX_BODY_BYTES = 41 * 1024 * 1024
# Request bodies held at once, counted three times over (the raw bytes, the parsed text, the
# decoded video, which stays counted until it is probed): two of the largest creates at a
# time. Others wait their turn with their bodies unread.
DEFAULT_MAX_BODY_MEMORY = 256 * 1024 * 1024
# Loopback videos fetched and probed at once; each may be up to 30 MiB.
DEFAULT_MEDIA_CONCURRENCY = 4
API_PREFIX = "/v1.3"
ADMIN_PREFIX = "/_emulator"

ENDPOINTS = ("list", "create", "retrieve", "delete", "cancel")
ALL_ENDPOINTS = "*"

# The slowest injected round trip, as a multiple of the median latency: a heavy tail, but
# never a request held for ever.
MAX_LATENCY_FACTOR = 10.0

ErrorShape = Literal["nested", "flat"]
# What an injected 429 carries (docs/emulator.md): Retry-After only; Retry-After plus the four
# X-Ratelimit-* headers; the four headers without Retry-After; no header at all.
RateLimitShape = Literal["retry_after", "full", "headers_only", "bare"]
RATE_LIMIT_SHAPES: tuple[RateLimitShape, ...] = ("retry_after", "full", "headers_only", "bare")


@dataclass(frozen=True)
class FaultConfig:
    """Faults for one endpoint. Probabilities are per request, drawn from the seeded generator.

    ``latency`` is added to every request of the endpoint (real seconds), drawn afresh per
    request: its median is ``latency``, and ``latency_jitter`` is the spread of its logarithm
    (0 = the same every time; 0.5 puts p95 at ~2.3x the median; draws are capped at
    ``MAX_LATENCY_FACTOR`` times the median), so a batch sees a network's mix of quick and
    slow round trips. At most one of the other faults fires per request; they are tried in
    the order the fields are declared.
    An injected 429 has the ``rate_limit_shape`` given (see ``RateLimitShape``); its
    ``X-Ratelimit-Reset`` lies ``rate_limit_reset`` emulator seconds ahead. ``empty_body``
    sends every injected error (429, 500, 503) with an empty body.
    """

    reset: float = 0.0  # close the connection without answering
    error_500: float = 0.0
    error_503: float = 0.0
    too_many_requests: float = 0.0  # a 429 with Retry-After, unrelated to the real rate limit
    drop_after_create: float = 0.0  # create only: the task IS created, then the connection drops
    latency: float = 0.0
    latency_jitter: float = 0.0  # sigma of log(latency): a log-normal spread around the median
    retry_after: int = 1  # the Retry-After the injected 429 carries
    rate_limit_shape: RateLimitShape = "retry_after"
    rate_limit_reset: float = 60.0
    empty_body: bool = False

    def __post_init__(self) -> None:
        if self.rate_limit_shape not in RATE_LIMIT_SHAPES:
            raise ValueError(f"rate_limit_shape is one of {', '.join(RATE_LIMIT_SHAPES)}")
        if not isinstance(self.empty_body, bool):
            raise ValueError("empty_body is true or false")
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _NOT_PROBABILITIES:
                continue
            if item.name in {"latency", "latency_jitter", "retry_after", "rate_limit_reset"}:
                if not value >= 0:  # NaN too
                    raise ValueError(f"{item.name} must not be negative")
            elif not 0.0 <= value <= 1.0:
                raise ValueError(f"{item.name} is a probability between 0 and 1")

    @property
    def active(self) -> bool:
        return self != FaultConfig()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> FaultConfig:
        known = {item.name for item in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown fault kind(s): {', '.join(sorted(unknown))}")
        return cls(**{name: value for name, value in raw.items()})

    def to_dict(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


_NOT_PROBABILITIES = frozenset({"rate_limit_shape", "empty_body"})


def normalise_faults(faults: Mapping[str, FaultConfig]) -> dict[str, FaultConfig]:
    """Expand the ``"*"`` key to every endpoint; an explicit endpoint entry wins over ``"*"``."""
    unknown = set(faults) - {*ENDPOINTS, ALL_ENDPOINTS}
    if unknown:
        raise ValueError(f"unknown endpoint(s) for faults: {', '.join(sorted(unknown))}")
    shared = faults.get(ALL_ENDPOINTS)
    expanded: dict[str, FaultConfig] = {}
    for endpoint in ENDPOINTS:
        chosen = faults.get(endpoint, shared)
        if chosen is not None and chosen.active:
            expanded[endpoint] = chosen
    return expanded


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the CLI offers, as keyword arguments of ``Emulator``."""

    host: str = DEFAULT_HOST
    port: int = 0  # 0 = a free port chosen by the OS
    speed: float = DEFAULT_SPEED  # emulator seconds per real second
    clock: ManualClock | None = None  # overrides speed: time moves only by clock.advance()
    api_key: str | None = None  # None = any non-empty x-api-key is accepted
    create_rpm: float | None = None  # create requests per minute per API key; None = unlimited
    # Whether successful creates carry X-Ratelimit-* (the platform documents them on the
    # rate-limited endpoint's responses); 429s always do.
    rate_limit_headers_on_success: bool = True
    error_shape: ErrorShape = "nested"
    db_path: str | None = None  # SQLite file; None = in memory
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_max_attempts: int = DEFAULT_WEBHOOK_MAX_ATTEMPTS
    webhook_retry_base: float = DEFAULT_WEBHOOK_RETRY_BASE
    introspection: bool = False
    faults: Mapping[str, FaultConfig] = field(default_factory=dict)
    seed: int = DEFAULT_SEED
    fetch_media: bool = True  # fetch and probe loopback video URLs (never any other host)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # larger request bodies answer 413
    max_body_memory: int = DEFAULT_MAX_BODY_MEMORY  # body bytes held at once (see above)
    media_concurrency: int = DEFAULT_MEDIA_CONCURRENCY  # video fetches and probes at once

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_body_memory", "media_concurrency"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.error_shape not in ("nested", "flat"):
            raise ValueError("error_shape is 'nested' or 'flat'")
        if self.speed <= 0:
            raise ValueError("speed must be positive")
        if self.create_rpm is not None and self.create_rpm <= 0:
            raise ValueError("create_rpm must be positive (or None for unlimited)")
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("webhook_url needs webhook_secret to sign events")
        if self.webhook_max_attempts < 1:
            raise ValueError("webhook_max_attempts must be at least 1")
        normalise_faults(self.faults)
