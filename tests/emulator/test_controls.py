"""Idempotency, the create rate limit, fault injection and the introspection endpoints."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from asyncanalyze.emulator import Emulator, FaultConfig, ManualClock

from .conftest import Api, body_for, error_code


async def test_idempotency_key_returns_the_original_task(
    checked_api: Api, manual_emulator: Emulator
) -> None:
    """A repeated create with the same key answers the first task and makes no new one."""
    headers = {"Idempotency-Key": "k-1"}
    first = await checked_api.create(headers=headers)
    again = await checked_api.create(headers=headers)
    assert again.status == 202 and again.body == first.body
    stats = manual_emulator.stats()
    assert stats["creates"] == 1 and stats["idempotent_replays"] == 1
    assert len((await checked_api.list()).body["data"]) == 1


async def test_idempotency_key_is_per_api_key(checked_api: Api) -> None:
    """The same Idempotency-Key under another API key makes a separate task."""
    headers = {"Idempotency-Key": "shared"}
    mine = await checked_api.create(headers=headers)
    theirs = await checked_api.create(headers=headers, api_key="other-key")
    assert mine.body["task_id"] != theirs.body["task_id"]


async def test_idempotency_key_with_a_different_body_is_counted(
    checked_api: Api, manual_emulator: Emulator
) -> None:
    """A key reused with another body still answers the original, and is counted as a mismatch."""
    headers = {"Idempotency-Key": "k-2"}
    first = await checked_api.create(headers=headers)
    other = await checked_api.create(body_for(prompt="Something else"), headers=headers)
    assert other.body == first.body
    assert manual_emulator.stats()["idempotent_mismatches"] == 1


@pytest.mark.parametrize("emulator_options", [{"create_rpm": 2}])
async def test_rate_limit_answers_429_with_headers(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """Past create_rpm, create answers 429 with Retry-After and the X-Ratelimit headers."""
    ok = await checked_api.create()
    assert ok.status == 202 and ok.headers["X-Ratelimit-Limit"] == "2"
    assert ok.headers["X-Ratelimit-Remaining"] == "1"
    assert (await checked_api.create()).status == 202
    limited = await checked_api.create()
    assert limited.status == 429 and error_code(limited) == "too_many_requests"
    assert limited.headers["Retry-After"] == "30"  # one token per 30 s at 2 per minute
    assert limited.headers["X-Ratelimit-Remaining"] == "0"
    assert limited.headers["X-Ratelimit-Used"] == "2"
    assert int(limited.headers["X-Ratelimit-Reset"]) >= int(manual_clock.now())
    manual_clock.advance(30)
    assert (await checked_api.create()).status == 202


@pytest.mark.parametrize("emulator_options", [{"create_rpm": 1}])
async def test_rate_limit_is_per_api_key(checked_api: Api, manual_emulator: Emulator) -> None:
    """One key's exhausted bucket does not limit another key."""
    assert (await checked_api.create()).status == 202
    assert (await checked_api.create()).status == 429
    assert (await checked_api.create(api_key="second")).status == 202
    assert manual_emulator.stats()["rate_limited"] == 1


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (FaultConfig(error_500=1.0), 500),
        (FaultConfig(error_503=1.0), 503),
        (FaultConfig(too_many_requests=1.0, retry_after=7), 429),
    ],
)
async def test_injected_error_statuses(
    checked_api: Api, manual_emulator: Emulator, fault: FaultConfig, status: int
) -> None:
    """A fault with probability 1 answers its status with an error body on that endpoint only."""
    manual_emulator.set_faults(retrieve=fault)
    answer = await checked_api.retrieve("0" * 24)
    assert answer.status == status
    if status == 429:
        assert answer.headers["Retry-After"] == "7"
    assert (await checked_api.list()).status == 200
    assert sum(manual_emulator.stats()["faults"].values()) == 1


async def test_injected_reset_closes_without_an_answer(
    checked_api: Api, manual_emulator: Emulator
) -> None:
    """A reset fault drops the connection: the client sees no HTTP response at all."""
    manual_emulator.set_faults({"*": FaultConfig(reset=1.0)})
    with pytest.raises(aiohttp.ClientConnectionError):
        await checked_api.list()
    # aiohttp's client may retry an idempotent GET once on a fresh connection.
    assert set(manual_emulator.stats()["faults"]) == {"reset"}


