"""analyze_many under adversity: requests that are not JSON, a client closed midway, large
inline videos, and batches of any length."""

from __future__ import annotations

import asyncio
import base64
import binascii
import gc
import itertools
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aioresponses import aioresponses

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeRequest,
    AnalyzeTaskResponse,
    ClientStateError,
    CreateAnalyzeTaskResponse,
    InvalidRequestError,
    ResponseFormat,
    VideoContext_Base64String,
    VideoContext_Url,
    _fingerprint,
)
from asyncanalyze._convert import structure
from asyncanalyze.batch import run_batch
from asyncanalyze.emulator import Emulator

from .._helpers import task_json
from ..client.test_request_checks import NOT_JSON
from ..conftest import BASE_URL, EMULATOR_SPEED


def scaled_client(emu: Emulator) -> AnalyzeAsyncClient:
    loop = asyncio.get_running_loop()

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / EMULATOR_SPEED)

    return AnalyzeAsyncClient(
        api_key="k", base_url=emu.base_url, sleep=sleep, clock=lambda: loop.time() * EMULATOR_SPEED
    )


def url_request(i: int, **fields: Any) -> AnalyzeRequest:
    video = VideoContext_Url(url=f"https://videos.example/{i}.mp4?emulator_task_seconds=30")
    return AnalyzeRequest(video=video, prompt=f"Describe {i}", **fields)


@pytest.mark.parametrize("journaled", [False, True], ids=["no journal", "journal"])
async def test_a_request_that_is_not_json_fails_alone(
    sped_up_emulator: Emulator, tmp_path: Path, journaled: bool
) -> None:
    """Each request whose schema is not JSON is its own failed outcome; the rest carry on."""
    bad = [
        url_request(i + 1, response_format=ResponseFormat(json_schema=schema))
        for i, schema in enumerate(NOT_JSON.values())
    ]
    requests = [url_request(0), *bad, url_request(len(bad) + 1)]
    journal = tmp_path / "j.db" if journaled else None
    async with scaled_client(sped_up_emulator) as client:
        outcomes = [o async for o in client.tasks.analyze_many(requests, journal=journal)]
    errors = {o.index: o.error for o in outcomes}
    assert sorted(errors) == list(range(len(requests)))
    assert errors[0] is None and errors[len(requests) - 1] is None
    assert all(isinstance(errors[i + 1], InvalidRequestError) for i in range(len(bad)))
    assert sped_up_emulator.stats()["creates"] == 2


def endless() -> Iterator[AnalyzeRequest]:
    for i in itertools.count():
        yield url_request(i)


async def test_analyze_many_on_a_client_closed_midway_raises_once(
    sped_up_emulator: Emulator,
) -> None:
    """Closing the client while analyze_many reads an endless input ends it with one
    ClientStateError, not one failed outcome per remaining request."""
    delivered = 0
    async with scaled_client(sped_up_emulator) as client:
        with pytest.raises(ClientStateError):
            async for _ in client.tasks.analyze_many(endless(), concurrency=5):
                delivered += 1
                if delivered == 1:
                    await client.aclose()
                assert delivered < 50, "outcomes kept coming from a closed client"


async def test_analyze_many_after_aclose_raises_at_once(sped_up_emulator: Emulator) -> None:
    """A closed client refuses analyze_many before reading any request."""
    pulled = 0

    def source() -> Iterator[AnalyzeRequest]:
        nonlocal pulled
        for request in endless():
            pulled += 1
            yield request

    client = scaled_client(sped_up_emulator)
    await client.tasks.list()
    await client.aclose()
    with pytest.raises(ClientStateError):
        async for _ in client.tasks.analyze_many(source()):
            pass
    assert pulled == 0


async def test_as_completed_on_a_client_closed_midway_raises_once(
    sped_up_emulator: Emulator,
) -> None:
    """Closing the client ends as_completed with one ClientStateError, not one per task."""
    async with scaled_client(sped_up_emulator) as client:
        created = [
            await client.tasks.create(video=url_request(i).video, prompt="p") for i in range(4)
        ]
        outcomes = client.tasks.as_completed(created, timeout=10_000)
        closing = asyncio.create_task(client.aclose())
        with pytest.raises(ClientStateError):
            async for _ in outcomes:
                pytest.fail("an outcome from a closed client")
        await closing


