"""Scalar values for the schema generator: numbers, strings, timestamps that look real.

Separate from the structural walk in ``_schema_gen``: these choose one leaf value from its own
schema keywords (bounds, multipleOf, format, pattern, lengths) and the property's name
("year", "confidence", "title", ...), and keep the clock that makes timestamps run forward.
"""

from __future__ import annotations

import datetime as _dt
import math
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from ._patterns import pattern_string
from ._schema import bounds, is_int

# Schemas come from API users: a minLength past this cap is met only up to it, so a hostile
# schema (minLength: 10**9) cannot exhaust memory.
_MAX_STRING = 10_000
_EPOCH = _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)

_WORDS = (
    "morning",
    "harbor",
    "market",
    "lesson",
    "garden",
    "review",
    "launch",
    "journey",
    "studio",
    "interview",
    "recipe",
    "match",
    "workshop",
    "festival",
    "demo",
)
_ADJECTIVES = ("quiet", "busy", "short", "bright", "detailed", "friendly", "quick", "clear")
_NAMES = ("Alex Kim", "Maria Lopez", "Sam Okafor", "Priya Shah", "Jonas Berg", "Lea Martin")


class ScalarMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        # Timestamps come off one advancing clock so start_time < end_time within an object
        # and array elements (segments) come out in chronological order.
        self.clock = rng.uniform(0.0, 5.0)

    def integer(self, schema: Mapping[str, Any], name: str | None) -> int:
        low, low_x, high, high_x = bounds(schema)
        lo = None if low is None else (math.floor(low) + 1 if low_x else math.ceil(low))
        hi = None if high is None else (math.ceil(high) - 1 if high_x else math.floor(high))
        if lo is None and hi is None and _is_time_name(name):
            return round(self.next_time())
        default_lo, default_hi = _integer_hint(name)
        if lo is None and hi is None:
            lo, hi = default_lo, default_hi
        elif lo is None:
            assert hi is not None
            lo = hi - (default_hi - default_lo)
        elif hi is None:
            hi = lo + (default_hi - default_lo)
        if lo > hi:
            return lo
        step = schema.get("multipleOf")
        if is_int(step) and step > 0:
            first = -(-lo // step) * step
            if first > hi:
                return first
            return first + step * self.rng.randint(0, (hi - first) // step)
        return self.rng.randint(lo, hi)

    def number(self, schema: Mapping[str, Any], name: str | None) -> float | int:
        low, low_x, high, high_x = bounds(schema)
        step = schema.get("multipleOf")
        if is_int(step) and step > 0:
            return self.integer(schema, name)
        if low is None and high is None and _is_time_name(name):
            return round(self.next_time(), 1)
        span = 1.0 if _is_fraction_name(name) else 100.0
        if low is None and high is None:
            low, high = 0.0, span
        elif low is None:
            assert high is not None
            low = high - span
        elif high is None:
            high = low + span

        def fits(v: float) -> bool:
            above = v > low if low_x else v >= low
            below = v < high if high_x else v <= high
            return above and below

        if isinstance(step, float) and math.isfinite(step) and step > 0:
            found = self.float_multiple(step, low, high, fits)
            if found is not None:
                return found
        value = round(self.rng.uniform(low, high), 2)
        if fits(value):
            return value
        middle = (low + high) / 2
        return middle if fits(middle) else low

    def float_multiple(
        self, step: float, low: float, high: float, fits: Callable[[float], bool]
    ) -> float | None:
        """A multiple of ``step`` in range whose quotient is exact in binary floating point.

        Validators test multipleOf by float division, and 0.3 / 0.1 is not 3.0, so only
        multiples that divide back exactly are offered.
        """
        first, last = math.ceil(low / step), math.floor(high / step)
        if first > last or last - first > 10**9:
            first, last = first, first + 100
        tries = [self.rng.randint(first, last) for _ in range(20)] + [first, last, 0]
        for k in tries:
            value = round(k * step, 12)
            if fits(value) and (value / step).is_integer():
                return value
        return None

    def timestamp(self, fmt: Any) -> float | str:
        seconds = self.next_time()
        if fmt == "hh:mm:ss":
            return _hms(round(seconds))
        if fmt == "hh:mm:ss.fff":
            return _hms_ms(seconds)
        return round(seconds, 1)

    def next_time(self) -> float:
        self.clock += self.rng.uniform(1.0, 30.0)
        return self.clock

    def string(self, schema: Mapping[str, Any], name: str | None) -> str:
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        text: str | None = None
        if isinstance(fmt, str):
            text = self.formatted(fmt)
        if text is None and isinstance(pattern, str):
            text = pattern_string(pattern, self.rng)
        if text is None and _is_time_name(name) and fmt is None:
            # The platform renders reserved start_time/end_time strings as hh:mm:ss.fff.
            text = _hms_ms(self.next_time())
        if text is None:
            text = self.text(name)
        return self.fit_length(text, schema)

    def fit_length(self, text: str, schema: Mapping[str, Any]) -> str:
        min_len, max_len = schema.get("minLength"), schema.get("maxLength")
        if is_int(min_len) and len(text) < min_len:
            target = min(min_len, _MAX_STRING)
            parts = [text] if text else []
            length = len(text)
            while length < target:
                parts.append(self.rng.choice(_WORDS))
                length += len(parts[-1]) + (1 if len(parts) > 1 else 0)
            text = " ".join(parts)
        if is_int(max_len) and len(text) > max_len:
            text = text[: max(max_len, 0)]
            # Avoid a trailing space unless the minimum length needs it.
            stripped = text.rstrip()
            if not isinstance(min_len, int) or len(stripped) >= min_len:
                text = stripped
        return text

    def formatted(self, fmt: str) -> str | None:
        rng = self.rng
        moment = _EPOCH + _dt.timedelta(seconds=rng.randrange(0, 2 * 365 * 24 * 3600))
        word = rng.choice(_WORDS)
        number = rng.randint(1, 999)
        makers = {
            "date-time": lambda: moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "date": lambda: moment.strftime("%Y-%m-%d"),
            "time": lambda: moment.strftime("%H:%M:%SZ"),
            "uri": lambda: f"https://example.com/{word}/{number}",
            "url": lambda: f"https://example.com/{word}/{number}",
            "iri": lambda: f"https://example.com/{word}/{number}",
            "uri-reference": lambda: f"/{word}/{number}",
            "email": lambda: f"{word}{number}@example.com",
            "idn-email": lambda: f"{word}{number}@example.com",
            "uuid": lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "hostname": lambda: f"{word}.example.com",
            "ipv4": lambda: f"192.0.2.{number % 255}",
            "ipv6": lambda: f"2001:db8::{number:x}",
            "duration": lambda: f"PT{number}S",
        }
        maker = makers.get(fmt)
        return maker() if maker is not None else None

    def text(self, name: str | None) -> str:
        rng = self.rng
        hint = (name or "").lower()
        if "name" in hint or hint in {"author", "speaker", "person", "host"}:
            return rng.choice(_NAMES)
        if "title" in hint or "topic" in hint or "heading" in hint:
            return f"The {rng.choice(_ADJECTIVES)} {rng.choice(_WORDS)}".title()
        if any(h in hint for h in ("summary", "description", "caption", "text", "note")):
            return (
                f"A {rng.choice(_ADJECTIVES)} {rng.choice(_WORDS)} "
                f"followed by a {rng.choice(_ADJECTIVES)} {rng.choice(_WORDS)}."
            )
        if hint == "id" or hint.endswith("_id"):
            return f"{rng.getrandbits(96):024x}"
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_WORDS)}"


def _is_time_name(name: str | None) -> bool:
    return name in {"start_time", "end_time"}


def _is_fraction_name(name: str | None) -> bool:
    hint = (name or "").lower()
    return any(h in hint for h in ("confidence", "probability", "score", "ratio"))


def _integer_hint(name: str | None) -> tuple[int, int]:
    hint = (name or "").lower()
    if "year" in hint:
        return 1990, 2025
    if "rating" in hint or "stars" in hint:
        return 1, 5
    return 0, 100


def _hms(whole: int) -> str:
    whole = max(0, whole)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def _hms_ms(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    whole, ms = divmod(millis, 1000)
    return f"{_hms(whole)}.{ms:03d}"
