"""client.tasks: wire requests for each endpoint and the checks that run before sending."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeTaskStatus,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PollPolicy,
    RequestOptions,
    ResponseFormat,
    ResponseValidationError,
    VideoContext_AssetId,
    VideoContext_Base64String,
    VideoContext_Url,
)
from asyncanalyze.webhooks import parse_event

from .._helpers import task_json
from .._scripted import ScriptedServer, header
from ..conftest import API_KEY

TASKS = "/analyze/tasks"
URL_VIDEO = VideoContext_Url(url="https://example.com/video.mp4")
CREATED = {"task_id": "64f8d2c7e4a1b37f8a9c5d12", "status": "queued"}


async def test_create_sends_only_set_fields(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """A minimal create sends video and prompt only: unset optionals are not sent (not null)."""
    scripted_server.post(TASKS, status=202, payload=CREATED)
    created = await scripted_client.tasks.create(video=URL_VIDEO, prompt="Summarize this video")
    assert created.task_id == CREATED["task_id"] and created.status == "queued"
    [request] = scripted_server.requests
    assert (request.method, request.path) == ("POST", TASKS)
    assert request.json() == {
        "video": {"type": "url", "url": "https://example.com/video.mp4"},
        "prompt": "Summarize this video",
    }
    assert header(request, "content-type") == "application/json"


async def test_create_sends_every_option(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """temperature, max_tokens and response_format are sent with their wire names."""
    scripted_server.post(TASKS, status=202, payload=CREATED)
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    await scripted_client.tasks.create(
        video=VideoContext_AssetId(asset_id="asset1"),
        prompt="p",
        temperature=0.0,
        max_tokens=4096,
        response_format=ResponseFormat(json_schema=schema),
    )
    [request] = scripted_server.requests
    assert request.json() == {
        "video": {"type": "asset_id", "asset_id": "asset1"},
        "prompt": "p",
        "temperature": 0.0,
        "max_tokens": 4096,
        "response_format": {"type": "json_schema", "json_schema": schema},
    }


async def test_create_with_base64_video(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """A base64 video is sent tagged base64_string."""
    scripted_server.post(TASKS, status=202, payload=CREATED)
    data = base64.b64encode(b"\x00\x01video").decode()
    await scripted_client.tasks.create(
        video=VideoContext_Base64String(base64_string=data), prompt="p"
    )
    [request] = scripted_server.requests
    assert request.json()["video"] == {"type": "base64_string", "base64_string": data}


async def test_every_request_carries_key_and_user_agent(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """x-api-key and a User-Agent naming the package go on every request."""
    scripted_server.get(f"{TASKS}/t1", payload=task_json())
    await scripted_client.tasks.retrieve("t1")
    [request] = scripted_server.requests
    assert header(request, "x-api-key") == API_KEY
    assert (header(request, "user-agent") or "").startswith("asyncanalyze/")


async def test_create_sends_an_idempotency_key(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """Each create carries a fresh Idempotency-Key; an explicit key is sent as given."""
    scripted_server.post(TASKS, status=202, payload=CREATED, repeat=True)
    await scripted_client.tasks.create(video=URL_VIDEO, prompt="a")
    await scripted_client.tasks.create(video=URL_VIDEO, prompt="b")
    await scripted_client.tasks.create(
        video=URL_VIDEO, prompt="c", idempotency_key="batch-1-item-7"
    )
    keys = [header(request, "idempotency-key") for request in scripted_server.requests]
    assert keys[0] and keys[1] and keys[0] != keys[1]
    assert keys[2] == "batch-1-item-7"


async def test_list_sends_only_given_query(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """list() without arguments sends no query; given ones use the wire names."""
    page = {"data": [task_json()], "page_info": {"page": 1, "total_page": 1}}
    scripted_server.get(TASKS, payload=page, repeat=True)
    first = await scripted_client.tasks.list()
    await scripted_client.tasks.list(page=2, page_limit=5, status=AnalyzeTaskStatus.READY)
    assert first.data[0].status == "ready"
    sent = [(request.path, request.params) for request in scripted_server.requests]
    assert sent == [(TASKS, None), (TASKS, {"page": 2, "page_limit": 5, "status": "ready"})]


async def test_iter_walks_all_pages(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """tasks.iter() yields every task across pages and stops after the last page."""
    for page in (1, 2, 3):
        items = [task_json(task_id=f"t{page}{i}") for i in range(2 if page < 3 else 1)]
        scripted_server.get(
            TASKS, payload={"data": items, "page_info": {"page": page, "total_page": 3}}
        )
    ids = [task.task_id async for task in scripted_client.tasks.iter(status="ready", page_limit=2)]
    assert ids == ["t10", "t11", "t20", "t21", "t30"]
    assert [request.params for request in scripted_server.requests] == [
        {"page": page, "page_limit": 2, "status": "ready"} for page in (1, 2, 3)
    ]


async def test_iter_stops_on_short_page_without_totals(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """Without total_page, a page shorter than page_limit is the last one."""
    scripted_server.get(TASKS, payload={"data": [task_json(), task_json()]})
    scripted_server.get(TASKS, payload={"data": [task_json()]})
    assert len([t async for t in scripted_client.tasks.iter(page_limit=2)]) == 3


async def test_delete_accepts_empty_204(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """delete() returns None on 204 with an empty body."""
    scripted_server.delete(f"{TASKS}/t1", status=204, body=b"")
    assert await scripted_client.tasks.delete("t1") is None


async def test_delete_conflict_and_not_found(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """409 and 404 on delete become ConflictError and NotFoundError, not retried."""
    body = {"error": {"code": "task_processing", "message": "Cannot delete"}}
    scripted_server.delete(f"{TASKS}/busy", status=409, payload=body)
    scripted_server.delete(
        f"{TASKS}/gone", status=404, payload={"code": "resource_not_exist", "message": "no"}
    )
    with pytest.raises(ConflictError) as conflict:
        await scripted_client.tasks.delete("busy")
    assert conflict.value.code == "task_processing"
    with pytest.raises(NotFoundError):
        await scripted_client.tasks.delete("gone")
    assert scripted_server.sent == 2


async def test_request_options_override_headers_query_body(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """RequestOptions adds headers, query parameters and body fields to one call."""
    scripted_server.post(TASKS, status=202, payload=CREATED)
    options = RequestOptions(
        additional_headers={"X-Trace": "abc"},
        additional_query_parameters={"trace": "1"},
        additional_body_parameters={"custom_id": "mine"},
    )
    await scripted_client.tasks.create(video=URL_VIDEO, prompt="p", request_options=options)
    [request] = scripted_server.requests
    assert header(request, "x-trace") == "abc"
    assert request.params == {"trace": "1"}
    assert request.json()["custom_id"] == "mine"


GOOD: dict[str, Any] = {"video": URL_VIDEO, "prompt": "p"}


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 1.01}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": "0.5"}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 98_305}, "max_tokens"),
        ({"max_tokens": 10.0}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"video": None}, "video"),
        ({"video": {"type": "url", "url": "x"}}, "video"),
        ({"video": VideoContext_Url(url="")}, "video.url"),
        ({"video": VideoContext_Url(url="ftp://e.com/v.mp4")}, "video.url"),
        ({"video": VideoContext_AssetId(asset_id=" ")}, "video.asset_id"),
        ({"video": VideoContext_Base64String(base64_string="")}, "video.base64_string"),
        ({"video": VideoContext_Base64String(base64_string="not base64!")}, "video.base64_string"),
        ({"response_format": {"type": "text"}}, "response_format.type"),
        (
            {"response_format": {"type": "json_schema", "json_schema": "{}"}},
            "response_format.json_schema",
        ),
        ({"response_format": ResponseFormat(json_schema=[])}, "response_format.json_schema"),  # type: ignore[arg-type]
        ({"response_format": 5}, "response_format"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "has space"}, "idempotency_key"),
    ],
)
async def test_create_validation_sends_nothing(
    scripted_client: AnalyzeAsyncClient,
    scripted_server: ScriptedServer,
    overrides: dict[str, Any],
    parameter: str,
) -> None:
    """Each rule of create raises InvalidRequestError naming the parameter; zero requests sent."""
    with pytest.raises(InvalidRequestError) as info:
        await scripted_client.tasks.create(**{**GOOD, **overrides})
    assert info.value.parameter == parameter
    assert isinstance(info.value, ValueError)
    assert scripted_server.sent == 0


async def test_base64_over_30_mib_is_refused_without_decoding(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """A base64 video over 30 MiB of data is refused before sending, with the limit named."""
    too_big = "A" * (((30 * 1024 * 1024) // 3 + 1) * 4)
    with pytest.raises(InvalidRequestError, match="30 MiB"):
        await scripted_client.tasks.create(
            video=VideoContext_Base64String(base64_string=too_big), prompt="p"
        )
    assert scripted_server.sent == 0


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"page": 0}, "page"),
        ({"page": "1"}, "page"),
        ({"page_limit": 0}, "page_limit"),
        ({"page_limit": 51}, "page_limit"),
        ({"status": "done"}, "status"),
        ({"status": 3}, "status"),
    ],
)
async def test_list_validation_sends_nothing(
    scripted_client: AnalyzeAsyncClient,
    scripted_server: ScriptedServer,
    kwargs: dict[str, Any],
    parameter: str,
) -> None:
    """page >= 1, page_limit 1..50 and a known status are checked before sending."""
    with pytest.raises(InvalidRequestError) as info:
        await scripted_client.tasks.list(**kwargs)
    assert info.value.parameter == parameter
    assert scripted_server.sent == 0


@pytest.mark.parametrize("task_id", ["../x", "a/b", ""])
async def test_bad_task_ids_send_nothing(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer, task_id: str
) -> None:
    """retrieve/delete/await_result refuse path-changing ids before any request."""
    for call in (
        scripted_client.tasks.retrieve,
        scripted_client.tasks.delete,
        scripted_client.tasks.await_result,
    ):
        with pytest.raises(InvalidRequestError):
            await call(task_id)
    assert scripted_server.sent == 0


async def test_escaped_task_id_stays_in_one_segment(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """An id with ? and # is percent-escaped into the path, not read as query or fragment."""
    scripted_server.get(f"{TASKS}/a%3Fb%23c", payload=task_json(task_id="a?b#c"))
    await scripted_client.tasks.retrieve("a?b#c")
    [request] = scripted_server.requests
    assert request.path == f"{TASKS}/a%3Fb%23c"
    assert str(request.url).endswith(f"{TASKS}/a%3Fb%23c")