class ThreadLedger:
    """How many characters of base64 each thread decoded, and how many bytes it hashed (spies
    on the heavy work)."""

    def __init__(self) -> None:
        self.decoded: dict[int, int] = {}
        self.hashed: dict[int, int] = {}

    def count(self, ledger: dict[int, int], amount: int) -> None:
        thread = threading.get_ident()
        ledger[thread] = ledger.get(thread, 0) + amount

    def spy_a2b(self, real: Any) -> Any:
        def a2b_base64(data: Any, **kwargs: Any) -> bytes:
            self.count(self.decoded, len(data))
            return real(data, **kwargs)  # type: ignore[no-any-return]

        return a2b_base64

    def spy_sha256(self, real: Any) -> Any:
        ledger = self

        class Spy:
            def __init__(self, inner: Any) -> None:
                self._inner = inner

            def update(self, data: bytes) -> None:
                ledger.count(ledger.hashed, len(data))
                self._inner.update(data)

            def copy(self) -> Spy:
                return Spy(self._inner.copy())

            def __getattr__(self, name: str) -> Any:
                return getattr(self._inner, name)

        return lambda *args, **kwargs: Spy(real(*args, **kwargs))


@pytest.mark.parametrize("journaled", [False, True], ids=["no journal", "journal"])
async def test_large_inline_videos_are_checked_once_and_off_the_loop(
    mocked_client: AnalyzeAsyncClient,
    mocked_api: aioresponses,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    journaled: bool,
) -> None:
    """Each large base64 video is decoded to check it exactly once, and it is decoded and
    fingerprinted in a worker thread: the event loop never does that work."""
    ledger = ThreadLedger()
    monkeypatch.setattr(binascii, "a2b_base64", ledger.spy_a2b(binascii.a2b_base64))
    sha256 = ledger.spy_sha256(_fingerprint.hashlib.sha256)
    monkeypatch.setattr(_fingerprint, "hashlib", SimpleNamespace(sha256=sha256))
    tasks = f"{BASE_URL}/analyze/tasks"
    mocked_api.post(tasks, payload={"task_id": "t1", "status": "queued"}, repeat=True)
    mocked_api.get(f"{tasks}/t1", payload=task_json("ready", task_id="t1"), repeat=True)
    videos = [base64.b64encode(bytes([i]) * 2 * 1024 * 1024).decode() for i in range(3)]
    requests = [
        AnalyzeRequest(video=VideoContext_Base64String(base64_string=video), prompt="p")
        for video in videos
    ]
    journal = tmp_path / "j.db" if journaled else None
    loop_thread = threading.get_ident()
    outcomes = [o async for o in mocked_client.tasks.analyze_many(requests, journal=journal)]
    assert len(outcomes) == 3 and all(o.ok for o in outcomes)
    assert sum(ledger.decoded.values()) == sum(map(len, videos))  # each checked once
    assert ledger.decoded.get(loop_thread, 0) == 0
    assert ledger.hashed.get(loop_thread, 0) < 64 * 1024
    if journaled:
        assert sum(ledger.hashed.values()) >= sum(map(len, videos))


async def fake_create(body: dict[str, Any], key: str | None) -> CreateAnalyzeTaskResponse:
    return CreateAnalyzeTaskResponse(task_id="t" + body["prompt"], status="queued")  # type: ignore[arg-type]


READY = structure(task_json("ready"), AnalyzeTaskResponse)


async def fake_wait(task_id: str) -> AnalyzeTaskResponse:
    return READY


@pytest.mark.slow
async def test_journaled_batch_memory_does_not_grow_with_its_length(tmp_path: Path) -> None:
    """A journaled batch keeps nothing per request in memory: 2,500 more requests cost no
    memory (numbering repeated requests is the journal's job, on disk)."""

    def requests() -> Iterator[AnalyzeRequest]:
        video = VideoContext_Url(url="https://videos.example/a.mp4")
        for i in range(3_000):
            yield AnalyzeRequest(video=video, prompt=str(i))

    gc.collect()
    tracemalloc.start()
    try:
        measured: list[int] = []
        received = 0
        async for _ in run_batch(
            requests(),
            create=fake_create,
            wait_for=fake_wait,
            concurrency=20,
            journal=tmp_path / "long.db",
            on_progress=None,
        ):
            received += 1
            if received in (500, 2_980):  # while the batch still runs
                gc.collect()
                measured.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert received == 3_000
    growth = measured[1] - measured[0]
    # A Counter of every fingerprint grew by ~400 KB over these 2,480 requests (~160 B each).
    assert growth < 120_000, growth
