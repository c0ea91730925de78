"""Deterministic generated output: the text a ready task carries in result.data.

INTERFACE CONTRACT (owned by the media/content helper; the server calls exactly these names).
"""

from __future__ import annotations

from typing import Any


def generate_text(prompt: str, *, video_key: str, duration: float, max_tokens: int) -> str:
    """Plain text derived from the prompt and the video, stable for the same inputs."""
    raise NotImplementedError


def generate_json(schema: dict[str, Any], *, seed: str) -> str:
    """A JSON text that validates against `schema` (objects, arrays, enums, required, ...)."""
    raise NotImplementedError


def count_tokens(text: str) -> int:
    """A stable approximation used for usage.input_tokens/output_tokens and max_tokens cuts."""
    raise NotImplementedError
