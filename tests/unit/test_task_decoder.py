"""The fast task decoder never decides anything the general (cattrs) decoder would decide
differently: it gives the same task, or steps aside."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cattrs.gen import make_dict_structure_fn
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncanalyze import AnalyzeTaskResponse, ResponseValidationError
from asyncanalyze._convert import _converter, structure
from asyncanalyze._protocol import RawResponse, decode_task
from asyncanalyze._task_decoder import fast_task

from .._helpers import task_json

GENERAL = make_dict_structure_fn(AnalyzeTaskResponse, _converter)

FULL: dict[str, Any] = {
    **task_json("ready", task_id="t1"),
    "custom_id": "mine",
    "batch_id": None,
    "error": None,
    "webhooks": [{"url": "https://h.example/x", "delivered": True, "attempts": 1}],
    "video_source": {
        "type": "url",
        "url": "https://example.com/v.mp4",
        "system_metadata": {"duration": 31.5},
    },
    "request_params": {
        "analysis_mode": "general",
        "prompt": "Summarize",
        "prompt_v2": {"input_text": "x"},
        "image": [{"name": "a"}],
        "response_format": {"type": "json_schema", "json_schema": {}},
        "temperature": 0.2,
        "max_tokens": 4096,
        "min_segment_duration": 2,
        "start_time": 0,
        "end_time": 10.5,
    },
    "unknown_field": {"ignored": True},
}
# Where a value can go wrong: (path to the dict, key).
PLACES = [((), key) for key in FULL if key != "unknown_field"] + [
    (("result",), "data"),
    (("result",), "finish_reason"),
    (("result", "usage"), "output_tokens"),
    (("result", "usage"), "input_tokens"),
    (("webhooks", 0), "delivered"),
    (("webhooks", 0), "attempts"),
    (("video_source",), "url"),
    (("video_source", "system_metadata"), "duration"),
    *((("request_params",), key) for key in FULL["request_params"]),
]
ODD_VALUES = st.sampled_from(
    [None, True, False, 0, 7, 2.0, 2.5, -1, "", "x", "ready", "2024-01-01", [], [1], {}, {"a": 1}]
)


def general(value: Any) -> AnalyzeTaskResponse | type[Exception]:
    try:
        return GENERAL(value, AnalyzeTaskResponse)  # type: ignore[no-any-return]
    except Exception as exc:
        return type(exc)


def test_the_common_shapes_take_the_fast_path_and_match() -> None:
    for body in (FULL, task_json("processing", task_id="t1"), task_json("failed", task_id="t1")):
        task = fast_task(copy.deepcopy(body))
        assert task is not None
        assert task == general(copy.deepcopy(body))


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.tuples(st.sampled_from(PLACES), ODD_VALUES | st.just("<delete>")), max_size=3))
def test_fast_equals_general_or_steps_aside(changes: list[tuple[Any, Any]]) -> None:
    body = copy.deepcopy(FULL)
    for (path, key), new in changes:
        target: Any = body
        try:
            for step in path:
                target = target[step]
            if not isinstance(target, dict):
                continue  # an earlier change replaced the container
            if new == "<delete>":
                target.pop(key, None)
            else:
                target[key] = copy.deepcopy(new)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change replaced the container
    fast = fast_task(copy.deepcopy(body))
    if fast is not None:
        assert fast == general(copy.deepcopy(body))


@pytest.mark.parametrize(
    "broken",
    [
        {**FULL, "status": 5},
        {**FULL, "created_at": "yesterday"},
        {key: value for key, value in FULL.items() if key != "task_id"},
        {**FULL, "result": {"data": "x"}},
    ],
)
def test_a_broken_task_is_still_refused_with_the_raw_body(broken: dict[str, Any]) -> None:
    assert fast_task(broken) is None
    with pytest.raises(ResponseValidationError) as refused:
        decode_task(RawResponse(200, {}, b"{}" if not broken else _encode(broken)), "t1")
    assert refused.value.body


def test_odd_echoes_are_dropped_as_before() -> None:
    """An echo of an unexpected shape loses that field only, via the general path."""
    body = {**FULL, "video_source": {"type": 5, "url": "https://example.com/v.mp4"}}
    task = structure(body, AnalyzeTaskResponse)
    assert task.video_source is not None
    assert task.video_source.type is None and task.video_source.url == body["video_source"]["url"]


def _encode(value: Any) -> bytes:
    from asyncanalyze._json import dumps

    return dumps(value)
