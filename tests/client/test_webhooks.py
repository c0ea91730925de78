"""Webhooks: TL-Signature verification, event parsing, the aiohttp handler, and waits that end
when an event arrives (unit-level on the scheduler, end to end with the emulator's delivery)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

import asyncanalyze
from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeTaskResponse,
    AnalyzeTaskStatus,
    InvalidRequestError,
    PollPolicy,
    TaskCanceledError,
    TaskFailedError,
    TasksListResponse,
    VideoContext_Url,
    WebhookEvent,
    WebhookVerificationError,
)
from asyncanalyze._errors import KEPT_BODY_BYTES
from asyncanalyze.emulator import Emulator
from asyncanalyze.polling import PollScheduler
from asyncanalyze.testing import emulator_client
from asyncanalyze.webhooks import (
    HandledEvents,
    aiohttp_handler,
    parse_event,
    unwrap,
    verify_signature,
)

FIXTURE = json.loads(
    (
        Path(__file__).resolve().parents[1]
        / "spec"
        / "fixtures"
        / "webhook_analyze_task_ready.json"
    ).read_text()
)
SECRET = FIXTURE["secret"]
RAW = FIXTURE["request"]["raw_body"].encode()
HEADER = FIXTURE["request"]["headers"]["TL-Signature"]
SIGNED_AT = int(HEADER.split(",")[0].removeprefix("t="))


def sign(body: bytes, *, secret: str = SECRET, t: int = SIGNED_AT) -> str:
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event_body(task_id: str = "t1", status: str = "ready", **extra: Any) -> bytes:
    payload = {
        "id": "whe_1",
        "created_at": "2026-07-01T10:03:13Z",
        "type": f"analyze.task.{status}",
        "data": {"id": task_id, "status": status, "created_at": "2026-07-01T10:00:00Z"},
        **extra,
    }
    return json.dumps(payload).encode()


# -- verify_signature ---------------------------------------------------------------------------


def test_fixture_vector_verifies() -> None:
    """The spec's signed example passes at its own timestamp."""
    verify_signature(RAW, HEADER, SECRET, now=SIGNED_AT)


def test_fixture_vector_verifies_within_tolerance_either_way() -> None:
    """Up to 300 s of skew in either direction is accepted."""
    verify_signature(RAW, HEADER, SECRET, now=SIGNED_AT + 300)
    verify_signature(RAW, HEADER, SECRET, now=SIGNED_AT - 300)


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (RAW + b" ", HEADER, SECRET),  # body changed after signing
        (RAW.replace(b'"ready"', b'"failed"'), HEADER, SECRET),
        (RAW, HEADER, "whsec_other"),  # wrong secret
        (RAW, HEADER.replace("v1=1", "v1=2"), SECRET),  # wrong digest
        (RAW, HEADER.replace(f"t={SIGNED_AT}", f"t={SIGNED_AT + 1}"), SECRET),  # t is signed
    ],
)
def test_bad_signature_is_rejected(body: bytes, header: str, secret: str) -> None:
    """Any change to the body, secret, digest or timestamp fails verification."""
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_signature(body, header, secret, now=SIGNED_AT)


@pytest.mark.parametrize(("offset", "word"), [(301, "past"), (-301, "future"), (10**9, "past")])
def test_timestamp_outside_tolerance_is_rejected(offset: int, word: str) -> None:
    """A correctly signed event older or newer than 5 minutes is refused (replay protection)."""
    with pytest.raises(WebhookVerificationError, match=word):
        verify_signature(RAW, HEADER, SECRET, now=SIGNED_AT + offset)


def test_tolerance_is_configurable_and_can_be_switched_off() -> None:
    """tolerance narrows the window; None skips the time check (replaying stored events)."""
    with pytest.raises(WebhookVerificationError):
        verify_signature(RAW, HEADER, SECRET, now=SIGNED_AT + 11, tolerance=10)
    verify_signature(RAW, HEADER, SECRET, now=SIGNED_AT + 10**8, tolerance=None)


