"""The ``asyncanalyze`` command line, run in-process through ``main([...])``.

Commands that need a task to exist across invocations use an emulator served from a
background thread (each ``main`` call runs its own event loop); the rest use ``--emulator``.
Both run on fast clocks: nothing here sleeps to wait for a task.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncanalyze.cli import main
from asyncanalyze.emulator import Emulator

SECRET = "tlk_CLI_SECRET_KEY_must_never_print_42"
# --emulator runs: 1,000 emulated seconds per real second.
FAST = ["--emulator", "--speed", "1000", "--plain"]


class ThreadedEmulator:
    """An emulator on its own loop in a thread, so it outlives each ``main()`` call."""

    def __init__(self, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.emulator = Emulator(**options)
        self._call(self.emulator.start())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    def stats(self) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            return self.emulator.stats()

        return self._call(read())  # type: ignore[no-any-return]

    def close(self) -> None:
        self._call(self.emulator.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


@pytest.fixture
def served() -> Iterator[ThreadedEmulator]:
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


def test_tasks_list_shows_created_tasks_newest_first(served, capsys):
    """tasks list prints the tasks of the key, newest first, and --json parses."""
    first = create_task(served, capsys, VIDEO)
    second = create_task(served, capsys, VIDEO + "&n=2")
    assert main(remote(served, "tasks", "list")) == 0
    text = capsys.readouterr().out
    assert text.index(second) < text.index(first)
    assert main(remote(served, "tasks", "list", "--all", "--json")) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [task["task_id"] for task in listed] == [second, first]


def test_tasks_list_filters_by_status(served, capsys):
    """--status is sent as the filter."""
    create_task(served, capsys, VIDEO)
    assert main(remote(served, "tasks", "list", "--status", "failed", "--json")) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_tasks_get_prints_the_result(served, capsys):
    """tasks get shows status and result data; --json gives the task object."""
    task_id = create_task(served, capsys, VIDEO)
    assert main(remote(served, "tasks", "get", task_id)) == 0
    text = capsys.readouterr().out
    assert task_id in text and "ready" in text
    assert main(remote(served, "tasks", "get", task_id, "--json")) == 0
    task = json.loads(capsys.readouterr().out)
    assert task["status"] == "ready" and task["result"]["data"]


def test_tasks_wait_prints_status_changes(served, capsys):
    """tasks wait reports the status it sees and ends with the result."""
    task_id = create_task(served, capsys, VIDEO)
    assert main(remote(served, "tasks", "wait", task_id, "--timeout", "30")) == 0
    captured = capsys.readouterr()
    assert f"task {task_id} ready" in captured.err
    assert "ready" in captured.out


def test_tasks_wait_on_a_failed_task_exits_1_with_the_reason(served, capsys):
    """A failed task is shown with its error message and exit code 1."""
    task_id = create_task(served, capsys, "https://example.com/v.mp4?emulator_fail=Codec%20gone")
    assert main(remote(served, "tasks", "wait", task_id)) == 1
    captured = capsys.readouterr()
    assert "Codec gone" in captured.err


def test_tasks_delete_then_get_is_not_found(served, capsys):
    """tasks delete removes the task; a later get fails with exit code 1."""
    task_id = create_task(served, capsys, VIDEO)
    assert main(remote(served, "tasks", "delete", task_id)) == 0
    assert f"deleted {task_id}" in capsys.readouterr().out
    assert main(remote(served, "tasks", "get", task_id)) == 1
    assert "NotFoundError" in capsys.readouterr().err


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


def test_batch_writes_one_line_per_request_and_resumes(served, tmp_path, capsys):
    """batch writes one outcome per request; a re-run with the journal creates nothing."""
    manifest = write_manifest(tmp_path / "in.jsonl", [request(n) for n in range(12)])
    out, journal = tmp_path / "out.jsonl", tmp_path / "journal.db"
    argv = remote(served, "--json", "batch", str(manifest), "--out", str(out))

    assert main([*argv, "--journal", str(journal)]) == 0
    summary = json.loads(capsys.readouterr().out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 12 and summary["ready"] == 12
    assert sorted(line["metadata"]["n"] for line in lines) == list(range(12))
    assert all(line["status"] == "ready" and line["line"] == line["index"] + 1 for line in lines)
    assert served.stats()["creates"] == 12

    requests_before = sum(served.stats()["requests"].values())
    assert main([*argv, "--journal", str(journal)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["resumed"] == 12
    assert sum(served.stats()["requests"].values()) == requests_before  # all from the journal
    assert len(out.read_text().splitlines()) == 12


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


def test_api_key_never_printed_on_auth_failure(capsys, monkeypatch):
    """A 401 prints one line without the key, even with -v logging on, exit code 1."""
    locked = ThreadedEmulator(api_key="other")
    try:
        for argv in (
            ["--base-url", locked.base_url, "--api-key", SECRET, "tasks", "list"],
            ["-v", "--base-url", locked.base_url, "--api-key", SECRET, "tasks", "get", "t1"],
        ):
            assert main(argv) == 1
            captured = capsys.readouterr()
            assert "401" in captured.err
            assert SECRET not in captured.out + captured.err
        monkeypatch.setenv("TWELVE_LABS_API_KEY", SECRET)
        assert main(["--base-url", locked.base_url, "--json", "tasks", "list"]) == 1
        captured = capsys.readouterr()
        assert SECRET not in captured.out + captured.err
    finally:
        locked.close()


def test_missing_key_is_a_usage_error_with_a_hint(capsys, monkeypatch):
    """Without a key the command exits 2 and suggests --emulator."""
    monkeypatch.delenv("TWELVE_LABS_API_KEY", raising=False)
    assert main(["tasks", "list"]) == 2
    assert "--emulator" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    """argparse errors return 2 instead of raising SystemExit."""
    assert main(["tasks", "list", "--page-limit", "zero"]) == 2
    assert main(["--emulator", "--base-url", "http://127.0.0.1:1/v1.3", "tasks", "list"]) == 2
