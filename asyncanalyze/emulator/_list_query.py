"""The list endpoint's query string checked: page, page size and the filters it takes.

Separate from the create checks: a list request has no body, and its rules (positive page
numbers, at most 50 per page, known statuses and modes) share nothing with a create's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ._lifecycle import STATUSES
from ._model_rules import ANALYSIS_MODES
from ._wire import invalid

LIST_STATUSES = STATUSES
MAX_PAGE_LIMIT = 50
DEFAULT_PAGE_LIMIT = 10


@dataclass(frozen=True)
class ListQuery:
    page: int
    page_limit: int
    status: str | None
    video_url: str | None
    asset_id: str | None
    analysis_mode: str | None
    video_id: str | None


def validate_list_query(query: Mapping[str, str]) -> ListQuery:
    page = _positive_int(query, "page", 1)
    page_limit = _positive_int(query, "page_limit", DEFAULT_PAGE_LIMIT)
    if page_limit > MAX_PAGE_LIMIT:
        raise invalid("page_limit")
    status = query.get("status")
    if status is not None and status not in LIST_STATUSES:
        raise invalid("status")
    analysis_mode = query.get("analysis_mode")
    if analysis_mode is not None and analysis_mode not in ANALYSIS_MODES:
        raise invalid("analysis_mode")
    return ListQuery(
        page=page,
        page_limit=page_limit,
        status=status,
        video_url=query.get("video_url"),
        asset_id=query.get("asset_id"),
        analysis_mode=analysis_mode,
        video_id=query.get("video_id"),
    )


def _positive_int(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name) from None
    if value < 1:
        raise invalid(name)
    return value
