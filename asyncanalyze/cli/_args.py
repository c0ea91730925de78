"""Argument types shared by the commands, and the error for a bad invocation (exit code 2)."""

from __future__ import annotations

import argparse
import math

from asyncanalyze._errors import InvalidRequestError
from asyncanalyze._numbers import check_count, check_positive

__all__ = ["UsageError", "finite_float", "positive_float", "positive_int", "token_budget"]


class UsageError(Exception):
    """The command line or an input file is wrong; nothing was sent."""


def positive_float(raw: str) -> float:
    """A number > 0, finite: the SDK's own rule (``check_positive``), worded as argparse's."""
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
    try:
        return check_positive("value", value)
    except InvalidRequestError as exc:
        raise argparse.ArgumentTypeError(exc.rule) from None


def positive_int(raw: str) -> int:
    """An integer >= 1: the SDK's own rule (``check_count``)."""
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {raw!r}") from None
    try:
        return check_count("value", value, minimum=1)
    except InvalidRequestError as exc:
        raise argparse.ArgumentTypeError(exc.rule) from None


def finite_float(raw: str) -> float:
    """A number; its range is the SDK's to check (one home per rule)."""
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {raw!r}")
    return value


def token_budget(raw: str) -> int | str:
    """An integer or ``unlimited``; the limits are the SDK's to check."""
    if raw == "unlimited":
        return raw
    try:
        return int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer or 'unlimited': {raw!r}") from None
