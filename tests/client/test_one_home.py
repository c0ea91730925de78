"""Rules that used to live in several places, some disagreeing, now give one answer wherever
they apply: the SDK and the CLI, the request retries and the scheduler, the manifest check
and the batch run, with and without orjson."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aioresponses import aioresponses
from tenacity import RetryCallState

import asyncanalyze._json as codec
from asyncanalyze import (
    DEFAULT_BATCH_CONCURRENCY,
    AnalyzeAsyncClient,
    AnalyzeRequest,
    AnalyzeTaskStatus,
    BatchOutcome,
    InvalidRequestError,
    PageInfo,
    RetryPolicy,
    TaskCanceledError,
    TaskFailedError,
    TasksListResponse,
    VideoContext_Url,
)
from asyncanalyze._convert import structure
from asyncanalyze._models import AnalyzeTaskResponse
from asyncanalyze._numbers import check_count, check_positive
from asyncanalyze._protocol import RawResponse, error_for_response
from asyncanalyze.cli import build_parser, main
from asyncanalyze.cli._args import UsageError, positive_float, positive_int
from asyncanalyze.cli._batch import check_manifest
from asyncanalyze.cli._commands import styled_status
from asyncanalyze.cli._failures import FailureGroups
from asyncanalyze.polling import is_transient

from .._helpers import sent_count, task_json
from ..conftest import BASE_URL, RecordingSleep

TASKS = f"{BASE_URL}/analyze/tasks"
VIDEO = VideoContext_Url(url="https://example.com/v.mp4")
KEYS = ["ok-1", "a" * 255, "a" * 256, "", " ", "a b", "tab\tkey", "é", "k\x7f", 5, None]


def accepted(check: object) -> bool:
    try:
        check()  # type: ignore[operator]
    except (InvalidRequestError, argparse.ArgumentTypeError, UsageError):
        return False
    return True


# -- the idempotency key: the manifest accepts exactly what the run sends ------------------


@pytest.mark.parametrize("key", KEYS)
async def test_manifest_and_create_agree_on_idempotency_keys(key: object, tmp_path: Path) -> None:
    line = {"video": {"type": "url", "url": VIDEO.url}, "prompt": "hi", "idempotency_key": key}
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(codec.dumps_text(line) + "\n", encoding="utf-8")
    in_manifest = accepted(lambda: check_manifest(manifest))
    with aioresponses() as mocked:
        mocked.post(TASKS, status=202, payload={"task_id": "t1", "status": "queued"})
        async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL) as client:
            try:
                await client.tasks.create(video=VIDEO, prompt="hi", idempotency_key=key)  # type: ignore[arg-type]
                by_create = True
            except InvalidRequestError:
                by_create = False
                assert sent_count(mocked) == 0
    assert in_manifest == by_create
    assert in_manifest == accepted(lambda: AnalyzeRequest.from_dict(line))
    with aioresponses() as mocked:
        mocked.post(TASKS, status=202, payload={"task_id": "t1", "status": "queued"})
        mocked.get(f"{TASKS}/t1", payload=task_json("ready", task_id="t1"))
        fake = RecordingSleep()  # the wait's first poll comes after 2 s: on a fake clock
        async with AnalyzeAsyncClient(
            api_key="k", base_url=BASE_URL, sleep=fake, clock=fake.clock
        ) as client:
            request = AnalyzeRequest(video=VIDEO, prompt="hi", idempotency_key=key)  # type: ignore[arg-type]
            outcomes = [outcome async for outcome in client.tasks.analyze_many([request])]
    refused = isinstance(outcomes[0].error, InvalidRequestError)
    assert in_manifest == (not refused)


# -- transient statuses: request retries and polls agree (425 included) --------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 408, 409, 422, 425, 429, 500, 503, 599])
def test_retries_and_polls_agree_on_transient_statuses(status: int) -> None:
    error = error_for_response(RawResponse(status, {}, b'{"message": "x"}'))
    state = RetryCallState(None, None, (), {})  # type: ignore[arg-type]
    state.set_exception((type(error), error, None))
    by_retry = RetryPolicy().retry_strategy(state)
    assert by_retry == is_transient(error) == error.is_transient
    assert by_retry == (status >= 500 or status in {408, 425, 429})


async def test_a_425_retrieve_is_retried(recorded_sleep: object) -> None:
    """425 Too Early was kept waiting by polls but failed a retrieve at once."""
    url = f"{TASKS}/t1"
    with aioresponses() as mocked:
        mocked.get(url, status=425, payload={"message": "too early"})
        mocked.get(url, payload=task_json("ready", task_id="t1"))
        async with AnalyzeAsyncClient(
            api_key="k", base_url=BASE_URL, sleep=recorded_sleep
        ) as client:  # type: ignore[arg-type]
            assert (await client.tasks.retrieve("t1")).status == "ready"
        assert sent_count(mocked) == 2


# -- the last page --------------------------------------------------------------------------


def page(count: int, total_page: int | None = None) -> TasksListResponse:
    tasks = [structure(task_json("queued", task_id="t1"), AnalyzeTaskResponse)]
    return TasksListResponse(data=tasks * count, page_info=PageInfo(total_page=total_page))


@pytest.mark.parametrize(
    ("listing", "number", "last"),
    [
        (page(0, total_page=9), 1, True),  # an empty page ends the listing whatever it claims
        (page(50, total_page=3), 3, True),
        (page(50, total_page=3), 2, False),
        (page(49), 1, True),  # short page, no total: the end
        (page(50), 1, False),
    ],
)
def test_the_last_page_is_decided_in_one_place(
    listing: TasksListResponse, number: int, last: bool
) -> None:
    assert listing.is_last_page(number, 50) is last


async def test_iter_stops_on_an_empty_page_despite_total_page() -> None:
    with aioresponses() as mocked:
        full = {"data": [task_json("queued", task_id="t1")], "page_info": {"total_page": 5}}
        mocked.get(re.compile(rf"{TASKS}\?.*page=1"), payload=full)
        mocked.get(re.compile(rf"{TASKS}\?.*page=2"), payload={"data": [], "page_info": {}})
        async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL) as client:
            seen = [task.task_id async for task in client.tasks.iter(page_limit=1)]
    assert seen == ["t1"]


# -- task statuses ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", list(AnalyzeTaskStatus))
async def test_every_status_is_known_everywhere(status: AnalyzeTaskStatus) -> None:
    """The list filter, the CLI's --status and its colours, and the wait's ending all know it."""
    parsed = build_parser().parse_args(["tasks", "list", "--status", status.value])
    assert parsed.status == status.value
    assert isinstance(styled_status(status.value), tuple)  # coloured
    with aioresponses() as mocked:
        mocked.get(re.compile(rf"{TASKS}\?.*status={status.value}"), payload={"data": []})
        async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL) as client:
            await client.tasks.list(status=status)
    task = structure(task_json(status.value, task_id="t1"), AnalyzeTaskResponse)
    if status in {"failed", "canceled"}:
        error = TaskFailedError(task)
        assert isinstance(error, TaskCanceledError) == (status == "canceled")


def test_an_unknown_status_is_neither_refused_by_decoding_nor_coloured() -> None:
    task = structure(task_json("warming_up", task_id="t1"), AnalyzeTaskResponse)
    assert not task.status.is_known and not task.status.is_terminal
    assert styled_status("warming_up") == "warming_up"


# -- failure reasons ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "reason"),
    [({"message": "Codec gone"}, "Codec gone"), (None, "no reason given")],
)
def test_a_failed_task_has_one_reason_everywhere(error: object, reason: str) -> None:
    extra = {"error": error} if error is not None else {}
    task = structure(task_json("failed", task_id="t1", **extra), AnalyzeTaskResponse)
    failure = TaskFailedError(task)
    outcome = BatchOutcome(0, AnalyzeRequest(video=VIDEO, prompt="hi"), "t1", task, failure)
    groups = FailureGroups()
    groups.add(outcome)
    assert failure.reason == reason and str(failure).endswith(reason)
    assert outcome.failure_reason == failure.reason
    assert groups.most_common()[0]["example"] == failure.reason


def test_an_outcome_without_a_task_names_its_error() -> None:
    refused = InvalidRequestError("prompt", "must not be empty")
    outcome = BatchOutcome(0, AnalyzeRequest(video=VIDEO, prompt=""), None, None, refused)
    assert outcome.failure_reason == "InvalidRequestError: prompt: must not be empty"
    assert BatchOutcome(0, outcome.request, "t1", None, None).failure_reason is None


# -- the API key's variable and the default concurrency ---------------------------------------


def test_client_and_cli_name_the_same_key_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TWELVE_LABS_API_KEY", raising=False)
    with pytest.raises(InvalidRequestError) as refused:
        AnalyzeAsyncClient(base_url=BASE_URL)
    assert "TWELVE_LABS_API_KEY" in str(refused.value)
    assert main(["--base-url", BASE_URL, "tasks", "list"]) == 2
    assert "TWELVE_LABS_API_KEY" in capsys.readouterr().err
    monkeypatch.setenv("TWELVE_LABS_API_KEY", "from-env")
    assert AnalyzeAsyncClient(base_url=BASE_URL) is not None


def test_cli_batch_runs_at_the_sdk_default_concurrency(tmp_path: Path) -> None:
    args = build_parser().parse_args(["batch", str(tmp_path / "m.jsonl"), "--out", "o.jsonl"])
    assert args.concurrency == DEFAULT_BATCH_CONCURRENCY


# -- positive numbers: the CLI and the SDK refuse the same values ------------------------------


@pytest.mark.parametrize("raw", ["1", "0.5", "0", "-1", "nan", "inf", "-inf", "1e400"])
def test_cli_and_sdk_agree_on_positive_numbers(raw: str) -> None:
    assert accepted(lambda: positive_float(raw)) == accepted(
        lambda: check_positive("x", float(raw))
    )


@pytest.mark.parametrize("raw", ["1", "50", "0", "-3"])
async def test_cli_and_sdk_agree_on_concurrency(raw: str) -> None:
    by_cli = accepted(lambda: positive_int(raw))
    assert by_cli == accepted(lambda: check_count("concurrency", int(raw), minimum=1))
    async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL) as client:
        try:
            async for _ in client.tasks.analyze_many([], concurrency=int(raw)):
                pass
            by_sdk = True
        except InvalidRequestError:
            by_sdk = False
    assert by_cli == by_sdk


# -- one JSON codec, the same documents with or without orjson ---------------------------------


@contextlib.contextmanager
def stdlib_codec() -> Iterator[None]:
    """The codec as a fresh install without the [speed] extra has it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "orjson", None)
        importlib.reload(codec)
        try:
            assert not codec.HAVE_ORJSON
            yield
        finally:
            patch.undo()
            importlib.reload(codec)


