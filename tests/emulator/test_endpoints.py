"""The four endpoints, auth and per-key scoping, driven with a manual clock."""

from __future__ import annotations

import re
from typing import Any

import pytest

from asyncanalyze.emulator import Emulator, ManualClock

from .conftest import API_KEY, Api, body_for, error_code, error_message

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_create_answers_202_with_a_24_hex_id_and_queued(checked_api: Api) -> None:
    """Create returns 202 with a 24-character lowercase hex task id and status queued."""
    answer = await checked_api.create()
    assert answer.status == 202
    assert re.fullmatch(r"[0-9a-f]{24}", answer.body["task_id"])
    assert answer.body["status"] == "queued"


async def test_task_walks_queued_pending_processing_ready(
    checked_api: Api, manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """A task moves through every status as emulator time passes and ends ready with a result."""
    task_id = await checked_api.create_id()
    record = manual_emulator.task(task_id)
    assert record is not None and record.processing_s is not None
    seen = [(await checked_api.retrieve(task_id)).body["status"]]
    manual_clock.advance(record.queued_s)
    seen.append((await checked_api.retrieve(task_id)).body["status"])
    manual_clock.advance(record.pending_s)
    seen.append((await checked_api.retrieve(task_id)).body["status"])
    manual_clock.advance(record.processing_s)
    task = (await checked_api.retrieve(task_id)).body
    seen.append(task["status"])
    assert seen == ["queued", "pending", "processing", "ready"]
    assert RFC3339_MS.match(task["created_at"]) and RFC3339_MS.match(task["completed_at"])
    result = task["result"]
    assert result["data"] and result["finish_reason"] == "stop"
    assert result["usage"]["output_tokens"] > 0 and result["usage"]["input_tokens"] > 0
    assert task["custom_id"] is None
    assert task["video_source"]["url"] == "https://example.com/video.mp4"
    assert task["request_params"]["prompt"] == "Summarize this video"


async def test_not_terminal_tasks_have_no_completed_at_or_result(checked_api: Api) -> None:
    """Before the end, a task carries neither completed_at, result nor error."""
    task = (await checked_api.retrieve(await checked_api.create_id())).body
    assert task["status"] == "queued"
    assert not {"completed_at", "result", "error", "webhooks"} & set(task)


async def test_schedule_matches_the_documented_ranges(
    checked_api: Api, manual_emulator: Emulator
) -> None:
    """Queued lasts 1-4 s, pending 1-3 s, processing 5 s plus a tenth of the video."""
    record = manual_emulator.task(await checked_api.create_id())
    assert record is not None and record.duration is not None
    assert 1 <= record.queued_s <= 4 and 1 <= record.pending_s <= 3
    assert record.processing_s == pytest.approx(5 + 0.1 * record.duration)


async def test_request_params_echo_what_was_sent(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """Retrieve echoes custom_id, temperature, max_tokens and response_format as sent."""
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    body = body_for(
        custom_id="run-1",
        temperature=0.7,
        max_tokens=900,
        response_format={"type": "json_schema", "json_schema": schema},
    )
    task = (await checked_api.retrieve(await checked_api.create_id(body))).body
    assert task["custom_id"] == "run-1"
    params = task["request_params"]
    assert params["temperature"] == 0.7 and params["max_tokens"] == 900
    assert params["response_format"]["json_schema"] == schema


async def test_list_is_newest_first_with_page_info(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """List pages newest first and reports limit, page, total pages and total results."""
    ids = []
    for _ in range(5):
        ids.append(await checked_api.create_id())
        manual_clock.advance(1)
    first = (await checked_api.list({"page_limit": 2})).body
    assert [task["task_id"] for task in first["data"]] == ids[::-1][:2]
    assert first["page_info"] == {
        "limit_per_page": 2,
        "page": 1,
        "total_page": 3,
        "total_results": 5,
    }
    last = (await checked_api.list({"page_limit": 2, "page": 3})).body
    assert [task["task_id"] for task in last["data"]] == [ids[0]]


async def test_list_shortens_the_prompt_to_30_characters(checked_api: Api) -> None:
    """List items carry the prompt cut to 30 characters; retrieve has it whole."""
    prompt = "Generate a detailed summary of this video in three sentences"
    task_id = await checked_api.create_id(body_for(prompt=prompt))
    listed = (await checked_api.list()).body["data"][0]
    assert listed["request_params"]["prompt"] == prompt[:30]
    assert (await checked_api.retrieve(task_id)).body["request_params"]["prompt"] == prompt


async def test_list_filters_by_status_url_asset_and_mode(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """The status, video_url, asset_id and analysis_mode filters each narrow the list."""
    old = await checked_api.create_id()
    manual_clock.advance(3600)
    url = "https://example.com/other.mp4"
    by_url = await checked_api.create_id(body_for(video={"type": "url", "url": url}))
    by_asset = await checked_api.create_id(
        body_for(video={"type": "asset_id", "asset_id": "a" * 24})
    )

    async def ids(**params: Any) -> list[str]:
        return [task["task_id"] for task in (await checked_api.list(params)).body["data"]]

    assert await ids(status="ready") == [old]
    assert await ids(status="queued") == [by_asset, by_url]
    assert await ids(video_url=url) == [by_url]
    assert await ids(asset_id="a" * 24) == [by_asset]
    assert len(await ids(analysis_mode="general")) == 3
    assert await ids(analysis_mode="time_based_metadata") == []


async def test_delete_conflicts_while_running_then_succeeds(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """Delete answers 409 while the task runs, 204 once terminal, then the task is gone."""
    task_id = await checked_api.create_id()
    conflict = await checked_api.delete(task_id)
    assert conflict.status == 409
    manual_clock.advance(3600)
    assert (await checked_api.delete(task_id)).status == 204
    assert (await checked_api.retrieve(task_id)).status == 404
    assert (await checked_api.delete(task_id)).status == 404


async def test_unknown_task_is_404_resource_not_exist(checked_api: Api) -> None:
    """Retrieving an unknown id answers 404 resource_not_exist naming the id."""
    answer = await checked_api.retrieve("000000000000000000000000")
    assert answer.status == 404 and error_code(answer) == "resource_not_exist"
    assert "000000000000000000000000" in error_message(answer)


async def test_missing_api_key_is_401(checked_api: Api) -> None:
    """Every endpoint needs x-api-key: without it the answer is 401 api_key_invalid."""
    for answer in (
        await checked_api.create(api_key=None),
        await checked_api.list(api_key=None),
        await checked_api.retrieve("x" * 24, api_key=None),
        await checked_api.delete("x" * 24, api_key=None),
    ):
        assert answer.status == 401 and error_code(answer) == "api_key_invalid"


@pytest.mark.parametrize("emulator_options", [{"api_key": "the-only-key"}])
async def test_api_key_option_accepts_only_that_key(checked_api: Api) -> None:
    """With api_key set, another key is refused and the configured one accepted."""
    assert (await checked_api.list()).status == 401
    assert (await checked_api.list(api_key="the-only-key")).status == 200


async def test_tasks_are_scoped_to_the_creating_key(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """Another API key can neither see, list nor delete a task."""
    task_id = await checked_api.create_id()
    manual_clock.advance(3600)
    assert (await checked_api.retrieve(task_id, api_key="someone-else")).status == 404
    assert (await checked_api.list(api_key="someone-else")).body["data"] == []
    assert (await checked_api.delete(task_id, api_key="someone-else")).status == 404
    assert (await checked_api.retrieve(task_id, api_key=API_KEY)).status == 200


async def test_unknown_paths_answer_404_json(checked_api: Api) -> None:
    """Paths and methods outside the API answer a JSON 404."""
    for method, path in (("GET", "/nope"), ("PUT", "/analyze/tasks"), ("POST", "/analyze/x/y")):
        answer = await checked_api.call(method, path, schema=None)
        assert answer.status == 404 and error_code(answer) == "resource_not_exist"


async def test_introspection_is_off_by_default(checked_api: Api, manual_emulator: Emulator) -> None:
    """Without introspection=True the /_emulator/ routes do not exist."""
    async with checked_api.session.get(manual_emulator.admin_url + "/stats") as response:
        assert response.status == 404


@pytest.mark.parametrize("emulator_options", [{"error_shape": "flat"}])
async def test_flat_error_shape(checked_api: Api) -> None:
    """error_shape='flat' answers {"code", "message"} at the top level."""
    answer = await checked_api.retrieve("0" * 24)
    assert answer.status == 404
    assert set(answer.body) == {"code", "message"}


async def test_task_seconds_marker_is_exact(checked_api: Api, manual_clock: ManualClock) -> None:
    """With emulator_task_seconds=N a task is terminal after exactly N seconds, not N+1e-7."""
    for seconds in (500, 77.7, 300, 999, 1200, 600):
        url = f"https://example.com/v{seconds}.mp4?emulator_task_seconds={seconds}"
        task_id = await checked_api.create_id(body_for(video={"type": "url", "url": url}))
        manual_clock.advance(seconds)
        assert (await checked_api.retrieve(task_id)).body["status"] == "ready", seconds
