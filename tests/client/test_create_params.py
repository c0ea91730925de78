"""Every create and list parameter the platform documents: sent under its wire name when given,
never when not, checked before sending, alone and against the others (SDK 1.3.6's rules)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aioresponses import aioresponses

from asyncanalyze import (
    AnalysisMode,
    AnalyzeAsyncClient,
    AnalyzeImageInput,
    AnalyzePromptV2,
    AnalyzeRequest,
    AnalyzeTaskResponse,
    AnalyzeTimeRange,
    InvalidRequestError,
    MediaSource,
    ModelName,
    ResponseFormat,
    SegmentDefinition,
    SegmentField,
    SegmentFieldItems,
    SegmentResponseFormat,
    TaskRequestParams,
    VideoContext_AssetId,
    VideoContext_Url,
    VideoSource,
    VideoSystemMetadata,
)
from asyncanalyze._convert import structure, unstructure
from asyncanalyze._protocol import RawResponse, decode

from .._helpers import calls, json_body, sent_count
from ..conftest import BASE_URL

TASKS = f"{BASE_URL}/analyze/tasks"
CREATED = {"task_id": "64f8d2c7e4a1b37f8a9c5d12", "status": "queued"}
VIDEO = VideoContext_Url(url="https://example.com/video.mp4")
VIDEO_WIRE = {"type": "url", "url": "https://example.com/video.mp4"}
SEGMENTS = SegmentResponseFormat([SegmentDefinition(id="goal", description="A goal is scored")])
SEGMENTS_WIRE = {
    "type": "segment_definitions",
    "segment_definitions": [{"id": "goal", "description": "A goal is scored"}],
}
TBM = "time_based_metadata"
# The smallest valid requests of each kind: a rule test changes one thing.
GENERAL: dict[str, Any] = {"video": VIDEO, "prompt": "p"}
SEGMENTING: dict[str, Any] = {"video": VIDEO, "analysis_mode": TBM, "response_format": SEGMENTS}
IMAGES: dict[str, Any] = {
    "image": [AnalyzeImageInput(name="a", url="https://example.com/a.png")],
    "prompt": "Describe it",
    "model_name": "pegasus1.6",
}


async def sent_body(client: AnalyzeAsyncClient, mocked: aioresponses, **kwargs: Any) -> Any:
    mocked.post(TASKS, status=202, payload=CREATED)
    await client.tasks.create(**kwargs)
    [(_, _, sent)] = calls(mocked)
    return json_body(sent)


# -- what is sent ------------------------------------------------------------------------------


async def test_a_segmentation_request_sends_every_parameter_under_its_wire_name(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """model_name, analysis_mode, custom_id, segment lengths, the window and a full segment
    format go out exactly as the platform names them."""
    response_format = SegmentResponseFormat(
        segment_definitions=[
            SegmentDefinition(
                id="rally",
                description="A rally",
                fields=[
                    SegmentField(name="winner", type="string", description="Who", enum=["a", "b"]),
                    SegmentField(name="at", type="timestamp", description="When", format="seconds"),
                    SegmentField(
                        name="shots",
                        type="time_array",
                        description="Each shot",
                        items=SegmentFieldItems(
                            type="object",
                            fields=[SegmentField(name="kind", type="string", description="k")],
                        ),
                    ),
                    SegmentField(
                        name="tags",
                        type="array",
                        description="t",
                        items=SegmentFieldItems(type="string"),
                    ),
                ],
                media_sources=[MediaSource(name="ball", url="https://example.com/ball.png")],
            )
        ],
        segment_time_format="hh:mm:ss",
    )
    body = await sent_body(
        mocked_client,
        mocked_api,
        video=VIDEO,
        model_name=ModelName.PEGASUS_1_6,
        analysis_mode=AnalysisMode.TIME_BASED_METADATA,
        custom_id="prod-rally_42",
        max_tokens="unlimited",
        response_format=response_format,
        min_segment_duration=2,
        max_segment_duration=30.5,
        start_time=10,
        end_time=70,
    )
    assert body == {
        "model_name": "pegasus1.6",
        "analysis_mode": TBM,
        "custom_id": "prod-rally_42",
        "video": VIDEO_WIRE,
        "max_tokens": "unlimited",
        "response_format": {
            "type": "segment_definitions",
            "segment_definitions": [
                {
                    "id": "rally",
                    "description": "A rally",
                    "fields": [
                        {
                            "name": "winner",
                            "type": "string",
                            "description": "Who",
                            "enum": ["a", "b"],
                        },
                        {
                            "name": "at",
                            "type": "timestamp",
                            "description": "When",
                            "format": "seconds",
                        },
                        {
                            "name": "shots",
                            "type": "time_array",
                            "description": "Each shot",
                            "items": {
                                "type": "object",
                                "fields": [{"name": "kind", "type": "string", "description": "k"}],
                            },
                        },
                        {
                            "name": "tags",
                            "type": "array",
                            "description": "t",
                            "items": {"type": "string"},
                        },
                    ],
                    "media_sources": [
                        {
                            "name": "ball",
                            "url": "https://example.com/ball.png",
                            "media_type": "image",
                        }
                    ],
                }
            ],
            "segment_time_format": "hh:mm:ss",
        },
        "min_segment_duration": 2.0,
        "max_segment_duration": 30.5,
        "start_time": 10.0,
        "end_time": 70.0,
    }


async def test_a_structured_prompt_is_sent_with_its_reference_images(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """prompt_v2 replaces prompt; its images keep one source each, base64 included."""
    prompt_v2 = AnalyzePromptV2(
        input_text="Is there a <@tiger> here?",
        media_sources=[
            MediaSource(name="tiger", asset_id="asset-7"),
            MediaSource(name="cub", base64_string="aGVsbG8="),
        ],
    )
    body = await sent_body(mocked_client, mocked_api, video=VIDEO, prompt_v2=prompt_v2)
    assert body == {
        "video": VIDEO_WIRE,
        "prompt_v2": {
            "input_text": "Is there a <@tiger> here?",
            "media_sources": [
                {"name": "tiger", "asset_id": "asset-7", "media_type": "image"},
                {"name": "cub", "base64_string": "aGVsbG8=", "media_type": "image"},
            ],
        },
    }


async def test_images_are_sent_instead_of_a_video(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """image: a list of named images, no video, with the prompt that refers to them."""
    body = await sent_body(
        mocked_client,
        mocked_api,
        image=[
            AnalyzeImageInput(name="before", url="https://example.com/1.png"),
            {"name": "after", "asset_id": "asset-2"},  # a dict with the wire keys works too
        ],
        prompt="Compare <@before> with <@after>",
        model_name="pegasus1.6",
    )
    assert body == {
        "model_name": "pegasus1.6",
        "image": [
            {"name": "before", "url": "https://example.com/1.png"},
            {"name": "after", "asset_id": "asset-2"},
        ],
        "prompt": "Compare <@before> with <@after>",
    }


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ({"model_name": "pegasus1.5"}, {"model_name": "pegasus1.5"}),
        ({"model_name": "pegasus2.0-preview"}, {"model_name": "pegasus2.0-preview"}),
        ({"analysis_mode": "general"}, {"analysis_mode": "general"}),
        ({"custom_id": "a"}, {"custom_id": "a"}),
        ({"custom_id": "x" * 64}, {"custom_id": "x" * 64}),
        ({"start_time": 0}, {"start_time": 0.0}),
        ({"end_time": 12.5}, {"end_time": 12.5}),
        ({"start_time": 3, "end_time": 4}, {"start_time": 3.0, "end_time": 4.0}),
        ({"start_time": 0, "end_time": 7200}, {"start_time": 0.0, "end_time": 7200.0}),
        ({"max_tokens": 4_096}, {"max_tokens": 4_096}),  # API.md's ceiling, default model
        ({"max_tokens": 1}, {"max_tokens": 1}),  # no model_name: API.md's floor
        (
            {"max_tokens": 98_304, "model_name": "pegasus1.6"},
            {"max_tokens": 98_304, "model_name": "pegasus1.6"},
        ),
        (
            {"max_tokens": 512, "model_name": "pegasus1.5"},
            {"max_tokens": 512, "model_name": "pegasus1.5"},
        ),
        (
            {"max_tokens": 100, "model_name": "pegasus9"},
            {"max_tokens": 100, "model_name": "pegasus9"},
        ),
    ],
)
async def test_each_parameter_is_sent_only_when_given(
    mocked_client: AnalyzeAsyncClient,
    mocked_api: aioresponses,
    given: dict[str, Any],
    sent: dict[str, Any],
) -> None:
    """A general request carries exactly video, prompt and what was given (OMIT semantics);
    model names the SDK does not know are sent as given."""
    body = await sent_body(mocked_client, mocked_api, **GENERAL, **given)
    assert body == {"video": VIDEO_WIRE, "prompt": "p", **sent}


async def test_dicts_and_models_send_the_same_body(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """A segment format given as its JSON (a manifest's form) sends what the models send."""
    as_models = AnalyzeRequest(
        video=VIDEO,
        analysis_mode=TBM,
        response_format=SegmentResponseFormat(
            [
                SegmentDefinition(
                    id="g",
                    description="d",
                    time_ranges=[AnalyzeTimeRange(0, 5), AnalyzeTimeRange(5, 10)],
                )
            ]
        ),
    )
    as_json = json.loads(
        '{"video": {"type": "url", "url": "https://example.com/video.mp4"},'
        ' "analysis_mode": "time_based_metadata", "response_format": {"type":'
        ' "segment_definitions", "segment_definitions": [{"id": "g", "description": "d",'
        ' "time_ranges": [{"start_time": 0, "end_time": 5}, {"start_time": 5, "end_time": 10}]}]}}'
    )
    assert AnalyzeRequest.from_dict(as_json).wire_body() == as_models.wire_body()
    body = await sent_body(mocked_client, mocked_api, **{**as_json, "video": VIDEO})
    assert body == as_models.wire_body()


# -- what is refused, alone --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "parameter"),
    [
        ({"custom_id": ""}, "custom_id"),
        ({"custom_id": "x" * 65}, "custom_id"),
        ({"custom_id": "has space"}, "custom_id"),
        ({"custom_id": "dot.ted"}, "custom_id"),
        ({"custom_id": "é"}, "custom_id"),
        ({"custom_id": 42}, "custom_id"),
        ({"custom_id": None}, "custom_id"),
        ({"model_name": ""}, "model_name"),
        ({"model_name": " pegasus1.6"}, "model_name"),
        ({"model_name": 1.6}, "model_name"),
        ({"analysis_mode": "fast"}, "analysis_mode"),
        ({"analysis_mode": AnalysisMode("a_mode_from_the_future")}, "analysis_mode"),
        ({"analysis_mode": None}, "analysis_mode"),
        ({"start_time": -1}, "start_time"),
        ({"start_time": float("nan")}, "start_time"),
        ({"start_time": "10"}, "start_time"),
        ({"end_time": float("inf")}, "end_time"),
        ({"end_time": True}, "end_time"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 4_097}, "max_tokens"),  # the default model: API.md's range
        ({"max_tokens": 98_305, "model_name": "pegasus1.5"}, "max_tokens"),
        ({"max_tokens": "lots"}, "max_tokens"),
        ({"max_tokens": 2.0}, "max_tokens"),
        ({"max_tokens": 511, "model_name": "pegasus1.5"}, "max_tokens"),
        ({"max_tokens": 511, "model_name": ModelName.PEGASUS_1_6}, "max_tokens"),
        ({"prompt_v2": "text"}, "prompt_v2"),
    ],
)
async def test_a_bad_value_is_refused_before_sending(
    mocked_client: AnalyzeAsyncClient,
    mocked_api: aioresponses,
    overrides: dict[str, Any],
    parameter: str,
) -> None:
    """Each value rule raises InvalidRequestError naming the parameter; nothing is sent."""
    request = {**GENERAL, **overrides}
    if "prompt_v2" in overrides:
        del request["prompt"]
    with pytest.raises(InvalidRequestError) as info:
        await mocked_client.tasks.create(**request)
    assert info.value.parameter == parameter
    assert sent_count(mocked_api) == 0


