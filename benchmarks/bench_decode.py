"""CPU per decoded task: what a retrieve costs the client above reading the body.

Two bodies as the emulator sends them (a task in progress, and a ready one with a ~1 KB
result). For each: the JSON parse alone (stdlib, orjson), ``decode_task`` (parse + models, the
client's path) and, for comparison, the general cattrs decoder the fast path stands in for.
Best of ``--repeat`` runs of ``--number`` calls each, in process CPU time: unlike request
rates, this stays meaningful on a loaded machine.

    python benchmarks/bench_decode.py [--number 20000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from _common import machine, print_table
from cattrs.gen import make_dict_structure_fn

from asyncanalyze import AnalyzeTaskResponse
from asyncanalyze._convert import _converter
from asyncanalyze._json import HAVE_ORJSON
from asyncanalyze._json import loads as codec_loads
from asyncanalyze._protocol import RawResponse, decode_task

TASK_ID = "d3d5d43c1c90f5c176fc04ae"
_SOURCE = {"type": "url", "url": "https://example.com/a.mp4?emulator_task_seconds=60"}
_PARAMS = {
    "analysis_mode": "general",
    "prompt": "Summarize this video",
    "temperature": 0.2,
    "max_tokens": 4096,
}
_IN_PROGRESS = {
    "task_id": TASK_ID,
    "custom_id": None,
    "status": "processing",
    "video_source": _SOURCE,
    "request_params": _PARAMS,
    "created_at": "2026-12-02T11:37:45.074Z",
}
_READY = {
    **_IN_PROGRESS,
    "status": "ready",
    "video_source": {**_SOURCE, "system_metadata": {"duration": 31.29}},
    "completed_at": "2026-12-02T11:38:45.074Z",
    "result": {
        "generation_id": "gen_1",
        "data": "word " * 180,
        "finish_reason": "stop",
        "usage": {"output_tokens": 250, "input_tokens": 45},
    },
}
# As the emulator writes them (the stdlib's default separators).
BODIES = {"in progress": json.dumps(_IN_PROGRESS).encode(), "ready": json.dumps(_READY).encode()}
GENERAL = make_dict_structure_fn(AnalyzeTaskResponse, _converter)


def best_us(call: Callable[[], object], number: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for _ in range(number):
            call()
        best = min(best, time.process_time() - started)
    return best / number * 1e6


def main(args: argparse.Namespace) -> None:
    rows = []
    for name, body in BODIES.items():
        raw = RawResponse(200, {}, body)
        cases = {
            "json.loads": lambda body=body: json.loads(body),
            "codec loads": lambda body=body: codec_loads(body),
            "decode_task": lambda raw=raw: decode_task(raw, TASK_ID),
            "parse + cattrs": lambda body=body: GENERAL(codec_loads(body), AnalyzeTaskResponse),
        }
        costs = {case: best_us(call, args.number, args.repeat) for case, call in cases.items()}
        rows.append(
            [
                name,
                len(body),
                *(f"{cost:.2f}" for cost in costs.values()),
                f"{costs['decode_task'] - costs['json.loads']:.2f}",
            ]
        )
    print(f"CPU us per call, best of {args.repeat} x {args.number:,}; machine: {machine()}")
    print(f"codec: {'orjson' if HAVE_ORJSON else 'stdlib json'}\n")
    print_table(
        [
            "body",
            "bytes",
            "json.loads",
            "codec loads",
            "decode_task",
            "parse + cattrs",
            "decode_task - json.loads",
        ],
        rows,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    main(parser.parse_args())
