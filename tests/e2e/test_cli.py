"""The ``asyncanalyze`` command line, run in-process through ``main([...])``.

Commands that need a task to exist across invocations use an emulator served from a
background thread (each ``main`` call runs its own event loop); the rest use ``--emulator``.
Both run on fast clocks: nothing here sleeps to wait for a task.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aioresponses import aioresponses

from asyncanalyze import BatchProgress
from asyncanalyze.cli import main
from asyncanalyze.cli._output import PLAIN_PROGRESS_INTERVAL, _PlainProgress
from asyncanalyze.cli._redact import redactor

from .._helpers import task_json
from .._served import ThreadedEmulator

SECRET = "tlk_CLI_SECRET_KEY_must_never_print_42"
# --emulator runs: 1,000 emulated seconds per real second.
FAST = ["--emulator", "--speed", "1000", "--plain"]


@pytest.fixture
def cli_emulator() -> Iterator[ThreadedEmulator]:
    # So fast that any task is terminal by the first poll: waits end at once.
    emulator = ThreadedEmulator(speed=100_000)
    yield emulator
    emulator.close()


def remote(served: ThreadedEmulator, *argv: str) -> list[str]:
    return ["--base-url", served.base_url, "--api-key", "test-key", "--plain", *argv]


def create_task(served: ThreadedEmulator, capsys: pytest.CaptureFixture[str], url: str) -> str:
    code = main(remote(served, "analyze", url, "--prompt", "Summarize", "--no-wait", "--json"))
    assert code == 0
    return str(json.loads(capsys.readouterr().out)["task_id"])


VIDEO = "https://example.com/clip.mp4?emulator_task_seconds=30"


# -- tasks --------------------------------------------------------------------------------------


def test_tasks_list_shows_created_tasks_newest_first(cli_emulator, capsys):
    """tasks list prints the tasks of the key, newest first, and --json parses."""
    first = create_task(cli_emulator, capsys, VIDEO)
    second = create_task(cli_emulator, capsys, VIDEO + "&n=2")
    assert main(remote(cli_emulator, "tasks", "list")) == 0
    text = capsys.readouterr().out
    assert text.index(second) < text.index(first)
    assert main(remote(cli_emulator, "tasks", "list", "--all", "--json")) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [task["task_id"] for task in listed] == [second, first]


def test_tasks_list_filters_by_status(cli_emulator, capsys):
    """--status is sent as the filter."""
    create_task(cli_emulator, capsys, VIDEO)
    assert main(remote(cli_emulator, "tasks", "list", "--status", "failed", "--json")) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_tasks_list_filters_by_video_asset_and_mode(cli_emulator, capsys):
    """--video-url, --asset-id and --analysis-mode are sent as filters; custom ids show."""
    first = create_task(cli_emulator, capsys, VIDEO)
    code = main(
        remote(
            cli_emulator,
            "analyze",
            "asset:a1",
            "-p",
            "p",
            "--custom-id",
            "c-9",
            "--no-wait",
            "--json",
        )
    )
    assert code == 0
    second = json.loads(capsys.readouterr().out)["task_id"]

    def listed(*flags: str) -> list[str]:
        assert main(remote(cli_emulator, "tasks", "list", "--json", *flags)) == 0
        return [task["task_id"] for task in json.loads(capsys.readouterr().out)]

    assert listed("--video-url", VIDEO) == [first]
    assert listed("--asset-id", "a1") == [second]
    assert listed("--analysis-mode", "general", "--all") == [second, first]
    assert listed("--analysis-mode", "time_based_metadata") == []
    assert main(remote(cli_emulator, "tasks", "list")) == 0
    table = capsys.readouterr().out
    assert "custom id" in table.lower() and "c-9" in table
    assert main(remote(cli_emulator, "tasks", "list", "--video-url", "")) == 2
    assert "video_url" in capsys.readouterr().err


def test_tasks_get_prints_the_result(cli_emulator, capsys):
    """tasks get shows status and result data; --json gives the task object."""
    task_id = create_task(cli_emulator, capsys, VIDEO)
    assert main(remote(cli_emulator, "tasks", "get", task_id)) == 0
    text = capsys.readouterr().out
    assert task_id in text and "ready" in text
    assert main(remote(cli_emulator, "tasks", "get", task_id, "--json")) == 0
    task = json.loads(capsys.readouterr().out)
    assert task["status"] == "ready" and task["result"]["data"]


def test_tasks_wait_prints_status_changes(cli_emulator, capsys):
    """tasks wait reports the status it sees and ends with the result."""
    task_id = create_task(cli_emulator, capsys, VIDEO)
    assert main(remote(cli_emulator, "tasks", "wait", task_id, "--timeout", "30")) == 0
    captured = capsys.readouterr()
    assert f"task {task_id} ready" in captured.err
    assert "ready" in captured.out


def test_tasks_wait_on_a_failed_task_exits_1_with_the_reason(cli_emulator, capsys):
    """A failed task is shown with its error message and exit code 1."""
    task_id = create_task(
        cli_emulator, capsys, "https://example.com/v.mp4?emulator_fail=Codec%20gone"
    )
    assert main(remote(cli_emulator, "tasks", "wait", task_id)) == 1
    captured = capsys.readouterr()
    assert "Codec gone" in captured.err


def test_tasks_delete_then_get_is_not_found(cli_emulator, capsys):
    """tasks delete removes the task; a later get fails with exit code 1."""
    task_id = create_task(cli_emulator, capsys, VIDEO)
    assert main(remote(cli_emulator, "tasks", "delete", task_id)) == 0
    assert f"deleted {task_id}" in capsys.readouterr().out
    assert main(remote(cli_emulator, "tasks", "get", task_id)) == 1
    assert "NotFoundError" in capsys.readouterr().err


def test_tasks_cancel_cancels_a_running_task(cli_emulator, capsys):
    """tasks cancel prints one line (exit 0), again on a repeat; --json gives the answer."""
    task_id = create_task(cli_emulator, capsys, LONG_VIDEO)
    assert main(remote(cli_emulator, "tasks", "cancel", task_id)) == 0
    assert capsys.readouterr().out == f"canceled {task_id}\n"
    assert main(remote(cli_emulator, "tasks", "cancel", task_id, "--json")) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer == {"task_id": task_id, "status": "canceled", "canceled": True}
    assert main(remote(cli_emulator, "tasks", "get", task_id, "--json")) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "canceled"


def test_tasks_cancel_of_a_finished_task_exits_3(cli_emulator, capsys):
    """A task that already ended is not canceled: one line saying how it ended, exit code 3."""
    task_id = create_task(cli_emulator, capsys, VIDEO)
    assert main(remote(cli_emulator, "tasks", "wait", task_id)) == 0
    capsys.readouterr()
    assert main(remote(cli_emulator, "tasks", "cancel", task_id)) == 3
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == f"task {task_id} already ended ready: not canceled"
    assert main(remote(cli_emulator, "tasks", "cancel", task_id, "--json")) == 3
    report = json.loads(capsys.readouterr().out)
    assert report == {"task_id": task_id, "status": "ready", "canceled": False}


def test_tasks_cancel_reads_a_400_refusal_the_same_way(capsys):
    """Should the platform refuse with 400 instead of 409, the task's status still decides:
    ended -> exit 3; still running -> the error, exit 1."""
    base = "https://api.test/v1.3/analyze/tasks"
    refusal = {"code": "parameter_invalid", "message": "The task cannot be canceled."}
    argv = ["--base-url", "https://api.test/v1.3", "--api-key", "k", "--plain", "tasks", "cancel"]
    with aioresponses() as mocked:
        for task_id, status in (("t1", "failed"), ("t2", "processing")):
            mocked.post(f"{base}/{task_id}/cancel", status=400, payload=refusal)
            mocked.get(f"{base}/{task_id}", payload={**task_json(status), "task_id": task_id})
        assert main([*argv, "t1"]) == 3
        assert "already ended failed" in capsys.readouterr().err
        assert main([*argv, "t2"]) == 1
        assert "BadRequestError" in capsys.readouterr().err


def test_tasks_cancel_of_an_unknown_task_exits_1(cli_emulator, capsys):
    assert main(remote(cli_emulator, "tasks", "cancel", "f" * 24)) == 1
    err = capsys.readouterr().err
    assert "NotFoundError" in err and "Traceback" not in err


# -- analyze ------------------------------------------------------------------------------------


def test_analyze_url_waits_and_prints_the_result(capsys):
    """analyze URL shows live status on stderr and the generated text on stdout."""
    code = main([*FAST, "analyze", VIDEO, "--prompt", "Summarize this video"])
    captured = capsys.readouterr()
    assert code == 0
    assert "ready" in captured.err
    assert "status" in captured.out and "ready" in captured.out


def test_analyze_asset_with_schema_returns_json_data(tmp_path, capsys):
    """analyze asset:ID --schema --json prints the task; its data follows the schema."""
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {"title": {"type": "string"}},
                "required": ["title"],
            }
        )
    )
    argv = [*FAST, "--json", "analyze", "asset:abc123", "-p", "Title?", "--schema", str(schema)]
    assert main(argv) == 0
    task = json.loads(capsys.readouterr().out)
    assert task["status"] == "ready"
    assert isinstance(json.loads(task["result"]["data"])["title"], str)


def test_analyze_sends_the_create_parameters_given_as_flags(tmp_path, capsys):
    """--model --analysis-mode --custom-id --start --end --min-segment --max-segment
    --max-tokens unlimited and a segment-definitions --schema reach the platform."""
    segments = tmp_path / "segments.json"
    segments.write_text(
        json.dumps(
            {
                "type": "segment_definitions",
                "segment_definitions": [{"id": "goal", "description": "A goal is scored"}],
            }
        )
    )
    argv = [
        *FAST,
        "--json",
        "analyze",
        "asset:abc123",
        "--model",
        "pegasus1.6",
        "--analysis-mode",
        "time_based_metadata",
        "--custom-id",
        "cli-7",
        "--schema",
        str(segments),
        "--max-tokens",
        "unlimited",
        "--start",
        "5",
        "--end",
        "65.5",
        "--min-segment",
        "2",
        "--max-segment",
        "20",
    ]
    assert main(argv) == 0
    task = json.loads(capsys.readouterr().out)
    assert task["status"] == "ready" and task["custom_id"] == "cli-7"
    assert "goal" in json.loads(task["result"]["data"])
    params = task["request_params"]
    assert params["analysis_mode"] == "time_based_metadata"
    assert params["max_tokens"] == "unlimited"
    assert (params["start_time"], params["end_time"]) == (5, 65.5)
    assert (params["min_segment_duration"], params["max_segment_duration"]) == (2, 20)


def test_analyze_shows_the_custom_id_and_mode(capsys):
    """The human view of a task names its custom id and analysis mode."""
    argv = [*FAST, "analyze", VIDEO, "-p", "Summarize", "--custom-id", "mine-1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "custom id" in out and "mine-1" in out and "general" in out


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["-p", "x", "--custom-id", "has space"], "custom_id"),
        (["-p", "x", "--min-segment", "5"], "min_segment_duration"),
        (["-p", "x", "--max-segment", "1.5"], "max_segment_duration"),
        (["-p", "x", "--start", "-1"], "start_time"),
        (["-p", "x", "--start", "10", "--end", "5"], "end_time"),
        (["-p", "x", "--max-tokens", "unlimited"], "max_tokens"),
        (["-p", "x", "--max-tokens", "lots"], "--max-tokens"),
        (["-p", "x", "--start", "soon"], "--start"),
        (["-p", "x", "--analysis-mode", "fast"], "--analysis-mode"),
        (["-p", "x", "--model", ""], "model_name"),
        ([], "prompt"),
        (["--analysis-mode", "time_based_metadata"], "response_format"),
    ],
)
def test_bad_create_flags_are_one_line_and_exit_2(capsys, flags, expected):
    """A flag the SDK or argparse refuses: exit 2, one line naming it, nothing created."""
    assert main([*FAST, "analyze", VIDEO, *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err
    assert "Traceback" not in err
    if not expected.startswith("--"):  # argparse prints its usage above its one line
        assert len(err.splitlines()) == 1


def test_analyze_local_file_that_is_not_a_video_is_refused_before_upload(tmp_path, capsys):
    """A local file that is not a readable video is refused by the pre-flight, exit code 2."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(4096))
    assert main([*FAST, "analyze", str(clip), "--prompt", "Summarize"]) == 2
    assert "--no-media-check" in capsys.readouterr().err


