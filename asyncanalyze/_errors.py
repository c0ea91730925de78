"""The exception tree. Every error the SDK raises is an ``AnalyzeError``::

    AnalyzeError
    ├── InvalidRequestError (also a ValueError)   bad input caught before any request is sent
    ├── ClientStateError (also a RuntimeError)    client closed, or used from another event loop
    ├── APIConnectionError                        no HTTP response (refused, reset, DNS)
    │   └── APITimeoutError                       the request timed out
    ├── APIStatusError                            non-2xx: .status_code .code .message .body
    │   ├── BadRequestError 400
    │   ├── AuthenticationError 401
    │   ├── PermissionDeniedError 403
    │   ├── NotFoundError 404
    │   ├── ConflictError 409
    │   ├── UnprocessableEntityError 422
    │   ├── RateLimitError 429 (.retry_after)
    │   └── InternalServerError 5xx
    ├── ResponseValidationError                   a 2xx body that does not fit the model
    │   └── ResponseTooLargeError                 ... or is over max_response_bytes
    ├── ResultParseError (also a ValueError)      result.data is not the JSON / shape asked for
    ├── WebhookVerificationError                  a webhook request to reject: signature, body
    ├── TaskFailedError                           await_result saw failed/canceled: .task
    │   └── TaskCanceledError                     ... and it was canceled
    ├── PollTimeoutError (also a TimeoutError)    await_result gave up: .task
    └── JournalError                              a batch journal unusable: damaged, locked, full
        └── JournalMismatchError                  ... or written for another server or API key

Errors carry their data as attributes; messages never include the API key because no
error is ever built from request headers. A ``.body`` keeps at most the first
``KEPT_BODY_BYTES`` of a response: errors are kept (in outcomes, in logs), bodies can be huge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from ._task_status import AnalyzeTaskStatus

if TYPE_CHECKING:
    from ._models import AnalyzeTaskResponse

__all__ = [
    "CLIENT_CLOSED_MESSAGE",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AnalyzeError",
    "AuthenticationError",
    "BadRequestError",
    "ClientStateError",
    "ConflictError",
    "InternalServerError",
    "InvalidRequestError",
    "JournalError",
    "JournalMismatchError",
    "NotFoundError",
    "PermissionDeniedError",
    "PollTimeoutError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ResponseValidationError",
    "ResultParseError",
    "TaskCanceledError",
    "TaskFailedError",
    "UnprocessableEntityError",
    "WebhookVerificationError",
]


# What every call on a closed client raises, whichever layer notices first.
CLIENT_CLOSED_MESSAGE: Final = "this AnalyzeAsyncClient is closed; create a new one"
# Enough for any error document and a useful look at a malformed one; a thousand failed
# outcomes then hold at most 64 MiB of bodies, not a thousand copies of a huge answer.
KEPT_BODY_BYTES: Final = 64 * 1024


# Statuses below 500 that a later attempt may not get again: a request timeout, "too early"
# (a replay the server wants later) and a rate limit. Every 5xx is transient too.
TRANSIENT_STATUSES: Final = frozenset({408, 425, 429})


def _kept(body: bytes) -> bytes:
    return body if len(body) <= KEPT_BODY_BYTES else body[:KEPT_BODY_BYTES]


class AnalyzeError(Exception):
    """Base class of every error raised by asyncanalyze."""


class InvalidRequestError(AnalyzeError, ValueError):
    """An argument breaks a documented rule; nothing was sent."""

    def __init__(self, parameter: str, rule: str) -> None:
        super().__init__(f"{parameter}: {rule}")
        self.parameter = parameter
        self.rule = rule


class ClientStateError(AnalyzeError, RuntimeError):
    """The client cannot be used in its current state (closed, or bound to another loop)."""


class APIConnectionError(AnalyzeError):
    """No HTTP response was received.

    ``request_sent`` is False when the failure happened before the request could reach the
    server (connection refused, DNS failure): retrying such a request can never duplicate work.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The request did not complete within its timeout."""


class APIStatusError(AnalyzeError):
    """The server answered with a non-2xx status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        detail = f"{status_code}"
        if code:
            detail += f" {code}"
        super().__init__(f"{detail}: {message}" if message else detail)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.body = _kept(body)
        self.headers: Mapping[str, str] = headers or {}
        self.request_id = request_id

    @property
    def is_transient(self) -> bool:
        """Whether the same request may succeed later (5xx, 408, 425, 429): request retries
        and polls both ask this."""
        return self.status_code >= 500 or self.status_code in TRANSIENT_STATUSES


class BadRequestError(APIStatusError):
    """400: the server rejected the request's parameters."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such task (or it belongs to another key)."""


class ConflictError(APIStatusError):
    """409: the task's state forbids it: still being processed (delete), or already ended
    ``ready``/``failed`` (cancel)."""


class UnprocessableEntityError(APIStatusError):
    """422: e.g. an unsupported JSON-schema keyword in response_format."""


class RateLimitError(APIStatusError):
    """429: slow down. ``retry_after`` is the server's advice in seconds, when given
    (``Retry-After``, else the time to ``X-Ratelimit-Reset``)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: trouble on the server's side."""


