"""What a command says when it is interrupted (Ctrl-C, SIGTERM) with tasks still running.

Stopping the CLI stops only its waiting: the service goes on with the tasks (and bills them).
So the last words name what is still running and the command that picks it up again.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
from collections.abc import Sequence

from asyncanalyze import BatchProgress

from ._output import ProgressView

__all__ = ["ProgressUntilInterrupted", "cancel_command", "command_line", "wait_command"]

_SECRET_OPTIONS = ("--api-key",)


def command_line(argv: Sequence[str]) -> str:
    """``asyncanalyze ARGS`` as a shell line, without the API key (never printed)."""
    kept: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _SECRET_OPTIONS:
            skip = True
        elif not word.startswith(tuple(f"{option}=" for option in _SECRET_OPTIONS)):
            kept.append(word)
    return shlex.join(["asyncanalyze", *kept])


def wait_command(args: argparse.Namespace, task_id: str) -> str:
    """The command that waits on ``task_id`` from another invocation."""
    return _task_command(args, "wait", task_id)


def cancel_command(args: argparse.Namespace, task_id: str) -> str:
    """The command that cancels ``task_id`` from another invocation."""
    return _task_command(args, "cancel", task_id)


def _task_command(args: argparse.Namespace, verb: str, task_id: str) -> str:
    target = ["--base-url", args.base_url] if args.base_url else []
    return command_line([*target, "tasks", verb, task_id])


class ProgressUntilInterrupted:
    """Forwards a batch's progress to a view, except the reports made while the batch is being
    cancelled: the engine then counts its waits as ended, but the tasks run on at the service,
    and a last frame of ``running 0`` would say otherwise. ``latest`` is the last real count."""

    def __init__(self, view: ProgressView) -> None:
        self._view = view
        self.latest = BatchProgress()

    def __call__(self, progress: BatchProgress) -> None:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            return
        self.latest = progress
        self._view.update(progress)
