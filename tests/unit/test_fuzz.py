"""Property tests (hypothesis): decoding, argument checks and error parsing never misbehave.

Bounded so the file runs in seconds: a modest ``max_examples`` and no deadline (the first
example of each test pays for imports and aiohttp's setup).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import pytest
from aioresponses import CallbackResult, aioresponses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeRequest,
    AnalyzeTaskResponse,
    CreateAnalyzeTaskResponse,
    InvalidRequestError,
    PollPolicy,
    RequestOptions,
    ResponseFormat,
    ResponseValidationError,
    TasksListResponse,
    VideoContext_AssetId,
    VideoContext_Base64String,
    VideoContext_Url,
    WebhookVerificationError,
)
from asyncanalyze._convert import unstructure
from asyncanalyze._errors import APIStatusError
from asyncanalyze._protocol import (
    RawResponse,
    decode,
    error_for_response,
    parse_rate_limit_headers,
    parse_retry_after,
)
from asyncanalyze.webhooks import parse_event

from .._helpers import calls, sent_count, task_json
from ..conftest import BASE_URL

FUZZ = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# -- JSON-ish values ---------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)

finite_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)

# -- valid wire dicts --------------------------------------------------------------------------

ids = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=24)
statuses = st.sampled_from(["queued", "pending", "processing", "ready", "failed", "canceled"]) | (
    st.text(min_size=1, max_size=12)  # statuses the platform may add later are kept
)
timestamps = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
).map(lambda moment: moment.isoformat())
usage = st.fixed_dictionaries(
    {"output_tokens": st.integers(0, 10**6)},
    optional={"input_tokens": st.integers(0, 10**6) | st.none()},
)
result = st.fixed_dictionaries(
    {"generation_id": ids, "data": st.text(max_size=200), "usage": usage},
    optional={"finish_reason": st.sampled_from(["stop", "length"]) | st.none()},
)
task_error = st.fixed_dictionaries(
    {"message": st.text(max_size=80)}, optional={"code": st.text(max_size=20) | st.none()}
)
webhook_info = st.fixed_dictionaries(
    {"url": st.text(max_size=40), "delivered": st.booleans(), "attempts": st.integers(0, 50)},
    optional={"last_error": st.text(max_size=40) | st.none()},
)
finite_numbers = st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
json_objects = st.dictionaries(st.text(max_size=8), finite_json_values, max_size=3)
video_source = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["url", "asset_id", "base64_string", "video_id"]) | ids,
        "url": st.text(max_size=20),
        "asset_id": ids,
        "video_id": ids,
        "index_id": ids,
        "system_metadata": st.fixed_dictionaries({}, optional={"duration": finite_numbers}),
    },
)
request_params = st.fixed_dictionaries(
    {},
    optional={
        "analysis_mode": st.sampled_from(["general", "time_based_metadata"]) | ids,
        "prompt": st.text(max_size=30),
        "prompt_v2": json_objects,
        "image": st.lists(json_objects, max_size=2),
        "response_format": json_objects,
        "temperature": finite_numbers,
        "max_tokens": st.integers(1, 98304) | st.just("unlimited"),
        **{
            name: finite_numbers
            for name in ("min_segment_duration", "max_segment_duration", "start_time", "end_time")
        },
    },
)
task_wire = st.fixed_dictionaries(
    {"task_id": ids, "status": statuses, "created_at": timestamps},
    optional={
        "completed_at": timestamps | st.none(),
        "result": result | st.none(),
        "error": task_error | st.none(),
        "webhooks": st.lists(webhook_info, max_size=3) | st.none(),
        "custom_id": st.text(max_size=20) | st.none(),
        "batch_id": ids | st.none(),
        # What the platform echoes decodes whatever its shape (an odd field becomes None).
        "video_source": video_source | finite_json_values,
        "request_params": request_params | finite_json_values,
        "an_unknown_field": finite_json_values,  # ignored: the platform may add fields
    },
)
create_wire = st.fixed_dictionaries({"task_id": ids, "status": statuses})
page_info = st.fixed_dictionaries(
    {},
    optional={
        name: st.integers(0, 10**4) | st.none()
        for name in ("limit_per_page", "page", "total_page", "total_results")
    },
)
list_wire = st.fixed_dictionaries(
    {"data": st.lists(task_wire, max_size=4)}, optional={"page_info": page_info}
)
WIRE = {
    CreateAnalyzeTaskResponse: create_wire,
    AnalyzeTaskResponse: task_wire,
    TasksListResponse: list_wire,
}
MODELS = sorted(WIRE, key=lambda cls: cls.__name__)


def body_of(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def mangled(draw: st.DrawFn, cls: type) -> Any:
    """A valid wire dict with one field (at any depth) replaced or removed."""
    wire = draw(WIRE[cls])
    node = wire
    while True:
        keys = sorted(k for k, v in node.items() if isinstance(v, dict))
        if not keys or draw(st.booleans()):
            break
        node = node[draw(st.sampled_from(keys))]
    if node:
        key = draw(st.sampled_from(sorted(node)))
        if draw(st.booleans()):
            node[key] = draw(json_values)
        else:
            del node[key]
    return wire


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@FUZZ
@given(data=st.data())
def test_any_body_decodes_or_raises_response_validation_error(cls: type, data: Any) -> None:
    """Whatever a 2xx body holds, decode returns the model or raises ResponseValidationError."""
    body = data.draw(
        st.binary(max_size=64)
        | json_values.map(body_of)
        | mangled(cls).map(body_of)
        | st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth)
    )
    try:
        decoded = decode(RawResponse(200, {}, body), cls)
    except ResponseValidationError as exc:
        assert exc.body == body
    else:
        assert isinstance(decoded, cls)


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
@FUZZ
@given(data=st.data())
def test_valid_wire_dicts_round_trip(cls: type, data: Any) -> None:
    """A valid wire dict decodes, and the model encodes back to a dict that decodes equal."""
    wire = data.draw(WIRE[cls])
    model = decode(RawResponse(200, {}, body_of(wire)), cls)
    assert model.task_id == wire["task_id"] if hasattr(model, "task_id") else True
    again = decode(RawResponse(200, {}, body_of(unstructure(model))), cls)
    assert again == model


# -- arguments: work, or fail before anything is sent -----------------------------------------

anything = json_values | st.builds(object) | st.just(math.nan) | st.just(b"bytes")
videos = (
    st.builds(VideoContext_Url, url=st.text(max_size=30) | st.just("https://e.com/v.mp4"))
    | st.builds(VideoContext_AssetId, asset_id=st.text(max_size=12))
    | st.builds(VideoContext_Base64String, base64_string=st.text(max_size=16) | st.just("AAAA"))
    | anything
)


class OptionsSpec(dict[str, Any]):
    """RequestOptions arguments, built inside the call under test: building them is where a
    bad number is refused, and that refusal must also happen before anything is sent."""


def built(options: Any) -> Any:
    return RequestOptions(**options) if isinstance(options, OptionsSpec) else options


request_options = (
    st.none()
    | st.builds(
        OptionsSpec,
        timeout_in_seconds=st.none() | st.floats() | st.integers(-5, 5),
        max_retries=st.none() | st.integers(-2, 2) | st.floats(0, 2),
        additional_headers=st.none() | st.dictionaries(st.text(max_size=8), st.text(max_size=8)),
        additional_query_parameters=st.none()
        | st.dictionaries(st.text(max_size=8), st.text(max_size=8) | st.integers()),
    )
    | anything
)
task_refs = (
    st.text(max_size=20)
    | st.sampled_from(["../x", "a/b", "%2F", "?", "#", ".", "..", "a\\b", "t\x00"])
    | st.builds(CreateAnalyzeTaskResponse, task_id=st.text(max_size=10), status=st.just("queued"))
    | anything
)
numbers = st.none() | st.floats() | st.integers(-3, 10**6) | st.booleans() | anything
policies = st.none() | st.builds(PollPolicy, initial_delay=st.floats(0, 5)) | anything
callbacks = st.none() | st.just(lambda task: None) | anything


def fuzz_client() -> AnalyzeAsyncClient:
    async def no_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    return AnalyzeAsyncClient(
        api_key="fuzz-key",
        base_url=BASE_URL,
        max_retries=0,
        sleep=no_sleep,
        poll_policy=PollPolicy(initial_delay=0, jitter=0),
    )


def answer_everything(mock: aioresponses) -> None:
    """Every request is answered at once, so a call that passes its checks simply works."""
    tasks = re.compile(re.escape(f"{BASE_URL}/analyze/tasks") + r"(\?.*)?$")
    one_task = re.compile(re.escape(f"{BASE_URL}/analyze/tasks/") + r".+")
    mock.get(tasks, payload={"data": [task_json()], "page_info": {}}, repeat=True)
    mock.post(tasks, status=202, payload={"task_id": "t1", "status": "queued"}, repeat=True)
    mock.get(one_task, callback=echo_task, repeat=True)
    mock.delete(one_task, status=204, repeat=True)
    mock.post(one_task, callback=echo_cancel, repeat=True)


def echo_task(url: Any, **_: Any) -> CallbackResult:
    """A retrieve answer for whichever task the URL names, as a real server gives."""
    task_id = unquote(url.raw_path.rsplit("/", 1)[1])
    return CallbackResult(body=json.dumps(task_json(task_id=task_id)))


def echo_cancel(url: Any, **_: Any) -> CallbackResult:
    """A cancel answer for whichever task the URL (``.../{id}/cancel``) names."""
    task_id = unquote(url.raw_path.rsplit("/", 2)[1])
    return CallbackResult(body=json.dumps({"task_id": task_id, "status": "canceled"}))


def works_or_refuses_unsent(call: Callable[[AnalyzeAsyncClient], Awaitable[Any]]) -> None:
    async def run() -> None:
        with aioresponses() as mock:
            answer_everything(mock)
            async with fuzz_client() as client:
                try:
                    await asyncio.wait_for(call(client), timeout=10)
                except (InvalidRequestError, TypeError):
                    assert sent_count(mock) == 0

    asyncio.run(run())


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


modes = st.none() | st.sampled_from(["general", "time_based_metadata"]) | anything
filter_texts = st.none() | st.text(max_size=12) | st.just("https://e.com/a.mp4?x=1&y=2") | anything
list_filters = st.fixed_dictionaries(
    {},
    optional={
        "status": statuses | anything,
        "video_url": filter_texts,
        "asset_id": filter_texts,
        "analysis_mode": modes,
    },
)


@FUZZ
@given(page=numbers, page_limit=numbers, filters=list_filters, options=request_options)
def test_list_arguments(page: Any, page_limit: Any, filters: Any, options: Any) -> None:
    """tasks.list with any arguments works or is refused before sending."""
    works_or_refuses_unsent(
        lambda c: c.tasks.list(
            page=page, page_limit=page_limit, request_options=built(options), **filters
        )
    )


@FUZZ
@given(page_limit=numbers, filters=list_filters)
def test_iter_arguments(page_limit: Any, filters: Any) -> None:
    """tasks.iter with any arguments works or is refused before sending."""
    works_or_refuses_unsent(lambda c: collect(c.tasks.iter(page_limit=page_limit, **filters)))


seconds = st.integers(-2, 8000) | st.floats() | anything
sources = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "a b"]) | anything},
    optional={
        "url": st.sampled_from(["https://e.com/a.png", "http://e.com/a.png"]) | anything,
        "asset_id": st.text(max_size=6),
        "base64_string": st.sampled_from(["aGk=", "not base64"]),
        "colour": anything,
    },
)
segment_fields = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["n", "start_time"]) | anything,
        "type": st.sampled_from(["string", "timestamp", "array", "time_array", "x"]),
        "description": st.just("d") | anything,
    },
    optional={
        "format": st.sampled_from(["seconds", "ms"]),
        "enum": st.lists(st.text(max_size=3), max_size=3) | anything,
        "items": st.fixed_dictionaries(
            {"type": st.sampled_from(["string", "object"])},
            optional={
                "fields": st.lists(
                    st.just({"name": "e", "type": "string", "description": "d"}), max_size=2
                )
            },
        ),
    },
)
segment_formats = st.fixed_dictionaries(
    {
        "type": st.just("segment_definitions"),
        "segment_definitions": st.lists(
            st.fixed_dictionaries(
                {"id": st.sampled_from(["a", "b", ""]), "description": st.just("d")},
                optional={
                    "fields": st.lists(segment_fields, max_size=2),
                    "media_sources": st.lists(sources, max_size=2),
                    "time_ranges": st.lists(
                        st.fixed_dictionaries({"start_time": seconds, "end_time": seconds}),
                        max_size=2,
                    ),
                },
            ),
            max_size=3,
        )
        | anything,
    },
    optional={"segment_time_format": st.sampled_from(["seconds", "hours"])},
)
NEWER_CREATE_ARGUMENTS = {
    "model_name": st.sampled_from(["pegasus1.5", "pegasus1.6", "pegasus9", ""]) | anything,
    "analysis_mode": modes,
    "custom_id": st.text(max_size=70) | st.sampled_from(["ok-1", "x" * 64]) | anything,
    "image": st.lists(sources, max_size=3) | anything,
    "prompt_v2": st.fixed_dictionaries(
        {"input_text": st.text(max_size=10) | anything},
        optional={"media_sources": st.lists(sources, max_size=5)},
    )
    | anything,
    "min_segment_duration": seconds,
    "max_segment_duration": seconds,
    "start_time": seconds,
    "end_time": seconds,
    "response_format": segment_formats,
    "max_tokens": st.just("unlimited") | st.integers(0, 10**6),
}


@FUZZ
@given(
    video=videos,
    prompt=st.text(max_size=20) | anything,
    temperature=numbers,
    max_tokens=numbers,
    response_format=st.none()
    | st.builds(ResponseFormat, json_schema=st.dictionaries(st.text(max_size=5), json_values))
    | st.dictionaries(st.text(max_size=12), json_values)
    | anything,
    idempotency_key=st.none() | st.text(max_size=20) | anything,
    options=request_options,
    newer=st.fixed_dictionaries({}, optional=NEWER_CREATE_ARGUMENTS),
)
def test_create_arguments(
    video: Any,
    prompt: Any,
    temperature: Any,
    max_tokens: Any,
    response_format: Any,
    idempotency_key: Any,
    options: Any,
    newer: dict[str, Any],
) -> None:
    """tasks.create with any arguments works or is refused before sending."""
    kwargs: dict[str, Any] = {"video": video, "prompt": prompt, **newer}
    for name, value in (
        ("temperature", temperature),
        ("max_tokens", max_tokens),
        ("response_format", response_format),
    ):
        if value is not None:
            kwargs[name] = value
    works_or_refuses_unsent(
        lambda c: c.tasks.create(
            **kwargs, idempotency_key=idempotency_key, request_options=built(options)
        )
    )


@FUZZ
@given(task=task_refs, options=request_options)
def test_retrieve_delete_and_cancel_arguments(task: Any, options: Any) -> None:
    """retrieve, delete and cancel with any id and options work or are refused before sending."""
    works_or_refuses_unsent(lambda c: c.tasks.retrieve(task, request_options=built(options)))
    works_or_refuses_unsent(lambda c: c.tasks.delete(task, request_options=built(options)))
    works_or_refuses_unsent(lambda c: c.tasks.cancel(task, request_options=built(options)))


@FUZZ
@given(task=task_refs, timeout=numbers, policy=policies, callback=callbacks)
def test_await_result_arguments(task: Any, timeout: Any, policy: Any, callback: Any) -> None:
    """await_result with any arguments works or is refused before any poll."""
    works_or_refuses_unsent(
        lambda c: c.tasks.await_result(
            task, timeout=timeout, poll_policy=policy, on_status_change=callback
        )
    )


@FUZZ
@given(tasks=st.lists(task_refs, max_size=4) | anything, timeout=numbers, policy=policies)
def test_as_completed_arguments(tasks: Any, timeout: Any, policy: Any) -> None:
    """as_completed with any arguments works or is refused before any poll."""
    works_or_refuses_unsent(
        lambda c: collect(c.tasks.as_completed(tasks, timeout=timeout, poll_policy=policy))
    )


@FUZZ
@given(
    requests=st.lists(
        st.builds(AnalyzeRequest, video=videos, prompt=st.text(max_size=8)), max_size=3
    )
    | anything,
    concurrency=numbers,
    timeout=numbers,
    progress=callbacks,
)
def test_analyze_many_arguments(
    requests: Any, concurrency: Any, timeout: Any, progress: Any
) -> None:
    """analyze_many's own arguments work or are refused before sending; a bad request is an
    outcome."""
    works_or_refuses_unsent(
        lambda c: collect(
            c.tasks.analyze_many(
                requests, concurrency=concurrency, timeout=timeout, on_progress=progress
            )
        )
    )


# -- Retry-After and error bodies --------------------------------------------------------------

header_text = st.text(max_size=40) | st.sampled_from(
    [
        "nan",
        "inf",
        "-inf",
        "-5",
        "1e400",
        "1e-400",
        "86401",
        "0",
        " 3 ",
        "Wed, 21 Oct 2015 07:28:00 GMT",
        "Wed, 21 Oct 9999 07:28:00 GMT",
        "Wed, 21 Oct 2015 07:28:00",
        "Mon, 32 Foo 2015 99:99:99 GMT",
    ]
)


@settings(max_examples=400, deadline=None, database=None)
@given(
    headers=st.dictionaries(
        st.sampled_from(["retry-after", "retry-after-ms", "x-other"]), header_text
    ),
    now=st.none() | st.floats(0, 4e9),
)
def test_retry_after_is_never_negative_nan_or_unbounded(
    headers: dict[str, str], now: float | None
) -> None:
    """parse_retry_after never raises and gives None or a finite wait within a day."""
    wait = parse_retry_after(headers, now=now)
    assert wait is None or (math.isfinite(wait) and 0.0 <= wait <= 86_400.0)


@settings(max_examples=400, deadline=None, database=None)
@given(
    headers=st.dictionaries(
        st.sampled_from(
            ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "date"]
        ),
        header_text | st.integers(-(10**12), 10**12).map(str),
    ),
    now=st.none() | st.floats(0, 4e9),
)
def test_rate_limit_headers_never_give_a_negative_or_unbounded_wait(
    headers: dict[str, str], now: float | None
) -> None:
    """parse_rate_limit_headers never raises; counts are ints >= 0 and the time to the reset
    is None or finite within a day."""
    info = parse_rate_limit_headers(headers, now=now)
    for count in (info.limit, info.remaining):
        assert count is None or (isinstance(count, int) and count >= 0)
    wait = info.reset_in
    assert wait is None or (math.isfinite(wait) and 0.0 <= wait <= 86_400.0)


@settings(max_examples=300, deadline=None, database=None)
@given(
    status=st.integers(100, 999),
    body=st.binary(max_size=64) | json_values.map(body_of),
    headers=st.dictionaries(
        st.sampled_from(["retry-after", "retry-after-ms", "x-request-id", "content-type"]),
        header_text,
    ),
)
def test_error_for_response_never_raises(status: int, body: bytes, headers: dict[str, str]) -> None:
    """Any status, body and headers give a typed APIStatusError with a str message."""
    error = error_for_response(RawResponse(status, headers, body))
    assert isinstance(error, APIStatusError)
    assert error.status_code == status
    assert isinstance(str(error), str)


# -- regressions the fuzzing found ------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (
            lambda c: c.tasks.retrieve("t1", request_options={"timeout_in_seconds": 1}),
            "request_options",
        ),
        (lambda c: c.tasks.await_result("t1", poll_policy=object()), "poll_policy"),
        (lambda c: c.tasks.await_result("t1", on_status_change="print"), "on_status_change"),
        (lambda c: c.tasks.await_result("t1", timeout=math.nan), "timeout"),
        (lambda c: collect(c.tasks.as_completed(["t1"], poll_policy=1)), "poll_policy"),
    ],
)
def test_bad_option_objects_are_refused_before_sending(call: Any, parameter: str) -> None:
    """A wrong-typed options object, policy or callback, or a NaN timeout, is an
    InvalidRequestError naming it, with nothing sent."""

    async def run() -> None:
        with aioresponses() as mock:
            answer_everything(mock)
            async with fuzz_client() as client:
                with pytest.raises(InvalidRequestError) as info:
                    await call(client)
            assert info.value.parameter == parameter
            assert sent_count(mock) == 0

    asyncio.run(run())


# -- task ids: any text reaches its own path segment or is refused ----------------------------

any_text_ids = st.text(
    st.characters(categories=["Cs", "L", "M", "N", "P", "S", "Z", "Cc", "Cf"]), max_size=12
) | st.sampled_from(["\ud800", "a\udfffb", "\udc80/x", "%2F\ud83d", "\U0001f600", "\u2028"])


@FUZZ
@given(task_id=any_text_ids)
def test_any_text_id_reaches_its_own_segment_or_is_refused(task_id: str) -> None:
    """For any text id (lone surrogates, emoji, separators...), retrieve either sends one
    request whose last path segment decodes to exactly that id, or raises
    InvalidRequestError with nothing sent: never UnicodeEncodeError or another route."""

    async def run() -> None:
        with aioresponses() as mock:
            one_task = re.compile(re.escape(f"{BASE_URL}/analyze/tasks/") + r"[^/?#]+$")
            mock.get(one_task, callback=echo_task, repeat=True)
            async with fuzz_client() as client:
                try:
                    task = await client.tasks.retrieve(task_id)
                except InvalidRequestError:
                    assert sent_count(mock) == 0
                    return
            [(_, url)] = list(mock.requests)
            assert unquote(url.raw_path.rsplit("/", 1)[1]) == task_id
            assert task.task_id == task_id

    asyncio.run(run())


@FUZZ
@given(task_id=any_text_ids, event_id=any_text_ids)
def test_any_event_ids_parse_cleanly_or_are_rejected(task_id: str, event_id: str) -> None:
    """An event naming any text as its id or task id is either refused as not an event
    (WebhookVerificationError: the handler's 400) or parsed and delivered without raising
    (deliver_webhook_event says True or False): never an error that becomes a 500."""
    body = json.dumps(
        {
            "id": event_id,
            "created_at": "2026-07-01T10:03:13Z",
            "type": "analyze.task.ready",
            "data": {"id": task_id, "status": "ready", "created_at": "2026-07-01T10:00:00Z"},
        }
    ).encode()

    async def run() -> None:
        try:
            event = parse_event(body)
        except WebhookVerificationError:
            return
        async with fuzz_client() as client:
            assert client.tasks.deliver_webhook_event(event) in (True, False)

    asyncio.run(run())


general_requests = st.fixed_dictionaries(
    {"video": st.just(VideoContext_Url(url="https://e.com/v.mp4")), "prompt": st.just("p")},
    optional={
        "model_name": st.sampled_from(["pegasus1.5", "pegasus1.6", "pegasus9"]),
        "analysis_mode": st.just("general"),
        "custom_id": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        "temperature": st.floats(0, 1),
        # valid with and without a model_name (API.md's 4,096 without one)
        "max_tokens": st.integers(512, 4096),
        "start_time": st.floats(0, 100),
        "end_time": st.floats(200, 7200),
    },
)


@FUZZ
@given(request=general_requests)
def test_a_valid_create_sends_exactly_the_fields_given(request: dict[str, Any]) -> None:
    """OMIT semantics: the body's keys are the arguments given, under the same names."""
    sent: list[Any] = []

    async def run() -> None:
        with aioresponses() as mock:
            answer_everything(mock)
            async with fuzz_client() as client:
                await client.tasks.create(**request)
            [(_, _, kwargs)] = calls(mock)
            sent.append(json.loads(kwargs["data"]))

    asyncio.run(run())
    assert set(sent[0]) == set(request)
