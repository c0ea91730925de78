"""The platform's newer create parameters (SDK 1.3.6): accepted, applied and echoed by the
emulator, with the platform's rules for pegasus1.5 and pegasus1.6."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from twelvelabs import AsyncTwelveLabs
from twelvelabs.types import (
    AnalyzeImageInput,
    AsyncResponseFormat,
    SegmentDefinition,
    VideoContext_AssetId,
)

from asyncanalyze.emulator import Emulator, ManualClock

from .conftest import URL_VIDEO, Api, body_for, error_code, error_message

TBM = "time_based_metadata"
DEFINITION = {"id": "goal", "description": "A goal is scored"}


def segmentation(**overrides: Any) -> dict[str, Any]:
    return {
        "video": URL_VIDEO,
        "model_name": "pegasus1.6",
        "analysis_mode": TBM,
        "response_format": {"type": "segment_definitions", "segment_definitions": [DEFINITION]},
        **overrides,
    }


def images(**overrides: Any) -> dict[str, Any]:
    return {
        "model_name": "pegasus1.6",
        "image": [
            {"name": "before", "url": "https://example.com/1.png"},
            {"name": "after", "base64_string": "aGVsbG8="},
        ],
        "prompt": "Compare <@before> with <@after>",
        **overrides,
    }


def with_definition(**changes: Any) -> dict[str, Any]:
    return segmentation(
        response_format={
            "type": "segment_definitions",
            "segment_definitions": [{**DEFINITION, **changes}],
        }
    )


TIME_ARRAY = {
    "name": "shots",
    "type": "time_array",
    "description": "Each shot",
    "items": {"type": "object", "fields": [{"name": "kind", "type": "string", "description": "k"}]},
}


@pytest.mark.parametrize(
    "body",
    [
        body_for(model_name="pegasus1.6", max_tokens=98304),
        body_for(model_name="pegasus1.5", max_tokens=512),
        body_for(max_tokens=4096),  # pegasus1.2, the model of API.md, is the default here
        segmentation(max_tokens="unlimited", min_segment_duration=2, max_segment_duration=9),
        segmentation(model_name="pegasus1.5", max_tokens=2048),
        segmentation(start_time=30, end_time=31),
        body_for(model_name="pegasus1.6", start_time=0, end_time=7200),
        with_definition(fields=[TIME_ARRAY]),
        with_definition(
            time_ranges=[{"start_time": 0, "end_time": 5}, {"start_time": 5, "end_time": 7}]
        ),
        with_definition(media_sources=[{"name": "ball", "media_type": "image", "asset_id": "a1"}]),
        images(),
        body_for(
            model_name="pegasus1.5",
            prompt=None,
            prompt_v2={
                "input_text": "Is <@x> here?",
                "media_sources": [{"name": "x", "asset_id": "a"}],
            },
        ),
    ],
)
async def test_what_the_platform_documents_is_accepted(
    checked_api: Api, body: dict[str, Any]
) -> None:
    """Bodies the platform's rules allow answer 202."""
    body = {key: value for key, value in body.items() if value is not None}
    answer = await checked_api.create(body)
    assert answer.status == 202, answer.body


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        (body_for(max_tokens=4097), "max_tokens"),
        (body_for(model_name="pegasus1.6", max_tokens=511), "max_tokens"),
        (segmentation(max_tokens=2047), "max_tokens"),
        (segmentation(model_name="pegasus1.5", max_tokens="unlimited"), "max_tokens"),
        (body_for(model_name="pegasus1.6", max_tokens="unlimited"), "max_tokens"),
        (body_for(analysis_mode=TBM), "analysis_mode"),  # pegasus1.2 has no segmentation
        (segmentation(prompt="p"), "prompt"),
        (
            body_for(model_name="pegasus1.6", response_format=segmentation()["response_format"]),
            "response_format.type",
        ),
        (body_for(min_segment_duration=5), "min_segment_duration"),
        (segmentation(min_segment_duration=1), "min_segment_duration"),
        (segmentation(min_segment_duration=9, max_segment_duration=3), "max_segment_duration"),
        (body_for(start_time=0, end_time=10), "start_time"),  # pegasus1.2: no window
        (segmentation(start_time=5, end_time=5.5), "end_time"),
        (segmentation(start_time=0, end_time=7201), "end_time"),
        (with_definition(fields=[TIME_ARRAY]) | {"model_name": "pegasus1.5"}, "fields"),
        (
            with_definition(fields=[{**TIME_ARRAY, "items": {"type": "object", "fields": []}}]),
            "fields",
        ),
        (
            with_definition(fields=[{"name": "end_time", "type": "string", "description": "d"}]),
            "fields",
        ),
        (with_definition(time_ranges=[{"start_time": 0, "end_time": 1}]), "time_ranges"),
        (
            with_definition(
                time_ranges=[{"start_time": 0, "end_time": 5}, {"start_time": 4, "end_time": 9}]
            ),
            "time_ranges",
        ),
        (
            with_definition(time_ranges=[{"start_time": 0, "end_time": 5}]) | {"start_time": 0},
            "start_time",
        ),
        (
            with_definition(time_ranges=[{"start_time": 0, "end_time": 5}])
            | {"min_segment_duration": 3},
            "min_segment_duration",
        ),
        (
            with_definition(time_ranges=[{"start_time": 0, "end_time": 5}])
            | {"max_tokens": "unlimited"},
            "max_tokens",
        ),
        (
            with_definition(media_sources=[{"name": f"m{i}", "asset_id": "a"} for i in range(5)]),
            "media_sources",
        ),
        (images(model_name="pegasus1.5"), "image"),
        (images(video=URL_VIDEO), "image"),
        (images(prompt_v2={"input_text": "x"}, prompt=None), "prompt_v2"),
        (images(image=[]), "image"),
        (images(image=[{"name": "a-b", "asset_id": "x"}]), "image[0].name"),
        (images(image=[{"name": "a", "url": "http://example.com/a.png"}]), "image[0].url"),
        (images(image=[{"name": "a"}]), "image[0]"),
        (images(prompt="Only <@before>"), "prompt"),
    ],
)
async def test_what_the_platform_refuses_is_400(
    checked_api: Api, body: dict[str, Any], parameter: str
) -> None:
    """Each rule breach answers 400 naming the parameter."""
    body = {key: value for key, value in body.items() if value is not None}
    answer = await checked_api.create(body)
    assert answer.status == 400, answer.body
    assert error_code(answer) in ("parameter_invalid", "parameter_not_provided")
    assert parameter in error_message(answer)


