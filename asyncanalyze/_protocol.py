"""What requests look like and what responses mean, without any I/O.

Plain functions over (status, headers, body) so the hard decisions are tested without sockets.
"""

from __future__ import annotations

import enum
import math
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, Final, NamedTuple, NoReturn, Protocol, TypeVar
from urllib.parse import quote

import attrs
from yarl import URL

from ._config import DEFAULT_TIMEOUT
from ._convert import WireError, structure
from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from ._json import dumps as _dumps
from ._json import loads as _loads
from ._models import AnalyzeTaskResponse, CancelAnalyzeTaskResponse, CreateAnalyzeTaskResponse

__all__ = [
    "API_KEY_HEADER",
    "ROUTE_METHODS",
    "RateLimitHeaders",
    "RawResponse",
    "Request",
    "Route",
    "SentHeaders",
    "advised_wait",
    "cancel_path",
    "decode",
    "decode_canceled",
    "decode_created",
    "decode_task",
    "encode_json",
    "error_for_response",
    "exhausted_quota",
    "parse_rate_limit_headers",
    "parse_retry_after",
    "task_path",
]

T = TypeVar("T")

_STATUS_ERRORS: Final[dict[int, type[APIStatusError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
_REQUEST_ID_HEADERS: Final = ("x-request-id", "request-id", "x-amzn-requestid", "x-trace-id")
# Server advice beyond a day is treated as nonsense rather than obeyed.
_MAX_SANE_RETRY_AFTER: Final = 86_400.0
_BODY_EXCERPT: Final = 200
# An X-Ratelimit-Reset below this is not an epoch time (it would be before 2001) but, as some
# servers send it, the seconds until the reset.
_EPOCH_FLOOR: Final = 1_000_000_000


class Route(enum.Enum):
    """What a request does. Rate limits are kept per route (a create 429 must not stall the
    polls), and a test transport can answer by route instead of parsing paths."""

    CREATE = "create"
    RETRIEVE = "retrieve"
    LIST = "list"
    DELETE = "delete"
    CANCEL = "cancel"

    @property
    def method(self) -> str:
        """The HTTP method of this route."""
        return ROUTE_METHODS[self]


ROUTE_METHODS: Final = {
    Route.CREATE: "POST",
    Route.RETRIEVE: "GET",
    Route.LIST: "GET",
    Route.DELETE: "DELETE",
    Route.CANCEL: "POST",
}


# The header that carries the API key: sent by the pipeline, never shown by a repr.
API_KEY_HEADER: Final = "x-api-key"


def _read_only(self: object, *_: object, **__: object) -> NoReturn:
    raise TypeError("a Request's headers cannot be changed: build another Request")


class SentHeaders(dict[str, str]):
    """A request's headers: read-only (one dict is shared by every request of a client) and
    shown without the API key, so printing a Request, a tuple of them, ``_asdict()`` or a
    pytest diff never reveals it. A dict underneath, so aiohttp copies it at C speed."""

    __slots__ = ()

    __setitem__ = __delitem__ = _read_only
    clear = pop = popitem = setdefault = update = __ior__ = _read_only

    def __repr__(self) -> str:
        shown = {
            name: "<redacted>" if name.lower() == API_KEY_HEADER else value
            for name, value in self.items()
        }
        return f"SentHeaders({shown!r})"

    def merged(self, extra: Mapping[str, str]) -> SentHeaders:
        return SentHeaders({**self, **extra})

    def __reduce__(self) -> tuple[type[SentHeaders], tuple[dict[str, str]]]:
        # copy, deepcopy and pickle rebuild it whole instead of item by item.
        return SentHeaders, (dict(self),)


class Request(NamedTuple):
    """One HTTP request, built once and sent (and re-sent on a retry) as it is; immutable.

    ``path`` is the API path (``/analyze/tasks/...``), ``url`` the full URL it makes with the
    client's base URL; ``body`` is encoded JSON. ``idempotent``: repeating it cannot do the
    work twice (a GET, a DELETE, a create carrying an ``Idempotency-Key``). A named tuple
    rather than an attrs class because one is built per request: it costs half as much.
    """

    route: Route
    method: str
    path: str
    url: URL
    headers: SentHeaders
    params: Mapping[str, Any] | None = None
    body: bytes | None = None
    timeout: float = DEFAULT_TIMEOUT
    idempotent: bool = True

    def json(self) -> Any:
        """The decoded JSON body (None without one): what a test transport usually wants."""
        return None if self.body is None else _loads(self.body)


@attrs.frozen(slots=True)
class RawResponse:
    """A response as the transport read it: status, headers, the (capped) body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


TASKS_PATH: Final = "/analyze/tasks"
# URL-unreserved characters only: such an id is one path segment as it is.
_PLAIN_ID: Final = re.compile(r"[A-Za-z0-9._~-]+")


def task_path(task_id: object) -> str:
    """The path of one task, with the id escaped so it can only ever be one path segment."""
    if isinstance(task_id, str) and _PLAIN_ID.fullmatch(task_id) and task_id not in {".", ".."}:
        return f"{TASKS_PATH}/{task_id}"  # the common case: nothing to check or escape
    if not isinstance(task_id, str):
        raise InvalidRequestError("task_id", f"must be a str, got {type(task_id).__name__}")
    if not task_id.strip():
        raise InvalidRequestError("task_id", "must be a non-empty string")
    if task_id in {".", ".."} or "/" in task_id or "\\" in task_id:
        raise InvalidRequestError("task_id", f"{task_id!r} is not a task id (path characters)")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in task_id):
        raise InvalidRequestError("task_id", "must not contain control characters")
    try:
        segment = quote(task_id, safe="")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800"): no URL can carry it
        raise InvalidRequestError("task_id", "must be valid Unicode text") from None
    return f"{TASKS_PATH}/{segment}"


def cancel_path(task_id: object) -> str:
    """The cancel endpoint of one task: :func:`task_path`'s escaping, then ``/cancel``."""
    return f"{task_path(task_id)}/cancel"


def encode_json(value: Any) -> bytes:
    return _dumps(value)


def decode(response: RawResponse, cls: type[T]) -> T:
    """Turn a 2xx body into ``cls`` or raise ResponseValidationError with the raw body."""
    try:
        data = _loads(response.body)
    except (ValueError, RecursionError) as exc:
        raise ResponseValidationError(
            f"response body is not JSON ({exc})", body=response.body, status_code=response.status
        ) from exc
    try:
        return structure(data, cls)
    except (WireError, RecursionError) as exc:
        raise ResponseValidationError(
            f"response does not fit {cls.__name__}: {exc}",
            body=response.body,
            status_code=response.status,
        ) from exc


def decode_task(response: RawResponse, task_id: str) -> AnalyzeTaskResponse:
    """A retrieve's answer, refused (ResponseValidationError) unless it is ``task_id``'s.

    Another task's answer (a confused cache, proxy or server) would otherwise hand one
    wait another task's result. Ids compare without regard to case: they are hex, and a
    server may answer with its canonical spelling.
    """
    return _for_task(decode(response, AnalyzeTaskResponse), task_id, response)


def decode_canceled(response: RawResponse, task_id: str) -> CancelAnalyzeTaskResponse:
    """A cancel's answer, refused unless it is ``task_id``'s (as :func:`decode_task`)."""
    return _for_task(decode(response, CancelAnalyzeTaskResponse), task_id, response)


class _AboutATask(Protocol):
    @property
    def task_id(self) -> str: ...


_Answer = TypeVar("_Answer", bound=_AboutATask)


def _for_task(answer: _Answer, task_id: str, response: RawResponse) -> _Answer:
    if answer.task_id != task_id and answer.task_id.casefold() != task_id.casefold():
        raise ResponseValidationError(
            f"asked for task {task_id!r}, the response is for task {answer.task_id!r}",
            body=response.body,
            status_code=response.status,
        )
    return answer


def decode_created(response: RawResponse) -> CreateAnalyzeTaskResponse:
    """A create's answer, refused unless its task id is one a later request can use."""
    created = decode(response, CreateAnalyzeTaskResponse)
    try:
        task_path(created.task_id)
    except InvalidRequestError as exc:
        raise ResponseValidationError(
            f"the created task_id cannot name a task ({exc.rule})",
            body=response.body,
            status_code=response.status,
        ) from None
    return created


def _error_fields(body: bytes) -> tuple[str | None, str]:
    """(code, message) from either error shape, an empty body, or text that is not JSON."""
    if not body.strip():
        return None, ""
    try:
        data = _loads(body)
    except (ValueError, RecursionError):
        text = body.decode("utf-8", "replace").strip()
        return None, text[:_BODY_EXCERPT]
    if isinstance(data, dict):
        inner = data.get("error")
        fields = inner if isinstance(inner, dict) else data
        code = fields.get("code")
        message = fields.get("message")
        if message is None and isinstance(inner, str):
            message = inner
        return (
            code if isinstance(code, str) else None,
            message if isinstance(message, str) else "",
        )
    return None, ""


def _request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def error_for_response(
    response: RawResponse, limits: RateLimitHeaders | None = None
) -> APIStatusError:
    """The typed error for a non-2xx response (``limits``: its rate-limit headers, when the
    caller has parsed them already, so a 429 is read once)."""
    code, message = _error_fields(response.body)
    status = response.status
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "body": response.body,
        "headers": response.headers,
        "request_id": _request_id(response.headers),
    }
    if status == 429:
        retry_after = parse_retry_after(response.headers)
        if retry_after is None:
            if limits is None:
                limits = parse_rate_limit_headers(response.headers)
            retry_after = limits.reset_in
        return RateLimitError(message or "rate limited", retry_after=retry_after, **kwargs)
    if status >= 500:
        return InternalServerError(message or "server error", **kwargs)
    cls = _STATUS_ERRORS.get(status, APIStatusError)
    return cls(message or f"HTTP {status}", **kwargs)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` (seconds or HTTP date, the
    latter against the server's ``Date`` when it sends one).

    Never raises and never returns a negative, NaN or absurd value: bad advice is ignored.
    """
    millis = _finite(headers.get("retry-after-ms"))
    if millis is not None:
        return _bounded(millis / 1000.0)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _finite(raw)
    if seconds is not None:
        return _bounded(seconds)
    try:
        when = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return _bounded(when.timestamp() - _server_now(headers, now))


def _finite(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _bounded(seconds: float) -> float | None:
    if seconds > _MAX_SANE_RETRY_AFTER:
        return None
    return max(0.0, seconds)


@attrs.frozen
class RateLimitHeaders:
    """What ``X-Ratelimit-*`` say, each None when absent or unreadable.

    ``reset_in`` is the time until ``X-Ratelimit-Reset`` (UTC epoch seconds: when the current
    window ends) measured on the server's own clock, its ``Date`` header, when it sends one:
    a client whose clock is off by minutes still reads the right wait.
    """

    limit: int | None
    remaining: int | None
    reset_in: float | None


def parse_rate_limit_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> RateLimitHeaders:
    """Read ``X-Ratelimit-Limit``, ``-Remaining`` and ``-Reset``; never raises."""
    reset_in = None
    reset = _finite(headers.get("x-ratelimit-reset"))
    if reset is not None:
        if reset < _EPOCH_FLOOR:
            reset_in = _bounded(reset)
        else:
            reset_in = _bounded(reset - _server_now(headers, now))
    return RateLimitHeaders(
        limit=_count(headers.get("x-ratelimit-limit")),
        remaining=_count(headers.get("x-ratelimit-remaining")),
        reset_in=reset_in,
    )


def exhausted_quota(headers: Mapping[str, str]) -> RateLimitHeaders | None:
    """The rate-limit headers of a 2xx that says nothing is left (``X-Ratelimit-Remaining:
    0``) with a reset ahead; None otherwise, decided without parsing the rest."""
    if headers.get("x-ratelimit-remaining", "").strip() != "0":
        return None
    info = parse_rate_limit_headers(headers)
    if info.reset_in is None or info.reset_in <= 0:
        return None
    return info


def advised_wait(error: APIStatusError) -> float | None:
    """The wait the server advised with an error: a 429's (read when it was classified),
    else the ``Retry-After`` of a 503 and the like."""
    if isinstance(error, RateLimitError):
        return error.retry_after
    return parse_retry_after(error.headers)


def _server_now(headers: Mapping[str, str], now: float | None) -> float:
    """The server's clock when it answered (its Date header), else ours."""
    raw = headers.get("date")
    if raw is not None:
        try:
            when = parsedate_to_datetime(raw.strip())
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
        else:
            if when.tzinfo is not None:
                return when.timestamp()
    return time.time() if now is None else now


def _count(raw: str | None) -> int | None:
    value = _finite(raw)
    if value is None or value < 0 or value != int(value):
        return None
    return int(value)
