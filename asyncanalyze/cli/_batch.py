"""``batch MANIFEST.jsonl --out results.jsonl``: many analyses through ``analyze_many``.

The manifest is read twice: a first pass checks every line (so a typo on line 4,812 stops the
run before anything is paid for) and keeps only counts; the run re-reads it lazily, so a
million-line manifest never sits in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from asyncanalyze import DEFAULT_BATCH_CONCURRENCY, AnalyzeRequest, BatchProgress, _json

from ._args import UsageError, positive_float, positive_int
from ._failures import FailureGroups
from ._interrupt import ProgressUntilInterrupted, command_line
from ._output import Output
from ._paths import check_distinct, check_journal, check_writable
from ._session import open_session

__all__ = ["add_batch_parser", "check_manifest"]

# Enough to see a pattern (a column renamed everywhere) without scrolling past the summary.
_MAX_REPORTED_ERRORS = 20
# Failure groups shown: the summary table, and --json.
_TOP_REASONS_SHOWN = 5
_TOP_REASONS_JSON = 20


def add_batch_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    batch = commands.add_parser(
        "batch",
        parents=[common],
        help="analyze every request of a JSONL manifest",
        description='One JSON request per line, e.g. {"video": {"type": "url", "url": '
        '"https://..."}, "prompt": "Summarize", "metadata": {"id": 7}}. One JSON '
        "outcome per line is written to --out as tasks finish. With --journal, running the "
        "same command again resumes: nothing is created twice. Exit code 1 if any request "
        "failed (details in --out).",
    )
    batch.add_argument("manifest", type=Path, metavar="MANIFEST.jsonl")
    batch.add_argument("--out", "-o", type=Path, required=True, metavar="RESULTS.jsonl")
    batch.add_argument(
        "--concurrency",
        type=positive_int,
        default=DEFAULT_BATCH_CONCURRENCY,
        metavar="N",
        help=f"tasks in flight ({DEFAULT_BATCH_CONCURRENCY})",
    )
    batch.add_argument("--journal", type=Path, metavar="FILE", help="SQLite journal to resume from")
    batch.add_argument(
        "--timeout", type=positive_float, metavar="S", help="give up on a task after S seconds"
    )
    batch.set_defaults(handler=run_batch)


@attrs.define
class Manifest:
    path: Path
    requests: int = 0
    # Line numbers without a request; usually none, so mapping index -> line stays tiny.
    blank_lines: list[int] = attrs.field(factory=list)

    def line_of(self, index: int) -> int:
        line = index + 1
        while True:
            shifted = index + 1 + bisect.bisect_right(self.blank_lines, line)
            if shifted == line:
                return line
            line = shifted

    def read(self) -> Iterator[AnalyzeRequest]:
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield AnalyzeRequest.from_dict(_json.loads(line))


def check_manifest(path: Path) -> Manifest:
    """Validate every line; raise UsageError naming the bad lines."""
    manifest = Manifest(path)
    errors: list[str] = []
    bad = 0
    lineno = 0
    try:
        with path.open(encoding="utf-8") as lines:
            for lineno, line in enumerate(lines, 1):
                if not line.strip():
                    manifest.blank_lines.append(lineno)
                    continue
                manifest.requests += 1
                problem = _line_problem(line)
                if problem is not None:
                    bad += 1
                    if len(errors) < _MAX_REPORTED_ERRORS:
                        errors.append(f"{path}:{lineno}: {problem}")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text (after line {lineno})") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if bad:
        more = f"\n... and {bad - len(errors)} more" if bad > len(errors) else ""
        raise UsageError(
            f"{bad} bad line(s) in {path}; nothing was sent:\n" + "\n".join(errors) + more
        )
    if manifest.requests == 0:
        raise UsageError(f"{path}: no requests (one JSON object per line)")
    return manifest


def _line_problem(line: str) -> str | None:
    try:
        data = _json.loads(line)
    except ValueError as exc:
        detail = f"{exc.msg} (column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else exc
        return f"not JSON: {detail}"
    try:
        AnalyzeRequest.from_dict(data)
    except (ValueError, TypeError) as exc:  # InvalidRequestError is a ValueError
        return str(exc)
    return None


# Why --emulator and --journal exclude each other, in one line.
EMULATOR_JOURNAL_REFUSAL = (
    "--journal cannot resume with --emulator: the in-process emulator forgets its tasks when"
    " the command ends. Serve one that keeps them (python -m asyncanalyze.emulator --db emu.db)"
    " and pass --base-url http://127.0.0.1:8750/v1.3 instead"
)


def check_files(args: argparse.Namespace) -> None:
    """Everything about the files, before anything is read, written or sent."""
    if args.emulator and args.journal is not None:
        raise UsageError(EMULATOR_JOURNAL_REFUSAL)
    check_distinct({"manifest": args.manifest, "--out": args.out, "--journal": args.journal})
    check_writable(args.out, "--out")
    if args.journal is not None:
        check_journal(args.journal)


async def run_batch(args: argparse.Namespace, out: Output) -> int:
    check_files(args)
    manifest = check_manifest(args.manifest)
    started = time.monotonic()
    counts: Counter[str] = Counter()
    reasons = FailureGroups()
    emulator_stats: dict[str, Any] | None = None
    with args.out.open("w", encoding="utf-8") as results:
        view = out.progress(manifest.requests, "batch")
        progress = ProgressUntilInterrupted(view)
        try:
            async with open_session(args) as session:
                outcomes = session.client.tasks.analyze_many(
                    manifest.read(),
                    concurrency=args.concurrency,
                    timeout=args.timeout,
                    journal=args.journal,
                    on_progress=progress,
                )
                async for outcome in outcomes:
                    record = outcome.to_dict()
                    record["line"] = manifest.line_of(outcome.index)
                    results.write(_json.dumps_text(record) + "\n")
                    results.flush()
                    counts["ready" if outcome.ok else "failed"] += 1
                    counts["resumed"] += outcome.from_journal
                    if not outcome.ok:
                        reasons.add(outcome)
                if session.emulator is not None:
                    emulator_stats = session.emulator.stats()
        except asyncio.CancelledError:
            view.close()
            _report_interrupted(out, args, progress.latest)
            raise
        finally:
            view.close()
    wall = time.monotonic() - started
    _summarize(out, args, manifest, counts, reasons, wall, emulator_stats)
    return 1 if counts["failed"] else 0


def _report_interrupted(out: Output, args: argparse.Namespace, last: BatchProgress) -> None:
    running = last.running
    resume = command_line(args.argv) if args.journal is not None and running else None
    if out.json_mode:
        out.json(
            {
                "interrupted": True,
                "still_running": running,
                "ready": last.ready,
                "failed": last.failed,
                "out": str(args.out),
                "resume_command": resume,
            }
        )
        return
    if not running:
        return
    if args.emulator:
        out.error(
            f"interrupted: {running} task(s) were running on the in-process emulator,"
            " which stopped with this command"
        )
    elif resume is not None:
        out.error(
            f"interrupted: {running} task(s) still running on the server; the journal has"
            f" them. Resume (nothing is created twice) with: {resume}"
        )
    else:
        out.error(
            f"interrupted: {running} task(s) still running on the server, not journaled:"
            " running the command again creates them again. Pass --journal FILE to make a"
            " batch resumable"
        )


def _summarize(
    out: Output,
    args: argparse.Namespace,
    manifest: Manifest,
    counts: Counter[str],
    reasons: FailureGroups,
    wall: float,
    emulator_stats: dict[str, Any] | None,
) -> None:
    # With --emulator the server's own counts are known: what this run really cost.
    requests = None
    if emulator_stats is not None:
        requests = {
            "by_endpoint": dict(emulator_stats["requests"]),
            "total": sum(emulator_stats["requests"].values()),
            "tasks_created": emulator_stats["creates"],
        }
    if out.json_mode:
        out.json(
            {
                "requests": manifest.requests,
                "ready": counts["ready"],
                "failed": counts["failed"],
                "resumed": counts["resumed"],
                "wall_seconds": round(wall, 3),
                "out": str(args.out),
                "failure_reasons": reasons.most_common(_TOP_REASONS_JSON),
                **({"emulator_requests": requests} if requests is not None else {}),
            }
        )
        return
    rows = [
        ("requests", str(manifest.requests)),
        ("ready", str(counts["ready"])),
        ("failed", str(counts["failed"])),
    ]
    if counts["resumed"]:
        rows.append(("resumed", f"{counts['resumed']} already done (from the journal)"))
    if requests is not None:
        endpoints = ", ".join(f"{k} {v}" for k, v in sorted(requests["by_endpoint"].items()))
        rows.append(("API requests", f"{requests['total']} ({endpoints or 'none'})"))
    rows += [("wall time", f"{wall:.1f} s"), ("results", str(args.out))]
    out.pairs(rows, title="Batch summary")
    if reasons:
        out.table(
            ["count", "error", "code", "example"],
            [
                (str(g["count"]), g["error_type"], g["code"] or "-", g["example"])
                for g in reasons.most_common(_TOP_REASONS_SHOWN)
            ],
            title="Top failure reasons (by error type and code)",
            styles=[None, "red", None, "dim"],
        )
