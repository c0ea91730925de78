"""Deterministic randomness: seeds and unit-interval draws derived from the inputs they describe.

Everything the emulator makes up (generated text and JSON, synthetic video facts, phase
lengths) draws from here, so that one rule holds everywhere: values come from a SHA-256 digest
of the inputs, never from ``hash()`` (salted per process), and two emulator processes give
byte-identical results for the same request.
"""

from __future__ import annotations

import hashlib


def seed(*parts: str) -> int:
    """A ``random.Random`` seed for ``parts``, joined with a separator text rarely holds."""
    joined = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(joined).digest()[:16], "big")


def unit_floats(key: str, count: int) -> list[float]:
    """``count`` (at most 4) floats in [0, 1), fixed for ``key``."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return [int.from_bytes(digest[i * 8 : i * 8 + 8], "big") / 2**64 for i in range(count)]
