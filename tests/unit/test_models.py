"""Decoding wire bodies into models and encoding requests (the cattrs converter)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from multidict import CIMultiDict

from asyncanalyze import (
    AnalyzeTaskResponse,
    AnalyzeTaskStatus,
    CreateAnalyzeTaskResponse,
    FinishReason,
    ResponseValidationError,
    TasksListResponse,
    VideoContext_AssetId,
    VideoContext_Base64String,
    VideoContext_Url,
)
from asyncanalyze._convert import unstructure
from asyncanalyze._protocol import RawResponse, decode

FIXTURES = Path(__file__).resolve().parents[1] / "spec" / "fixtures"


def fixture_body(name: str) -> bytes:
    return json.dumps(json.loads((FIXTURES / name).read_text())["response"]["json"]).encode()


def ok(body: bytes | str, status: int = 200) -> RawResponse:
    return RawResponse(status, CIMultiDict(), body.encode() if isinstance(body, str) else body)


def test_ready_task_fixture_decodes_with_aware_datetimes() -> None:
    """A documented ready task decodes with its result, usage, webhooks and UTC datetimes."""
    task = decode(ok(fixture_body("retrieve_ready_segmentation.json")), AnalyzeTaskResponse)
    assert task.status == "ready" and task.status is AnalyzeTaskStatus.READY
    assert task.created_at == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert task.completed_at is not None and task.completed_at.tzinfo is not None
    assert task.result is not None
    assert task.result.finish_reason is FinishReason.STOP
    assert task.result.usage.output_tokens == 312
    assert task.webhooks is not None and task.webhooks[0].delivered is True
    assert task.webhooks[0].last_error is None


def test_queued_task_leaves_absent_optionals_none() -> None:
    """Fields the server leaves out (completed_at, result, error, webhooks) decode to None."""
    task = decode(ok(fixture_body("retrieve_queued.json")), AnalyzeTaskResponse)
    assert task.status == AnalyzeTaskStatus.QUEUED
    assert (task.completed_at, task.result, task.error, task.webhooks) == (None, None, None, None)
    assert task.custom_id == "prod-segment-analysis-42"


def test_failed_task_carries_error_message() -> None:
    """A failed task exposes error.message and no code when the server sends none."""
    task = decode(ok(fixture_body("retrieve_failed.json")), AnalyzeTaskResponse)
    assert task.status.is_terminal and task.error is not None
    assert task.error.message == "Video duration exceeds maximum allowed duration"
    assert task.error.code is None


def test_list_fixture_with_partial_page_info() -> None:
    """A list page whose page_info has only some fields decodes, the rest None."""
    listing = decode(ok(fixture_body("list_default.json")), TasksListResponse)
    assert len(listing.data) == 1 and listing.page_info.page == 1
    assert listing.page_info.total_page is None


def test_unknown_status_and_extra_fields_are_tolerated() -> None:
    """An unknown status stays usable as its string and unknown fields are ignored."""
    body = {
        "task_id": "t1",
        "status": "archived",
        "created_at": "2024-09-26T10:29:19.968Z",
        "brand_new_field": {"nested": [1, 2]},
    }
    task = decode(ok(json.dumps(body)), AnalyzeTaskResponse)
    assert task.status == "archived"
    assert isinstance(task.status, AnalyzeTaskStatus)
    assert not task.status.is_terminal and not task.status.is_known


def test_canceled_is_terminal() -> None:
    """canceled, added by the platform after v1.3, counts as terminal."""
    assert AnalyzeTaskStatus("canceled").is_terminal


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"status": "queued"}',
        b'{"task_id": {"a": 1}, "status": "queued"}',
        b'{"task_id": "x", "status": 7}',
        b'{"task_id": null, "status": "queued"}',
    ],
)
def test_malformed_create_body_raises_response_validation_error(body: bytes) -> None:
    """A 2xx body that does not fit raises ResponseValidationError with the raw body attached."""
    with pytest.raises(ResponseValidationError) as info:
        decode(ok(body, 202), CreateAnalyzeTaskResponse)
    assert info.value.body == body
    assert info.value.status_code == 202


@pytest.mark.parametrize(
    "patch",
    [
        {"created_at": "yesterday"},
        {"created_at": 12},
        {"result": {"data": "x"}},
        {"result": {"generation_id": "g", "data": "x", "usage": {"output_tokens": "many"}}},
        {"webhooks": [{"url": "u", "delivered": "yes", "attempts": 1}]},
        {"webhooks": {"url": "u"}},
    ],
)
def test_malformed_task_fields_raise_response_validation_error(patch: dict[str, object]) -> None:
    """Wrong types deep in a task never escape as KeyError/TypeError."""
    body = {"task_id": "t", "status": "ready", "created_at": "2024-01-01T00:00:00Z", **patch}
    with pytest.raises(ResponseValidationError):
        decode(ok(json.dumps(body)), AnalyzeTaskResponse)


def test_naive_timestamp_is_read_as_utc() -> None:
    """A timestamp without an offset still gives an aware datetime (UTC)."""
    body = {"task_id": "t", "status": "queued", "created_at": "2024-01-01T00:00:00"}
    task = decode(ok(json.dumps(body)), AnalyzeTaskResponse)
    assert task.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("video", "wire"),
    [
        (
            VideoContext_Url(url="https://e.com/v.mp4"),
            {"type": "url", "url": "https://e.com/v.mp4"},
        ),
        (VideoContext_AssetId(asset_id="a1"), {"type": "asset_id", "asset_id": "a1"}),
        (
            VideoContext_Base64String(base64_string="AAAA"),
            {"type": "base64_string", "base64_string": "AAAA"},
        ),
    ],
)
def test_video_context_wire_shape(video: object, wire: dict[str, str]) -> None:
    """Each VideoContext is sent tagged by `type` with its one field."""
    assert unstructure(video) == wire


def test_base64_video_repr_is_short() -> None:
    """A base64 video never prints its megabytes in a repr."""
    assert "AAAA" not in repr(VideoContext_Base64String(base64_string="AAAA" * 1000))