def test_default_now_is_the_wall_clock() -> None:
    """Without now=, a fresh signature passes and the 2026 fixture is judged by today's time."""
    body = event_body()
    t = int(time.time())
    verify_signature(body, sign(body, t=t), SECRET)


def test_any_of_several_v1_signatures_may_match() -> None:
    """During secret rotation the header carries several v1 values; one match is enough."""
    good = HEADER.split("v1=")[1]
    header = f"t={SIGNED_AT},v1={'0' * 64},v0=legacy,v1={good.upper()}"
    verify_signature(RAW, header, SECRET, now=SIGNED_AT)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        b"t=1,v1=00",
        12345,
        "garbage",
        "t=,v1=" + "0" * 64,
        f"v1={'0' * 64}",  # no timestamp
        f"t={SIGNED_AT}",  # no signature
        f"t={SIGNED_AT},v1=zz",  # a v1 that is not a digest
        f"t={SIGNED_AT},v1=" + "é" * 64,  # non-ASCII would make compare_digest raise TypeError
        f"t=-5,v1={'0' * 64}",
        f"t=1.5,v1={'0' * 64}",
        f"t=١٢٣,v1={'0' * 64}",  # Arabic-Indic digits: isdigit() but not a unix time
        f"t=1,t=2,v1={'0' * 64}",
        f"t={SIGNED_AT};v1={'0' * 64}",
        "t=1," + "v1=" + "0" * 10_000,
        "\x00\x01",
    ],
)
def test_malformed_header_raises_only_verification_error(header: Any) -> None:
    """Whatever the header holds, the only exception is WebhookVerificationError."""
    with pytest.raises(WebhookVerificationError):
        verify_signature(RAW, header, SECRET, now=SIGNED_AT)


def test_absurd_timestamp_is_a_verification_error_even_when_signed() -> None:
    """A correctly signed 400-digit timestamp is refused, not an OverflowError."""
    t = 10**400
    with pytest.raises(WebhookVerificationError):
        verify_signature(RAW, sign(RAW, t=t), SECRET)


def test_non_bytes_body_is_a_verification_error() -> None:
    """A body that is not bytes/str (e.g. already parsed JSON) cannot be verified."""
    with pytest.raises(WebhookVerificationError, match="raw body"):
        verify_signature({"id": 1}, HEADER, SECRET, now=SIGNED_AT)  # type: ignore[arg-type]


def test_str_body_is_verified_as_utf8() -> None:
    """A str body is accepted and verified as its UTF-8 bytes."""
    verify_signature(RAW.decode(), HEADER, SECRET, now=SIGNED_AT)  # type: ignore[arg-type]


@pytest.mark.parametrize("secret", ["", None, b"whsec"])
def test_missing_secret_is_a_usage_error(secret: Any) -> None:
    """An empty or non-str secret is the caller's mistake: InvalidRequestError, at once."""
    with pytest.raises(InvalidRequestError, match="secret"):
        verify_signature(RAW, HEADER, secret, now=SIGNED_AT)
    with pytest.raises(InvalidRequestError):
        aiohttp_handler(secret)


# -- parse_event / unwrap ----------------------------------------------------------------------


def test_parse_fixture_event() -> None:
    """The fixture parses into typed models; data.id becomes task_id."""
    event = parse_event(RAW)
    assert event.id == "whe_0123456789abcdef0123456789abcdef"
    assert event.type == "analyze.task.ready"
    assert event.created_at.isoformat() == "2026-07-01T10:03:13+00:00"
    assert event.data.task_id == event.task_id == "6a0b1c2d3e4f5a6b7c8d9e0f"
    assert event.data.status is AnalyzeTaskStatus.READY and event.data.status.is_terminal
    assert event.data.custom_id is None
    assert event.data.video_source is not None
    assert event.data.video_source["asset_id"] == "69abc123def456789012abcd"