class ResponseValidationError(AnalyzeError):
    """A 2xx response whose body does not fit the expected model; ``body`` is the raw bytes
    (their first ``KEPT_BODY_BYTES``; the message gives the full size)."""

    def __init__(self, message: str, *, body: bytes, status_code: int) -> None:
        super().__init__(f"{message} (status {status_code}, {len(body):,} bytes)")
        self.body = _kept(body)
        self.status_code = status_code


class ResponseTooLargeError(ResponseValidationError):
    """A 2xx body larger than the client's ``max_response_bytes`` (``limit``), counted after
    decompression; reading stopped there. Not retried: the same request would get the same
    answer. ``body`` is the start of what was read."""

    def __init__(self, *, limit: int, body: bytes, status_code: int) -> None:
        AnalyzeError.__init__(
            self,
            f"response body is larger than max_response_bytes ({limit:,} bytes), so it was"
            f" not read further (status {status_code})",
        )
        self.body = _kept(body)
        self.status_code = status_code
        self.limit = limit


class ResultParseError(AnalyzeError, ValueError):
    """A result's text is not valid JSON, or does not fit the class asked for.

    ``text`` is the raw ``result.data``; ``target`` the class it was structured into (None
    when only JSON parsing was asked for).
    """

    def __init__(self, message: str, *, text: str, target: object = None) -> None:
        super().__init__(message)
        self.text = text
        self.target = target


class WebhookVerificationError(AnalyzeError):
    """A webhook request that must be rejected: a missing, malformed or wrong ``TL-Signature``,
    a timestamp outside the tolerance window, or a body that is not an event. ``body`` holds
    the raw bytes when the body itself was the problem."""

    def __init__(self, message: str, *, body: bytes | None = None) -> None:
        super().__init__(message)
        self.body = None if body is None else _kept(body)


# What a task that ended without saying why is reported with, wherever a reason is shown.
NO_REASON_GIVEN: Final = "no reason given"


def task_failure_reason(task: AnalyzeTaskResponse) -> str:
    """Why a task ended failed or canceled: the platform's ``error.message``, the one wording
    errors, batch outcomes and the CLI show."""
    error = task.error
    return error.message if error is not None and error.message else NO_REASON_GIVEN


class TaskFailedError(AnalyzeError):
    """The awaited task ended ``failed`` or ``canceled``; ``task`` is the final task.

    A canceled task raises the subclass :class:`TaskCanceledError`: ``TaskFailedError(task)``
    itself builds one when ``task.status`` is ``canceled`` (as ``OSError(errno.ENOENT, ...)``
    builds a FileNotFoundError), so every place that reports an ended task picks the precise
    class, and ``except TaskFailedError`` still catches both.
    """

    def __new__(cls, task: AnalyzeTaskResponse) -> TaskFailedError:
        chosen = cls
        if cls is TaskFailedError and getattr(task, "status", None) == AnalyzeTaskStatus.CANCELED:
            chosen = TaskCanceledError
        return super().__new__(chosen, task)

    def __init__(self, task: AnalyzeTaskResponse) -> None:
        self.reason = task_failure_reason(task)
        super().__init__(f"task {task.task_id} ended {task.status.value}: {self.reason}")
        self.task = task


class TaskCanceledError(TaskFailedError):
    """The awaited task was canceled (``client.tasks.cancel``, the platform's console, a batch
    cancel): ``task.status`` is ``canceled``; ``task.error``, when the platform gives a reason,
    says why (``code`` ``user_canceled`` for the cancel endpoint)."""


class PollTimeoutError(AnalyzeError, TimeoutError):
    """The wait's deadline passed; ``task`` is the last state seen (None if never fetched)."""

    def __init__(self, task_id: str, timeout: float, task: AnalyzeTaskResponse | None) -> None:
        status = task.status.value if task is not None else "unknown"
        super().__init__(f"task {task_id} not terminal after {timeout:g}s (last status: {status})")
        self.task_id = task_id
        self.timeout = timeout
        self.task = task


class JournalError(AnalyzeError):
    """A batch journal (``analyze_many(journal=...)``) cannot be used: not a journal, damaged,
    locked by another process, read-only, or the disk is full. ``path`` is the file.

    Raised once, ending the batch: a journal that cannot record would let a re-run pay for
    tasks twice. Tasks created meanwhile are not lost: a re-run with a working journal sends
    their creates again with the same Idempotency-Keys and gets the same tasks back.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"journal {path}: {problem}")
        self.path = path
        self.problem = problem


class JournalMismatchError(JournalError):
    """The journal was written for another server or another API key; nothing was sent.

    ``field`` is ``"base_url"`` or ``"api_key"``. For ``base_url``, ``recorded`` and
    ``current`` are the two URLs; for ``api_key`` both are None (a key is never shown).
    """

    def __init__(
        self,
        path: str,
        problem: str,
        *,
        field: str,
        recorded: str | None = None,
        current: str | None = None,
    ) -> None:
        super().__init__(path, problem)
        self.field = field
        self.recorded = recorded
        self.current = current