SEGMENT_FIELD = {"name": "n", "type": "string", "description": "d"}


def segments(**definition: Any) -> dict[str, Any]:
    return {
        "type": "segment_definitions",
        "segment_definitions": [{"id": "g", "description": "d", **definition}],
    }


def field(**changes: Any) -> dict[str, Any]:
    return segments(fields=[{**SEGMENT_FIELD, **changes}])


@pytest.mark.parametrize(
    ("response_format", "parameter"),
    [
        (
            {"type": "segment_definitions", "segment_definitions": []},
            "response_format.segment_definitions",
        ),
        (
            {
                "type": "segment_definitions",
                "segment_definitions": [{"id": str(i), "description": "d"} for i in range(21)],
            },
            "response_format.segment_definitions",
        ),
        ({"type": "segment_definitions"}, "response_format"),
        ({**segments(), "colour": "red"}, "response_format"),
        ({**segments(), "segment_time_format": "minutes"}, "response_format.segment_time_format"),
        (segments(id=""), "response_format.segment_definitions[0].id"),
        (
            {
                "type": "segment_definitions",
                "segment_definitions": [{"id": "g", "description": "d"}] * 2,
            },
            "response_format.segment_definitions[1].id",
        ),
        (segments(description=" "), "response_format.segment_definitions[0].description"),
        (field(name="start_time"), "response_format.segment_definitions[0].fields[0].name"),
        (field(name="metadata"), "response_format.segment_definitions[0].fields[0].name"),
        (field(type="date"), "response_format.segment_definitions[0].fields[0].type"),
        (field(type="timestamp"), "response_format.segment_definitions[0].fields[0].format"),
        (
            field(type="timestamp", format="ms"),
            "response_format.segment_definitions[0].fields[0].format",
        ),
        (field(format="seconds"), "response_format.segment_definitions[0].fields[0].format"),
        (
            field(enum=[str(i) for i in range(101)]),
            "response_format.segment_definitions[0].fields[0].enum",
        ),
        (
            field(type="timestamp", format="seconds", enum=["1"]),
            "response_format.segment_definitions[0].fields[0].enum",
        ),
        (field(type="array"), "response_format.segment_definitions[0].fields[0].items"),
        (
            field(type="array", items={"type": "object"}),
            "response_format.segment_definitions[0].fields[0].items.type",
        ),
        (field(items={"type": "string"}), "response_format.segment_definitions[0].fields[0].items"),
        (
            field(type="time_array", items={"type": "string"}),
            "response_format.segment_definitions[0].fields[0].items.type",
        ),
        (
            field(type="time_array", items={"type": "object"}),
            "response_format.segment_definitions[0].fields[0].items.fields",
        ),
        (
            field(type="time_array", items={"type": "object", "fields": []}),
            "response_format.segment_definitions[0].fields[0].items.fields",
        ),
        (
            field(
                type="time_array",
                items={"type": "object", "fields": [{**SEGMENT_FIELD, "type": "time_array"}]},
            ),
            "response_format.segment_definitions[0].fields[0].items.fields[0].type",
        ),
        (
            field(
                type="time_array",
                items={
                    "type": "object",
                    "fields": [{**SEGMENT_FIELD, "type": "number", "enum": ["1"]}],
                },
            ),
            "response_format.segment_definitions[0].fields[0].items.fields[0].enum",
        ),
        (
            field(
                type="time_array",
                items={"type": "object", "fields": [SEGMENT_FIELD, SEGMENT_FIELD]},
            ),
            "response_format.segment_definitions[0].fields[0].items.fields[1].name",
        ),
        (
            segments(
                media_sources=[{"name": f"m{i}", "url": "https://e.com/a.png"} for i in range(5)]
            ),
            "response_format.segment_definitions[0].media_sources",
        ),
        (
            segments(media_sources=[{"name": "m", "url": "http://e.com/a.png"}]),
            "response_format.segment_definitions[0].media_sources[0].url",
        ),
        (
            segments(media_sources=[{"name": "m", "url": "https://e.com/a.png", "asset_id": "x"}]),
            "response_format.segment_definitions[0].media_sources[0]",
        ),
        (
            segments(time_ranges=[{"start_time": 0, "end_time": 1.5}]),
            "response_format.segment_definitions[0].time_ranges[0].end_time",
        ),
        (
            segments(
                time_ranges=[{"start_time": 0, "end_time": 6}, {"start_time": 5, "end_time": 9}]
            ),
            "response_format.segment_definitions[0].time_ranges",
        ),
        (segments(time_ranges=[]), "response_format.segment_definitions[0].time_ranges"),
    ],
)
async def test_a_bad_segment_format_is_refused_naming_where(
    mocked_client: AnalyzeAsyncClient,
    mocked_api: aioresponses,
    response_format: dict[str, Any],
    parameter: str,
) -> None:
    """Segment definitions follow the platform's rules; the error points into the structure."""
    with pytest.raises(InvalidRequestError) as info:
        await mocked_client.tasks.create(
            **{**SEGMENTING, "model_name": "pegasus1.6", "response_format": response_format}
        )
    assert info.value.parameter == parameter
    assert sent_count(mocked_api) == 0