def test_analyze_local_file_without_check_shows_the_server_failure(tmp_path, capsys):
    """With --no-media-check the file goes up as base64; the emulator's failure is shown."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(os.urandom(4096))
    args = [*FAST, "analyze", str(clip), "--prompt", "Summarize", "--no-media-check"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "failed" in captured.err
    assert "video" in captured.err.lower()


def test_analyze_missing_file_is_a_usage_error(tmp_path, capsys):
    """A VIDEO that is neither URL, asset nor file exits 2 before any request."""
    assert main([*FAST, "analyze", str(tmp_path / "nope.mp4"), "--prompt", "x"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_analyze_file_over_30_mib_is_refused_clearly(tmp_path, capsys):
    """A local file too big for base64 upload names the limit and the alternatives."""
    big = tmp_path / "big.mp4"
    with big.open("wb") as handle:
        handle.truncate(31 * 1024 * 1024)
    assert main([*FAST, "analyze", str(big), "--prompt", "x"]) == 2
    assert "30 MiB" in capsys.readouterr().err


# -- batch --------------------------------------------------------------------------------------


def write_manifest(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def request(n: int, seconds: int = 60) -> dict[str, Any]:
    url = f"https://example.com/batch-{n}.mp4?emulator_task_seconds={seconds}"
    return {"video": {"type": "url", "url": url}, "prompt": "Summarize", "metadata": {"n": n}}


@pytest.mark.slow
def test_batch_writes_one_line_per_request_and_resumes(cli_emulator, tmp_path, capsys):
    """batch writes one outcome per request; a re-run with the journal creates nothing."""
    manifest = write_manifest(tmp_path / "in.jsonl", [request(n) for n in range(12)])
    out, journal = tmp_path / "out.jsonl", tmp_path / "journal.db"
    argv = remote(cli_emulator, "--json", "batch", str(manifest), "--out", str(out))

    assert main([*argv, "--journal", str(journal)]) == 0
    summary = json.loads(capsys.readouterr().out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 12 and summary["ready"] == 12
    assert sorted(line["metadata"]["n"] for line in lines) == list(range(12))
    assert all(line["status"] == "ready" and line["line"] == line["index"] + 1 for line in lines)
    assert cli_emulator.stats()["creates"] == 12

    requests_before = sum(cli_emulator.stats()["requests"].values())
    assert main([*argv, "--journal", str(journal)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resumed"] == 12
    assert sum(cli_emulator.stats()["requests"].values()) == requests_before  # all from the journal
    assert len(out.read_text().splitlines()) == 12


def test_emulator_with_a_journal_is_refused_before_anything_runs(tmp_path, capsys):
    """--emulator forgets its tasks on exit, so a journal could never resume: refused, exit 2."""
    manifest = write_manifest(tmp_path / "in.jsonl", [request(1)])
    journal = str(tmp_path / "j.db")
    argv = [*FAST, "batch", str(manifest), "--out", str(tmp_path / "o"), "--journal", journal]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--journal cannot resume with --emulator" in err
    assert not (tmp_path / "o").exists()


def test_batch_human_summary_and_failures(tmp_path, capsys):
    """The human summary counts ready/failed and names the failure reason; exit code 1."""
    bad_video = {"video": {"type": "url", "url": "https://x.invalid/a.mp4"}, "prompt": "p"}
    manifest = write_manifest(tmp_path / "in.jsonl", [request(1), "", bad_video, request(2)])
    out = tmp_path / "out.jsonl"
    assert main([*FAST, "batch", str(manifest), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "Batch summary" in captured.out
    assert "could not be downloaded" in captured.out
    failed = [json.loads(x) for x in out.read_text().splitlines() if '"failed"' in x]
    assert [record["line"] for record in failed] == [3]


def test_batch_bad_manifest_line_reports_line_number_and_sends_nothing(tmp_path, capsys):
    """A bad line is reported as FILE:LINE, exit code 2, and no output file is written."""
    manifest = write_manifest(
        tmp_path / "in.jsonl",
        [request(1), request(2), {"video": {"type": "url", "url": "x"}, "prompt": "p"}, "{oops"],
    )
    out = tmp_path / "out.jsonl"
    assert main([*FAST, "batch", str(manifest), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{manifest}:3:" in err and f"{manifest}:4: not JSON" in err
    assert not out.exists()


# -- demo and errors ----------------------------------------------------------------------------


def test_demo_runs_and_prints_the_summary(capsys):
    """demo needs no key or network and reports requests per task and detection lag."""
    assert main(["demo", "--tasks", "8", "--speed", "2000", "--plain"]) == 0
    text = capsys.readouterr().out
    assert "8: 5 ready, 3 failed" in text
    for label in ("API requests", "requests per task", "detection lag", "wall time"):
        assert label in text
    assert "could not be downloaded" in text


def test_demo_json_summary(capsys):
    """demo --json prints one parseable summary."""
    assert main(["demo", "--tasks", "4", "--speed", "2000", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ready"] + summary["failed"] == 4
    assert summary["requests"]["create"] == 4


def test_missing_key_is_a_usage_error_with_a_hint(capsys, monkeypatch):
    """Without a key the command exits 2 and suggests --emulator."""
    monkeypatch.delenv("TWELVE_LABS_API_KEY", raising=False)
    assert main(["tasks", "list"]) == 2
    assert "--emulator" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    """argparse errors return 2 instead of raising SystemExit."""
    assert main(["tasks", "list", "--page-limit", "zero"]) == 2
    assert main(["--emulator", "--base-url", "http://127.0.0.1:1/v1.3", "tasks", "list"]) == 2


# -- text that is not ours ----------------------------------------------------------------------

MARKUP_REASON = "[/red] pip install 'asyncanalyze[media]'"


def failing_video(reason: str, tag: str = "m") -> str:
    return f"https://example.com/{tag}.mp4?emulator_task_seconds=5&emulator_fail={quote(reason)}"


def test_server_text_is_printed_verbatim_never_as_markup(tmp_path, capsys, monkeypatch):
    """A failure reason that looks like rich markup neither crashes analyze or batch nor loses
    its brackets (rich is installed here and --plain is not given)."""
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: no wrapping inside the reason
    argv = ["--emulator", "--speed", "1000", "analyze", failing_video(MARKUP_REASON), "-p", "x"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert MARKUP_REASON in captured.out and MARKUP_REASON in captured.err
    assert "internal error" not in captured.err

    manifest = write_manifest(
        tmp_path / "in.jsonl",
        [{"video": {"type": "url", "url": failing_video(MARKUP_REASON)}, "prompt": "p"}],
    )
    argv = ["--emulator", "--speed", "1000", "batch", str(manifest), "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert MARKUP_REASON in captured.out
    assert "internal error" not in captured.err


def test_batch_failure_reasons_are_grouped_by_error_type_and_code(tmp_path, capsys):
    """Timeouts name their task, yet three of them are one group; --json lists the groups."""
    slow = [request(n, seconds=5000) for n in range(3)]
    broken = [
        {"video": {"type": "url", "url": failing_video("Codec gone", tag=f"b{n}")}, "prompt": "p"}
        for n in range(2)
    ]
    manifest = write_manifest(tmp_path / "in.jsonl", [*slow, *broken, request(9, seconds=10)])
    argv = [*FAST, "batch", str(manifest), "--out", str(tmp_path / "o"), "--timeout", "60"]
    assert main([*argv, "--json"]) == 1
    groups = json.loads(capsys.readouterr().out)["failure_reasons"]
    assert [(g["error_type"], g["code"], g["count"]) for g in groups] == [
        ("PollTimeoutError", None, 3),
        ("TaskFailedError", None, 2),
    ]
    assert groups[1]["example"] == "Codec gone"
    assert main(argv) == 1
    table = capsys.readouterr().out.split("Top failure reasons")[1]
    assert [line.split()[:2] for line in table.splitlines()[2:]] == [
        ["3", "PollTimeoutError"],
        ["2", "TaskFailedError"],
    ]


def test_a_short_key_is_masked_where_a_key_stands_and_nowhere_else(cli_emulator, capsys):
    """--api-key k: text that merely contains "k" is printed intact (no `analyze_tas***`)."""
    argv = ["--base-url", cli_emulator.base_url, "--api-key", "k", "--plain", "tasks", "get"]
    assert main([*argv, "analyze_task"]) == 1
    assert "analyze_task" in capsys.readouterr().err


def test_redactor_masks_the_key_in_headers_urls_and_reprs() -> None:
    """Every place a key can stand is masked, for a one-letter key too; other text is not."""
    redact = redactor(["k"])
    assert redact("x-api-key: k | api_key='k' | https://h/v?key=k&x=1") == (
        "x-api-key: *** | api_key='***' | https://h/v?key=***&x=1"
    )
    assert redact("https://k@h/ {'X-Api-Key': 'k'} Authorization: Bearer k") == (
        "https://***@h/ {'X-Api-Key': '***'} Authorization: Bearer ***"
    )
    assert redact("task k of analyze_task, key=kk") == "task k of analyze_task, key=kk"
    long_key = redactor([SECRET])
    assert long_key(f"refused {SECRET}. {SECRET}x") == f"refused ***. {SECRET}x"


# -- files that cannot be used: one line, exit code 2, before any work --------------------------


def refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err  # one line, no traceback, no progress
    assert captured.out == ""
    return captured.err


def test_bad_out_and_journal_paths_are_refused_before_any_work(cli_emulator, tmp_path, capsys):
    manifest = write_manifest(tmp_path / "in.jsonl", [request(1)])
    batch = remote(cli_emulator, "batch", str(manifest))
    missing = tmp_path / "no" / "such"
    (tmp_path / "a-dir").mkdir()
    (tmp_path / "text.txt").write_text("not a database\n")

    assert "no such directory" in refused([*batch, "--out", str(missing / "o.jsonl")], capsys)
    assert "is a directory" in refused([*batch, "--out", str(tmp_path / "a-dir")], capsys)
    out = ["--out", str(tmp_path / "o.jsonl")]
    err = refused([*batch, *out, "--journal", str(missing / "j.db")], capsys)
    assert "--journal" in err and "no such directory" in err
    assert "is a directory" in refused([*batch, *out, "--journal", str(tmp_path / "a-dir")], capsys)
    assert "not a journal" in refused(
        [*batch, *out, "--journal", str(tmp_path / "text.txt")], capsys
    )
    assert (tmp_path / "text.txt").read_text() == "not a database\n"
    assert cli_emulator.stats()["creates"] == 0


def test_out_and_journal_being_one_file_is_refused(cli_emulator, tmp_path, capsys, monkeypatch):
    """Results written over the journal would lose every task id (and pay again): the same
    file is refused, whether named alike, through a relative path or a symlink."""
    manifest = write_manifest(tmp_path / "in.jsonl", [request(1)])
    batch = remote(cli_emulator, "batch", str(manifest))
    journal = tmp_path / "run.db"
    assert main([*batch, "--out", str(tmp_path / "o.jsonl"), "--journal", str(journal)]) == 0
    capsys.readouterr()
    saved = journal.read_bytes()
    (tmp_path / "link.db").symlink_to(journal)
    monkeypatch.chdir(tmp_path)
    for same in (str(journal), "run.db", "./sub/../run.db", str(tmp_path / "link.db")):
        (tmp_path / "sub").mkdir(exist_ok=True)
        err = refused([*batch, "--out", same, "--journal", str(journal)], capsys)
        assert "are the same file" in err
    assert "same file" in refused([*batch, "--out", "run.db-wal", "--journal", "run.db"], capsys)
    assert "same file" in refused([*batch, "--out", "o", "--journal", str(manifest)], capsys)
    assert journal.read_bytes() == saved
    assert cli_emulator.stats()["creates"] == 1


def test_analyze_a_directory_says_so(tmp_path, capsys):
    assert "is a directory" in refused([*FAST, "analyze", str(tmp_path), "-p", "x"], capsys)


# -- interrupted: what is left running, and the command that picks it up ------------------------

LONG_VIDEO = "https://example.com/long.mp4?emulator_task_seconds=1000000000"


class CliProcess:
    """``asyncanalyze ARGS`` in a subprocess, its stderr read line by line in a thread."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "asyncanalyze.cli", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for_line(self, text: str) -> str:
        while True:
            line = self.lines.get(timeout=30)
            self.err.append(line)
            if text in line:
                return line

    def stop(self, signum: int) -> tuple[int, str, str]:
        self.proc.send_signal(signum)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out = self.proc.stdout.read()
        code = self.proc.wait(timeout=30)
        self.reader.join(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()
        while not self.lines.empty():
            self.err.append(self.lines.get())
        return code, out, "".join(self.err)


def test_ctrl_c_in_analyze_names_the_task_and_the_command_that_waits(cli_emulator):
    cli = CliProcess(remote(cli_emulator, "analyze", LONG_VIDEO, "-p", "Summarize"))
    task_id = cli.wait_for_line("created task").split()[-1]
    code, _, err = cli.stop(signal.SIGINT)
    assert code == 130
    wait = f"asyncanalyze --base-url {cli_emulator.base_url} tasks wait {task_id}"
    assert f"task {task_id} is still running; wait for it with: {wait}" in err
    cancel = f"asyncanalyze --base-url {cli_emulator.base_url} tasks cancel {task_id}"
    assert f"(or stop it, and its bill, with: {cancel})" in err
    assert "Traceback" not in err and "test-key" not in err

    cli = CliProcess(remote(cli_emulator, "--json", "analyze", LONG_VIDEO, "-p", "Summarize"))
    while cli_emulator.stats()["creates"] < 2:
        time.sleep(0.02)
    code, out, _ = cli.stop(signal.SIGINT)
    report = json.loads(out)
    assert code == 130 and report["interrupted"] is True
    assert report["resume_command"].endswith(f"tasks wait {report['task_id']}")
    assert report["cancel_command"].endswith(f"tasks cancel {report['task_id']}")


def journaled_tasks(journal: Path) -> int:
    """How many task ids a running batch's journal holds (0 while it cannot be read yet)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM requests").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_sigterm_in_batch_counts_the_running_tasks_and_gives_the_resume_command(
    cli_emulator, tmp_path
):
    manifest = tmp_path / "in.jsonl"
    lines = [
        {"video": {"type": "url", "url": f"{LONG_VIDEO}&n={n}"}, "prompt": "p"} for n in range(3)
    ]
    write_manifest(manifest, lines)
    batch = ["batch", str(manifest), "--out", str(tmp_path / "o"), "--journal", str(tmp_path / "j")]
    cli = CliProcess(remote(cli_emulator, *batch))
    while journaled_tasks(tmp_path / "j") < 3:  # the journal records each id after its create
        time.sleep(0.02)
    code, _, err = cli.stop(signal.SIGTERM)
    assert code == 143
    progress = [line for line in err.splitlines() if line.startswith("batch:")]
    assert "running 3" in progress[-1]  # the last frame: what still runs, not "running 0"
    resume = f"asyncanalyze --base-url {cli_emulator.base_url} --plain {' '.join(batch)}"
    assert "3 task(s) still running on the server; the journal has them. Resume" in err
    assert resume in err and "test-key" not in err

    polled = cli_emulator.stats()["requests"].get("retrieve", 0)
    cli = CliProcess(remote(cli_emulator, "--json", *batch))
    # The three tasks are resumed from the journal (no create): wait until they are polled.
    while cli_emulator.stats()["requests"].get("retrieve", 0) < polled + 3:
        time.sleep(0.02)
    code, out, _ = cli.stop(signal.SIGTERM)
    report = json.loads(out)
    assert code == 143 and report["still_running"] == 3 and report["interrupted"] is True
    assert "batch" in report["resume_command"] and cli_emulator.stats()["creates"] == 3


# -- progress -----------------------------------------------------------------------------------


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(tmp_path, capsys):
    """rich is installed and --plain not given, but stderr is captured (a log, CI): progress
    comes as plain lines, never as a live bar nobody sees."""
    manifest = write_manifest(tmp_path / "in.jsonl", [request(n) for n in range(4)])
    argv = ["--emulator", "--speed", "1000", "batch", str(manifest), "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0] == "batch: 0/4 done (created 0 · running 0 · ready 0 · failed 0)"
    assert lines[-1] == "batch: 4/4 done (created 4 · running 0 · ready 4 · failed 0)"


def test_plain_progress_prints_at_most_one_line_per_interval_and_the_last_one(capsys):
    now = [0.0]
    view = _PlainProgress(10, "batch", lambda: now[0])
    for second in range(13):  # a change every second for 12 s
        now[0] = float(second)
        view.update(BatchProgress(submitted=10, created=10, running=10 - second // 2))
    view.close()
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("running ")[1][0] for line in lines] == ["1", "8", "5", "4"]
    assert len(lines) == 12 // PLAIN_PROGRESS_INTERVAL + 2
