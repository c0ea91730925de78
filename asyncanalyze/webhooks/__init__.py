"""Receiving the platform's webhook events: verify, parse, and (optionally) end waits early.

The platform POSTs an event when a task ends (``analyze.task.ready``, ``analyze.task.failed``,
``analyze.task.canceled``), signed with your webhook secret::

    TL-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + raw body)>

In any web framework::

    event = asyncanalyze.webhooks.unwrap(raw_body, request.headers, secret)
    # raises WebhookVerificationError -> answer 400/401; else answer 200

With aiohttp, :func:`aiohttp_handler` is a ready handler; give it your client and the waits
on the event's task (``await_result``, ``as_completed``, ``analyze_many``) finish after one
``retrieve`` instead of at their next poll. Polling stays on as the fallback, so a lost event
only costs latency.

Errors: everything that makes a request untrustworthy or unusable raises
:class:`~asyncanalyze.WebhookVerificationError`, a bad signature as well as a body that is
not an event, so one ``except`` rejects the request. :func:`verify_signature` checks only
the header, :func:`parse_event` only the body (``.body`` holds it), for those who need to
tell the two apart (the aiohttp handler answers 401 and 400 respectively).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Final

from .. import _json
from .._checks import check_text
from .._convert import WireError, structure
from .._errors import InvalidRequestError, WebhookVerificationError
from .._models import WebhookEvent, WebhookTaskData
from .._numbers import check_count, check_non_negative, check_positive
from ._handled import DEFAULT_REMEMBERED_EVENTS, HandledEvents

if TYPE_CHECKING:
    from aiohttp import web

    from .._client import AnalyzeAsyncClient

__all__ = [
    "DEFAULT_REMEMBERED_EVENTS",
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "TERMINAL_EVENT_TYPES",
    "HandledEvents",
    "WebhookEvent",
    "WebhookTaskData",
    "WebhookVerificationError",
    "aiohttp_handler",
    "parse_event",
    "unwrap",
    "verify_signature",
]

SIGNATURE_HEADER: Final = "TL-Signature"
# The platform's rule: reject a timestamp more than 5 minutes off, in either direction.
DEFAULT_TOLERANCE: Final = 300.0
TERMINAL_EVENT_TYPES: Final = frozenset(
    {"analyze.task.ready", "analyze.task.failed", "analyze.task.canceled"}
)
# A SHA-256 hex digest; anything else under v1 cannot match and is skipped, not compared.
_DIGEST_CHARS: Final = 64
_HEX: Final = frozenset("0123456789abcdef")
# Headers are small; a huge one is hostile and not worth parsing.
_MAX_HEADER_CHARS: Final = 4096

OnEvent = Callable[[WebhookEvent], Awaitable[None] | None]


def _check_secret(secret: object) -> bytes:
    if not isinstance(secret, str) or not secret:
        raise InvalidRequestError("secret", "must be the webhook's non-empty secret string")
    return secret.encode()


def _check_tolerance(tolerance: object) -> float | None:
    # NaN once slipped through (every comparison with it is False) and let a year-old
    # event in: the window is a positive, finite number of seconds or None for "no check".
    return None if tolerance is None else check_positive("tolerance", tolerance)


def _as_bytes(raw_body: object) -> bytes:
    if isinstance(raw_body, bytes):
        return raw_body
    if isinstance(raw_body, bytearray | memoryview):
        return bytes(raw_body)
    if isinstance(raw_body, str):
        try:
            return raw_body.encode()
        except UnicodeEncodeError:  # lone surrogates: not text anyone could have signed
            raise WebhookVerificationError("the raw body is not valid UTF-8 text") from None
    raise WebhookVerificationError(
        f"the raw body must be bytes (as received), got {type(raw_body).__name__}"
    )


def _parse_header(header: object) -> tuple[int, list[bytes]]:
    if not isinstance(header, str) or not header.strip():
        raise WebhookVerificationError(f"missing {SIGNATURE_HEADER} header")
    if len(header) > _MAX_HEADER_CHARS:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} header is too long")
    timestamp: int | None = None
    signatures: list[bytes] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise WebhookVerificationError(f"malformed {SIGNATURE_HEADER} header")
        key, value = key.strip(), value.strip()
        if key == "t":
            # isdigit() also accepts non-ASCII digits; int() of those would "work" silently.
            # At most 12 digits (year 33658): a longer one cannot be a real time, and would
            # overflow the float arithmetic of the tolerance check.
            if (
                timestamp is not None
                or not (value.isascii() and value.isdigit())
                or len(value) > 12
            ):
                raise WebhookVerificationError(f"malformed {SIGNATURE_HEADER} timestamp")
            timestamp = int(value)
        elif key == "v1":
            candidate = value.lower()
            if len(candidate) == _DIGEST_CHARS and set(candidate) <= _HEX:
                signatures.append(candidate.encode())
        # Other schemes (v0, a future v2) are ignored, as the platform may add them.
    if timestamp is None:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} header has no timestamp (t=)")
    if not signatures:
        raise WebhookVerificationError(f"{SIGNATURE_HEADER} header has no v1 signature")
    return timestamp, signatures


def verify_signature(
    raw_body: bytes,
    header: str,
    secret: str,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check ``header`` (the ``TL-Signature`` value) against ``raw_body`` and ``secret``.

    Passes silently or raises :class:`~asyncanalyze.WebhookVerificationError` (and nothing
    else, whatever the header holds). The body must be the bytes as received: re-encoded
    JSON does not match. Any one of several ``v1`` values may match (secret rotation). The
    timestamp may be at most ``tolerance`` seconds off ``now`` (default ``time.time()``) in
    either direction; ``tolerance=None`` skips that check (replaying stored events).
    """
    key = _check_secret(secret)
    tolerance = _check_tolerance(tolerance)
    if now is not None:
        now = check_non_negative("now", now)
    body = _as_bytes(raw_body)
    timestamp, signatures = _parse_header(header)
    expected = hmac.new(key, b"%d." % timestamp + body, hashlib.sha256).hexdigest().encode()
    # Compare with every candidate, no early exit, so timing tells nothing about which matched.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError("webhook signature does not match")
    if tolerance is not None:
        current = time.time() if now is None else now
        skew = current - timestamp
        if abs(skew) > tolerance:
            when = "in the past" if skew > 0 else "in the future"
            raise WebhookVerificationError(
                f"webhook timestamp is {abs(skew):.0f}s {when}; the tolerance is {tolerance:g}s"
            )


