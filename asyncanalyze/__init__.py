"""asyncanalyze: an asyncio-native SDK for the Analyze async tasks API.

Quick start::

    async with AnalyzeAsyncClient() as client:   # key from TWELVE_LABS_API_KEY
        created = await client.tasks.create(video=VideoContext_Url(url=...), prompt="Summarize")
        task = await client.tasks.await_result(created)
        print(task.result.data)
"""

# ``asyncanalyze.webhooks.unwrap(...)`` after a plain ``import asyncanalyze``.
from . import webhooks
from ._client import AnalyzeAsyncClient
from ._config import (
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_CONNECTION_LIMIT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_POLL_TIMEOUT,
    DEFAULT_TIMEOUT,
    PollPolicy,
    RequestOptions,
    RetryPolicy,
)
from ._errors import (
    AnalyzeError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientStateError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    JournalError,
    JournalMismatchError,
    NotFoundError,
    PermissionDeniedError,
    PollTimeoutError,
    RateLimitError,
    ResponseValidationError,
    ResultParseError,
    TaskFailedError,
    UnprocessableEntityError,
    WebhookVerificationError,
)
from ._local_files import video_from_path, video_from_path_sync
from ._models import (
    OMIT,
    AnalyzeTaskError,
    AnalyzeTaskResponse,
    AnalyzeTaskResult,
    AnalyzeTaskResultUsage,
    AnalyzeTaskStatus,
    AnalyzeTaskWebhookInfo,
    CreateAnalyzeTaskResponse,
    FinishReason,
    Omit,
    PageInfo,
    ResponseFormat,
    TasksListResponse,
    VideoContext,
    VideoContext_AssetId,
    VideoContext_Base64String,
    VideoContext_Url,
    WebhookEvent,
    WebhookTaskData,
)
from ._structured import parse_result
from ._version import __version__
from .batch import (
    DEFAULT_BATCH_CONCURRENCY,
    AnalyzeRequest,
    BatchOutcome,
    BatchProgress,
    TaskOutcome,
)
from .resources.tasks import TasksClient

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_BATCH_CONCURRENCY",
    "DEFAULT_CONNECTION_LIMIT",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_POLL_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "OMIT",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AnalyzeAsyncClient",
    "AnalyzeError",
    "AnalyzeRequest",
    "AnalyzeTaskError",
    "AnalyzeTaskResponse",
    "AnalyzeTaskResult",
    "AnalyzeTaskResultUsage",
    "AnalyzeTaskStatus",
    "AnalyzeTaskWebhookInfo",
    "AuthenticationError",
    "BadRequestError",
    "BatchOutcome",
    "BatchProgress",
    "ClientStateError",
    "ConflictError",
    "CreateAnalyzeTaskResponse",
    "FinishReason",
    "InternalServerError",
    "InvalidRequestError",
    "JournalError",
    "JournalMismatchError",
    "NotFoundError",
    "Omit",
    "PageInfo",
    "PermissionDeniedError",
    "PollPolicy",
    "PollTimeoutError",
    "RateLimitError",
    "RequestOptions",
    "ResponseFormat",
    "ResponseValidationError",
    "ResultParseError",
    "RetryPolicy",
    "TaskFailedError",
    "TaskOutcome",
    "TasksClient",
    "TasksListResponse",
    "UnprocessableEntityError",
    "VideoContext",
    "VideoContext_AssetId",
    "VideoContext_Base64String",
    "VideoContext_Url",
    "WebhookEvent",
    "WebhookTaskData",
    "WebhookVerificationError",
    "__version__",
    "parse_result",
    "video_from_path",
    "video_from_path_sync",
    "webhooks",
]
