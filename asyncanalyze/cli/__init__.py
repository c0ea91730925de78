"""``asyncanalyze``: the command line. Uses only the package's public API (plus the emulator),
so running it is also a smoke test of that API.

    asyncanalyze demo                                  # no key, no network
    asyncanalyze tasks list|get|delete|cancel|wait ...
    asyncanalyze analyze VIDEO --prompt "..."
    asyncanalyze batch MANIFEST.jsonl --out results.jsonl --journal run.db

Exit codes: 0 done, 1 an API or task error, 2 a usage error (bad arguments, a bad manifest,
a file that cannot be written, input the SDK rejects before sending), 3 (``tasks cancel``) the
task had already ended, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from asyncanalyze import (
    AnalyzeError,
    AuthenticationError,
    InvalidRequestError,
    __version__,
)
from asyncanalyze._config import API_KEY_ENV as _API_KEY_ENV

from ._args import UsageError, positive_float
from ._commands import add_analyze_parser, add_tasks_parser
from ._output import Output
from ._redact import redactor

__all__ = ["main"]


def _common_options(*, suppress: bool) -> argparse.ArgumentParser:
    """Options accepted before or after the command. Repeated on every subcommand with
    SUPPRESS defaults, so ``tasks list --json`` works without undoing a ``--json`` given first."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("global options")

    def option(*flags: str, **kwargs: Any) -> None:
        if suppress:
            kwargs["default"] = argparse.SUPPRESS
        group.add_argument(*flags, **kwargs)

    option(
        "--emulator",
        action="store_true",
        help="run against an emulator started in this process (no key, no network)",
    )
    option(
        "--speed",
        type=positive_float,
        metavar="X",
        help="emulator seconds per real second (--emulator: 60, demo: 200)",
    )
    option("--base-url", metavar="URL", help="API base URL (default: the platform's)")
    option("--api-key", metavar="KEY", help=f"API key (default: ${_API_KEY_ENV}); never printed")
    option("--json", action="store_true", help="machine-readable output on stdout")
    option("--plain", action="store_true", help="plain text even when rich is installed")
    option("-v", "--verbose", action="store_true", help="log every request to stderr")
    return common


def build_parser() -> argparse.ArgumentParser:
    from ._batch import add_batch_parser
    from ._demo import add_demo_parser

    parser = argparse.ArgumentParser(
        prog="asyncanalyze",
        description="Analyze videos with the TwelveLabs Analyze async tasks API.",
        parents=[_common_options(suppress=False)],
        epilog="Start with 'asyncanalyze demo': no key and no network needed.",
    )
    parser.add_argument("--version", action="version", version=f"asyncanalyze {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common_options(suppress=True)
    for add in (add_tasks_parser, add_analyze_parser, add_batch_parser, add_demo_parser):
        add(commands, common)
    return parser


class _Redactor(logging.Filter):
    """Scrubs secrets from log records: a last line of defence should any message carry one."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        return True


async def _until_terminated(command: Coroutine[Any, Any, int], terminated: asyncio.Event) -> int:
    """Run ``command``; SIGTERM cancels it as Ctrl-C does, so it can say what it leaves
    running (asyncio.run already turns SIGINT into a cancellation)."""
    loop = asyncio.get_running_loop()
    main_task = asyncio.current_task()
    assert main_task is not None

    def on_sigterm() -> None:
        terminated.set()
        main_task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        handled = True
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        handled = False
    try:
        return await command
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGTERM)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 for usage errors, 0 for --help / --version
        return exc.code if isinstance(exc.code, int) else 2

    redact = redactor((args.api_key, os.environ.get(_API_KEY_ENV)))
    out = Output(json_mode=args.json, plain=args.plain)
    handler: logging.Handler | None = None
    logger = logging.getLogger("asyncanalyze")
    previous_level = logger.level
    if args.verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        handler.addFilter(_Redactor(redact))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    terminated = asyncio.Event()
    try:
        if args.emulator and args.base_url:
            raise UsageError("--emulator and --base-url exclude each other")
        return asyncio.run(_until_terminated(args.handler(args, out), terminated))
    except KeyboardInterrupt:
        out.error("interrupted")
        return 130
    except asyncio.CancelledError:
        if not terminated.is_set():
            raise
        out.error("terminated")
        return 143
    except UsageError as exc:
        out.error(redact(f"error: {exc}"))
        return 2
    except InvalidRequestError as exc:
        hint = ""
        if exc.parameter == "api_key":
            hint = f" (use --api-key, set {_API_KEY_ENV}, or try --emulator)"
        out.error(redact(f"error: {exc}{hint}"))
        return 2
    except AuthenticationError as exc:
        out.error(redact(f"error: {exc} (check --api-key / {_API_KEY_ENV})"))
        return 1
    except AnalyzeError as exc:
        out.error(redact(f"error: {type(exc).__name__}: {exc}"))
        return 1
    except OSError as exc:
        out.error(redact(f"error: {exc}"))
        return 1
    except Exception as exc:
        # A bug of ours: show it (with -v, the traceback), still scrubbed of the key.
        out.error(redact(f"internal error: {type(exc).__name__}: {exc}"))
        if args.verbose:
            out.error(redact("".join(traceback.format_exception(exc))))
        else:
            out.error("run again with -v for the traceback")
        return 1
    finally:
        if handler is not None:
            logger.removeHandler(handler)
            logger.setLevel(previous_level)