def parse_event(raw_body: bytes | str) -> WebhookEvent:
    """The event in ``raw_body`` (no signature check: use :func:`unwrap` for that).

    Unknown event types and fields are kept or ignored, so new platform events do not break
    a receiver. A body that is not JSON, lacks ``id``, ``type``, ``created_at`` or the
    task's ``id``/``status``/``created_at``, or whose ids are not valid Unicode text (a lone
    surrogate escaped in the JSON) raises WebhookVerificationError with ``.body``.
    """
    body = _as_bytes(raw_body)
    try:
        payload = _json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise WebhookVerificationError(
            f"webhook body is not JSON: {type(exc).__name__}", body=body
        ) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise WebhookVerificationError(
            "webhook body is not an event (an object with a data object)", body=body
        )
    try:
        event = structure(payload, WebhookEvent)
    except WireError as exc:
        raise WebhookVerificationError(f"webhook body is not an event: {exc}", body=body) from None
    try:
        # JSON may escape a lone surrogate ("\ud800"); no real event or task has one, and
        # acting on it fails later (no URL can carry it).
        check_text("id", event.id)
        check_text("data.id", event.task_id)
    except InvalidRequestError as exc:
        raise WebhookVerificationError(f"webhook {exc}", body=body) from None
    return event


def signature_header(headers: Mapping[str, str]) -> str | None:
    """``TL-Signature`` from a headers mapping, whatever the case of its name."""
    found = headers.get(SIGNATURE_HEADER)
    if found is not None:
        return found
    wanted = SIGNATURE_HEADER.lower()
    for name, value in headers.items():
        if isinstance(name, str) and name.lower() == wanted:
            return value
    return None


def unwrap(
    raw_body: bytes,
    headers_or_signature: Mapping[str, str] | str,
    secret: str,
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """Verify and parse in one step: the event, or WebhookVerificationError.

    ``headers_or_signature`` is the request's headers (any mapping; the name is matched
    case-insensitively) or the ``TL-Signature`` value itself.
    """
    header = (
        headers_or_signature
        if isinstance(headers_or_signature, str)
        else signature_header(headers_or_signature)
    )
    verify_signature(raw_body, header or "", secret, tolerance=tolerance, now=now)
    return parse_event(raw_body)


def aiohttp_handler(
    secret: str,
    *,
    on_event: OnEvent | None = None,
    client: AnalyzeAsyncClient | None = None,
    tolerance: float | None = DEFAULT_TOLERANCE,
    remember_events: int = DEFAULT_REMEMBERED_EVENTS,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp.web handler for the platform's webhook POSTs::

        app.router.add_post("/hooks/twelvelabs", aiohttp_handler(secret, client=client))

    Answers 401 to a bad or stale signature, 400 to a body that is not an event, 200 once
    the event is handled. With ``client``, the event ends that client's waits on its task
    early (see :meth:`TasksClient.deliver_webhook_event`). ``on_event`` (plain or async) is
    then called; if it raises, the handler answers 500 so the platform delivers again.

    Each event is handled once: events keep their ``id`` across deliveries, and the handler
    remembers the ids of the last ``remember_events`` events it handled successfully (a
    :class:`HandledEvents`, ~150 bytes an id; 0 turns this off). A replay of one of them, or
    a delivery arriving while the same event is being handled and then succeeds, gets 200
    without reaching the client or ``on_event``; an event whose handling failed is handled
    again when it comes back.
    """
    from ._aiohttp import make_handler  # aiohttp.web stays out of the SDK unless asked for

    return make_handler(
        _check_secret(secret).decode(),
        on_event=on_event,
        client=client,
        tolerance=_check_tolerance(tolerance),
        remember_events=check_count("remember_events", remember_events),
    )
