"""Logging: requests are logged at DEBUG with method, path, status, attempt and time.

(That no log record shows the key is tested with the other key checks, in test_security.)
"""

from __future__ import annotations

import logging

import pytest
from aioresponses import aioresponses

from asyncanalyze import AnalyzeAsyncClient, AuthenticationError, VideoContext_Url

from .._helpers import task_json
from ..conftest import BASE_URL

TASKS = f"{BASE_URL}/analyze/tasks"


async def test_debug_log_has_request_facts(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG every attempt is logged, retries and failures included."""
    mocked_api.get(f"{TASKS}/t1", status=503)
    mocked_api.get(f"{TASKS}/t1", payload=task_json())
    mocked_api.post(TASKS, status=401, payload={"code": "api_key_invalid", "message": "bad key"})
    with caplog.at_level(logging.DEBUG, logger="asyncanalyze"):
        await mocked_client.tasks.retrieve("t1")
        with pytest.raises(AuthenticationError):
            await mocked_client.tasks.create(
                video=VideoContext_Url(url="https://e.com/v.mp4"), prompt="p"
            )
    messages = [record.getMessage() for record in caplog.records]
    assert any("GET /analyze/tasks/t1 -> 503 (attempt 1" in m for m in messages)
    assert any("GET /analyze/tasks/t1 -> 200 (attempt 2" in m for m in messages)
    assert any("retrying GET /analyze/tasks/t1" in m for m in messages)
    assert any("POST /analyze/tasks -> 401" in m for m in messages), messages
