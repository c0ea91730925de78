"""What a ready task carries in ``result``: generated from the prompt, the video and the task id."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from ._lifecycle import TaskRecord
from ._schema_gen import generate_json
from ._text import generate_text
from ._tokens import count_tokens

TRUNCATED_MESSAGE = (
    "output truncated: the generation reached the configured max_tokens. The partial output is "
    "returned; raise max_tokens if you need a longer response."
)


def generation_id(task_id: str) -> str:
    """A UUID that is stable per task, so a restarted emulator reports the same one."""
    return str(uuid.UUID(bytes=hashlib.sha256(task_id.encode()).digest()[:16], version=4))


def build_result(record: TaskRecord) -> dict[str, Any]:
    """``{"result": {...}}`` plus the platform's truncation ``error`` when cut at max_tokens."""
    max_tokens = int(record.request["max_tokens_effective"])
    duration = record.duration or 0.0
    if record.output_schema is not None:
        data = generate_json(record.output_schema, seed=record.task_id)
        output_tokens = count_tokens(data)
        if output_tokens > max_tokens:
            # Cut like a model would: the JSON text stops mid-way and may not parse.
            data = data[: max(1, len(data) * max_tokens // output_tokens)]
            output_tokens = max_tokens
    else:
        data = generate_text(
            record.prompt_text, video_key=record.video_key, duration=duration, max_tokens=max_tokens
        )
        output_tokens = count_tokens(data)
    truncated = output_tokens >= max_tokens
    # Input is the prompt plus the video; one token per second of video keeps it plausible.
    input_tokens = count_tokens(record.prompt_text) + round(duration)
    answer: dict[str, Any] = {
        "result": {
            "generation_id": generation_id(record.task_id),
            "data": data,
            "finish_reason": "length" if truncated else "stop",
            "usage": {"output_tokens": output_tokens, "input_tokens": input_tokens},
        }
    }
    if truncated:
        answer["error"] = {"message": TRUNCATED_MESSAGE}
    return answer
