"""The wire format as plain dicts: error bodies, timestamps, tasks as the API shows them."""

from __future__ import annotations

import json
from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ._config import ErrorShape
from ._lifecycle import CANCELED, FAILED, READY, TaskRecord

LIST_PROMPT_CHARS = 30
# The reason a task canceled through the cancel endpoint carries (the platform's code; its
# message is not part of the contract).
USER_CANCELED = {"code": "user_canceled", "message": "The task was canceled by the user."}
JSON_HEADERS = {"Content-Type": "application/json", "X-Api-Version": "1.3"}
# The 503 text: an injected fault, or a create that waited too long for body memory.
UNAVAILABLE_MESSAGE = "The service is temporarily unavailable."


@dataclass(frozen=True)
class ApiProblem(Exception):
    """An error answer: status, platform error code and message."""

    status: int
    code: str
    message: str

    def body(self, shape: ErrorShape) -> bytes:
        return error_body(shape, self.code, self.message)


def error_body(shape: ErrorShape, code: str, message: str) -> bytes:
    inner = {"code": code, "message": message}
    return json.dumps(inner if shape == "flat" else {"error": inner}).encode()


def invalid(parameter: str, detail: str | None = None) -> ApiProblem:
    message = detail or f"The {parameter} parameter is invalid."
    return ApiProblem(400, "parameter_invalid", message)


def not_provided(parameter: str) -> ApiProblem:
    return ApiProblem(
        400,
        "parameter_not_provided",
        f"The {parameter} parameter is required but was not provided.",
    )


def refuse_unknown(fields: Iterable[str], allowed: Container[str], where: str = "") -> None:
    """``parameter_unknown`` for the first of ``fields`` not ``allowed``, named under ``where``."""
    for name in fields:
        if name not in allowed:
            raise unknown(f"{where}.{name}" if where else name)


def unknown(parameter: str) -> ApiProblem:
    return ApiProblem(400, "parameter_unknown", f"The {parameter} parameter is unknown.")


def not_cancelable(task_id: str, status: str) -> ApiProblem:
    return ApiProblem(
        409,
        "task_not_cancelable",
        f"The task {task_id} is {status}: only queued, pending or processing tasks can be"
        " canceled.",
    )


def not_modeled(feature: str) -> ApiProblem:
    """What the emulator answers for a part of the platform's API it does not emulate."""
    return ApiProblem(
        501,
        "not_implemented",
        f"The emulator does not model {feature}; see the emulator's documentation.",
    )


def not_found(task_id: str) -> ApiProblem:
    return ApiProblem(
        404, "resource_not_exist", f"Resource with id {task_id} does not exist in analyze_tasks."
    )


def rfc3339(epoch: float) -> str:
    """``2024-09-26T10:29:19.968Z``: milliseconds and a Z, as the platform writes them."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def video_source(record: TaskRecord, status: str) -> dict[str, Any]:
    """The ``video_source`` fields: none for an image task (the platform omits the key)."""
    video = record.request.get("video")
    if video is None:
        return {}
    source = dict(video)
    if status == READY and record.duration is not None:
        source["system_metadata"] = {"duration": round(record.duration, 3)}
    return {"video_source": source}


def request_params(record: TaskRecord, *, shortened: bool) -> dict[str, Any]:
    request = record.request
    params: dict[str, Any] = {"analysis_mode": request.get("analysis_mode", "general")}
    prompt = request.get("prompt")
    if prompt is not None:
        params["prompt"] = prompt[:LIST_PROMPT_CHARS] if shortened else prompt
    prompt_v2 = request.get("prompt_v2")
    if prompt_v2 is not None:
        params["prompt_v2"] = (
            {**prompt_v2, "input_text": prompt_v2["input_text"][:LIST_PROMPT_CHARS]}
            if shortened
            else prompt_v2
        )
    if "image" in request:
        params["image"] = request["image"]
    params["temperature"] = request.get("temperature", 0.2)
    params["max_tokens"] = request.get("max_tokens", request["max_tokens_effective"])
    for name in ("min_segment_duration", "max_segment_duration", "start_time", "end_time"):
        if name in request:
            params[name] = request[name]
    response_format = request.get("response_format")
    if response_format is not None:
        params["response_format"] = (
            _shortened_format(response_format) if shortened else response_format
        )
    return params


def _shortened_format(response_format: dict[str, Any]) -> dict[str, Any]:
    # The platform's list omits the JSON schema and keeps only the first segment definition.
    short = {key: value for key, value in response_format.items() if key != "json_schema"}
    definitions = short.get("segment_definitions")
    if definitions:
        short["segment_definitions"] = definitions[:1]
    return short


def task_dict(
    record: TaskRecord,
    status: str,
    completed_at: float | None,
    result: dict[str, Any] | None,
    *,
    shortened: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task_id": record.task_id,
        "custom_id": record.request.get("custom_id"),
        "status": status,
        **video_source(record, status),
        "request_params": request_params(record, shortened=shortened),
        "created_at": rfc3339(record.created_at),
    }
    if completed_at is not None:
        body["completed_at"] = rfc3339(completed_at)
    if status == READY and result is not None:
        body["result"] = result["result"]
        if "error" in result:
            body["error"] = result["error"]
    elif status == FAILED:
        body["error"] = {"message": record.failure}
    elif status == CANCELED:
        body["error"] = dict(USER_CANCELED)
    if record.webhook is not None:
        body["webhooks"] = [_webhook_info(record.webhook)]
    return body


def _webhook_info(state: dict[str, Any]) -> dict[str, Any]:
    info = {"url": state["url"], "delivered": state["delivered"], "attempts": state["attempts"]}
    if not state["delivered"] and state.get("last_error"):
        info["last_error"] = state["last_error"]
    return info


def webhook_event(
    event_id: str, record: TaskRecord, status: str, created_at: float
) -> dict[str, Any]:
    """The event body: the task without its result, as ``analyze.task.<status>``."""
    return {
        "id": event_id,
        "created_at": rfc3339(created_at),
        "type": f"analyze.task.{status}",
        "data": {
            "id": record.task_id,
            "custom_id": record.request.get("custom_id"),
            "created_at": rfc3339(record.created_at),
            **video_source(record, status),
            "status": status,
        },
    }