def test_unknown_event_types_statuses_and_fields_are_tolerated() -> None:
    """New event types, statuses and fields from the platform do not break parsing."""
    body = json.dumps(
        {
            "id": "whe_2",
            "created_at": "2026-07-01T10:03:13Z",
            "type": "analyze.task.archived",
            "new_top_level": [1, 2],
            "data": {
                "id": "t9",
                "status": "archived",
                "created_at": "2026-07-01T10:00:00Z",
                "something_new": {"x": 1},
            },
        }
    ).encode()
    event = parse_event(body)
    assert event.type == "analyze.task.archived"
    assert event.data.status == "archived" and not event.data.status.is_terminal


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"null",
        b'{"id": "e"}',
        b'{"id": "e", "type": "analyze.task.ready", "created_at": "2026-07-01T10:00:00Z",'
        b' "data": []}',
        event_body().replace(b'"id": "t1", ', b""),  # no task id
        event_body().replace(b'"id": "t1"', b'"id": 7'),  # task id not a string
        event_body().replace(b'"2026-07-01T10:00:00Z"', b'"yesterday"'),
        event_body().replace(b'"status": "ready"', b'"status": null'),
        b"[" * 100_000,  # deep nesting: RecursionError inside json must not escape
    ],
)
def test_malformed_body_raises_verification_error_with_body(body: bytes) -> None:
    """A body that is not an event raises WebhookVerificationError carrying the raw bytes
    (their first KEPT_BODY_BYTES, as every error's .body)."""
    with pytest.raises(WebhookVerificationError) as info:
        parse_event(body)
    assert info.value.body == body[:KEPT_BODY_BYTES]


def test_unwrap_takes_headers_in_any_case_or_the_signature_itself() -> None:
    """unwrap verifies then parses; headers are matched case-insensitively."""
    for carrier in (
        {"TL-Signature": HEADER},
        {"tl-signature": HEADER, "Content-Type": "application/json"},
        HEADER,
    ):
        event = unwrap(RAW, carrier, SECRET, now=SIGNED_AT)
        assert event.task_id == "6a0b1c2d3e4f5a6b7c8d9e0f"


def test_unwrap_rejects_missing_header_and_bad_signature_before_parsing() -> None:
    """A missing header or a bad signature is refused even when the body would parse."""
    with pytest.raises(WebhookVerificationError, match="missing"):
        unwrap(RAW, {"Content-Type": "application/json"}, SECRET, now=SIGNED_AT)
    with pytest.raises(WebhookVerificationError, match="does not match"):
        unwrap(RAW, {"TL-Signature": sign(RAW, secret="x")}, SECRET, now=SIGNED_AT)


def test_public_names() -> None:
    """The webhook names are reachable from the package and its webhooks module."""
    assert asyncanalyze.webhooks.unwrap is unwrap
    assert asyncanalyze.WebhookEvent is WebhookEvent
    assert issubclass(WebhookVerificationError, asyncanalyze.AnalyzeError)


# -- the aiohttp handler ---------------------------------------------------------------------