async def test_an_image_task_runs_and_echoes_its_images_without_data(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """An image task ends ready with a result; it has no video_source, and request_params
    lists the images (a base64 one by name only)."""
    task_id = await checked_api.create_id(images(custom_id="img-1"))
    manual_clock.advance(3600)
    task = (await checked_api.retrieve(task_id)).body
    assert task["status"] == "ready" and task["result"]["data"]
    assert "video_source" not in task and task["custom_id"] == "img-1"
    assert task["request_params"]["image"] == [
        {"name": "before", "media_type": "image", "url": "https://example.com/1.png"},
        {"name": "after", "media_type": "image"},
    ]
    listed = (await checked_api.list()).body["data"]
    assert [item["task_id"] for item in listed] == [task_id]
    assert (await checked_api.list({"video_url": "https://example.com/1.png"})).body["data"] == []


async def test_a_segmentation_with_time_arrays_returns_events_inside_segments(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """result.data is JSON keyed by definition id; a time_array field holds timed events."""
    task_id = await checked_api.create_id(with_definition(fields=[TIME_ARRAY]))
    manual_clock.advance(3600)
    task = (await checked_api.retrieve(task_id)).body
    assert task["request_params"]["analysis_mode"] == TBM
    data = json.loads(task["result"]["data"])
    segment = data["goal"][0]
    assert {"start_time", "end_time", "metadata"} <= set(segment)
    for event in segment["metadata"]["shots"]:
        assert {"start_time", "end_time", "kind"} <= set(event)


async def test_unlimited_max_tokens_is_echoed_as_sent(
    checked_api: Api, manual_clock: ManualClock
) -> None:
    """max_tokens "unlimited" comes back as "unlimited"; the default is echoed as a number."""
    unlimited = await checked_api.create_id(segmentation(max_tokens="unlimited"))
    default = await checked_api.create_id(segmentation())
    manual_clock.advance(3600)

    async def echoed(task_id: str) -> Any:
        # Not checked against the vendored OpenAPI: it predates "unlimited" (SDK 1.3.6 types
        # request_params.max_tokens as an integer or "unlimited").
        answer = await checked_api.call("GET", f"/analyze/tasks/{task_id}", schema=None)
        return answer.body["request_params"]["max_tokens"]

    assert await echoed(unlimited) == "unlimited"
    assert await echoed(default) == 32768


async def test_list_items_carry_custom_id_and_filter_by_mode(checked_api: Api) -> None:
    """custom_id is echoed in list items; analysis_mode and status=canceled filter."""
    general = await checked_api.create_id(body_for(custom_id="g-1"))
    segmented = await checked_api.create_id(segmentation(custom_id="s-1"))
    everything = (await checked_api.list()).body["data"]
    assert [(t["task_id"], t["custom_id"]) for t in everything] == [
        (segmented, "s-1"),
        (general, "g-1"),
    ]
    only_segments = (await checked_api.list({"analysis_mode": TBM})).body["data"]
    assert [task["task_id"] for task in only_segments] == [segmented]
    assert (await checked_api.list({"status": "canceled"})).status == 200
    bad = await checked_api.list({"analysis_mode": "segments"})
    assert bad.status == 400 and error_code(bad) == "parameter_invalid"


async def test_the_official_sdk_sends_and_reads_back_every_new_parameter(
    manual_emulator: Emulator, manual_clock: ManualClock
) -> None:
    """The platform's own SDK creates with the newer parameters and parses what the emulator
    echoes (custom_id, request_params with "unlimited", image tasks without video_source)."""
    async with httpx.AsyncClient() as http:
        tasks = AsyncTwelveLabs(
            api_key="tlk_sdk", base_url=manual_emulator.base_url, httpx_client=http
        ).analyze_async.tasks
        segmented = await tasks.create(
            video=VideoContext_AssetId(asset_id="asset-1"),
            model_name="pegasus1.6",
            analysis_mode=TBM,
            custom_id="sdk-1",
            max_tokens="unlimited",
            response_format=AsyncResponseFormat(
                type="segment_definitions",
                segment_definitions=[SegmentDefinition(id="goal", description="A goal")],
                segment_time_format="seconds",
            ),
            min_segment_duration=2,
            max_segment_duration=10,
        )
        pictured = await tasks.create(
            image=[AnalyzeImageInput(name="a", url="https://example.com/a.png")],
            prompt="Describe <@a>",
            model_name="pegasus1.6",
            custom_id="sdk-2",
        )
        manual_clock.advance(3600)
        task = await tasks.retrieve(segmented.task_id)
        image_task = await tasks.retrieve(pictured.task_id)
        page = await tasks.list(analysis_mode=TBM, asset_id="asset-1")
    assert task.custom_id == "sdk-1" and task.status == "ready"
    assert task.request_params is not None and task.request_params.max_tokens == "unlimited"
    assert task.request_params.min_segment_duration == 2
    assert image_task.custom_id == "sdk-2" and image_task.video_source is None
    assert image_task.request_params is not None and image_task.request_params.image
    assert [item.task_id for item in page.data] == [segmented.task_id]
