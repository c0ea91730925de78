"""The public surface: every name in PUBLIC_API.md is importable and listed in __all__."""

from __future__ import annotations

import re
from pathlib import Path

import asyncanalyze

SPEC = Path(__file__).resolve().parents[1] / "spec" / "PUBLIC_API.md"


# CamelCase words in the spec that are not ours to export (builtins, aiohttp's types).
NOT_EXPORTS = {"TimeoutError", "ValueError", "ClientSession"}


def spec_names() -> set[str]:
    """Every CamelCase identifier the spec mentions, plus the OMIT sentinel."""
    text = SPEC.read_text()
    camel = re.findall(r"(?<![.\w])([A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+(?:_[A-Za-z0-9]+)?)", text)
    acronyms = re.findall(r"\b(API[A-Z][A-Za-z]+)\b", text)
    return (set(camel) - NOT_EXPORTS) | set(acronyms) | {"OMIT"}


def test_every_spec_name_is_exported() -> None:
    """Each name PUBLIC_API.md promises is importable from asyncanalyze and in __all__."""
    missing = sorted(n for n in spec_names() if n not in asyncanalyze.__all__)
    assert not missing, f"missing from __all__: {missing}"
    for name in spec_names():
        assert hasattr(asyncanalyze, name), name


def test_all_is_sorted_and_resolvable() -> None:
    """__all__ is sorted (ruff's order) and every entry exists."""
    names = list(asyncanalyze.__all__)
    # ruff's RUF022: SCREAMING_CASE, then CamelCase, then the rest (dunders before functions).
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[:1].isupper(), n))
    for name in asyncanalyze.__all__:
        assert hasattr(asyncanalyze, name), name


def test_error_tree_matches_the_spec() -> None:
    """Errors subclass as drawn in PUBLIC_API.md (and the stdlib bases it names)."""
    a = asyncanalyze
    assert issubclass(a.InvalidRequestError, a.AnalyzeError)
    assert issubclass(a.InvalidRequestError, ValueError)
    assert issubclass(a.APITimeoutError, a.APIConnectionError)
    assert issubclass(a.PollTimeoutError, TimeoutError)
    for cls in (
        a.BadRequestError,
        a.AuthenticationError,
        a.PermissionDeniedError,
        a.NotFoundError,
        a.ConflictError,
        a.UnprocessableEntityError,
        a.RateLimitError,
        a.InternalServerError,
    ):
        assert issubclass(cls, a.APIStatusError)
    for cls in (a.APIConnectionError, a.APIStatusError, a.ResponseValidationError):
        assert issubclass(cls, a.AnalyzeError)
    assert issubclass(a.TaskFailedError, a.AnalyzeError)
    assert issubclass(a.TaskCanceledError, a.TaskFailedError)


# Names added after PUBLIC_API.md (which says "add freely"): public from here on.
ADDED_NAMES = {
    # every create and list parameter typed
    "AnalysisMode",
    "AnalyzeImageInput",
    "AnalyzePromptV2",
    "AnalyzeTimeRange",
    "MaxTokens",
    "MediaSource",
    "ModelName",
    "SegmentDefinition",
    "SegmentField",
    "SegmentFieldItems",
    "SegmentResponseFormat",
    "TaskRequestParams",
    "VideoSource",
    "VideoSystemMetadata",
    # cancel
    "CancelAnalyzeTaskResponse",
    "TaskCanceledError",
}


def test_added_names_are_exported() -> None:
    """Names added since the spec are importable from asyncanalyze and listed in __all__."""
    for name in ADDED_NAMES:
        assert name in asyncanalyze.__all__, name
        assert hasattr(asyncanalyze, name), name
