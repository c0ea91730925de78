"""Structured output: result.json() and parse_result(task, cls) over json_schema results."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeError,
    AnalyzeTaskResponse,
    AnalyzeTaskResult,
    AnalyzeTaskResultUsage,
    AnalyzeTaskStatus,
    FinishReason,
    InvalidRequestError,
    ResponseFormat,
    ResultParseError,
    VideoContext_Url,
    parse_result,
)

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "topics": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "score": {"type": "integer", "minimum": 0, "maximum": 10},
    },
    "required": ["title", "topics", "score"],
}


@attrs.frozen
class Summary:
    title: str
    topics: list[str]
    score: int


@dataclasses.dataclass
class TitleOnly:
    title: str


def result(data: str, finish_reason: FinishReason | None = None) -> AnalyzeTaskResult:
    return AnalyzeTaskResult(
        generation_id="g", data=data, usage=AnalyzeTaskResultUsage(1), finish_reason=finish_reason
    )


async def analyze(client: AnalyzeAsyncClient, **options: Any) -> AnalyzeTaskResponse:
    created = await client.tasks.create(
        video=VideoContext_Url(url="https://videos.example/s.mp4?emulator_task_seconds=10"),
        prompt="Summarize as JSON",
        response_format=ResponseFormat(json_schema=SCHEMA),
        **options,
    )
    return await client.tasks.await_result(created, timeout=600)


async def test_emulator_json_schema_result_parses_and_structures(
    analyze_client: AnalyzeAsyncClient,
) -> None:
    """A json_schema task's result.json() is the object; parse_result gives the attrs class."""
    task = await analyze(analyze_client)
    assert task.result is not None
    value = task.result.json()
    assert set(value) >= {"title", "topics", "score"}
    summary = parse_result(task, Summary)
    assert isinstance(summary, Summary)
    assert summary.title == value["title"] and summary.topics == value["topics"]
    assert 0 <= summary.score <= 10
    # The result alone works too, and so do dataclasses and plain containers.
    assert parse_result(task.result, TitleOnly) == TitleOnly(value["title"])
    assert parse_result(task, dict[str, Any]) == value


async def test_truncated_json_result_names_max_tokens(analyze_client: AnalyzeAsyncClient) -> None:
    """Output cut at max_tokens is not JSON; the error says why and keeps the text."""
    task = await analyze(analyze_client, max_tokens=3)
    assert task.result is not None and task.result.finish_reason == "length"
    with pytest.raises(ResultParseError, match="max_tokens") as info:
        parse_result(task, Summary)
    assert info.value.text == task.result.data


def test_text_that_is_not_json_raises_result_parse_error() -> None:
    """json() on non-JSON text raises ResultParseError (a ValueError) carrying the text."""
    with pytest.raises(ResultParseError) as info:
        result("The video shows a cat.").json()
    error = info.value
    assert isinstance(error, ValueError) and isinstance(error, AnalyzeError)
    assert error.text == "The video shows a cat." and error.target is None
    assert "not valid JSON" in str(error)


def test_absurdly_nested_json_is_a_parse_error_not_a_recursion_error() -> None:
    """Deep nesting fails as ResultParseError, never as RecursionError."""
    with pytest.raises(ResultParseError):
        result("[" * 100_000 + "]" * 100_000).json()


@pytest.mark.parametrize(
    "data",
    [
        '{"title": "t", "topics": ["a"]}',  # score missing
        '{"title": 5, "topics": ["a"], "score": 1}',  # number where a str is declared
        '{"title": "t", "topics": "a", "score": 1}',  # not a list
        '["title"]',
    ],
)
def test_json_that_does_not_fit_the_class_raises_with_the_target(data: str) -> None:
    """JSON of the wrong shape raises ResultParseError naming the class."""
    with pytest.raises(ResultParseError, match="does not fit Summary") as info:
        parse_result(result(data), Summary)
    assert info.value.target is Summary and info.value.text == data


def test_extra_keys_are_ignored() -> None:
    """Keys the class does not declare are dropped, so a richer schema still structures."""
    value = parse_result(result('{"title": "t", "topics": [], "score": 3, "more": 1}'), Summary)
    assert value == Summary("t", [], 3)


def test_task_without_result_is_a_usage_error() -> None:
    """A task that is not ready has nothing to parse: InvalidRequestError."""
    task = AnalyzeTaskResponse(
        task_id="t1", status=AnalyzeTaskStatus.PROCESSING, created_at=datetime.now(UTC)
    )
    with pytest.raises(InvalidRequestError, match="no result"):
        parse_result(task, Summary)
    with pytest.raises(InvalidRequestError):
        parse_result("{}", Summary)  # type: ignore[arg-type]
