"""tasks.iter() against a lying pager (issue 14 item 2): a server that ignores ``page`` or
never ends cannot make the walk endless."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses

from asyncanalyze import AnalyzeAsyncClient, _paging

from .._helpers import sent_count, task_json
from ..conftest import BASE_URL

TASKS = f"{BASE_URL}/analyze/tasks"
LIST = re.compile(re.escape(f"{BASE_URL}/analyze/tasks") + r"\?.*")


async def test_iter_stops_at_a_repeated_page(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """A server answering every page with page 1 (and a huge total_page): each task once,
    and the walk ends after a few repeated pages."""
    items = [task_json(task_id=f"t{i}") for i in range(2)]
    mocked_api.get(LIST, payload={"data": items, "page_info": {"total_page": 10**9}}, repeat=True)
    ids = [task.task_id async for task in mocked_client.tasks.iter(page_limit=2)]
    assert ids == ["t0", "t1"]
    assert sent_count(mocked_api) == 1 + _paging.MAX_PAGE_REPEATS


async def test_iter_goes_past_a_page_repeated_by_a_moving_list(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses
) -> None:
    """Page 2 repeats page 1 (a page of tasks was created in between): it is skipped and the
    walk goes on to the tasks after it."""
    first = [task_json(task_id=f"t{i}") for i in range(2)]
    mocked_api.get(f"{TASKS}?page=1&page_limit=2", payload={"data": first})
    mocked_api.get(f"{TASKS}?page=2&page_limit=2", payload={"data": first})
    mocked_api.get(f"{TASKS}?page=3&page_limit=2", payload={"data": [task_json(task_id="t2")]})
    ids = [task.task_id async for task in mocked_client.tasks.iter(page_limit=2)]
    assert ids == ["t0", "t1", "t2"]


async def test_iter_never_walks_more_than_its_cap(
    mocked_client: AnalyzeAsyncClient, mocked_api: aioresponses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fresh full pages for ever, no total_page: the walk ends after MAX_WALK_PAGES."""
    monkeypatch.setattr(_paging, "MAX_WALK_PAGES", 30)

    def fresh_page(url: Any, **_: Any) -> CallbackResult:
        page = url.query["page"]
        return CallbackResult(
            payload={"data": [task_json(task_id=f"p{page}-{i}") for i in range(2)]}
        )

    mocked_api.get(LIST, callback=fresh_page, repeat=True)
    seen = [task async for task in mocked_client.tasks.iter(page_limit=2)]
    assert len(seen) == 60
    assert sent_count(mocked_api) == 30