async def handler_client(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> TestClient[web.Request, web.Application]:
    app = web.Application()
    app.router.add_post("/hooks", handler)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_handler_accepts_a_signed_event() -> None:
    """200 for a correctly signed event, and on_event (async here) gets the parsed event."""
    received: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        received.append(event)

    http = await handler_client(aiohttp_handler(SECRET, on_event=on_event, tolerance=None))
    try:
        response = await http.post("/hooks", data=RAW, headers={"TL-Signature": HEADER})
        assert response.status == 200
    finally:
        await http.close()
    assert [e.task_id for e in received] == ["6a0b1c2d3e4f5a6b7c8d9e0f"]


async def test_handler_answers_401_to_bad_or_stale_signatures() -> None:
    """Bad, missing and stale signatures get 401 and never reach on_event."""
    received: list[WebhookEvent] = []
    http = await handler_client(aiohttp_handler(SECRET, on_event=received.append))
    try:
        for headers in ({"TL-Signature": sign(RAW, secret="nope")}, {}, {"TL-Signature": HEADER}):
            response = await http.post("/hooks", data=RAW, headers=headers)
            assert response.status == 401  # the fixture's 2026 timestamp is stale today
    finally:
        await http.close()
    assert received == []


async def test_handler_answers_400_to_a_signed_body_that_is_not_an_event() -> None:
    """A correctly signed body that does not parse gets 400."""
    received: list[WebhookEvent] = []
    body = b'{"hello": "world"}'
    http = await handler_client(aiohttp_handler(SECRET, on_event=received.append, tolerance=None))
    try:
        response = await http.post("/hooks", data=body, headers={"TL-Signature": sign(body)})
        assert response.status == 400
    finally:
        await http.close()
    assert received == []


async def test_handler_answers_500_when_on_event_fails() -> None:
    """If the user's callback raises, the platform is told to deliver again (5xx)."""

    def on_event(_: WebhookEvent) -> None:
        raise RuntimeError("database down")

    http = await handler_client(aiohttp_handler(SECRET, on_event=on_event, tolerance=None))
    try:
        response = await http.post("/hooks", data=RAW, headers={"TL-Signature": HEADER})
        assert response.status == 500
    finally:
        await http.close()


@pytest.mark.parametrize("task_id", ["\ud800", "ok\udfff"])
async def test_handler_answers_400_to_a_task_id_that_is_not_text(task_id: str) -> None:
    """A signed event whose task id holds a lone surrogate is not an event (400, so the
    platform stops), where it once raised UnicodeEncodeError, answered 500 and was delivered
    again for ever."""
    body = event_body(task_id)
    assert b"\\ud" in body.lower()  # json.dumps escapes the surrogate: the bytes are ASCII
    async with AnalyzeAsyncClient(api_key="k", base_url="http://127.0.0.1:9") as client:
        http = await handler_client(aiohttp_handler(SECRET, client=client, tolerance=None))
        try:
            response = await http.post("/hooks", data=body, headers={"TL-Signature": sign(body)})
            assert response.status == 400
        finally:
            await http.close()
    with pytest.raises(WebhookVerificationError):
        parse_event(body)


async def test_deliver_webhook_event_ignores_an_id_that_is_not_text() -> None:
    """An event built by hand with a lone-surrogate task id is ignored (False), not a raw
    UnicodeEncodeError."""
    event = parse_event(event_body("t1"))
    broken = attrs.evolve(event, data=attrs.evolve(event.data, task_id="\ud800"))
    async with AnalyzeAsyncClient(api_key="k", base_url="http://127.0.0.1:9") as client:
        assert client.tasks.deliver_webhook_event(broken) is False


# -- replays: each event is handled once -------------------------------------------------------


class Counting:
    """on_event and deliver_webhook_event stand-ins that count calls and can fail on cue."""

    def __init__(self, failures: int = 0) -> None:
        self.events: list[str] = []
        self.failures = failures

    async def on_event(self, event: WebhookEvent) -> None:
        await asyncio.sleep(0)  # concurrent deliveries really overlap
        self.events.append(event.id)
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database down")


def signed_now(body: bytes) -> dict[str, str]:
    return {"TL-Signature": sign(body, t=int(time.time()))}


async def deliver(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    body: bytes,
    *,
    in_turn: int = 0,
    at_once: int = 0,
) -> list[int]:
    """POST ``body``, freshly signed, ``in_turn`` times one after another, then ``at_once``
    times concurrently; the statuses, in the order sent."""
    http = await handler_client(handler)
    try:
        statuses = [
            (await http.post("/hooks", data=body, headers=signed_now(body))).status
            for _ in range(in_turn)
        ]
        if at_once:
            responses = await asyncio.gather(
                *(http.post("/hooks", data=body, headers=signed_now(body)) for _ in range(at_once))
            )
            statuses += [response.status for response in responses]
    finally:
        await http.close()
    return statuses


async def test_replays_of_one_signed_event_are_handled_once() -> None:
    """2,000 replays of one validly signed event inside the window, in sequence and at once,
    reach on_event and the client's waits once; each replay still gets 200 so a genuine
    redelivery stops. (Each replay triggered a retrieve before: 87 extra for 2,000.)"""
    counting = Counting()
    body = event_body()
    async with AnalyzeAsyncClient(api_key="k", base_url="http://127.0.0.1:9") as client:
        delivered: list[str] = []
        client.tasks.deliver_webhook_event = (  # type: ignore[method-assign]
            lambda event: delivered.append(event.id) or True
        )
        handler = aiohttp_handler(SECRET, client=client, on_event=counting.on_event)
        statuses = await deliver(handler, body, in_turn=1_000)
        for _ in range(20):
            statuses += await deliver(handler, body, at_once=50)
    assert statuses == [200] * 2_000
    assert counting.events == ["whe_1"]
    assert delivered == ["whe_1"]


async def test_concurrent_first_deliveries_run_once() -> None:
    """Deliveries of one event that arrive while the first is still being handled wait for
    its outcome instead of running beside it."""
    counting = Counting()
    handler = aiohttp_handler(SECRET, on_event=counting.on_event)
    assert await deliver(handler, event_body(), at_once=30) == [200] * 30
    assert counting.events == ["whe_1"]


async def test_a_redelivery_after_a_failure_is_handled_again() -> None:
    """Only successfully handled events are remembered: after on_event raised (500), the
    platform's redelivery is processed, and the one after that is a duplicate."""
    counting = Counting(failures=1)
    handler = aiohttp_handler(SECRET, on_event=counting.on_event)
    assert await deliver(handler, event_body(), in_turn=3) == [500, 200, 200]
    assert counting.events == ["whe_1", "whe_1"]


async def test_concurrent_deliveries_retry_when_the_first_fails() -> None:
    """A delivery waiting on a first one that fails handles the event itself (once)."""
    counting = Counting(failures=1)
    handler = aiohttp_handler(SECRET, on_event=counting.on_event)
    assert sorted(await deliver(handler, event_body(), at_once=10)) == [200] * 9 + [500]
    assert counting.events == ["whe_1", "whe_1"]


async def test_remembered_event_ids_are_bounded() -> None:
    """The handler remembers at most remember_events ids, forgetting the oldest first."""
    counting = Counting()
    http = await handler_client(
        aiohttp_handler(SECRET, on_event=counting.on_event, remember_events=3)
    )
    bodies = [event_body(f"t{n}", id=f"whe_{n}") for n in range(5)]
    try:
        for body in [*bodies, bodies[4], bodies[2], bodies[0]]:
            response = await http.post("/hooks", data=body, headers=signed_now(body))
            assert response.status == 200
    finally:
        await http.close()
    # whe_4 and whe_2 were among the last three handled; whe_0 had been forgotten.
    assert counting.events == ["whe_0", "whe_1", "whe_2", "whe_3", "whe_4", "whe_0"]


def test_handled_events_is_a_bounded_set() -> None:
    """HandledEvents, for receivers in other frameworks: membership, and the oldest id goes
    first once capacity is reached."""
    handled = HandledEvents(capacity=1_000)
    for n in range(10_000):
        handled.add(f"whe_{n}")
    assert len(handled) == 1_000
    assert "whe_9999" in handled and "whe_8999" not in handled
    handled.add("whe_9000")  # seen again: now the newest, kept longest
    for n in range(10_000, 10_999):
        handled.add(f"whe_{n}")
    assert "whe_9000" in handled and "whe_9001" not in handled
    off = HandledEvents(capacity=0)
    off.add("whe_1")
    assert "whe_1" not in off and len(off) == 0


# -- the scheduler hook (no network) -----------------------------------------------------------


class FakeApi:
    """retrieve/list for a PollScheduler; sleeping never ends, so only a notify makes progress."""

    def __init__(self, status: str = "ready") -> None:
        self.status = status
        self.retrieves: list[str] = []
        self.lists = 0

    def task(self, task_id: str, status: str) -> AnalyzeTaskResponse:
        from asyncanalyze._convert import structure

        return structure(
            {"task_id": task_id, "status": status, "created_at": "2026-07-01T10:00:00Z"},
            AnalyzeTaskResponse,
        )

    async def retrieve(self, task_id: str) -> AnalyzeTaskResponse:
        self.retrieves.append(task_id)
        return self.task(task_id, self.status)

    async def list_page(self, status: str | None, page: int, limit: int) -> TasksListResponse:
        self.lists += 1
        return TasksListResponse(data=[], page_info=asyncanalyze.PageInfo(total_page=1))

    async def sleep(self, _: float) -> None:
        await asyncio.Event().wait()

    def scheduler(self, **options: Any) -> PollScheduler:
        return PollScheduler(
            self.retrieve,
            self.list_page,
            sleep=self.sleep,
            clock=lambda: 1000.0,
            rng=random.Random(0),
            clock_is_loop_time=False,
            **options,
        )


POLICY = PollPolicy(initial_delay=3600.0)


async def test_notify_ends_a_waiting_task_with_one_retrieve() -> None:
    """A wait whose first poll is an hour away ends after exactly one retrieve on notify."""
    api = FakeApi()
    scheduler = api.scheduler()
    waits = [
        scheduler.register("t1", policy=POLICY, timeout=None, first_delay=3600.0) for _ in range(3)
    ]
    await asyncio.sleep(0)
    assert api.retrieves == []
    scheduler.notify_terminal("t1")
    results = await asyncio.wait_for(asyncio.gather(*(w.future for w in waits)), 1)
    assert {r.status for r in results} == {"ready"}
    assert api.retrieves == ["t1"]  # one request for all three waits
    await scheduler.aclose()


async def test_notify_before_the_wait_starts_is_remembered() -> None:
    """An event that beats await_result (fast task) still ends the later wait at once."""
    api = FakeApi(status="failed")
    scheduler = api.scheduler()
    scheduler.notify_terminal("t1")
    with pytest.raises(TaskFailedError):
        await asyncio.wait_for(
            scheduler.wait("t1", policy=POLICY, timeout=None, first_delay=3600.0), 1
        )
    assert api.retrieves == ["t1"]
    await scheduler.aclose()


async def test_notify_when_the_retrieve_disagrees_keeps_polling() -> None:
    """If the retrieve still shows the task running, the wait goes back to normal polling."""
    api = FakeApi(status="processing")
    scheduler = api.scheduler()
    wait = scheduler.register("t1", policy=POLICY, timeout=None, first_delay=3600.0)
    scheduler.notify_terminal("t1")
    for _ in range(5):
        await asyncio.sleep(0)
    assert api.retrieves == ["t1"] and not wait.future.done()
    assert wait.polls == 1 and math.isfinite(wait.due)
    await scheduler.aclose()


async def test_notify_in_sweep_mode_retrieves_only_that_task() -> None:
    """With enough tasks for list sweeps, an event still ends its wait before the next sweep."""
    api = FakeApi(status="processing")
    scheduler = api.scheduler(bulk_threshold=2, bulk_interval=3600.0)
    waits = {tid: scheduler.register(tid, policy=POLICY, timeout=None) for tid in "abc"}
    for _ in range(100):
        if len(api.retrieves) >= 3:
            break
        await asyncio.sleep(0)
    # The first sweep retrieves the tasks missing from the (empty) lists.
    before = list(api.retrieves)
    assert sorted(before) == ["a", "b", "c"]
    api.status = "ready"
    scheduler.notify_terminal("b")
    await asyncio.wait_for(waits["b"].future, 1)
    assert api.retrieves[len(before) :] == ["b"]
    assert not waits["a"].future.done() and not waits["c"].future.done()
    await scheduler.aclose()


async def test_remembered_events_are_bounded() -> None:
    """Events for tasks nobody waits on cannot grow memory without bound."""
    scheduler = FakeApi().scheduler()
    for index in range(10_000):
        scheduler.notify_terminal(f"t{index}")
    assert len(scheduler._ended_unwaited) <= 4096
    assert "t9999" in scheduler._ended_unwaited and "t0" not in scheduler._ended_unwaited
    await scheduler.aclose()


async def test_deliver_webhook_event_ignores_non_terminal_and_bad_ids() -> None:
    """deliver_webhook_event acts only on terminal events naming a usable task id."""
    async with AnalyzeAsyncClient(api_key="k", base_url="http://127.0.0.1:9") as client:
        assert client.tasks.deliver_webhook_event(parse_event(RAW)) is True
        assert (
            client.tasks.deliver_webhook_event(parse_event(event_body("x", "processing"))) is False
        )
        assert client.tasks.deliver_webhook_event(parse_event(event_body("../x"))) is False
        with pytest.raises(InvalidRequestError):
            client.tasks.deliver_webhook_event({"id": "x"})  # type: ignore[arg-type]


# -- end to end with the emulator's webhook delivery ---------------------------------------------

SPEED = 50.0
TASK_SECONDS = 30


def video(tag: str, seconds: int = TASK_SECONDS) -> VideoContext_Url:
    return VideoContext_Url(url=f"https://videos.example/{tag}.mp4?emulator_task_seconds={seconds}")


class Receiver:
    """A real aiohttp server on 127.0.0.1 whose handler is bound once the client exists."""

    def __init__(self) -> None:
        self.handler: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None
        self.statuses: list[int] = []
        app = web.Application()
        app.router.add_post("/hooks", self._route)
        self.server = TestServer(app, host="127.0.0.1")

    async def _route(self, request: web.Request) -> web.StreamResponse:
        assert self.handler is not None
        response = await self.handler(request)
        self.statuses.append(response.status)
        return response

    @property
    def url(self) -> str:
        return str(self.server.make_url("/hooks"))


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.server.start_server()
    try:
        yield receiver
    finally:
        await receiver.server.close()


async def test_webhook_ends_the_wait_with_fewer_polls_than_polling(
    webhook_receiver: Receiver,
) -> None:
    """With webhooks a wait polling only hourly ends right after the task does, with one
    retrieve; polling alone (default policy) needs several polls for the same task."""
    events: list[WebhookEvent] = []
    async with Emulator(
        speed=SPEED, webhook_url=webhook_receiver.url, webhook_secret=SECRET
    ) as emu:
        async with emulator_client(emu) as client:
            webhook_receiver.handler = aiohttp_handler(
                SECRET, client=client, on_event=events.append
            )
            lazy = PollPolicy(initial_delay=3600.0, max_delay=3600.0)
            created = await client.tasks.create(video=video("hooked"), prompt="p")
            task = await client.tasks.await_result(created, poll_policy=lazy)
            lag = client.clock() - task.completed_at.timestamp()  # type: ignore[union-attr]

            webhook_receiver.handler = aiohttp_handler(SECRET)  # events now reach no client
            polling_only = await client.tasks.create(video=video("polled"), prompt="p")
            polled = await client.tasks.await_result(polling_only)
        polls = emu.stats()["polls"]
    assert task.status == "ready" and task.result is not None
    assert polls[created.task_id] == 1
    assert lag < 5.0  # emulated seconds: seen at the event, not at an hourly poll
    assert polled.status == "ready" and polls[polling_only.task_id] >= 3
    assert polls[created.task_id] < polls[polling_only.task_id]
    assert [e.task_id for e in events] == [created.task_id]
    assert webhook_receiver.statuses[0] == 200


async def test_webhooks_end_a_sweeping_batch_early(webhook_receiver: Receiver) -> None:
    """as_completed over enough tasks to sweep still ends each task at its event."""
    async with Emulator(
        speed=SPEED, webhook_url=webhook_receiver.url, webhook_secret=SECRET
    ) as emu:
        async with emulator_client(emu, bulk_threshold=4, bulk_interval=3600.0) as client:
            webhook_receiver.handler = aiohttp_handler(SECRET, client=client)
            created = [
                await client.tasks.create(video=video(f"b{i}", 20 + 5 * i), prompt="p")
                for i in range(6)
            ]
            order = [o.task_id async for o in client.tasks.as_completed(created, timeout=3000)]
        polls = emu.stats()["polls"]
    assert order == [c.task_id for c in created]  # by duration, each at its own event
    assert all(polls[c.task_id] == 1 for c in created)


async def test_failed_task_event_ends_the_wait_with_task_failed_error(
    webhook_receiver: Receiver,
) -> None:
    """An analyze.task.failed event ends the wait with TaskFailedError after one retrieve."""
    async with Emulator(
        speed=SPEED, webhook_url=webhook_receiver.url, webhook_secret=SECRET
    ) as emu:
        async with emulator_client(emu) as client:
            webhook_receiver.handler = aiohttp_handler(SECRET, client=client)
            url = video("bad").url + "&emulator_fail=Corrupted"
            created = await client.tasks.create(video=VideoContext_Url(url=url), prompt="p")
            with pytest.raises(TaskFailedError, match="Corrupted"):
                await client.tasks.await_result(
                    created, poll_policy=PollPolicy(initial_delay=3600.0)
                )
        assert emu.stats()["polls"][created.task_id] == 1


async def test_polling_is_the_fallback_when_no_event_arrives(webhook_receiver: Receiver) -> None:
    """If the receiver rejects every event (wrong secret), the wait still ends by polling."""
    async with (
        Emulator(
            speed=SPEED,
            webhook_url=webhook_receiver.url,
            webhook_secret="whsec_other",
            webhook_max_attempts=1,
        ) as emu,
        emulator_client(emu) as client,
    ):
        webhook_receiver.handler = aiohttp_handler(SECRET, client=client)
        created = await client.tasks.create(video=video("fallback", 10), prompt="p")
        policy = PollPolicy(initial_delay=20.0, max_delay=20.0)
        task = await client.tasks.await_result(created, poll_policy=policy)
    assert task.status == "ready"
    assert webhook_receiver.statuses == [401]


async def test_canceled_event_parses_and_ends_the_wait(webhook_receiver: Receiver) -> None:
    """analyze.task.canceled, sent when another client cancels the task, parses (status
    canceled, terminal) and ends this client's wait with TaskCanceledError after one retrieve."""
    events: list[WebhookEvent] = []
    async with Emulator(
        speed=SPEED, webhook_url=webhook_receiver.url, webhook_secret=SECRET
    ) as emu:
        async with emulator_client(emu) as client, emulator_client(emu) as elsewhere:
            webhook_receiver.handler = aiohttp_handler(
                SECRET, client=client, on_event=events.append
            )
            created = await client.tasks.create(video=video("stopped", 3000), prompt="p")
            wait = asyncio.ensure_future(
                client.tasks.await_result(created, poll_policy=PollPolicy(initial_delay=3600.0))
            )
            await asyncio.sleep(0)
            await elsewhere.tasks.cancel(created)  # not this client: only the event can tell it
            with pytest.raises(TaskCanceledError) as raised:
                await asyncio.wait_for(wait, 5)
        assert emu.stats()["polls"][created.task_id] == 1
    [event] = events
    assert event.type == "analyze.task.canceled" and event.task_id == created.task_id
    assert event.data.status == AnalyzeTaskStatus.CANCELED and event.data.status.is_terminal
    assert raised.value.task.status == "canceled"