# -- the task a response names must be the task asked for ---------------------------------------

OTHER = "aaaaaaaaaaaaaaaaaaaaaaaa"


async def test_retrieve_refuses_another_tasks_answer(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """A retrieve of t1 answered with another task (a confused cache or proxy) is a malformed
    response: ResponseValidationError with the raw body, not the other task."""
    body = task_json(task_id=OTHER)
    scripted_server.get(f"{TASKS}/t1", payload=body)
    with pytest.raises(ResponseValidationError, match="t1") as info:
        await scripted_client.tasks.retrieve("t1")
    assert json.loads(info.value.body) == body
    assert info.value.status_code == 200


async def test_await_result_never_returns_another_tasks_result(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """await_result('t1') used to return another task's ready result; now the wait ends with
    ResponseValidationError."""
    scripted_server.get(f"{TASKS}/t1", payload=task_json(task_id=OTHER), repeat=True)
    with pytest.raises(ResponseValidationError):
        await scripted_client.tasks.await_result("t1")


async def test_webhook_triggered_retrieve_checks_the_id_too(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """The retrieve a webhook event triggers is held to the same rule."""
    scripted_server.get(f"{TASKS}/t1", payload=task_json("processing", task_id="t1"))
    scripted_server.get(f"{TASKS}/t1", payload=task_json(task_id=OTHER), repeat=True)
    policy = PollPolicy(initial_delay=3600.0, max_delay=3600.0)
    wait = asyncio.create_task(scripted_client.tasks.await_result("t1", poll_policy=policy))
    while scripted_server.sent < 1:
        await asyncio.sleep(0)
    event = parse_event(
        json.dumps(
            {
                "id": "whe_1",
                "created_at": "2026-07-01T10:03:13Z",
                "type": "analyze.task.ready",
                "data": {"id": "t1", "status": "ready", "created_at": "2026-07-01T10:00:00Z"},
            }
        ).encode()
    )
    assert scripted_client.tasks.deliver_webhook_event(event)
    with pytest.raises(ResponseValidationError):
        await wait


async def test_the_id_is_compared_without_regard_to_case(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer
) -> None:
    """Ids are hex: a server that answers an upper-case request with the canonical lower-case
    id has answered the same task."""
    scripted_server.get(f"{TASKS}/{OTHER.upper()}", payload=task_json(task_id=OTHER))
    assert (await scripted_client.tasks.retrieve(OTHER.upper())).task_id == OTHER


@pytest.mark.parametrize("task_id", ["", " ", "../x", "a/b", "\ud800", "x\r\n"])
async def test_create_refuses_a_task_id_no_request_could_use(
    scripted_client: AnalyzeAsyncClient, scripted_server: ScriptedServer, task_id: str
) -> None:
    """A create answer whose task_id could never be retrieved (empty, a path, not text) is a
    malformed response, raised at create instead of at the first poll. (A lone surrogate is
    already refused by orjson's decoder, when the [speed] extra is installed.)"""
    scripted_server.post(
        TASKS, status=202, body=json.dumps({"task_id": task_id, "status": "queued"})
    )
    with pytest.raises(ResponseValidationError, match=r"task_id|surrogate"):
        await scripted_client.tasks.create(video=URL_VIDEO, prompt="p")