DOCUMENTS = [
    {"title": "Café ☕", "n": [1, 2.5, None, True], "nested": {"a": {"b": []}}},
    {"big": 2**70, "neg": -(2**63)},
    [],
    "plain",
]


def round_trips() -> list[tuple[object, object, str, str]]:
    return [
        (
            codec.loads(codec.dumps(d)),
            codec.loads(codec.dumps_text(d)),
            codec.dumps_text(d),
            codec.dumps_text(d, indent=True),
        )
        for d in DOCUMENTS
    ]


@pytest.mark.skipif(not codec.HAVE_ORJSON, reason="compares with the [speed] extra")
def test_both_installs_read_and_write_the_same_documents() -> None:
    with_orjson = round_trips()
    with stdlib_codec():
        stdlib = round_trips()
    assert stdlib == with_orjson
    assert [parsed for parsed, *_ in stdlib] == DOCUMENTS


@pytest.mark.parametrize("broken", [b"{", b"[1,]", b"nan", b"NaN", b"[Infinity]", b"-Infinity"])
def test_both_installs_refuse_the_same_non_json(broken: bytes) -> None:
    """NaN and Infinity are not JSON: the stdlib accepted them where orjson refused them."""
    with pytest.raises(ValueError):
        codec.loads(broken)
    with stdlib_codec(), pytest.raises(ValueError):
        codec.loads(broken)
