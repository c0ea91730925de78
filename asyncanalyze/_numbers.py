"""The rules every number a user hands the SDK must pass, one function per kind of rule.

A number enters through many doors (client options, RequestOptions, RetryPolicy, PollPolicy,
wait timeouts, webhook tolerances); each door calls one of these, so NaN, a bool, a string or
an infinity meets the same refusal everywhere. NaN matters most: it compares False with
everything, so ``value <= 0`` lets it through, and ``sleep(nan)`` or a NaN deadline then
stops a wait for ever without an error.
"""

from __future__ import annotations

import math

from ._errors import InvalidRequestError

__all__ = ["check_between", "check_count", "check_non_negative", "check_positive"]


def _real(parameter: str, value: object, expected: str) -> float:
    """``value`` as a float when it is an int or float (not a bool) and not NaN."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise InvalidRequestError(parameter, f"must be {expected}, got {value!r}")
    return float(value)


def check_positive(parameter: str, value: object, *, infinite_ok: bool = False) -> float:
    """A number > 0: a timeout, a rate, a tolerance. ``infinite_ok`` lets ``math.inf`` mean
    "no limit" where the parameter documents it."""
    expected = "a number > 0" + (" (math.inf for no limit)" if infinite_ok else ", finite")
    number = _real(parameter, value, expected)
    if number <= 0 or (math.isinf(number) and not infinite_ok):
        raise InvalidRequestError(parameter, f"must be {expected}, got {value!r}")
    return number


def check_non_negative(parameter: str, value: object) -> float:
    """A finite number >= 0: a delay, where 0 means "at once"."""
    expected = "a finite number >= 0"
    number = _real(parameter, value, expected)
    if number < 0 or math.isinf(number):
        raise InvalidRequestError(parameter, f"must be {expected}, got {value!r}")
    return number


def check_between(parameter: str, value: object, low: float, high: float) -> float:
    """A finite number within ``low``..``high``, both included (``high`` may be math.inf)."""
    expected = (
        f"a finite number >= {low:g}" if math.isinf(high) else f"between {low:g} and {high:g}"
    )
    number = _real(parameter, value, expected)
    if not (low <= number <= high) or math.isinf(number):
        raise InvalidRequestError(parameter, f"must be {expected}, got {value!r}")
    return number


def check_count(
    parameter: str, value: object, *, minimum: int = 0, maximum: int | None = None
) -> int:
    """An int (not a bool, not a float such as 2.0) within ``minimum``..``maximum``: retries,
    sizes, pages, token budgets."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        expected = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise InvalidRequestError(parameter, f"must be an int {expected}, got {value!r}")
    return value
