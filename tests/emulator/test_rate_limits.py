"""Every shape of 429 the platform may send, rate-limit headers on successes or not, and the
per-key rate-limit state staying bounded."""

from __future__ import annotations

import argparse
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import pytest

from asyncanalyze.emulator import Emulator, FaultConfig, ManualClock
from asyncanalyze.emulator.__main__ import build_parser, config_from_args, parse_fault
from asyncanalyze.emulator._ratelimit import MAX_TRACKED_KEYS, CreateRateLimiter

from .conftest import API_KEY, Api, body_for

RATE_HEADERS = ("X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Used")
TASK = "/analyze/tasks/" + "0" * 24


async def raw_get(session: aiohttp.ClientSession, emu: Emulator) -> tuple[int, Any, bytes]:
    headers = {"x-api-key": API_KEY}
    async with session.get(emu.base_url + TASK, headers=headers) as response:
        return response.status, response.headers, await response.read()


@pytest.mark.parametrize(
    ("shape", "retry_after", "rate_headers"),
    [
        ("retry_after", True, False),
        ("full", True, True),
        ("headers_only", False, True),
        ("bare", False, False),
    ],
)
async def test_injected_429_takes_the_shape_asked_for(
    http_session: aiohttp.ClientSession,
    manual_emulator: Emulator,
    manual_clock: ManualClock,
    shape: str,
    retry_after: bool,
    rate_headers: bool,
) -> None:
    """An injected 429 carries Retry-After and/or the four X-Ratelimit-* headers as its shape
    says; Reset lies rate_limit_reset ahead on emulator time, which its Date also tells."""
    manual_emulator.set_faults(
        retrieve=FaultConfig(
            too_many_requests=1.0, retry_after=3, rate_limit_shape=shape, rate_limit_reset=90
        )
    )
    status, headers, body = await raw_get(http_session, manual_emulator)
    assert status == 429 and b"too_many_requests" in body
    assert headers.get("Retry-After") == ("3" if retry_after else None)
    if rate_headers:
        assert [headers[name] for name in RATE_HEADERS] == ["100", "0", "100"]
        server_now = parsedate_to_datetime(headers["Date"]).timestamp()
        assert server_now == int(manual_clock.now())
        assert int(headers["X-Ratelimit-Reset"]) - server_now == 90
    else:
        assert not any(name.lower().startswith("x-ratelimit") for name in headers)


@pytest.mark.parametrize("fault", ["too_many_requests", "error_500", "error_503"])
async def test_injected_errors_can_come_with_an_empty_body(
    http_session: aiohttp.ClientSession, manual_emulator: Emulator, fault: str
) -> None:
    """empty_body=True answers the injected status with no body at all."""
    manual_emulator.set_faults(retrieve=FaultConfig(**{fault: 1.0}, empty_body=True))
    status, headers, body = await raw_get(http_session, manual_emulator)
    assert status in (429, 500, 503) and body == b""
    assert "Content-Type" not in headers or headers["Content-Length"] == "0"


@pytest.mark.parametrize(
    ("emulator_options", "on_success"),
    [
        ({"create_rpm": 2}, True),
        ({"create_rpm": 2, "rate_limit_headers_on_success": False}, False),
    ],
)
async def test_rate_limit_headers_on_successes_are_an_option(
    checked_api: Api, manual_clock: ManualClock, on_success: bool
) -> None:
    """Successful creates carry X-Ratelimit-* (with a Date on emulator time) unless switched
    off; a 429 of the create limit carries them either way."""
    ok = await checked_api.create()
    assert ok.status == 202
    assert ("X-Ratelimit-Remaining" in ok.headers) is on_success
    if on_success:
        assert parsedate_to_datetime(ok.headers["Date"]).timestamp() == int(manual_clock.now())
    await checked_api.create()
    limited = await checked_api.create()
    assert limited.status == 429 and limited.headers["X-Ratelimit-Remaining"] == "0"
    assert "Retry-After" in limited.headers


def test_rate_limit_state_stays_bounded_per_api_key() -> None:
    """However many distinct keys call create, the limiter keeps at most MAX_TRACKED_KEYS
    buckets; a key still in use keeps its (exhausted) bucket meanwhile."""
    clock = ManualClock()
    limiter = CreateRateLimiter(1, clock)
    assert limiter.take("busy").allowed
    for n in range(3 * MAX_TRACKED_KEYS):
        limiter.take(f"key-{n}")
        if n % 1000 == 0:
            assert not limiter.take("busy").allowed  # still limited: not forgotten
    assert limiter.tracked_keys == MAX_TRACKED_KEYS


def test_fault_shapes_from_the_command_line() -> None:
    """--fault takes a 429's shape, its Reset distance and empty_body; bad values are refused."""
    endpoint, fault = parse_fault(
        "retrieve:too_many_requests=0.05,rate_limit_shape=full,rate_limit_reset=1,empty_body=true"
    )
    assert endpoint == "retrieve"
    assert fault == FaultConfig(
        too_many_requests=0.05, rate_limit_shape="full", rate_limit_reset=1.0, empty_body=True
    )
    for spec in ("retrieve:rate_limit_shape=sometimes", "retrieve:empty_body=maybe"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_fault(spec)
    args = build_parser().parse_args(["--create-rpm", "5", "--no-rate-limit-headers-on-success"])
    assert config_from_args(args).rate_limit_headers_on_success is False


@pytest.mark.parametrize("emulator_options", [{"introspection": True}])
async def test_fault_shapes_over_the_admin_endpoint(
    checked_api: Api, manual_emulator: Emulator
) -> None:
    """POST /_emulator/faults accepts the shape fields as JSON and reports them back."""
    faults = {"create": {"too_many_requests": 1.0, "rate_limit_shape": "headers_only"}}
    async with checked_api.session.post(
        manual_emulator.admin_url + "/faults", json=faults
    ) as response:
        assert response.status == 200
        assert (await response.json())["create"]["rate_limit_shape"] == "headers_only"
    limited = await checked_api.create(body_for())
    assert limited.status == 429 and "Retry-After" not in limited.headers
    assert limited.headers["X-Ratelimit-Remaining"] == "0"
    bad = {"create": {"rate_limit_shape": "sometimes"}}
    async with checked_api.session.post(
        manual_emulator.admin_url + "/faults", json=bad
    ) as response:
        assert response.status == 400
