"""Small helpers for reading what aioresponses saw."""

from __future__ import annotations

import json
from typing import Any

from aioresponses import CallbackResult, aioresponses
from yarl import URL

# The id most tests retrieve ("t1"): a retrieve answered with another task's id is refused.
TASK_JSON: dict[str, Any] = {
    "task_id": "t1",
    "status": "ready",
    "created_at": "2024-09-26T10:29:19.968Z",
    "completed_at": "2024-09-26T10:30:45.123Z",
    "result": {
        "generation_id": "gen_xyz789",
        "data": "The video shows a cat.",
        "finish_reason": "stop",
        "usage": {"output_tokens": 150, "input_tokens": 45},
    },
}


def task_json(status: str = "ready", **extra: Any) -> dict[str, Any]:
    body = {**TASK_JSON, "status": status, **extra}
    if status != "ready":
        body.pop("result", None)
    if status not in {"ready", "failed"}:
        body.pop("completed_at", None)
    return body


def echo_task(url: URL, **_: Any) -> CallbackResult:
    """An aioresponses callback answering a retrieve with the task the URL names."""
    return CallbackResult(payload=task_json(task_id=url.path.rsplit("/", 1)[-1]))


def calls(mock: aioresponses) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, kwargs) of every request, grouped by (method, url): the groups in the
    order each was first requested, each group in the order sent. aioresponses keeps no order
    across groups, so a test of the order between different URLs cannot use this."""
    return [
        (method, str(url), request.kwargs)
        for (method, url), requests in mock.requests.items()
        for request in requests
    ]


def sent_count(mock: aioresponses) -> int:
    return sum(len(requests) for requests in mock.requests.values())


def json_body(kwargs: dict[str, Any]) -> Any:
    data = kwargs["data"]
    return json.loads(data)


def header(kwargs: dict[str, Any], name: str) -> str | None:
    headers = kwargs.get("headers") or {}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None
