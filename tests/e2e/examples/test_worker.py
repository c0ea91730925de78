"""examples/worker.py end to end: a subprocess on an emulator, stopped by SIGTERM mid-run,
restarted, and every job completed exactly once.

The emulator runs a manual clock, so the test decides when tasks end: no timing guesses. The
worker (real time, polling every 20 ms) reports its progress on stdout; the test reacts to it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from asyncanalyze.emulator import Emulator, ManualClock
from asyncanalyze.testing import EMULATOR_API_KEY

WORKER = Path(__file__).resolve().parents[3] / "examples" / "worker.py"
pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="the worker uses POSIX signals"),
    pytest.mark.slow,  # subprocesses killed and restarted
]


def job(index: int, seconds: int) -> dict[str, Any]:
    url = f"https://example.com/{index}.mp4?emulator_task_seconds={seconds}"
    return {"id": f"job-{index}", "video": {"type": "url", "url": url}, "prompt": "Summarize"}


# Jobs 0-3 end after 10 s, 4-5 after 500 s (within the grace period), the rest after 1000 s.
# The test advances the clock 1 s past each end: the emulator's terminal instant is a float sum
# that can land a hair after created + N.
JOBS = [job(i, 10 if i < 4 else 500 if i < 6 else 1000) for i in range(12)]


async def start(emu: Emulator, tmp_path: Path, source: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "TWELVE_LABS_API_KEY": EMULATOR_API_KEY}
    env["ASYNCANALYZE_BASE_URL"] = emu.base_url
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(WORKER),
        source,
        "--results",
        str(tmp_path / "results.jsonl"),
        "--journal",
        str(tmp_path / "journal.db"),
        "--concurrency",
        "4",
        "--grace",
        "0.5",
        "--poll-interval",
        "0.02",
        stdin=asyncio.subprocess.PIPE if source == "-" else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )


async def events(proc: asyncio.subprocess.Process) -> AsyncIterator[dict[str, Any]]:
    assert proc.stdout is not None
    async for line in proc.stdout:
        yield json.loads(line)


async def drive(
    proc: asyncio.subprocess.Process, react: Callable[[dict[str, Any]], None]
) -> list[dict[str, Any]]:
    """Read the worker's events until it exits, calling ``react`` on each; return them."""
    seen = []
    try:
        async with asyncio.timeout(20):
            async for event in events(proc):
                seen.append(event)
                react(event)
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return seen


def results(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


async def test_sigterm_mid_run_then_restart_completes_every_job_once(tmp_path: Path) -> None:
    clock = ManualClock()
    async with Emulator(clock=clock) as emu:
        (tmp_path / "jobs.jsonl").write_text("".join(json.dumps(j) + "\n" for j in JOBS))

        # Run 1 (jobs from a file): let jobs 0-3 finish, stop while 4-7 run, let 4-5 finish
        # during the grace period; 6-7 are left running when it expires.
        first = await start(emu, tmp_path, str(tmp_path / "jobs.jsonl"))

        def run_one(event: dict[str, Any]) -> None:
            if event["event"] == "progress" and event["running"] == 4:
                if event["created"] == 4:
                    emu.advance(11)
                elif event["created"] == 8:
                    first.send_signal(signal.SIGTERM)
            elif event["event"] == "stopping":
                assert event["in_flight"] == ["job-4", "job-5", "job-6", "job-7"]
                emu.advance(501)

        log = await drive(first, run_one)
        # Progress is logged once work moves, not once per job read from the input.
        progress = [e for e in log if e["event"] == "progress"]
        assert progress[0]["created"] == 1 and progress[0]["running"] == 1
        assert log[-1] == {
            "event": "stopped",
            "unfinished_jobs": ["job-6", "job-7"],
            "journal": str(tmp_path / "journal.db"),
        }
        # Tasks that end at the same emulated instant may be reported in any order.
        assert sorted(r["job_id"] for r in results(tmp_path)) == [f"job-{i}" for i in range(6)]
        assert emu.stats()["tasks"]["total"] == 8  # job 8 was never taken

        # Run 2 (the same jobs on stdin): skips 0-5, waits on 6-7 without creating them
        # again, creates 8-11. Each task in flight is let finish.
        second = await start(emu, tmp_path, "-")
        assert second.stdin is not None
        second.stdin.write((tmp_path / "jobs.jsonl").read_bytes())
        second.stdin.close()

        def run_two(event: dict[str, Any]) -> None:
            if event["event"] == "progress" and event["running"] > 0:
                emu.advance(1000)

        log = await drive(second, run_two)
        assert log[-1] == {"event": "finished"}
        progress = [e for e in log if e["event"] == "progress"]
        assert progress[0]["created"] + progress[0]["resumed"] == 1
        assert (progress[-1]["created"], progress[-1]["resumed"]) == (4, 2)
        assert progress[-1]["ready"] == 6

        done = results(tmp_path)
        assert sorted(r["job_id"] for r in done) == sorted(j["id"] for j in JOBS)
        assert all(r["status"] == "ready" and r["result"] for r in done)
        assert len({r["task_id"] for r in done}) == len(JOBS)
        stats = emu.stats()
        assert stats["tasks"]["total"] == len(JOBS)
        assert stats["idempotent_replays"] == 0  # resumed from the journal, not re-sent


async def test_bad_lines_are_reported_once_and_a_cut_line_is_redone(tmp_path: Path) -> None:
    async with Emulator(speed=1000) as emu:
        lines = [json.dumps(job(0, 5)), "not json", json.dumps({"prompt": "no id"})]
        (tmp_path / "jobs.jsonl").write_text("\n".join(lines) + "\n")
        # A result line cut short by a hard kill, for job 0: it must be dropped and redone.
        (tmp_path / "results.jsonl").write_text('{"job_id": "job-0", "task_')
        for _ in range(2):  # the second run has nothing left to do
            proc = await start(emu, tmp_path, str(tmp_path / "jobs.jsonl"))
            assert (await drive(proc, lambda event: None))[-1] == {"event": "finished"}
        done = results(tmp_path)
        assert [r["job_id"] for r in done] == [None, None, "job-0"]
        assert [r["line"] for r in done[:2]] == lines[1:]
        assert emu.stats()["tasks"]["total"] == 1
