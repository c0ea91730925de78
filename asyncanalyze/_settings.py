"""``ClientSettings``: everything a client was configured with, checked once, then frozen.

The client's keyword arguments land here: :meth:`ClientSettings.resolve` applies the
environment fallbacks and every check, so a bad option fails at construction (with
``InvalidRequestError``) and the pipeline, the resources and the poll scheduler read one
value instead of a dozen client attributes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import ssl
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
from yarl import URL

from ._config import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_CONNECTION_LIMIT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_POLL_TIMEOUT,
    DEFAULT_TIMEOUT,
    PollPolicy,
)
from ._errors import InvalidRequestError
from ._numbers import check_count, check_positive
from ._retry import RetryPolicy
from .polling import DEFAULT_BULK_INTERVAL, DEFAULT_BULK_THRESHOLD

__all__ = ["ClientSettings"]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


def _is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost."}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _resolve_base_url(base_url: str | None, allow_insecure_http: bool) -> str:
    raw = base_url if base_url is not None else os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    try:
        url = URL(raw.strip())
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidRequestError("base_url", f"is not a URL ({exc})") from None
    if url.scheme not in {"http", "https"} or not url.host:
        raise InvalidRequestError("base_url", f"must be an http(s) URL with a host, got {raw!r}")
    if url.query_string or url.fragment or url.user or url.password:
        raise InvalidRequestError("base_url", "must not carry credentials, a query or a fragment")
    if url.scheme == "http" and not _is_loopback(url.host) and not allow_insecure_http:
        raise InvalidRequestError(
            "base_url",
            "plain http sends the API key in clear text; use https, a loopback address, or"
            " pass allow_insecure_http=True if you really mean it",
        )
    return str(url).rstrip("/")


def _resolve_api_key(api_key: str | None) -> str:
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    if key is None:
        raise InvalidRequestError(
            "api_key", f"is required: pass api_key=... or set the {API_KEY_ENV} variable"
        )
    if not isinstance(key, str) or not key.strip():
        raise InvalidRequestError("api_key", "must be a non-empty string")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise InvalidRequestError("api_key", "must not contain control characters")
    return key.strip()


def _check_instance(name: str, value: object, cls: type) -> None:
    if not isinstance(value, cls):
        raise InvalidRequestError(name, f"must be a {cls.__name__}, got {type(value).__name__}")


def _check_callable(name: str, value: object) -> None:
    if value is not None and not callable(value):
        raise InvalidRequestError(name, f"must be a function, got {type(value).__name__}")


def _check_ssl_context(ssl_context: ssl.SSLContext | None) -> None:
    if ssl_context is None:
        return
    _check_instance("ssl_context", ssl_context, ssl.SSLContext)
    if ssl_context.verify_mode == ssl.CERT_NONE or not ssl_context.check_hostname:
        # Allowed for private CAs in development, but never silently.
        warnings.warn(
            "asyncanalyze: the ssl_context given does not verify certificates or host names;"
            " the API key can be read by anyone in the middle",
            stacklevel=4,
        )


def _check_headers(headers: Mapping[str, str]) -> None:
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidRequestError("default_headers", "names and values must be strings")


@attrs.frozen(kw_only=True)
class ClientSettings:
    """A client's configuration (see :class:`AnalyzeAsyncClient` for each option).

    Build one with :meth:`resolve` (what the client does): it checks every value, the API key
    and base URL (with their environment fallbacks) included. ``attrs.evolve(settings, ...)``
    checks every other value again; give it a key or URL only through ``resolve``. The API key
    is left out of the repr (``attrs.asdict`` includes it: it is yours to keep).
    """

    api_key: str = attrs.field(repr=False)
    base_url: str
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    retry_policy: RetryPolicy = attrs.field(factory=RetryPolicy)
    poll_policy: PollPolicy = attrs.field(factory=PollPolicy)
    poll_timeout: float = DEFAULT_POLL_TIMEOUT
    connection_limit: int = DEFAULT_CONNECTION_LIMIT
    ssl_context: ssl.SSLContext | None = None
    idempotency_keys: bool = True
    default_headers: Mapping[str, str] = attrs.field(factory=dict)
    sleep: Sleep = asyncio.sleep
    # None: the event loop's clock (deadlines then also bound a request in flight).
    clock: Clock | None = None
    bulk_threshold: int = DEFAULT_BULK_THRESHOLD
    bulk_interval: float = DEFAULT_BULK_INTERVAL
    creates_per_minute: float | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __attrs_post_init__(self) -> None:
        # One home for the checks of the client's options (the key and URL: resolve); numbers
        # are stored as floats.
        set_ = object.__setattr__
        set_(self, "timeout", check_positive("timeout", self.timeout))
        set_(self, "connect_timeout", check_positive("connect_timeout", self.connect_timeout))
        check_count("connection_limit", self.connection_limit, minimum=1)
        set_(
            self,
            "poll_timeout",
            check_positive("poll_timeout", self.poll_timeout, infinite_ok=True),
        )
        _check_instance("retry_policy", self.retry_policy, RetryPolicy)
        _check_instance("poll_policy", self.poll_policy, PollPolicy)
        if not isinstance(self.idempotency_keys, bool):
            raise InvalidRequestError("idempotency_keys", "must be True or False")
        _check_headers(self.default_headers)
        _check_callable("sleep", self.sleep)
        _check_callable("clock", self.clock)
        check_count("bulk_threshold", self.bulk_threshold, minimum=1)
        set_(self, "bulk_interval", check_positive("bulk_interval", self.bulk_interval))
        if self.creates_per_minute is not None:
            rate = check_positive("creates_per_minute", self.creates_per_minute)
            set_(self, "creates_per_minute", rate)
        check_count("max_response_bytes", self.max_response_bytes, minimum=1)

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        allow_insecure_http: bool = False,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        ssl_context: ssl.SSLContext | None = None,
        default_headers: Mapping[str, str] | None = None,
        sleep: Sleep | None = None,
        **options: Any,
    ) -> ClientSettings:
        """The settings the client's keyword arguments mean: ``api_key`` and ``base_url``
        fall back to their environment variables, ``max_retries`` overrides the retry
        policy's, None means the default. Raises InvalidRequestError for a bad value."""
        key = _resolve_api_key(api_key)
        url = _resolve_base_url(base_url, allow_insecure_http)
        if retry_policy is None:
            retry_policy = RetryPolicy()
        _check_instance("retry_policy", retry_policy, RetryPolicy)
        if max_retries is not None:
            retry_policy = attrs.evolve(
                retry_policy, max_retries=check_count("max_retries", max_retries)
            )
        _check_ssl_context(ssl_context)
        return cls(
            api_key=key,
            base_url=url,
            retry_policy=retry_policy,
            poll_policy=PollPolicy() if poll_policy is None else poll_policy,
            ssl_context=ssl_context,
            default_headers=dict(default_headers or {}),
            sleep=asyncio.sleep if sleep is None else sleep,
            **options,
        )
