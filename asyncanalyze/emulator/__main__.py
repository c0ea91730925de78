"""``python -m asyncanalyze.emulator``: serve the emulator until SIGINT or SIGTERM.

Prints its base URL (``http://127.0.0.1:8750/v1.3``) on one line first, so a parent process
can read the real port when it passed ``--port 0``. Exit codes: 0 stopped by a signal, 2 a bad
option or an address it cannot listen on (a busy ``--port``), one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Sequence

from ._clock import ManualClock
from ._config import (
    DEFAULT_HOST,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_BODY_MEMORY,
    DEFAULT_MEDIA_CONCURRENCY,
    DEFAULT_SEED,
    DEFAULT_SPEED,
    DEFAULT_WEBHOOK_MAX_ATTEMPTS,
    DEFAULT_WEBHOOK_RETRY_BASE,
    EmulatorConfig,
    FaultConfig,
)
from ._emulator import Emulator

DEFAULT_PORT = 8750
_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# argparse's own exit code for a bad command line; a port that cannot be bound is one too.
USAGE_ERROR = 2


def port_number(raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {raw!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535 (0 picks a free port), got {raw!r}")
    return port


def parse_fault(spec: str) -> tuple[str, FaultConfig]:
    """``create:error_503=0.2,latency=0.05`` -> ("create", FaultConfig(...)); ``*`` = all."""
    endpoint, _, settings = spec.partition(":")
    if not settings:
        raise argparse.ArgumentTypeError(f"expected ENDPOINT:KIND=VALUE[,KIND=VALUE], got {spec!r}")
    values: dict[str, object] = {}
    for item in settings.split(","):
        name, _, raw = item.partition("=")
        name = name.strip()
        if name == "rate_limit_shape":
            values[name] = raw.strip()
        elif name == "empty_body":
            if raw.strip().lower() not in _FLAGS:
                raise argparse.ArgumentTypeError(f"{item!r}: the value must be true or false")
            values[name] = _FLAGS[raw.strip().lower()]
        else:
            try:
                values[name] = float(raw)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{item!r}: the value must be a number") from None
    if "retry_after" in values:
        values["retry_after"] = int(values["retry_after"])  # type: ignore[call-overload]
    try:
        return endpoint.strip(), FaultConfig.from_dict(values)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m asyncanalyze.emulator",
        description="A local server speaking the TwelveLabs Analyze async tasks API (v1.3).",
    )
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT, help="0 picks a free port"
    )
    parser.add_argument(
        "--speed", type=float, default=DEFAULT_SPEED, help="emulator seconds per real second"
    )
    parser.add_argument(
        "--manual-clock",
        action="store_true",
        help="time moves only via POST /_emulator/clock/advance",
    )
    parser.add_argument("--api-key", help="accept only this x-api-key (default: any non-empty key)")
    parser.add_argument("--create-rpm", type=float, help="create requests per minute per API key")
    parser.add_argument(
        "--no-rate-limit-headers-on-success",
        dest="rate_limit_headers_on_success",
        action="store_false",
        help="send X-Ratelimit-* on 429s only, not on successful creates",
    )
    parser.add_argument("--error-shape", choices=("nested", "flat"), default="nested")
    parser.add_argument("--db", dest="db_path", help="SQLite file that keeps tasks across restarts")
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-secret")
    parser.add_argument("--webhook-max-attempts", type=int, default=DEFAULT_WEBHOOK_MAX_ATTEMPTS)
    parser.add_argument("--webhook-retry-base", type=float, default=DEFAULT_WEBHOOK_RETRY_BASE)
    parser.add_argument(
        "--introspection", action="store_true", help="serve stats and controls under /_emulator/"
    )
    parser.add_argument(
        "--fault",
        dest="faults",
        action="append",
        type=parse_fault,
        default=[],
        metavar="ENDPOINT:KIND=P[,KIND=P]",
        help="e.g. 'create:error_503=0.2' or '*:latency=0.05'; kinds: reset, error_500, "
        "error_503, too_many_requests, drop_after_create, latency, retry_after; a 429's "
        "rate_limit_shape (retry_after, full, headers_only, bare) and rate_limit_reset "
        "(seconds); empty_body=true",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--no-fetch-media",
        dest="fetch_media",
        action="store_false",
        help="never fetch loopback URLs",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="larger request bodies answer 413",
    )
    parser.add_argument(
        "--max-body-memory",
        type=int,
        default=DEFAULT_MAX_BODY_MEMORY,
        help="bytes of request bodies held at once; later creates wait",
    )
    parser.add_argument(
        "--media-concurrency",
        type=int,
        default=DEFAULT_MEDIA_CONCURRENCY,
        help="loopback videos fetched and probed at once",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        speed=args.speed,
        clock=ManualClock() if args.manual_clock else None,
        api_key=args.api_key,
        create_rpm=args.create_rpm,
        rate_limit_headers_on_success=args.rate_limit_headers_on_success,
        error_shape=args.error_shape,
        db_path=args.db_path,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        webhook_max_attempts=args.webhook_max_attempts,
        webhook_retry_base=args.webhook_retry_base,
        introspection=args.introspection,
        faults=dict(args.faults),
        seed=args.seed,
        fetch_media=args.fetch_media,
        max_body_bytes=args.max_body_bytes,
        max_body_memory=args.max_body_memory,
        media_concurrency=args.media_concurrency,
    )


async def serve(config: EmulatorConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Emulator(config) as emulator:
        print(emulator.base_url, flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(serve(config))
    except OSError as exc:  # the bind: address in use, or not an address of this machine
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        print(
            f"error: cannot listen on {config.host}:{config.port}: {reason}"
            " (pick another --port, or --port 0 for a free one)",
            file=sys.stderr,
        )
        return USAGE_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
