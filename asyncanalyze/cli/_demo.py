"""``asyncanalyze demo``: the SDK's batch engine against an emulator in this process.

No key, no network, no arguments. Dozens of tasks of 30 s to 20 min (emulated; the emulator's
clock runs ``--speed`` times faster than real time) go through ``analyze_many``; a few fail by
design. The summary reports what a user of the real service would care about: how many
requests the waiting cost, and how soon after a task finished the client knew.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections import Counter
from typing import Any
from urllib.parse import quote

import attrs

from asyncanalyze import OMIT, AnalyzeRequest, BatchOutcome, VideoContext_Url
from asyncanalyze.emulator import Emulator
from asyncanalyze.testing import emulator_client

from ._args import positive_int
from ._output import Output

__all__ = ["add_demo_parser", "build_workload", "percentile"]

# 200 emulated seconds per real second: the 20-minute task takes 6 s, the whole demo ~10 s.
DEFAULT_DEMO_SPEED = 200.0
DEFAULT_DEMO_TASKS = 40
SHORTEST_TASK = 30.0
LONGEST_TASK = 20 * 60.0
# What the platform's own SDK does while waiting: one retrieve every 5 seconds per task.
FIXED_POLL_INTERVAL = 5.0

_PROMPTS = (
    "Summarize this video in three sentences.",
    "List the products that appear on screen, with timestamps.",
    "Write a title and five hashtags for this clip.",
    "Describe the key moments a highlight reel should include.",
    "Is this video suitable for all audiences? Explain briefly.",
)
_CHAPTERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "chapters": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "start_time": {"type": "string"},
                    "end_time": {"type": "string"},
                    "summary": {"type": "string"},
                },
                "required": ["start_time", "end_time", "summary"],
            },
        },
    },
    "required": ["title", "chapters"],
}
_SCENES = ("keynote", "cooking", "football", "unboxing", "drone", "lecture", "interview", "vlog")


def add_demo_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="run a concurrent workload against an in-process emulator (no key, no network)",
        description="Starts an emulator in this process and analyzes --tasks videos of 30 s to "
        "20 min (emulated time) through analyze_many, a few failing by design, then reports "
        f"requests per task and detection lag. --speed sets the emulator clock ({DEFAULT_DEMO_SPEED:g}x).",
    )
    demo.add_argument(
        "--tasks", type=positive_int, default=DEFAULT_DEMO_TASKS, metavar="N", help="tasks (40)"
    )
    demo.add_argument("--seed", type=int, default=7, help="workload seed (7)")
    demo.set_defaults(handler=run_demo)


@attrs.frozen
class Planned:
    request: AnalyzeRequest
    kind: str  # "ok" or the designed failure's name


def _failure_urls(index: int) -> list[tuple[str, str]]:
    reason = quote("Codec not supported: HEVC 10-bit 4:2:2")
    return [
        ("unreachable host", f"https://cdn.unreachable.invalid/demo/clip-{index:03d}.mp4"),
        (
            "decoder failure",
            f"https://media.example.com/demo/broken-{index:03d}.mp4"
            f"?emulator_task_seconds=240&emulator_fail={reason}",
        ),
        (
            "too short (2 s)",
            f"https://media.example.com/demo/teaser-{index:03d}.mp4?emulator_duration=2",
        ),
    ]


def build_workload(tasks: int, seed: int) -> list[Planned]:
    """``tasks`` requests: most succeed after 30 s-20 min, a few fail in designed ways."""
    rng = random.Random(seed)
    failures = min(max(3, tasks // 12), tasks // 2)
    failing = set(rng.sample(range(tasks), failures))
    planned: list[Planned] = []
    ok_seen = 0
    for index in range(tasks):
        prompt = rng.choice(_PROMPTS)
        structured = index % 5 == 4
        if index in failing:
            kind, url = _failure_urls(index)[len([i for i in failing if i < index]) % 3]
        else:
            # Log-uniform: many short clips, a long tail; the first two pin the range's ends.
            seconds = (
                (SHORTEST_TASK, LONGEST_TASK)[ok_seen]
                if ok_seen < 2
                else round(SHORTEST_TASK * (LONGEST_TASK / SHORTEST_TASK) ** rng.random())
            )
            ok_seen += 1
            length = rng.randint(60, 3600)
            scene = rng.choice(_SCENES)
            kind = "ok"
            url = (
                f"https://media.example.com/demo/{scene}-{index:03d}.mp4"
                f"?emulator_duration={length}&emulator_task_seconds={seconds:g}"
            )
        request = AnalyzeRequest(
            video=VideoContext_Url(url=url),
            prompt="Split this video into chapters." if structured else prompt,
            response_format=(
                {"type": "json_schema", "json_schema": _CHAPTERS_SCHEMA} if structured else OMIT
            ),
            metadata={"clip": index, "kind": kind},
        )
        planned.append(Planned(request, kind))
    return planned


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@attrs.define
class _Tally:
    ready: int = 0
    failed: int = 0
    lags: list[float] = attrs.field(factory=list)
    task_seconds: list[float] = attrs.field(factory=list)
    failures: list[tuple[int, str, str]] = attrs.field(factory=list)

    def add(self, outcome: BatchOutcome, kind: str, now: float) -> None:
        task = outcome.task
        if outcome.ok:
            self.ready += 1
        else:
            self.failed += 1
            self.failures.append((outcome.index, kind, outcome.failure_reason or ""))
        if task is not None and task.completed_at is not None:
            # Both instants are on the emulator's clock: the lag is in emulated seconds.
            self.lags.append(max(0.0, now - task.completed_at.timestamp()))
            self.task_seconds.append((task.completed_at - task.created_at).total_seconds())


async def run_demo(args: argparse.Namespace, out: Output) -> int:
    speed = float(args.speed or DEFAULT_DEMO_SPEED)
    planned = build_workload(args.tasks, args.seed)
    kinds = [p.kind for p in planned]
    designed = sum(kind != "ok" for kind in kinds)
    if not out.json_mode:
        out.say(
            ("asyncanalyze demo", "bold"),
            f": {len(planned)} tasks of"
            f" {SHORTEST_TASK:g} s to {LONGEST_TASK / 60:g} min (emulated), {designed} failing by"
            f" design, on an in-process emulator running {speed:g}x real time",
        )
    tally = _Tally()
    started = time.monotonic()
    async with Emulator(speed=speed, seed=args.seed) as emulator:
        view = out.progress(len(planned), "analyzing")
        try:
            async with emulator_client(emulator) as client:
                requests = (p.request for p in planned)
                async for outcome in client.tasks.analyze_many(requests, on_progress=view.update):
                    tally.add(outcome, kinds[outcome.index], emulator.clock.now())
        finally:
            view.close()
        wall = time.monotonic() - started
        stats = emulator.stats()
    _report(out, tally, stats, wall, speed, len(planned))
    return 0


def _report(
    out: Output, tally: _Tally, stats: dict[str, Any], wall: float, speed: float, tasks: int
) -> None:
    by_endpoint: Counter[str] = Counter(stats["requests"])
    total = sum(by_endpoint.values())
    p50, p95 = percentile(tally.lags, 50), percentile(tally.lags, 95)
    # Estimate for comparison: a retrieve every 5 s per task until terminal, plus its create.
    fixed = sum(math.ceil(seconds / FIXED_POLL_INTERVAL) + 1 for seconds in tally.task_seconds)
    if out.json_mode:
        out.json(
            {
                "tasks": tasks,
                "ready": tally.ready,
                "failed": tally.failed,
                "requests": dict(by_endpoint),
                "requests_total": total,
                "requests_per_task": round(total / tasks, 2),
                "fixed_5s_polling_estimate": fixed,
                "detection_lag_p50_s": round(p50, 2),
                "detection_lag_p95_s": round(p95, 2),
                "wall_seconds": round(wall, 2),
                "speed": speed,
                "failures": [
                    {"index": index, "kind": kind, "reason": reason}
                    for index, kind, reason in tally.failures
                ],
            }
        )
        return
    endpoints = ", ".join(f"{name} {count}" for name, count in sorted(by_endpoint.items()))
    out.line()
    out.pairs(
        [
            ("tasks", f"{tasks}: {tally.ready} ready, {tally.failed} failed"),
            ("API requests", f"{total} ({endpoints})"),
            (
                "requests per task",
                f"{total / tasks:.2f}  (fixed 5 s polling: ≈{fixed / tasks:.1f}, {fixed} requests)",
            ),
            ("detection lag", f"p50 {p50:.1f} s, p95 {p95:.1f} s (emulated seconds)"),
            (
                "wall time",
                f"{wall:.1f} s for ≈{wall * speed / 60:.0f} emulated minutes ({speed:g}x)",
            ),
        ],
        title="Summary",
    )
    if tally.failures:
        out.line()
        out.table(
            ["#", "designed failure", "error.message seen by the client"],
            [(str(index), kind, reason) for index, kind, reason in sorted(tally.failures)],
            title="Failures (as planned)",
            styles=["dim", "yellow", None],
        )
