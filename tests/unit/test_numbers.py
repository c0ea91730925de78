"""Every number a user hands the SDK is checked where it enters: NaN, infinities, negatives,
bools and strings are an InvalidRequestError naming the parameter, never a wait that hangs
(``sleep(nan)``), stops polling, or accepts a year-old webhook."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from asyncanalyze import (
    AnalyzeAsyncClient,
    InvalidRequestError,
    PollPolicy,
    RequestOptions,
    RetryPolicy,
    webhooks,
)
from asyncanalyze._numbers import check_between, check_count, check_non_negative, check_positive

NOT_NUMBERS: list[Any] = [math.nan, True, "1", None, [1]]
BAD_SECONDS: list[Any] = [*NOT_NUMBERS, math.inf, -math.inf, 0, -1]
BAD_DELAYS: list[Any] = [*NOT_NUMBERS, math.inf, -0.5]
BAD_COUNTS: list[Any] = [math.nan, True, "1", None, 1.0, -1]


def cases(make: Callable[[Any], object], parameter: str, values: list[Any]) -> list[Any]:
    where = make.__code__.co_names[0]  # the class the lambda builds, for readable test ids
    return [
        pytest.param(make, parameter, value, id=f"{where}.{parameter}={value!r}")
        for value in values
    ]


CONSTRUCTORS = [
    *cases(lambda v: PollPolicy(initial_delay=v), "initial_delay", BAD_DELAYS),
    *cases(lambda v: PollPolicy(max_delay=v), "max_delay", BAD_DELAYS),
    *cases(lambda v: PollPolicy(multiplier=v), "multiplier", [*NOT_NUMBERS, math.inf, 0.5]),
    *cases(lambda v: PollPolicy(jitter=v), "jitter", [*NOT_NUMBERS, math.inf, -0.1, 1.5]),
    *cases(lambda v: RetryPolicy(initial_delay=v), "initial_delay", BAD_DELAYS),
    *cases(lambda v: RetryPolicy(max_delay=v), "max_delay", BAD_DELAYS),
    *cases(lambda v: RetryPolicy(max_retry_after=v), "max_retry_after", BAD_DELAYS),
    *cases(lambda v: RetryPolicy(max_retries=v), "max_retries", BAD_COUNTS),
    *cases(lambda v: RetryPolicy(max_rate_limit_retries=v), "max_rate_limit_retries", BAD_COUNTS),
    *cases(
        lambda v: RequestOptions(timeout_in_seconds=v),
        "request_options.timeout_in_seconds",
        [math.nan, True, "1", [1], math.inf, 0, -1],
    ),
    *cases(
        lambda v: RequestOptions(max_retries=v),
        "request_options.max_retries",
        [math.nan, True, "1", 1.0, -1],
    ),
    *cases(lambda v: AnalyzeAsyncClient(api_key="k", timeout=v), "timeout", BAD_SECONDS),
    *cases(
        lambda v: AnalyzeAsyncClient(api_key="k", connect_timeout=v),
        "connect_timeout",
        BAD_SECONDS,
    ),
    *cases(
        lambda v: AnalyzeAsyncClient(api_key="k", poll_timeout=v),
        "poll_timeout",
        [*NOT_NUMBERS, -math.inf, 0, -1],
    ),
    *cases(
        lambda v: AnalyzeAsyncClient(api_key="k", max_retries=v),
        "max_retries",
        [math.nan, True, "1", 1.0, -1],
    ),
    *cases(
        lambda v: AnalyzeAsyncClient(api_key="k", connection_limit=v),
        "connection_limit",
        [*BAD_COUNTS, 0],
    ),
    *cases(
        lambda v: AnalyzeAsyncClient(api_key="k", creates_per_minute=v),
        "creates_per_minute",
        [math.nan, True, "60", math.inf, 0, -1],
    ),
    *cases(
        lambda v: webhooks.aiohttp_handler("whsec", tolerance=v),
        "tolerance",
        [*NOT_NUMBERS[:-2], math.inf, 0, -1],
    ),
]


@pytest.mark.parametrize(("make", "parameter", "value"), CONSTRUCTORS)
def test_bad_numbers_are_refused_where_they_enter(
    make: Callable[[Any], object], parameter: str, value: Any
) -> None:
    """A NaN, infinite, negative, zero (where meaningless), bool or non-number setting is an
    InvalidRequestError (a ValueError) that names the parameter."""
    with pytest.raises(InvalidRequestError) as info:
        make(value)
    assert info.value.parameter == parameter
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("name", ["retry_policy", "poll_policy"])
def test_policies_of_the_wrong_type_are_refused(name: str) -> None:
    """A dict where a policy belongs is named, even alongside max_retries."""
    with pytest.raises(InvalidRequestError) as info:
        AnalyzeAsyncClient(api_key="k", max_retries=2, **{name: {"max_retries": 2}})
    assert info.value.parameter == name


def test_infinite_poll_timeout_means_wait_for_ever() -> None:
    """poll_timeout=math.inf is the documented "no deadline", as await_result(timeout=inf)."""
    assert AnalyzeAsyncClient(api_key="k", poll_timeout=math.inf).poll_timeout == math.inf


def test_good_numbers_pass_unchanged() -> None:
    """Ordinary settings, ints included, are accepted and kept as given."""
    assert PollPolicy(initial_delay=0, multiplier=1, max_delay=5, jitter=1).max_delay == 5
    assert RetryPolicy(initial_delay=0, max_delay=0, max_retries=0).max_retries == 0
    assert RequestOptions(timeout_in_seconds=3, max_retries=0).timeout_in_seconds == 3
    client = AnalyzeAsyncClient(api_key="k", timeout=5, connection_limit=1, creates_per_minute=1)
    assert client.poll_timeout > 0


@pytest.mark.parametrize("tolerance", [math.nan, math.inf, -1, 0, "300", True])
def test_verify_signature_refuses_a_nonsense_tolerance(tolerance: Any) -> None:
    """tolerance=nan once accepted a year-old event: now any tolerance but a positive finite
    number (or None, "do not check") is a usage error, raised before the signature is read."""
    with pytest.raises(InvalidRequestError) as info:
        webhooks.verify_signature(b"{}", "t=1,v1=" + "0" * 64, "whsec", tolerance=tolerance)
    assert info.value.parameter == "tolerance"


@pytest.mark.parametrize("now", [math.nan, math.inf, "1", True])
def test_verify_signature_refuses_a_nonsense_now(now: Any) -> None:
    """now= (the clock for the tolerance check) must be a finite number of seconds."""
    with pytest.raises(InvalidRequestError) as info:
        webhooks.verify_signature(b"{}", "t=1,v1=" + "0" * 64, "whsec", now=now)
    assert info.value.parameter == "now"


def test_the_shared_rules() -> None:
    """The four rules: positive (optionally infinite), non-negative, range, count."""
    assert check_positive("x", 2) == 2.0
    assert check_positive("x", math.inf, infinite_ok=True) == math.inf
    assert check_non_negative("x", 0) == 0.0
    assert check_between("x", 1, 0, 1) == 1.0
    assert check_between("x", 7, 1, math.inf) == 7.0
    assert check_count("x", 3, minimum=1) == 3
    for call in (
        lambda: check_positive("x", math.inf),
        lambda: check_positive("x", math.nan, infinite_ok=True),
        lambda: check_non_negative("x", -0.1),
        lambda: check_between("x", math.inf, 1, math.inf),
        lambda: check_between("x", 1.01, 0, 1),
        lambda: check_count("x", 2.0),
        lambda: check_count("x", 0, minimum=1),
    ):
        with pytest.raises(InvalidRequestError, match=r"^x: must be"):
            call()
