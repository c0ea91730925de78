"""``tasks list|get|delete|cancel|wait`` and ``analyze``: one API call (or one wait) per
command."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any, Final

from asyncanalyze import (
    AnalysisMode,
    AnalyzeTaskResponse,
    AnalyzeTaskStatus,
    BadRequestError,
    ConflictError,
    CreateAnalyzeTaskResponse,
    InvalidRequestError,
    TaskFailedError,
    TasksClient,
    VideoContext,
    VideoContext_AssetId,
    VideoContext_Url,
    _json,
    video_from_path_sync,
)
from asyncanalyze._task_status import IN_PROGRESS_STATUSES, KNOWN_STATUSES, TERMINAL_STATUSES

from ._args import UsageError, finite_float, positive_float, positive_int, token_budget
from ._interrupt import cancel_command, wait_command
from ._output import Output, Span, fmt_time, task_to_dict
from ._session import open_session

__all__ = [
    "ALREADY_ENDED_EXIT",
    "add_analyze_parser",
    "add_tasks_parser",
    "parse_video",
    "show_task",
]

# `tasks cancel` of a task that had already ended ready or failed: nothing was canceled, and a
# script can tell that apart from an error (1) and from a cancel (0).
ALREADY_ENDED_EXIT = 3

# Colours by what a status means, so a status added to the SDK is coloured without a change
# here: ready green, the other ends red, in progress yellow while running, cyan while waiting.
_ENDED_STYLE: Final = "red"
_RUNNING_STYLE: Final = "yellow"
_WAITING_STYLE: Final = "cyan"
_STATUSES = [status.value for status in KNOWN_STATUSES]
_MODES = [mode.value for mode in AnalysisMode]


def add_tasks_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    tasks = commands.add_parser(
        "tasks", parents=[common], help="list, get, delete, cancel or wait on tasks"
    )
    verbs = tasks.add_subparsers(dest="verb", metavar="VERB", required=True)

    listing = verbs.add_parser("list", parents=[common], help="tasks, newest first")
    listing.add_argument("--status", choices=_STATUSES, help="only tasks in this status")
    listing.add_argument("--video-url", metavar="URL", help="only tasks of this exact video URL")
    listing.add_argument("--asset-id", metavar="ID", help="only tasks of this asset")
    listing.add_argument("--analysis-mode", choices=_MODES, help="only tasks of this mode")
    listing.add_argument("--page", type=positive_int, default=1, help="page number (default 1)")
    listing.add_argument(
        "--page-limit", type=positive_int, default=10, metavar="N", help="tasks per page (max 50)"
    )
    listing.add_argument("--all", action="store_true", help="every page, not just one")
    listing.set_defaults(handler=tasks_list)

    get = verbs.add_parser("get", parents=[common], help="one task, with its result")
    get.add_argument("task_id", metavar="ID")
    get.set_defaults(handler=tasks_get)

    delete = verbs.add_parser("delete", parents=[common], help="delete a finished task")
    delete.add_argument("task_id", metavar="ID")
    delete.set_defaults(handler=tasks_delete)

    cancel = verbs.add_parser(
        "cancel",
        parents=[common],
        help="cancel a queued, pending or processing task",
        description="Exit code 0: canceled (or already canceled); 1: no such task, or another"
        f" error; {ALREADY_ENDED_EXIT}: the task had already ended ready or failed.",
    )
    cancel.add_argument("task_id", metavar="ID")
    cancel.set_defaults(handler=tasks_cancel)

    wait = verbs.add_parser("wait", parents=[common], help="wait until a task is terminal")
    wait.add_argument("task_id", metavar="ID")
    wait.add_argument("--timeout", type=positive_float, metavar="S", help="give up after S seconds")
    wait.set_defaults(handler=tasks_wait)


def add_analyze_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    analyze = commands.add_parser(
        "analyze",
        parents=[common],
        help="analyze one video and print the result",
        description="VIDEO is an http(s) URL, asset:ASSET_ID, or a local file (sent as base64, "
        "at most 30 MiB).",
    )
    analyze.add_argument("video", metavar="VIDEO")
    analyze.add_argument(
        "--prompt", "-p", help="what to ask about the video (required in general mode)"
    )
    analyze.add_argument("--model", metavar="NAME", help="model_name, e.g. pegasus1.6")
    analyze.add_argument(
        "--analysis-mode",
        choices=_MODES,
        help="general (prompt -> text, the default) or time_based_metadata (segments; needs"
        " --schema with segment definitions)",
    )
    analyze.add_argument(
        "--custom-id", metavar="ID", help="your id for the task (1-64 of A-Z a-z 0-9 - _)"
    )
    analyze.add_argument("--temperature", type=float, help="0..1")
    analyze.add_argument("--max-tokens", type=token_budget, metavar="N", help="or 'unlimited'")
    analyze.add_argument(
        "--schema",
        type=Path,
        metavar="FILE.json",
        help="JSON Schema the result must follow, or a whole response_format object",
    )
    analyze.add_argument(
        "--start", type=finite_float, metavar="S", help="analyze from S seconds (start_time)"
    )
    analyze.add_argument(
        "--end", type=finite_float, metavar="S", help="analyze up to S seconds (end_time)"
    )
    analyze.add_argument(
        "--min-segment", type=finite_float, metavar="S", help="min_segment_duration (>= 2)"
    )
    analyze.add_argument(
        "--max-segment", type=finite_float, metavar="S", help="max_segment_duration (>= 2)"
    )
    analyze.add_argument("--no-wait", action="store_true", help="print the task id and return")
    analyze.add_argument(
        "--no-media-check",
        action="store_true",
        help="send a local file without checking it is a video within the platform's limits",
    )
    analyze.add_argument(
        "--timeout", type=positive_float, metavar="S", help="give up after S seconds"
    )
    analyze.set_defaults(handler=analyze_video)


# -- rendering ----------------------------------------------------------------------------------


def styled_status(status: str) -> Span:
    if status == AnalyzeTaskStatus.READY:
        return (status, "green")
    if status in TERMINAL_STATUSES:
        return (status, _ENDED_STYLE)
    if status == AnalyzeTaskStatus.PROCESSING:
        return (status, _RUNNING_STYLE)
    if status in IN_PROGRESS_STATUSES:
        return (status, _WAITING_STYLE)
    return status


def show_task(out: Output, task: AnalyzeTaskResponse) -> None:
    if out.json_mode:
        out.json(task_to_dict(task))
        return
    rows = [("task", task.task_id)]
    if task.custom_id is not None:
        rows.append(("custom id", task.custom_id))
    rows += [
        ("status", task.status.value),
        ("created", fmt_time(task.created_at)),
        ("completed", fmt_time(task.completed_at)),
    ]
    mode = task.request_params.analysis_mode if task.request_params is not None else None
    if mode is not None:
        rows.append(("mode", mode.value))
    if task.result is not None:
        usage = task.result.usage
        tokens = f"{usage.output_tokens} out"
        if usage.input_tokens is not None:
            tokens = f"{usage.input_tokens} in, {tokens}"
        rows.append(("tokens", tokens))
        if task.result.finish_reason is not None:
            rows.append(("finish", task.result.finish_reason.value))
    if task.error is not None:
        rows.append(("error", task.error.message))
    out.pairs(rows)
    if task.result is not None:
        out.line()
        out.line(_pretty(task.result.data))


def _pretty(data: str) -> str:
    # Results requested with a JSON schema arrive as JSON text: indent them for reading.
    try:
        parsed = _json.loads(data)
    except ValueError:
        return data
    if isinstance(parsed, dict | list):
        return _json.dumps_text(parsed, indent=True)
    return data


# -- tasks --------------------------------------------------------------------------------------


async def tasks_list(args: argparse.Namespace, out: Output) -> int:
    async with open_session(args) as session:
        tasks = session.client.tasks
        footer = ""
        filters = {
            "status": args.status,
            "video_url": args.video_url,
            "asset_id": args.asset_id,
            "analysis_mode": args.analysis_mode,
        }
        if args.all:
            found = [t async for t in tasks.iter(page_limit=args.page_limit, **filters)]
        else:
            listing = await tasks.list(page=args.page, page_limit=args.page_limit, **filters)
            found = listing.data
            info = listing.page_info
            if info.total_page is not None:
                footer = f"page {info.page or args.page} of {info.total_page}"
                if info.total_results is not None:
                    footer += f" ({info.total_results} tasks)"
    if out.json_mode:
        out.json([task_to_dict(task) for task in found])
        return 0
    rows: list[tuple[str, ...]] = [
        (t.task_id, t.status.value, fmt_time(t.created_at), fmt_time(t.completed_at)) for t in found
    ]
    headers = ["task id", "status", "created", "completed"]
    styles: list[str | None] = [None, None, "dim", "dim"]
    if any(t.custom_id is not None for t in found):
        rows = [(*row, t.custom_id or "-") for row, t in zip(rows, found, strict=True)]
        headers.append("custom id")
        styles.append(None)
    out.table(headers, rows, styles=styles)
    if footer:
        out.note(footer)
    elif not found:
        out.note("no tasks")
    return 0


async def tasks_get(args: argparse.Namespace, out: Output) -> int:
    async with open_session(args) as session:
        task = await session.client.tasks.retrieve(args.task_id)
    show_task(out, task)
    return 0


async def tasks_delete(args: argparse.Namespace, out: Output) -> int:
    async with open_session(args) as session:
        await session.client.tasks.delete(args.task_id)
    if out.json_mode:
        out.json({"task_id": args.task_id, "deleted": True})
    else:
        out.line(f"deleted {args.task_id}")
    return 0


async def tasks_cancel(args: argparse.Namespace, out: Output) -> int:
    async with open_session(args) as session:
        tasks = session.client.tasks
        try:
            answer = await tasks.cancel(args.task_id)
        except (ConflictError, BadRequestError) as refused:
            # The platform refuses a task that is no longer running (409, or 400); whether that
            # is why is in the task itself.
            task = await tasks.retrieve(args.task_id)
            if not task.status.is_terminal or task.status == AnalyzeTaskStatus.CANCELED:
                raise refused
            if out.json_mode:
                out.json({"task_id": task.task_id, "status": task.status.value, "canceled": False})
            else:
                out.error(f"task {task.task_id} already ended {task.status.value}: not canceled")
            return ALREADY_ENDED_EXIT
    if out.json_mode:
        out.json({"task_id": answer.task_id, "status": answer.status.value, "canceled": True})
    else:
        out.line(f"canceled {answer.task_id}")
    return 0


async def _wait(
    out: Output,
    tasks: TasksClient,
    task: str | CreateAnalyzeTaskResponse,
    timeout: float | None,
    *,
    label: str,
) -> int:
    def on_change(task: AnalyzeTaskResponse) -> None:
        if not out.json_mode:
            out.status_line(f"{label} {task.task_id} ", styled_status(task.status))

    try:
        final = await tasks.await_result(task, timeout=timeout, on_status_change=on_change)
    except TaskFailedError as exc:
        show_task(out, exc.task)
        out.error(f"task {exc.task.task_id} {exc.task.status.value}: {exc.reason}")
        return 1
    show_task(out, final)
    return 0


async def tasks_wait(args: argparse.Namespace, out: Output) -> int:
    async with open_session(args) as session:
        return await _wait(out, session.client.tasks, args.task_id, args.timeout, label="task")


# -- analyze ------------------------------------------------------------------------------------


def parse_video(raw: str, *, check_media: bool = True) -> VideoContext:
    """``http(s)://...`` -> URL, ``asset:ID`` -> asset, anything else -> a local file."""
    lowered = raw.lower()
    if lowered.startswith(("http://", "https://")):
        return VideoContext_Url(url=raw)
    if lowered.startswith("asset:"):
        asset_id = raw[len("asset:") :].strip()
        if not asset_id:
            raise UsageError("asset: needs an id, e.g. asset:6650f3c1...")
        return VideoContext_AssetId(asset_id=asset_id)
    if "://" in raw:
        raise UsageError(f"{raw!r}: only http(s) URLs, asset:ID or a local file are accepted")
    path = Path(raw)
    if path.is_dir():
        raise UsageError(f"{raw}: is a directory (VIDEO is a URL, asset:ID or a video file)")
    if not path.exists():
        raise UsageError(f"{raw}: no such file (VIDEO is a URL, asset:ID or a local file)")
    if not path.is_file():
        raise UsageError(f"{raw}: not a regular file (VIDEO is a URL, asset:ID or a video file)")
    try:
        # The SDK's pre-flight: the 30 MiB limit from the size alone, and (with PyAV) the
        # platform's duration/resolution/aspect rules, before anything is uploaded.
        return video_from_path_sync(path, check_media=check_media)
    except InvalidRequestError as exc:
        raise UsageError(
            f"{raw}: {exc.rule}. Upload it as an asset (asset:ID) or host it and pass a URL"
            if "MiB" in exc.rule
            else f"{raw}: {exc.rule} (--no-media-check sends it anyway)"
        ) from None


