"""Request checks: what JSON cannot carry is refused before sending; large inline videos are
checked and fingerprinted in slices with the same answers as in one piece."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
from types import MappingProxyType
from typing import Any

import pytest
from aioresponses import aioresponses

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeRequest,
    InvalidRequestError,
    ResponseFormat,
    VideoContext_Base64String,
    VideoContext_Url,
)

from .._helpers import json_body, sent_count
from ..conftest import BASE_URL


def circular() -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    schema["properties"] = {"self": schema}
    return schema


def nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


NOT_JSON = {
    "circular": circular(),
    "a set": {"type": "string", "enum": {"a", "b"}},
    "NaN": {"type": "number", "maximum": float("nan")},
    "infinity": {"type": "number", "minimum": float("-inf")},
    "5,000 levels": nested(5000),
    "int and str keys": {"type": "object", "properties": {1: {"type": "string"}, "b": {}}},
    "an int key": {"type": "object", "properties": {2: {"type": "string"}}},
    "a lone surrogate": {"type": "string", "description": "\ud800"},
    "an object": {"type": "string", "default": object()},
    "bytes": {"type": "string", "default": b"x"},
    "a 65-bit int": {"type": "integer", "maximum": 2**65},
}


@pytest.mark.parametrize("schema", NOT_JSON.values(), ids=NOT_JSON.keys())
async def test_create_refuses_a_schema_that_is_not_json(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, schema: dict[str, Any]
) -> None:
    """A response_format schema JSON cannot carry is an InvalidRequestError naming where,
    before anything is sent."""
    with pytest.raises(InvalidRequestError) as caught:
        await mocked_client.tasks.create(
            video=VideoContext_Url(url="https://videos.example/a.mp4"),
            prompt="p",
            response_format=ResponseFormat(json_schema=schema),
        )
    assert caught.value.parameter.startswith("response_format.json_schema")
    assert sent_count(mocked_api) == 0


async def test_schema_nesting_up_to_the_documented_limit_is_sent(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """A schema 64 levels deep is sent; one level more is refused."""
    mocked_api.post(f"{BASE_URL}/analyze/tasks", payload={"task_id": "t1", "status": "queued"})
    deepest: Any = {}
    for _ in range(63):
        deepest = {"a": deepest}
    video = VideoContext_Url(url="https://videos.example/a.mp4")
    await mocked_client.tasks.create(
        video=video, prompt="p", response_format=ResponseFormat(json_schema=deepest)
    )
    with pytest.raises(InvalidRequestError, match="64 levels"):
        await mocked_client.tasks.create(
            video=video, prompt="p", response_format=ResponseFormat(json_schema={"a": deepest})
        )
    assert sent_count(mocked_api) == 1


async def test_any_mapping_or_tuple_in_a_schema_is_sent_as_json(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """Mappings that are not dicts and tuples (which no JSON encoder takes as they are) are
    sent as objects and arrays."""
    mocked_api.post(f"{BASE_URL}/analyze/tasks", payload={"task_id": "t1", "status": "queued"})
    schema = MappingProxyType(
        {"type": "object", "properties": MappingProxyType({"a": {"enum": ("x", "y")}})}
    )
    await mocked_client.tasks.create(
        video=VideoContext_Url(url="https://videos.example/a.mp4"),
        prompt="p",
        response_format={"type": "json_schema", "json_schema": schema},
    )
    ((_, requests),) = mocked_api.requests.items()
    assert json_body(requests[0].kwargs)["response_format"]["json_schema"] == {
        "type": "object",
        "properties": {"a": {"enum": ["x", "y"]}},
    }


async def test_a_prompt_that_is_not_unicode_is_refused(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """A lone surrogate in the prompt (no UTF-8 form) is refused before sending."""
    with pytest.raises(InvalidRequestError) as caught:
        await mocked_client.tasks.create(
            video=VideoContext_Url(url="https://videos.example/a.mp4"), prompt="a\udc80b"
        )
    assert caught.value.parameter == "prompt"
    assert sent_count(mocked_api) == 0


SLICE = 1 << 20  # larger than one slice of the sliced check and hash
_rng = random.Random(7)
_BIG = base64.b64encode(_rng.randbytes(3 * SLICE)).decode()
_ODD = base64.b64encode(_rng.randbytes(3 * SLICE + 1)).decode()


def base64_cases() -> list[str]:
    cases = [
        _BIG,
        _ODD,
        _BIG[:-1],
        _BIG + "=",
        _ODD + "=",
        _BIG[:SLICE] + "=" + _BIG[SLICE + 1 :],
        _BIG[: SLICE - 2] + "==" + _BIG[SLICE:],
        _BIG[: 2 * SLICE] + "=A" + _BIG[2 * SLICE + 2 :],
        _BIG[: 2 * SLICE] + " " + _BIG[2 * SLICE + 1 :],
        "=" + _BIG,
        "QQ==",
        "QQ=",
        "Q",
    ]
    for _ in range(40):
        text = list(_BIG[: _rng.choice([SLICE - 4, SLICE, SLICE + 4, 2 * SLICE + 3])])
        for _ in range(_rng.randint(1, 2)):
            text.insert(_rng.randrange(len(text) + 1), _rng.choice("=A\n*"))
        cases.append("".join(text))
    return cases


def test_a_large_base64_video_is_judged_as_one_strict_decode_would() -> None:
    """Checking base64 in slices accepts and refuses exactly what one strict decode does."""
    for text in base64_cases():
        try:
            binascii.a2b_base64(text, strict_mode=True)
            valid = True
        except (binascii.Error, ValueError):
            valid = False
        request = AnalyzeRequest(video=VideoContext_Base64String(base64_string=text), prompt="p")
        try:
            request.check()
            accepted = True
        except InvalidRequestError:
            accepted = False
        assert accepted == valid, (len(text), valid)


@pytest.mark.parametrize(
    "request_",
    [
        AnalyzeRequest(video=VideoContext_Base64String(base64_string=_BIG), prompt="Describe"),
        AnalyzeRequest(
            video=VideoContext_Url(url="https://videos.example/a.mp4"),
            prompt='Quotes " and \\ and \n, accents é, emoji \U0001f600, ' + "x" * (2 * SLICE),
            temperature=0.25,
            max_tokens=100,
            response_format=ResponseFormat(
                json_schema={"type": "object", "b": [1, 2.5, True, None], "a": {"z": "\u2028"}}
            ),
        ),
        AnalyzeRequest(
            video=VideoContext_Url(url="https://v.example/a"), prompt="p", idempotency_key="k-1"
        ),
        AnalyzeRequest(
            video=VideoContext_Url(url="https://v.example/a"),
            prompt="y" * (2 * SLICE) + '"' + "\x01",
        ),
    ],
    ids=["base64", "escapes", "own key", "long ASCII with escapes"],
)
def test_fingerprints_are_those_earlier_journals_recorded(request_: AnalyzeRequest) -> None:
    """A fingerprint is the SHA-256 of the request's canonical JSON, as 0.1.0 computed it, so
    journals it wrote still resume."""
    basis: Any = (
        {"idempotency_key": request_.idempotency_key}
        if request_.idempotency_key is not None
        else request_.wire_body()
    )
    canonical = json.dumps(basis, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert request_.fingerprint() == hashlib.sha256(canonical.encode()).hexdigest()
