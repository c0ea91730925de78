"""Domain types (attrs) and enums. Python names only: the wire mapping lives in ``_convert``.

Imports ``_errors`` (the bottom of the tree) for :meth:`AnalyzeTaskResult.json`'s error.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any, Final, Literal

import attrs

from ._errors import ResultParseError

__all__ = [
    "OMIT",
    "AnalyzeTaskError",
    "AnalyzeTaskResponse",
    "AnalyzeTaskResult",
    "AnalyzeTaskResultUsage",
    "AnalyzeTaskStatus",
    "AnalyzeTaskWebhookInfo",
    "CancelAnalyzeTaskResponse",
    "CreateAnalyzeTaskResponse",
    "FinishReason",
    "Omit",
    "PageInfo",
    "ResponseFormat",
    "TasksListResponse",
    "VideoContext",
    "VideoContext_AssetId",
    "VideoContext_Base64String",
    "VideoContext_Url",
    "WebhookEvent",
    "WebhookTaskData",
]


class Omit(enum.Enum):
    """Type of :data:`OMIT`, the marker for "do not send this field"."""

    OMIT = "OMIT"

    def __repr__(self) -> str:
        return "OMIT"

    def __bool__(self) -> bool:
        return False


OMIT: Final = Omit.OMIT


class _OpenStrEnum(enum.StrEnum):
    """A str enum that keeps values it has never seen instead of failing.

    The platform adds statuses over time (``canceled`` arrived after v1.3); decoding must not
    break on the next one, and the unknown value must still compare equal to its string.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return member


class AnalyzeTaskStatus(_OpenStrEnum):
    QUEUED = "queued"
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        """True for ``ready``, ``failed`` and ``canceled``; an unknown status is not terminal."""
        return self.value in _TERMINAL

    @property
    def is_known(self) -> bool:
        return self.value in _KNOWN_STATUSES


_TERMINAL: Final = frozenset({"ready", "failed", "canceled"})
_KNOWN_STATUSES: Final = frozenset(s.value for s in AnalyzeTaskStatus)


class FinishReason(_OpenStrEnum):
    STOP = "stop"
    LENGTH = "length"


@attrs.frozen
class VideoContext_Url:
    """A direct link to a media file."""

    url: str


@attrs.frozen
class VideoContext_AssetId:
    """An asset already uploaded to the platform."""

    asset_id: str


@attrs.frozen(repr=False)
class VideoContext_Base64String:
    """Video bytes sent inline, base64-encoded (at most 30 MiB of video data)."""

    base64_string: str

    def __repr__(self) -> str:
        # Inline videos run to megabytes: never print them whole in logs or tracebacks.
        return f"VideoContext_Base64String(<{len(self.base64_string)} base64 chars>)"


VideoContext = VideoContext_Url | VideoContext_AssetId | VideoContext_Base64String


@attrs.frozen
class ResponseFormat:
    """Ask for ``result.data`` to be a JSON text conforming to ``json_schema``."""

    json_schema: dict[str, Any]
    type: Literal["json_schema"] = "json_schema"


@attrs.frozen
class CreateAnalyzeTaskResponse:
    task_id: str
    status: AnalyzeTaskStatus


@attrs.frozen
class CancelAnalyzeTaskResponse:
    """The answer to ``tasks.cancel``: the task and its final status, ``canceled``. The same
    answer comes back when the task was already canceled by an earlier request."""

    task_id: str
    status: AnalyzeTaskStatus


@attrs.frozen
class AnalyzeTaskResultUsage:
    output_tokens: int
    input_tokens: int | None = None


@attrs.frozen
class AnalyzeTaskResult:
    generation_id: str
    data: str
    usage: AnalyzeTaskResultUsage
    finish_reason: FinishReason | None = None

    def json(self) -> Any:
        """``data`` parsed as JSON (what a ``json_schema`` response format produces).

        Raises :class:`ResultParseError` (a ValueError; ``.text`` is ``data``) when it does
        not parse. For a typed result use ``asyncanalyze.parse_result(task, MyClass)``.
        """
        try:
            return json.loads(self.data)
        except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
            hint = ""
            if self.finish_reason == FinishReason.LENGTH:
                hint = " (finish_reason is 'length': the output was cut at max_tokens)"
            raise ResultParseError(
                f"result.data is not valid JSON: {exc}{hint}", text=self.data
            ) from None


@attrs.frozen
class AnalyzeTaskError:
    message: str
    code: str | None = None


@attrs.frozen
class AnalyzeTaskWebhookInfo:
    url: str
    delivered: bool
    attempts: int
    last_error: str | None = None


@attrs.frozen
class AnalyzeTaskResponse:
    task_id: str
    status: AnalyzeTaskStatus
    created_at: datetime
    completed_at: datetime | None = None
    result: AnalyzeTaskResult | None = None
    error: AnalyzeTaskError | None = None
    webhooks: list[AnalyzeTaskWebhookInfo] | None = None
    custom_id: str | None = None


@attrs.frozen
class WebhookTaskData:
    """The task a webhook event is about: no result (retrieve the task for it)."""

    task_id: str
    status: AnalyzeTaskStatus
    created_at: datetime
    custom_id: str | None = None
    video_source: dict[str, Any] | None = None


@attrs.frozen
class WebhookEvent:
    """A webhook event: ``type`` is ``analyze.task.ready|failed|canceled`` (others are kept).

    ``id`` stays the same across the platform's delivery retries: use it to drop duplicates.
    """

    id: str
    type: str
    created_at: datetime
    data: WebhookTaskData

    @property
    def task_id(self) -> str:
        return self.data.task_id


@attrs.frozen
class PageInfo:
    limit_per_page: int | None = None
    page: int | None = None
    total_page: int | None = None
    total_results: int | None = None


@attrs.frozen
class TasksListResponse:
    data: list[AnalyzeTaskResponse]
    page_info: PageInfo = attrs.field(factory=PageInfo)