@pytest.mark.parametrize(
    ("images", "parameter"),
    [
        ([], "image"),
        ([{"name": f"i{n}", "asset_id": "a"} for n in range(21)], "image"),
        ("https://example.com/a.png", "image"),
        ([{"name": "a-b", "asset_id": "x"}], "image[0].name"),
        ([{"name": "", "asset_id": "x"}], "image[0].name"),
        ([{"name": "a", "asset_id": "x"}, {"name": "a", "asset_id": "y"}], "image[1].name"),
        ([{"name": "a"}], "image[0]"),
        ([{"name": "a", "asset_id": "x", "url": "https://e.com/a.png"}], "image[0]"),
        ([{"name": "a", "url": "http://e.com/a.png"}], "image[0].url"),
        ([{"name": "a", "base64_string": "not base64!"}], "image[0].base64_string"),
        (
            [{"name": "a", "base64_string": "A" * (((20 * 1024 * 1024) // 3 + 1) * 4)}],
            "image[0].base64_string",
        ),
        ([{"name": "a", "path": "a.png"}], "image[0]"),
        ([AnalyzeImageInput(name=5, asset_id="x")], "image[0].name"),  # type: ignore[arg-type]
    ],
)
async def test_bad_images_are_refused(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, images: Any, parameter: str
) -> None:
    """1-20 images, names of letters/digits/_ used once, exactly one HTTPS/asset/base64
    source of at most 20 MiB each."""
    with pytest.raises(InvalidRequestError) as info:
        await mocked_client.tasks.create(**{**IMAGES, "image": images})
    assert info.value.parameter == parameter
    assert sent_count(mocked_api) == 0


# -- what is refused, together -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "parameter"),
    [
        # a video or images, never both, never neither
        ({"prompt": "p"}, "video"),
        ({**IMAGES, "video": VIDEO}, "image"),
        # images: with prompt (not prompt_v2), on pegasus1.6, all referred to or none
        ({**IMAGES, "prompt": None}, "prompt"),
        ({key: v for key, v in IMAGES.items() if key != "prompt"}, "prompt"),
        ({**IMAGES, "prompt_v2": {"input_text": "x"}}, "prompt_v2"),
        ({key: v for key, v in IMAGES.items() if key != "model_name"}, "image"),
        ({**IMAGES, "model_name": "pegasus1.5"}, "image"),
        (
            {
                **IMAGES,
                "image": [{"name": "a", "asset_id": "1"}, {"name": "b", "asset_id": "2"}],
                "prompt": "What is in <@a>?",
            },
            "prompt",
        ),
        # general analysis: prompt or prompt_v2, one of them
        ({"video": VIDEO}, "prompt"),
        ({**GENERAL, "prompt_v2": {"input_text": "x"}}, "prompt_v2"),
        ({**GENERAL, "prompt": None}, "prompt"),
        # time_based_metadata: no prompt, a segment format, and only there
        ({**SEGMENTING, "prompt": "p"}, "prompt"),
        ({**SEGMENTING, "prompt_v2": {"input_text": "x"}}, "prompt_v2"),
        ({**SEGMENTING, "response_format": ResponseFormat({"type": "object"})}, "response_format"),
        ({key: v for key, v in SEGMENTING.items() if key != "response_format"}, "response_format"),
        ({**GENERAL, "response_format": SEGMENTS}, "analysis_mode"),
        ({**GENERAL, "response_format": SEGMENTS_WIRE}, "analysis_mode"),
        # segment lengths: >= 2, max >= min, time_based_metadata only
        ({**SEGMENTING, "min_segment_duration": 1.9}, "min_segment_duration"),
        ({**SEGMENTING, "max_segment_duration": 0}, "max_segment_duration"),
        (
            {**SEGMENTING, "min_segment_duration": 10, "max_segment_duration": 5},
            "max_segment_duration",
        ),
        ({**GENERAL, "min_segment_duration": 5}, "min_segment_duration"),
        ({**GENERAL, "max_segment_duration": 5}, "max_segment_duration"),
        # the analysis window: end after start, 1 s to 2 h
        ({**GENERAL, "start_time": 10, "end_time": 10}, "end_time"),
        ({**GENERAL, "start_time": 10, "end_time": 5}, "end_time"),
        ({**GENERAL, "start_time": 10, "end_time": 10.5}, "end_time"),
        ({**GENERAL, "start_time": 0, "end_time": 7200.5}, "end_time"),
        # max_tokens by mode; "unlimited" for time_based_metadata on pegasus1.6
        ({**SEGMENTING, "max_tokens": 2047}, "max_tokens"),
        ({**GENERAL, "max_tokens": "unlimited", "model_name": "pegasus1.6"}, "max_tokens"),
        ({**SEGMENTING, "max_tokens": "unlimited"}, "max_tokens"),
        ({**SEGMENTING, "max_tokens": "unlimited", "model_name": "pegasus1.5"}, "max_tokens"),
        # time_array fields are pegasus1.6's
        (
            {
                **SEGMENTING,
                "model_name": "pegasus1.5",
                "response_format": field(
                    type="time_array", items={"type": "object", "fields": [SEGMENT_FIELD]}
                ),
            },
            "response_format",
        ),
        # time ranges exclude the window, segment lengths and unlimited max_tokens
        (
            {
                **SEGMENTING,
                "response_format": segments(time_ranges=[{"start_time": 0, "end_time": 5}]),
                "start_time": 0,
            },
            "start_time",
        ),
        (
            {
                **SEGMENTING,
                "response_format": segments(time_ranges=[{"start_time": 0, "end_time": 5}]),
                "end_time": 9,
            },
            "end_time",
        ),
        (
            {
                **SEGMENTING,
                "response_format": segments(time_ranges=[{"start_time": 0, "end_time": 5}]),
                "min_segment_duration": 3,
            },
            "min_segment_duration",
        ),
        (
            {
                **SEGMENTING,
                "model_name": "pegasus1.6",
                "response_format": segments(time_ranges=[{"start_time": 0, "end_time": 5}]),
                "max_tokens": "unlimited",
            },
            "max_tokens",
        ),
    ],
)
async def test_rules_between_parameters_are_checked_before_sending(
    mocked_client: AnalyzeAsyncClient,
    mocked_api: aioresponses,
    request_: dict[str, Any],
    parameter: str,
) -> None:
    """Each documented rule between parameters names the parameter to change; nothing sent."""
    with pytest.raises(InvalidRequestError) as info:
        await mocked_client.tasks.create(**request_)
    assert info.value.parameter == parameter
    assert sent_count(mocked_api) == 0


@pytest.mark.parametrize(
    "request_",
    [
        {**SEGMENTING, "max_tokens": "unlimited", "model_name": "pegasus1.6"},
        {**SEGMENTING, "max_tokens": "unlimited", "model_name": "pegasus1.7"},  # the server's call
        {**SEGMENTING, "max_tokens": 2048, "min_segment_duration": 2, "max_segment_duration": 2},
        {**SEGMENTING, "response_format": segments(time_ranges=[{"start_time": 0, "end_time": 2}])},
        {**SEGMENTING, "start_time": 5, "end_time": 6},
        {**IMAGES, "prompt": "Compare <@a> with itself"},
        {**IMAGES, "model_name": "pegasus2"},
        {
            "video": VIDEO,
            "prompt_v2": {
                "input_text": "Is <@x> there?",
                "media_sources": [{"name": "x", "asset_id": "a"}],
            },
        },
    ],
)
async def test_combinations_the_platform_allows_are_sent(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, request_: dict[str, Any]
) -> None:
    """Boundary values, and model names the SDK does not know, pass on to the server."""
    body = await sent_body(mocked_client, mocked_api, **request_)
    assert set(body) == set(request_)


# -- list filters ------------------------------------------------------------------------------


async def test_list_sends_each_filter_only_when_given(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """video_url, asset_id, analysis_mode and status go out as query parameters when set."""
    page = {"data": [], "page_info": {"total_page": 0}}
    mocked_api.get(f"{TASKS}?page_limit=5", payload=page)
    mocked_api.get(
        f"{TASKS}?status=canceled&video_url=https%3A%2F%2Fe.com%2Fa.mp4%3Fx%3D1%26y%3D2"
        "&asset_id=asset-1&analysis_mode=time_based_metadata",
        payload=page,
    )
    await mocked_client.tasks.list(page_limit=5)
    await mocked_client.tasks.list(
        status="canceled",
        video_url="https://e.com/a.mp4?x=1&y=2",
        asset_id="asset-1",
        analysis_mode=AnalysisMode.TIME_BASED_METADATA,
    )
    [(_, first, _), (_, second, _)] = calls(mocked_api)
    assert parse_qs(urlsplit(first).query) == {"page_limit": ["5"]}
    assert parse_qs(urlsplit(second).query) == {
        "status": ["canceled"],
        "video_url": ["https://e.com/a.mp4?x=1&y=2"],
        "asset_id": ["asset-1"],
        "analysis_mode": ["time_based_metadata"],
    }


async def test_iter_passes_its_filters_to_every_page(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """iter asks each page with the same filters."""
    task = {"task_id": "t", "status": "ready", "created_at": "2024-01-01T00:00:00Z"}
    for page in (1, 2):
        mocked_api.get(
            f"{TASKS}?page={page}&page_limit=1&asset_id=a1&analysis_mode=general",
            payload={"data": [task], "page_info": {"total_page": 2}},
        )
    found = [
        t
        async for t in mocked_client.tasks.iter(
            asset_id="a1", analysis_mode="general", page_limit=1
        )
    ]
    assert len(found) == 2 and sent_count(mocked_api) == 2


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"video_url": ""}, "video_url"),
        ({"video_url": 5}, "video_url"),
        ({"asset_id": "  "}, "asset_id"),
        ({"asset_id": ["a"]}, "asset_id"),
        ({"analysis_mode": "segments"}, "analysis_mode"),
        ({"status": "cancelled"}, "status"),
    ],
)
async def test_bad_list_filters_are_refused_before_sending(
    mocked_client: AnalyzeAsyncClient,
    mocked_api: aioresponses,
    kwargs: dict[str, Any],
    parameter: str,
) -> None:
    """Filters are checked in list and iter; nothing is sent."""
    for call in (mocked_client.tasks.list(**kwargs), _first(mocked_client.tasks.iter(**kwargs))):
        with pytest.raises(InvalidRequestError) as info:
            await call
        assert info.value.parameter == parameter
    assert sent_count(mocked_api) == 0


async def _first(iterator: Any) -> Any:
    async for item in iterator:
        return item
    return None


# -- what comes back ---------------------------------------------------------------------------


def ok(body: dict[str, Any]) -> RawResponse:
    return RawResponse(200, {}, json.dumps(body).encode())


TASK = {
    "task_id": "t1",
    "custom_id": "prod-42",
    "batch_id": "b1",
    "status": "ready",
    "created_at": "2026-07-01T10:00:00Z",
    "video_source": {
        "type": "asset_id",
        "asset_id": "69abc",
        "system_metadata": {"duration": 120.5},
        "something_new": True,
    },
    "request_params": {
        "analysis_mode": "time_based_metadata",
        "temperature": 0.2,
        "max_tokens": "unlimited",
        "min_segment_duration": 5,
        "response_format": {"type": "segment_definitions", "segment_definitions": []},
        "image": [{"name": "a", "media_type": "image"}],
    },
}


def test_a_task_carries_what_the_platform_reports_about_its_request() -> None:
    """custom_id, batch_id, video_source and request_params are decoded into models."""
    task = decode(ok(TASK), AnalyzeTaskResponse)
    assert task.custom_id == "prod-42" and task.batch_id == "b1"
    assert task.video_source == VideoSource(
        type="asset_id", asset_id="69abc", system_metadata=VideoSystemMetadata(duration=120.5)
    )
    params = task.request_params
    assert params is not None
    assert params.analysis_mode == AnalysisMode.TIME_BASED_METADATA == "time_based_metadata"
    assert params.max_tokens == "unlimited" and params.min_segment_duration == 5.0
    assert params.image == [{"name": "a", "media_type": "image"}]
    # A journal stores tasks in this form and reads them back unchanged.
    assert structure(json.loads(json.dumps(unstructure(task))), AnalyzeTaskResponse) == task


@pytest.mark.parametrize(
    ("odd", "video_source", "request_params"),
    [
        ({"video_source": "url"}, None, "kept"),
        (
            {"video_source": {"type": 3, "url": "u", "system_metadata": [1]}},
            VideoSource(url="u"),
            "kept",
        ),
        (
            {"request_params": {"temperature": "warm", "prompt": "p", "analysis_mode": 7}},
            "kept",
            TaskRequestParams(prompt="p"),
        ),
        (
            {"request_params": {"max_tokens": True, "image": "a.png", "prompt_v2": ["x"]}},
            "kept",
            TaskRequestParams(),
        ),
        ({"request_params": []}, "kept", None),
    ],
)
def test_an_odd_echo_drops_that_field_not_the_task(
    odd: dict[str, Any], video_source: Any, request_params: Any
) -> None:
    """What the platform echoes is informational: a field of an unexpected shape becomes None
    while the task (status, result, the rest of the echo) still decodes."""
    reference = decode(ok(TASK), AnalyzeTaskResponse)
    task = decode(ok({**TASK, **odd}), AnalyzeTaskResponse)
    assert task.status == "ready" and task.custom_id == "prod-42"
    expected_source = reference.video_source if video_source == "kept" else video_source
    expected_params = reference.request_params if request_params == "kept" else request_params
    assert task.video_source == expected_source
    assert task.request_params == expected_params


# -- AnalyzeRequest and the manifest -----------------------------------------------------------


def test_a_manifest_line_uses_the_wire_names_and_builds_the_same_body_as_create() -> None:
    """from_dict takes the API's field names; the body equals the one built from models."""
    line = {
        "video": {"type": "asset_id", "asset_id": "a1"},
        "model_name": "pegasus1.6",
        "analysis_mode": "time_based_metadata",
        "custom_id": "row-7",
        "max_tokens": "unlimited",
        "response_format": field(type="timestamp", format="hh:mm:ss.fff"),
        "min_segment_duration": 4,
        "start_time": 1,
        "end_time": 61,
        "metadata": {"row": 7},
    }
    request = AnalyzeRequest.from_dict(line)
    assert request.custom_id == "row-7" and request.metadata == {"row": 7}
    built = AnalyzeRequest(
        video=VideoContext_AssetId("a1"),
        model_name="pegasus1.6",
        analysis_mode="time_based_metadata",
        custom_id="row-7",
        max_tokens="unlimited",
        response_format=SegmentResponseFormat(
            [
                SegmentDefinition(
                    "g",
                    "d",
                    fields=[SegmentField("n", "timestamp", "d", format="hh:mm:ss.fff")],
                )
            ]
        ),
        min_segment_duration=4,
        start_time=1,
        end_time=61,
    )
    assert request.wire_body() == built.wire_body()
    assert request.fingerprint() == built.fingerprint()
    assert request.wire_body() == {
        **{key: value for key, value in line.items() if key != "metadata"},
        "min_segment_duration": 4.0,
        "start_time": 1.0,
        "end_time": 61.0,
    }


@pytest.mark.parametrize(
    ("line", "parameter"),
    [
        ({"video": VIDEO_WIRE, "prompt": "p", "modelname": "x"}, "request"),
        ({"video": VIDEO_WIRE, "prompt": "p", "custom_id": "no spaces please"}, "custom_id"),
        (
            {
                "image": [{"name": "a", "asset_id": "x", "colour": 1}],
                "prompt": "p",
                "model_name": "pegasus1.6",
            },
            "image[0]",
        ),
        ({"video": VIDEO_WIRE, "prompt_v2": {"text": "x"}}, "prompt_v2"),
        (
            {"video": VIDEO_WIRE, "analysis_mode": TBM, "response_format": field(type="nope")},
            "response_format.segment_definitions[0].fields[0].type",
        ),
    ],
)
def test_a_bad_manifest_line_names_its_parameter(line: dict[str, Any], parameter: str) -> None:
    """Unknown keys, at the top or inside a structured value, are refused (a typo would
    otherwise vanish), as are values breaking a rule."""
    with pytest.raises(InvalidRequestError) as info:
        AnalyzeRequest.from_dict(line)
    assert info.value.parameter == parameter


def test_fingerprints_cover_the_new_parameters() -> None:
    """Two requests differing only in a new parameter are different requests to a journal."""
    base = AnalyzeRequest(video=VIDEO, prompt="p")
    variants = [
        AnalyzeRequest(video=VIDEO, prompt="p", custom_id="a"),
        AnalyzeRequest(video=VIDEO, prompt="p", custom_id="b"),
        AnalyzeRequest(video=VIDEO, prompt="p", model_name="pegasus1.6"),
        AnalyzeRequest(video=VIDEO, prompt="p", start_time=0, end_time=5),
        AnalyzeRequest(video=VIDEO, prompt="p", analysis_mode="general"),
    ]
    digests = {request.fingerprint() for request in [base, *variants]}
    assert len(digests) == 1 + len(variants)


def test_inline_images_of_many_megabytes_are_checked_off_the_event_loop() -> None:
    """Inline images (to analyze, or reference images) count towards the size that sends a
    request's checks to a worker thread."""
    from asyncanalyze.batch import _OFF_LOOP_CHARS, _size

    big = "A" * (_OFF_LOOP_CHARS + 4)
    source = {"name": "a", "base64_string": big}
    for request in (
        AnalyzeRequest(image=[source], prompt="p", model_name="pegasus1.6"),
        AnalyzeRequest(video=VIDEO, prompt_v2={"input_text": "x", "media_sources": [source]}),
        AnalyzeRequest(
            video=VIDEO,
            analysis_mode=TBM,
            response_format=SegmentResponseFormat(
                [SegmentDefinition("g", "d", media_sources=[MediaSource("a", base64_string=big)])]
            ),
        ),
    ):
        assert _size(request) > _OFF_LOOP_CHARS
    assert _size(AnalyzeRequest(video=VIDEO, prompt="p")) == 1


def test_inline_images_never_print_whole() -> None:
    """A request's repr (shown by its batch outcome, logs, tracebacks) names the size of an
    inline image, not its data, whether built from models or from a manifest line."""
    data = "QUJD" * 5000
    line = {
        "image": [{"name": "a", "base64_string": data}],
        "prompt": "p",
        "model_name": "pegasus1.6",
    }
    segments_line = {
        "video": VIDEO_WIRE,
        "analysis_mode": TBM,
        "response_format": segments(media_sources=[{"name": "m", "base64_string": data}]),
    }
    for request in (
        AnalyzeRequest.from_dict(line),
        AnalyzeRequest.from_dict(segments_line),
        AnalyzeRequest(
            video=VIDEO,
            prompt_v2=AnalyzePromptV2("x", [MediaSource(name="m", base64_string=data)]),
        ),
    ):
        shown = repr(request)
        assert data not in shown and "20000 base64 chars" in shown