def load_schema(path: Path | None) -> dict[str, Any] | None:
    """A bare JSON Schema, or a whole response_format object (json_schema or
    segment_definitions), from a file."""
    if path is None:
        return None
    try:
        data = _json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--schema: cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"--schema: {path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--schema: {path} must hold a JSON object (a JSON Schema)")
    if data.get("type") == "segment_definitions":
        return data
    if data.get("type") == "json_schema" and isinstance(data.get("json_schema"), dict):
        return data
    return {"type": "json_schema", "json_schema": data}


async def analyze_video(args: argparse.Namespace, out: Output) -> int:
    video = parse_video(args.video, check_media=not args.no_media_check)
    response_format = load_schema(args.schema)
    async with open_session(args) as session:
        tasks = session.client.tasks
        given = {
            "prompt": args.prompt,
            "model_name": args.model,
            "analysis_mode": args.analysis_mode,
            "custom_id": args.custom_id,
            "temperature": args.temperature,
            "max_tokens": args.max_tokens,
            "response_format": response_format,
            "start_time": args.start,
            "end_time": args.end,
            "min_segment_duration": args.min_segment,
            "max_segment_duration": args.max_segment,
        }
        created = await tasks.create(
            video=video, **{name: value for name, value in given.items() if value is not None}
        )
        if args.no_wait:
            if out.json_mode:
                out.json({"task_id": created.task_id, "status": created.status.value})
            else:
                out.line(created.task_id)
                out.note(f"follow it with: asyncanalyze tasks wait {created.task_id}")
            return 0
        out.note(f"created task {created.task_id}")
        try:
            return await _wait(out, tasks, created, args.timeout, label="task")
        except asyncio.CancelledError:
            _report_interrupted(out, args, created.task_id)
            raise


def _report_interrupted(out: Output, args: argparse.Namespace, task_id: str) -> None:
    # With --emulator the task lived in this process: there is nothing left to wait on.
    resume = None if args.emulator else wait_command(args, task_id)
    cancel = None if args.emulator else cancel_command(args, task_id)
    if out.json_mode:
        out.json(
            {
                "interrupted": True,
                "task_id": task_id,
                "resume_command": resume,
                "cancel_command": cancel,
            }
        )
    elif resume is None:
        out.error(f"interrupted: task {task_id} ended with the in-process emulator")
    else:
        out.error(
            f"interrupted: task {task_id} is still running; wait for it with: {resume}"
            f" (or stop it, and its bill, with: {cancel})"
        )
