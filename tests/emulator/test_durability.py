"""SQLite persistence across restarts, and signed webhooks with retries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from asyncanalyze.emulator import Emulator, ManualClock, ScaledClock, sign_webhook

from ._openapi import validate
from .conftest import Api, body_for

FIXTURES = Path(__file__).resolve().parents[1] / "spec" / "fixtures"
SECRET = "whsec_test"


async def test_tasks_survive_a_restart(http_session: aiohttp.ClientSession, tmp_path: Path) -> None:
    """With db_path, a restarted emulator still has the task, its key scope and idempotency."""
    db = str(tmp_path / "tasks.sqlite")
    clock = ManualClock()
    async with Emulator(clock=clock, db_path=db) as first:
        api = Api(http_session, first, "k")
        task_id = await api.create_id(headers={"Idempotency-Key": "once"})
        done = await api.create_id()
        clock.advance(3600)
        assert (await api.delete(done)).status == 204
    clock = ManualClock()  # a restart: time starts over where the first run began
    async with Emulator(clock=clock, db_path=db) as second:
        api = Api(http_session, second, "k")
        assert (await api.retrieve(task_id)).body["status"] == "queued"
        assert (await api.retrieve(done)).status == 404
        replay = await api.create(headers={"Idempotency-Key": "once"})
        assert replay.body["task_id"] == task_id
        assert (await api.retrieve(task_id, api_key="other")).status == 404
        clock.advance(3600)
        task = (await api.retrieve(task_id)).body
        assert task["status"] == "ready" and task["result"]["data"]
        assert second.stats()["creates"] == 0
        fresh = await api.create_id()
        assert fresh not in (task_id, done)  # not even the deleted task's id comes back


async def test_a_fast_clock_never_runs_backwards_after_restart(
    http_session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """A restarted scaled clock starts no earlier than the newest stored task."""
    db = str(tmp_path / "tasks.sqlite")
    async with Emulator(speed=1.0, db_path=db) as first:
        record_time = first.clock.now()
        await Api(http_session, first, "k").create_id()
    async with Emulator(speed=1.0, db_path=db) as second:
        assert isinstance(second.clock, ScaledClock)
        assert second.clock.now() >= record_time


def test_signature_reproduces_the_fixture() -> None:
    """sign_webhook over the fixture's secret, t and raw body gives the fixture's header."""
    fixture = json.loads((FIXTURES / "webhook_analyze_task_ready.json").read_text())
    request = fixture["request"]
    header = request["headers"]["TL-Signature"]
    timestamp = int(header.split(",")[0].removeprefix("t="))
    assert sign_webhook(fixture["secret"], timestamp, request["raw_body"]) == header


class Receiver:
    def __init__(self, failures_first: int = 0) -> None:
        self.events: list[tuple[dict[str, str], str]] = []
        self.failures_left = failures_first
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.text()
        if self.failures_left:
            self.failures_left -= 1
            return web.Response(status=500)
        self.events.append((dict(request.headers), raw))
        self.arrived.set()
        return web.Response(status=200)


@pytest.fixture
def failing_receiver(request: pytest.FixtureRequest) -> Receiver:
    return Receiver(getattr(request, "param", 0))


@pytest.fixture
async def hook_url(failing_receiver: Receiver) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/hook", failing_receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    await runner.cleanup()


@pytest.fixture
def emulator_options(hook_url: str) -> dict[str, Any]:
    return {"webhook_url": hook_url, "webhook_secret": SECRET, "webhook_retry_base": 0.01}


def verify(headers: dict[str, str], raw: str) -> None:
    parts = dict(item.split("=", 1) for item in headers["TL-Signature"].split(","))
    expected = hmac.new(SECRET.encode(), f"{parts['t']}.{raw}".encode(), hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], expected.hexdigest())


async def webhooks_settled(emulator: Emulator) -> None:
    """Until no delivery is due or in flight, so every outcome is recorded. It waits on the
    deliveries themselves (their retries back off in real time), never for a fixed time."""
    dispatcher = emulator._service.webhooks
    assert dispatcher is not None
    for _ in range(10_000):
        if dispatcher._deliveries:
            await asyncio.wait(set(dispatcher._deliveries))
        elif dispatcher._heap and dispatcher._heap[0][0] <= emulator.clock.now():
            await asyncio.sleep(0)  # due: the dispatcher's loop spawns it on its next turn
        else:
            return
    raise AssertionError("the webhook deliveries never settled")


async def test_ready_task_sends_a_signed_event(
    checked_api: Api,
    manual_emulator: Emulator,
    manual_clock: ManualClock,
    failing_receiver: Receiver,
    hook_url: str,
) -> None:
    """On ready, a signed analyze.task.ready event without the result is POSTed once."""
    task_id = await checked_api.create_id()
    assert (await checked_api.retrieve(task_id)).body["webhooks"] == [
        {"url": hook_url, "delivered": False, "attempts": 0}
    ]
    manual_clock.advance(3600)
    await asyncio.wait_for(failing_receiver.arrived.wait(), 5)
    headers, raw = failing_receiver.events[0]
    verify(headers, raw)
    event = json.loads(raw)
    assert event["type"] == "analyze.task.ready" and event["id"].startswith("whe_")
    assert event["data"]["id"] == task_id and event["data"]["status"] == "ready"
    assert "result" not in event["data"]
    await webhooks_settled(manual_emulator)  # the delivery records itself once answered
    hooks = (await checked_api.retrieve(task_id)).body["webhooks"]
    assert hooks == [{"url": hook_url, "delivered": True, "attempts": 1}]


async def test_failed_task_sends_a_failed_event(
    checked_api: Api, manual_clock: ManualClock, failing_receiver: Receiver
) -> None:
    """A failed task sends analyze.task.failed."""
    video = {"type": "url", "url": "https://x.invalid/a.mp4"}
    await checked_api.create_id({"video": video, "prompt": "p"})
    manual_clock.advance(3600)
    await asyncio.wait_for(failing_receiver.arrived.wait(), 5)
    assert json.loads(failing_receiver.events[0][1])["type"] == "analyze.task.failed"


@pytest.mark.parametrize("failing_receiver", [2], indirect=True)
async def test_delivery_retries_with_backoff(
    checked_api: Api,
    manual_emulator: Emulator,
    manual_clock: ManualClock,
    failing_receiver: Receiver,
) -> None:
    """Failed deliveries are retried; the task reports the attempts it took."""
    task_id = await checked_api.create_id()
    manual_clock.advance(3600)
    await asyncio.wait_for(failing_receiver.arrived.wait(), 5)
    await webhooks_settled(manual_emulator)
    hooks = (await checked_api.retrieve(task_id)).body["webhooks"]
    assert hooks[0]["delivered"] is True and hooks[0]["attempts"] == 3


@pytest.mark.parametrize("failing_receiver", [100], indirect=True)
async def test_delivery_gives_up_and_reports_the_error(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """After the last attempt the task says not delivered, with the last error."""
    task_id = await checked_api.create_id()
    manual_clock.advance(3600)
    await webhooks_settled(manual_emulator)
    hooks = (await checked_api.retrieve(task_id)).body["webhooks"]
    assert hooks[0]["attempts"] == manual_emulator.config.webhook_max_attempts
    assert hooks[0]["delivered"] is False and hooks[0]["last_error"] == "HTTP 500"


async def test_cancel_sends_one_signed_canceled_event(
    checked_api: Api,
    manual_emulator: Emulator,
    manual_clock: ManualClock,
    failing_receiver: Receiver,
    hook_url: str,
) -> None:
    """A cancel sends analyze.task.canceled at once, signed like the others, shaped as the
    platform documents it (no completed_at, error, result); the task's original end sends
    nothing more."""
    task_id = await checked_api.create_id(body_for(custom_id="job-7"))
    await checked_api.cancel(task_id)
    await asyncio.wait_for(failing_receiver.arrived.wait(), 5)
    headers, raw = failing_receiver.events[0]
    verify(headers, raw)
    event = json.loads(raw)
    validate(event, "AnalyzeTaskCanceledWebhookEvent")
    assert event["data"]["id"] == task_id and event["data"]["custom_id"] == "job-7"
    await webhooks_settled(manual_emulator)  # the delivery records itself once answered
    hooks = (await checked_api.retrieve(task_id)).body["webhooks"]
    assert hooks == [{"url": hook_url, "delivered": True, "attempts": 1}]
    manual_clock.advance(3600)  # the task's original end comes due: it must send nothing
    await webhooks_settled(manual_emulator)
    dispatcher = manual_emulator._service.webhooks
    assert dispatcher is not None and not dispatcher._heap
    assert len(failing_receiver.events) == 1


@pytest.mark.parametrize("failing_receiver", [2], indirect=True)
async def test_a_canceled_task_due_twice_is_delivered_once(
    checked_api: Api,
    manual_emulator: Emulator,
    manual_clock: ManualClock,
    failing_receiver: Receiver,
) -> None:
    """A canceled task is due at its cancel and again at its original end; with both due while
    the first delivery is still retrying, the receiver still gets the event once."""
    task_id = await checked_api.create_id()
    await checked_api.cancel(task_id)
    manual_clock.advance(3600)  # the original end is due too, before the first delivery succeeded
    await asyncio.wait_for(failing_receiver.arrived.wait(), 5)
    await webhooks_settled(manual_emulator)
    dispatcher = manual_emulator._service.webhooks
    assert dispatcher is not None and not dispatcher._heap and not dispatcher._deliveries
    assert [json.loads(raw)["type"] for _, raw in failing_receiver.events] == [
        "analyze.task.canceled"
    ]
    assert (await checked_api.retrieve(task_id)).body["webhooks"][0]["attempts"] == 3
