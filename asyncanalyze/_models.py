"""Domain types (attrs) and enums. Python names only: the wire mapping lives in ``_convert``.

Imports ``_errors`` and ``_json`` for :meth:`AnalyzeTaskResult.json`, and ``_task_status``
(the statuses live below ``_errors``, which names the canceled one).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Final, Literal

import attrs

from . import _json
from ._errors import ResultParseError
from ._task_status import AnalyzeTaskStatus
from ._task_status import OpenStrEnum as _OpenStrEnum

__all__ = [
    "OMIT",
    "AnalysisMode",
    "AnalyzeImageInput",
    "AnalyzePromptV2",
    "AnalyzeTaskError",
    "AnalyzeTaskResponse",
    "AnalyzeTaskResult",
    "AnalyzeTaskResultUsage",
    "AnalyzeTaskStatus",
    "AnalyzeTaskWebhookInfo",
    "AnalyzeTimeRange",
    "CancelAnalyzeTaskResponse",
    "CreateAnalyzeTaskResponse",
    "FinishReason",
    "MaxTokens",
    "MediaSource",
    "ModelName",
    "Omit",
    "PageInfo",
    "ResponseFormat",
    "SegmentDefinition",
    "SegmentField",
    "SegmentFieldItems",
    "SegmentResponseFormat",
    "TaskRequestParams",
    "TasksListResponse",
    "VideoContext",
    "VideoContext_AssetId",
    "VideoContext_Base64String",
    "VideoContext_Url",
    "VideoSource",
    "VideoSystemMetadata",
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


class FinishReason(_OpenStrEnum):
    STOP = "stop"
    LENGTH = "length"


class ModelName(_OpenStrEnum):
    """The models the platform documents for ``model_name``. Any other name is sent as given:
    model names change faster than SDK releases (pegasus1.2 -> 1.5 -> 1.6 within a year)."""

    PEGASUS_1_5 = "pegasus1.5"
    PEGASUS_1_6 = "pegasus1.6"


class AnalysisMode(_OpenStrEnum):
    """``general`` (prompt -> text, the default) or ``time_based_metadata`` (segments)."""

    GENERAL = "general"
    TIME_BASED_METADATA = "time_based_metadata"


MaxTokens = int | Literal["unlimited"]
"""``max_tokens``: a token budget, or ``"unlimited"`` (time_based_metadata on pegasus1.6)."""


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


def _source_repr(self: Any) -> str:
    # Inline images run to megabytes: never print them whole in logs or tracebacks.
    shown = {
        field.name: getattr(self, field.name)
        for field in attrs.fields(type(self))
        if getattr(self, field.name) is not None
    }
    if isinstance(shown.get("base64_string"), str):
        shown["base64_string"] = f"<{len(shown['base64_string'])} base64 chars>"
    return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


@attrs.frozen(repr=False)
class AnalyzeImageInput:
    """An image to analyze (``image=[...]``, pegasus1.6): a ``name`` (letters, digits, ``_``;
    unique in the list; ``<@name>`` in the prompt refers to it) and exactly one source."""

    name: str
    url: str | None = None
    asset_id: str | None = None
    base64_string: str | None = None

    __repr__ = _source_repr


@attrs.frozen(repr=False)
class MediaSource:
    """A reference image for ``<@name>`` placeholders (``AnalyzePromptV2``,
    ``SegmentDefinition``): a ``name`` and exactly one source."""

    name: str
    url: str | None = None
    asset_id: str | None = None
    base64_string: str | None = None
    media_type: str = "image"

    __repr__ = _source_repr


@attrs.frozen
class AnalyzePromptV2:
    """A structured prompt (``prompt_v2=``): ``input_text`` with ``<@name>`` placeholders for
    the reference images in ``media_sources`` (at most 4)."""

    input_text: str
    media_sources: list[MediaSource] | None = None


@attrs.frozen
class AnalyzeTimeRange:
    """A window of the video in seconds: ``end_time - start_time`` at least 2 s."""

    start_time: float
    end_time: float


@attrs.frozen
class SegmentFieldItems:
    """The elements of an ``array`` field (``type``: string, number, boolean, integer) or the
    events of a ``time_array`` field (``type="object"`` and their ``fields``)."""

    type: str
    fields: list[SegmentField] | None = None


@attrs.frozen
class SegmentField:
    """A value extracted for each segment. ``type``: string, boolean, number, integer, array,
    timestamp (``format`` required: seconds, hh:mm:ss or hh:mm:ss.fff) or time_array
    (pegasus1.6: a list of events, ``items=SegmentFieldItems("object", fields=[...])``)."""

    name: str
    type: str
    description: str
    format: str | None = None
    enum: list[str] | None = None
    items: SegmentFieldItems | None = None


@attrs.frozen
class SegmentDefinition:
    """A kind of segment to find: ``id`` (unique), ``description``, the ``fields`` to extract,
    reference images (``media_sources``, at most 4) and ``time_ranges`` to search within."""

    id: str
    description: str
    fields: list[SegmentField] | None = None
    media_sources: list[MediaSource] | None = None
    time_ranges: list[AnalyzeTimeRange] | None = None


@attrs.frozen
class SegmentResponseFormat:
    """Segments with metadata (``analysis_mode="time_based_metadata"``): 1 to 20 definitions;
    ``result.data`` is then JSON keyed by definition id. ``segment_time_format`` (seconds,
    hh:mm:ss, hh:mm:ss.fff) formats the segment boundaries."""

    segment_definitions: list[SegmentDefinition]
    segment_time_format: str | None = None
    type: Literal["segment_definitions"] = "segment_definitions"


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
            return _json.loads(self.data)
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
class VideoSystemMetadata:
    duration: float | None = None


@attrs.frozen
class VideoSource:
    """The task's video as the platform reports it: ``type`` is url, asset_id, base64_string
    (no data echoed) or video_id; ``system_metadata.duration`` once it has been processed."""

    type: str | None = None
    url: str | None = None
    asset_id: str | None = None
    video_id: str | None = None
    index_id: str | None = None
    system_metadata: VideoSystemMetadata | None = None


@attrs.frozen
class TaskRequestParams:
    """The parameters a task was created with, as the platform echoes them. In list answers
    the platform shortens them (prompts cut to 30 characters, no JSON schema, one segment
    definition); ``retrieve`` has them in full. The structured ones stay plain JSON."""

    analysis_mode: AnalysisMode | None = None
    prompt: str | None = None
    prompt_v2: dict[str, Any] | None = None
    image: list[dict[str, Any]] | None = None
    response_format: dict[str, Any] | None = None
    temperature: float | None = None
    max_tokens: int | str | None = None
    min_segment_duration: float | None = None
    max_segment_duration: float | None = None
    start_time: float | None = None
    end_time: float | None = None


@attrs.frozen
class AnalyzeTaskResponse:
    """A task. ``custom_id`` is the one given at create (None if none); ``video_source`` and
    ``request_params`` are what the platform reports (absent for an image task's video)."""

    task_id: str
    status: AnalyzeTaskStatus
    created_at: datetime
    completed_at: datetime | None = None
    result: AnalyzeTaskResult | None = None
    error: AnalyzeTaskError | None = None
    webhooks: list[AnalyzeTaskWebhookInfo] | None = None
    custom_id: str | None = None
    batch_id: str | None = None
    video_source: VideoSource | None = None
    request_params: TaskRequestParams | None = None


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

    def is_last_page(self, page: int, page_limit: int) -> bool:
        """Whether page ``page`` (asked with ``page_limit``) is the last: an empty page is,
        and so is the one ``page_info.total_page`` names; without that, a short page is."""
        if not self.data:
            return True
        total = self.page_info.total_page
        if total is not None:
            return page >= total
        return len(self.data) < page_limit