async def test_drop_after_create_still_creates_the_task(
    checked_api: Api, manual_emulator: Emulator
) -> None:
    """'Processed, then dropped': the client gets no answer, yet the task exists."""
    manual_emulator.set_faults(create=FaultConfig(drop_after_create=1.0))
    with pytest.raises(aiohttp.ClientConnectionError):
        await checked_api.create()
    manual_emulator.set_faults()
    assert manual_emulator.stats()["creates"] == 1
    assert len((await checked_api.list()).body["data"]) == 1


async def test_latency_is_added(checked_api: Api, manual_emulator: Emulator) -> None:
    """latency delays each answer of the endpoint by that many real seconds."""
    manual_emulator.set_faults(list=FaultConfig(latency=0.2))
    started = time.monotonic()
    assert (await checked_api.list()).status == 200
    assert time.monotonic() - started >= 0.2
    assert manual_emulator.stats()["faults"] == {"latency": 1}


async def test_faults_are_reproducible_with_a_seed(http_session: aiohttp.ClientSession) -> None:
    """Two emulators with the same seed inject faults on the same requests."""

    async def pattern(seed: int) -> list[int]:
        async with Emulator(
            clock=ManualClock(), seed=seed, faults={"list": FaultConfig(error_503=0.5)}
        ) as emulator:
            api = Api(http_session, emulator, "k")
            return [(await api.list()).status for _ in range(20)]

    first = await pattern(7)
    assert first == await pattern(7)
    assert 200 in first and 503 in first


def test_fault_probabilities_are_checked() -> None:
    """A probability outside 0..1 or an unknown endpoint is refused at configuration."""
    with pytest.raises(ValueError):
        FaultConfig(error_500=2)
    with pytest.raises(ValueError):
        Emulator(faults={"upload": FaultConfig(error_500=1)})


@pytest.mark.parametrize("emulator_options", [{"introspection": True}])
async def test_introspection_endpoints(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """/_emulator/ serves stats, sets faults, resets stats and advances a manual clock."""
    session = checked_api.session
    task_id = await checked_api.create_id(headers={"Idempotency-Key": "i"})
    await checked_api.create(headers={"Idempotency-Key": "i"})
    for _ in range(3):
        await checked_api.retrieve(task_id)

    async with session.get(manual_emulator.admin_url + "/stats") as response:
        stats: dict[str, Any] = await response.json()
    assert stats["requests"] == {"create": 2, "retrieve": 3}
    assert stats["polls"] == {task_id: 3}
    assert stats["creates"] == 1 and stats["idempotent_replays"] == 1
    assert stats["tasks"] == {"total": 1, "by_status": {"queued": 1}}

    async with session.post(
        manual_emulator.admin_url + "/clock/advance", json={"seconds": 3600}
    ) as response:
        assert response.status == 200
    assert (await checked_api.retrieve(task_id)).body["status"] == "ready"

    faults = {"create": {"error_503": 1.0}}
    async with session.post(manual_emulator.admin_url + "/faults", json=faults) as response:
        assert response.status == 200
    assert (await checked_api.create()).status == 503
    async with session.post(
        manual_emulator.admin_url + "/faults", json={"create": {"nope": 1}}
    ) as response:
        assert response.status == 400

    async with session.post(manual_emulator.admin_url + "/reset-stats") as response:
        assert response.status == 204
    async with session.get(manual_emulator.admin_url + "/stats") as response:
        stats = await response.json()
    assert stats["requests"] == {} and stats["faults"] == {}


async def test_stats_count_other_endpoints(checked_api: Api, manual_emulator: Emulator) -> None:
    """Emulator.stats() counts requests per endpoint even without introspection."""
    await checked_api.list()
    await checked_api.call("GET", "/elsewhere", schema=None)
    assert manual_emulator.stats()["requests"] == {"list": 1, "other": 1}
