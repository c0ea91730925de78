"""Create and list requests are checked with the platform's codes, naming the parameter."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import URL_VIDEO, Api, body_for, error_code, error_message

FIXTURES = Path(__file__).resolve().parents[1] / "spec" / "fixtures"


@pytest.mark.parametrize(
    ("body", "code", "parameter"),
    [
        ({"prompt": "x"}, "parameter_not_provided", "video"),
        ({"video": URL_VIDEO}, "parameter_not_provided", "prompt"),
        (body_for(colour="red"), "parameter_unknown", "colour"),
        (body_for(video={"type": "file", "url": "x"}), "parameter_invalid", "video.type"),
        (body_for(video={"type": "url"}), "parameter_not_provided", "video.url"),
        (body_for(video={"type": "url", "url": "ftp://x/y.mp4"}), "parameter_invalid", "video.url"),
        (
            body_for(video={"type": "url", "url": "https://e.com/a", "asset_id": "b"}),
            "parameter_unknown",
            "video.asset_id",
        ),
        (body_for(prompt=""), "parameter_invalid", "prompt"),
        (body_for(prompt=5), "parameter_invalid", "prompt"),
        (body_for(temperature=1.5), "parameter_invalid", "temperature"),
        (body_for(temperature="hot"), "parameter_invalid", "temperature"),
        (body_for(max_tokens=0), "parameter_invalid", "max_tokens"),
        (body_for(max_tokens=4097), "parameter_invalid", "max_tokens"),
        (body_for(max_tokens=True), "parameter_invalid", "max_tokens"),
        (body_for(response_format={"type": "xml"}), "parameter_invalid", "response_format.type"),
        (
            body_for(response_format={"type": "json_schema"}),
            "parameter_not_provided",
            "response_format.json_schema",
        ),
        (body_for(custom_id=""), "parameter_invalid", "custom_id"),
        (body_for(custom_id="has space"), "parameter_invalid", "custom_id"),
        (body_for(model_name="gpt"), "parameter_invalid", "model_name"),
    ],
)
async def test_bad_create_bodies_are_400_naming_the_parameter(
    checked_api: Api, body: dict[str, Any], code: str, parameter: str
) -> None:
    """Each rule breach answers 400 with the platform's code and the parameter's name."""
    answer = await checked_api.create(body)
    assert answer.status == 400
    assert error_code(answer) == code
    assert parameter in error_message(answer)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": ["a"]},
        {"type": "object", "properties": None},
        {"type": "string", "$defs": []},
        {"type": "object", "properties": {"a": {"type": "string"}}, "$defs": 5},
    ],
)
async def test_schema_members_that_are_not_objects_are_400(checked_api: Api, schema: Any) -> None:
    """``properties`` or ``$defs`` that are not objects are the user's mistake, not a 500."""
    body = body_for(response_format={"type": "json_schema", "json_schema": schema})
    answer = await checked_api.create(body)
    assert answer.status == 400
    assert error_code(answer) == "parameter_invalid"
    assert "must be an object" in error_message(answer)


async def test_unknown_parameter_message_is_the_platforms(checked_api: Api) -> None:
    """An unknown field gets the documented 'The X parameter is unknown.' text."""
    answer = await checked_api.create(body_for(colour="red"))
    assert error_message(answer) == "The colour parameter is unknown."


async def test_newer_optional_fields_are_accepted(checked_api: Api) -> None:
    """custom_id, model_name and analysis_mode from the newer OpenAPI are not 'unknown'."""
    body = body_for(custom_id="abc_1", model_name="pegasus1.2", analysis_mode="general")
    assert (await checked_api.create(body)).status == 202


async def test_body_that_is_not_json_is_400(checked_api: Api) -> None:
    """A body that does not parse as JSON answers 400 parameter_invalid."""
    answer = await checked_api.call(
        "POST",
        "/analyze/tasks",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        schema=None,
    )
    assert answer.status == 400 and error_code(answer) == "parameter_invalid"


async def test_json_that_is_not_an_object_is_400(checked_api: Api) -> None:
    """A JSON array body answers 400."""
    assert (await checked_api.create([1, 2])).status == 400


async def test_base64_that_does_not_decode_is_400(checked_api: Api) -> None:
    """A base64_string that is not base64 answers 400 at create."""
    answer = await checked_api.create(
        body_for(video={"type": "base64_string", "base64_string": "@@@!"})
    )
    assert answer.status == 400 and "video.base64_string" in error_message(answer)


async def test_base64_over_30_mib_is_400(checked_api: Api) -> None:
    """A base64 video over 30 MiB decoded answers 400 without being decoded."""
    payload = "A" * (30 * 1024 * 1024 // 3 * 4 + 8)
    raw = json.dumps(body_for(video={"type": "base64_string", "base64_string": payload}))
    answer = await checked_api.call(
        "POST",
        "/analyze/tasks",
        data=io.BytesIO(raw.encode()),
        headers={"Content-Type": "application/json"},
        schema=None,
    )
    assert answer.status == 400 and "30MB" in error_message(answer)


async def test_timestamp_without_format_matches_the_fixture(checked_api: Api) -> None:
    """The documented 400 for a timestamp without format comes out word for word."""
    fixture = json.loads((FIXTURES / "create_bad_request.json").read_text())
    answer = await checked_api.create(fixture["request"]["json"])
    assert answer.status == fixture["response"]["status"]
    assert answer.body == fixture["response"]["json_spec_envelope"]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"name": {"type": "string", "minLength": 1}}},
        {"type": "object", "additionalProperties": False},
        {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    ],
)
async def test_unsupported_schema_keywords_are_422(
    checked_api: Api, schema: dict[str, Any]
) -> None:
    """Keywords the platform documents as unsupported answer 422."""
    answer = await checked_api.create(
        body_for(response_format={"type": "json_schema", "json_schema": schema})
    )
    assert answer.status == 422


async def test_property_named_like_a_keyword_is_fine(checked_api: Api) -> None:
    """A property called maxItems is a name, not the keyword."""
    schema = {"type": "object", "properties": {"maxItems": {"type": "integer"}}}
    answer = await checked_api.create(
        body_for(response_format={"type": "json_schema", "json_schema": schema})
    )
    assert answer.status == 202


async def test_segment_definitions_need_pegasus_1_5(checked_api: Api) -> None:
    """segment_definitions is accepted with pegasus1.5 time_based_metadata only."""
    fixture = json.loads((FIXTURES / "create_segmentation_asset.json").read_text())
    body = fixture["request"]["json"]
    assert (await checked_api.create(body)).status == 202
    wrong = {**body, "model_name": "pegasus1.2"}
    assert (await checked_api.create(wrong)).status == 400


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"page": "0"}, "page"),
        ({"page": "one"}, "page"),
        ({"page_limit": "51"}, "page_limit"),
        ({"page_limit": "0"}, "page_limit"),
        ({"status": "done"}, "status"),
        ({"analysis_mode": "fast"}, "analysis_mode"),
    ],
)
async def test_bad_list_queries_are_400(
    checked_api: Api, params: dict[str, str], parameter: str
) -> None:
    """Out-of-range paging and unknown enum values answer 400 parameter_invalid."""
    answer = await checked_api.list(params)
    assert answer.status == 400 and error_code(answer) == "parameter_invalid"
    assert parameter in error_message(answer)
