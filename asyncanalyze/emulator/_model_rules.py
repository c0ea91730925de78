"""The models and analysis modes, and what each allows: max_tokens ranges, defaults, features.

One home for "which model may do what", which several fields read (the mode, ``prompt_v2``,
the analysis window, images, ``time_array`` fields, unlimited ``max_tokens``). ``pegasus1.2``
(spec/API.md's model, and the default here: its limits are API.md's, max_tokens 1-4,096) and
the platform's ``pegasus1.5`` and ``pegasus1.6`` with the platform's rules:
time_based_metadata, ``prompt_v2`` and the analysis window need one of those two; ``image``,
``max_tokens: "unlimited"`` and ``time_array`` fields need pegasus1.6.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._schema import is_int
from ._wire import invalid

DEFAULT_MODEL = "pegasus1.2"
MODELS = (DEFAULT_MODEL, "pegasus1.5", "pegasus1.6")
NEWER_MODELS = ("pegasus1.5", "pegasus1.6")
LATEST_MODEL = "pegasus1.6"
ANALYSIS_MODES = ("general", "time_based_metadata")
SEGMENTS = "time_based_metadata"
# (lowest, highest) max_tokens per model and mode; a missing pair is a mode the model lacks.
MAX_TOKENS_RANGE = {
    ("pegasus1.2", "general"): (1, 4096),
    ("pegasus1.5", "general"): (512, 98304),
    ("pegasus1.5", SEGMENTS): (2048, 98304),
    ("pegasus1.6", "general"): (512, 98304),
    ("pegasus1.6", SEGMENTS): (2048, 98304),
}
UNLIMITED = "unlimited"
# What "unlimited" generates at most: far beyond any synthetic result.
UNLIMITED_TOKENS = 1_000_000
DEFAULT_MAX_TOKENS = 4096
DEFAULT_SEGMENT_MAX_TOKENS = 32768
# How the refusals name the newer models.
NEWER = " or ".join(NEWER_MODELS)


def model_and_mode(body: Mapping[str, Any]) -> tuple[str, str]:
    """The body's model and analysis mode, checked alone and together."""
    model = body.get("model_name", DEFAULT_MODEL)
    if model not in MODELS:
        raise invalid("model_name")
    mode = body.get("analysis_mode", "general")
    if mode not in ANALYSIS_MODES:
        raise invalid("analysis_mode")
    if mode == SEGMENTS and model not in NEWER_MODELS:
        raise invalid(
            "analysis_mode", f"The analysis_mode time_based_metadata requires model_name {NEWER}."
        )
    return model, mode


def checked_max_tokens(value: Any, model: str, mode: str, time_ranges: bool) -> int | str:
    if value == UNLIMITED:
        if mode != SEGMENTS or model != LATEST_MODEL:
            raise invalid(
                "max_tokens",
                "max_tokens unlimited requires analysis_mode time_based_metadata and "
                f"model_name {LATEST_MODEL}.",
            )
        if time_ranges:
            raise invalid(
                "max_tokens", "max_tokens unlimited and time_ranges are mutually exclusive."
            )
        return UNLIMITED
    low, high = MAX_TOKENS_RANGE[(model, mode)]
    if not is_int(value) or not low <= value <= high:
        raise invalid("max_tokens", f"The max_tokens parameter must be between {low} and {high}.")
    return int(value)
