"""``AnalyzeAsyncClient``: configuration, lifetime, and the one request pipeline.

Pipeline: build the request once -> send -> check status -> (only on a retryable failure)
retry with backoff -> the resource decodes the body.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import os
import platform
import random
import ssl
import time
import warnings
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Final

import aiohttp
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
    RequestOptions,
    RetryPolicy,
)
from ._errors import (
    APIConnectionError,
    APIStatusError,
    ClientStateError,
    InvalidRequestError,
    RateLimitError,
)
from ._numbers import check_count, check_positive
from ._protocol import TASKS_PATH, RawResponse, encode_json, error_for_response
from ._ratelimit import RateGate
from ._retry import Sleep, retry_after_failure
from ._transport import ACCEPT_ENCODING, Transport
from ._version import __version__
from .polling import DEFAULT_BULK_INTERVAL, DEFAULT_BULK_THRESHOLD
from .resources.tasks import TasksClient

__all__ = ["AnalyzeAsyncClient"]

_log: Final = logging.getLogger("asyncanalyze")
_CREATE_ROUTE: Final = ("POST", True)
_USER_AGENT: Final = (
    f"asyncanalyze/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)


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
    except (TypeError, ValueError) as exc:
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


def _check_policy(name: str, value: object, cls: type) -> None:
    if value is not None and not isinstance(value, cls):
        raise InvalidRequestError(name, f"must be a {cls.__name__}, got {type(value).__name__}")


def _check_ssl_context(ssl_context: ssl.SSLContext | None) -> None:
    if ssl_context is not None and (
        ssl_context.verify_mode == ssl.CERT_NONE or not ssl_context.check_hostname
    ):
        # Allowed for private CAs in development, but never silently.
        warnings.warn(
            "asyncanalyze: the ssl_context given does not verify certificates or host names;"
            " the API key can be read by anyone in the middle",
            stacklevel=3,
        )


class AnalyzeAsyncClient:
    """An asyncio client for the Analyze async tasks API.

    One client owns one connection pool; share it across any number of coroutines on its
    event loop, and close it with ``async with`` or ``await client.aclose()``.

    Options (all keyword-only):
      api_key            falls back to ``TWELVE_LABS_API_KEY``; required.
      base_url           falls back to ``ASYNCANALYZE_BASE_URL``, then the platform's URL.
      timeout            seconds for one HTTP request (default 60).
      connect_timeout    seconds to open a connection (default 10).
      max_retries        retries per request (default 3); or a full ``retry_policy``.
      poll_policy        how ``await_result`` spaces its polls (:class:`PollPolicy`).
      poll_timeout       default deadline of ``await_result`` (default 3 hours; math.inf:
                         none).
      connection_limit   concurrent connections of the pool (default 100).
      session            a borrowed ``aiohttp.ClientSession``: used, never closed.
      ssl_context        a custom ``ssl.SSLContext`` (e.g. a private CA); verification stays on.
      allow_insecure_http  permit ``http://`` to a non-loopback host (the key travels in clear).
      idempotency_keys   send an Idempotency-Key with every create (default True).
      bulk_threshold     from this many tasks waited on at once, poll them with list sweeps (8).
      bulk_interval      seconds between sweeps in bulk mode (8): the worst detection lag.
      creates_per_minute your plan's create quota, if you know it: creates are spaced evenly
                         so none meets a 429 (429s are coordinated in any case).
      max_response_bytes the largest response body read, after decompression (64 MiB); a
                         larger 2xx raises ResponseTooLargeError, of an error only the
                         first 64 KiB are read.
      sleep, clock       replacements for asyncio.sleep and the loop clock, for tests: every
                         wait (retries, polls, deadlines) goes through them.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
        session: aiohttp.ClientSession | None = None,
        ssl_context: ssl.SSLContext | None = None,
        allow_insecure_http: bool = False,
        idempotency_keys: bool = True,
        default_headers: Mapping[str, str] | None = None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] | None = None,
        bulk_threshold: int = DEFAULT_BULK_THRESHOLD,
        bulk_interval: float = DEFAULT_BULK_INTERVAL,
        creates_per_minute: float | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._api_key = _resolve_api_key(api_key)
        self._base_url = _resolve_base_url(base_url, allow_insecure_http)
        check_positive("timeout", timeout)
        check_positive("connect_timeout", connect_timeout)
        check_count("connection_limit", connection_limit, minimum=1)
        check_positive("poll_timeout", poll_timeout, infinite_ok=True)
        _check_policy("retry_policy", retry_policy, RetryPolicy)
        _check_policy("poll_policy", poll_policy, PollPolicy)
        policy = retry_policy or RetryPolicy()
        if max_retries is not None:
            policy = attrs.evolve(policy, max_retries=check_count("max_retries", max_retries))
        _check_ssl_context(ssl_context)
        self.retry_policy: RetryPolicy = policy
        self.poll_policy: PollPolicy = poll_policy or PollPolicy()
        self.poll_timeout: float = float(poll_timeout)
        self.idempotency_keys = idempotency_keys
        self.sleep: Sleep = sleep or asyncio.sleep
        self.has_custom_clock = clock is not None
        if clock is not None:
            self.clock = clock  # type: ignore[method-assign]
        self.bulk_threshold = bulk_threshold
        self.bulk_interval = bulk_interval
        self.rng = random.Random()
        self._timeout = float(timeout)
        self._transport = Transport(
            session=session,
            connection_limit=connection_limit,
            connect_timeout=float(connect_timeout),
            ssl_context=ssl_context,
            max_response_bytes=check_count("max_response_bytes", max_response_bytes, minimum=1),
        )
        base_headers = {
            "x-api-key": self._api_key,
            "User-Agent": _USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
            **(default_headers or {}),
        }
        self._headers: Final = base_headers
        self._json_headers: Final = {**base_headers, "Content-Type": "application/json"}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._rate_gate = RateGate(self.clock, self.sleep, max_pause=policy.max_retry_after)
        if creates_per_minute is not None:
            rate = check_positive("creates_per_minute", creates_per_minute)
            self._rate_gate.limit(_CREATE_ROUTE, rate)
        self.tasks = TasksClient(self)

    # -- identity -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def closed(self) -> bool:
        return self._closed

    def key_digest(self, salt: str) -> str:
        """HMAC-SHA256 of the API key under ``salt``: tells keys apart (whose batch journal is
        this?) without revealing them."""
        return hmac.new(salt.encode(), self._api_key.encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        # The key is deliberately absent: reprs end up in logs and tracebacks.
        return f"AnalyzeAsyncClient(base_url={self._base_url!r})"

    def clock(self) -> float:
        """Monotonic seconds, on the loop's clock when one runs (what deadlines are based on)."""
        loop = self._loop
        return loop.time() if loop is not None else time.monotonic()

    # -- lifetime -----------------------------------------------------------------------------

    async def __aenter__(self) -> AnalyzeAsyncClient:
        self._bind_loop()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool this client opened (a borrowed session is left open).

        Batches run with ``cancel_on_exit=True`` get their running tasks canceled first.
        """
        if not self._closed:
            await self.tasks._before_close()
        self._closed = True
        await self._rate_gate.aclose()
        await self.tasks._aclose()
        await self._transport.aclose()

    def __del__(self, _warn: Any = warnings.warn) -> None:
        # Warn only; scheduling cleanup from __del__ is what causes "Event loop is closed".
        transport = getattr(self, "_transport", None)
        if transport is not None and transport.has_open_owned_session:
            _warn(
                f"unclosed {self!r}: use 'async with' or 'await client.aclose()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._closed:
            raise ClientStateError("this AnalyzeAsyncClient is closed; create a new one")
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise ClientStateError(
                "this AnalyzeAsyncClient belongs to another event loop; create one client per"
                " loop (e.g. inside the coroutine that asyncio.run() runs)"
            )
        return loop

    # -- the request pipeline -----------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
        idempotent: bool,
        headers: Mapping[str, str] | None = None,
    ) -> RawResponse:
        loop = self._bind_loop()
        if options is not None and not isinstance(options, RequestOptions):
            raise InvalidRequestError(
                "request_options", f"must be a RequestOptions, got {type(options).__name__}"
            )
        url = URL(self._base_url + path, encoded=True)
        request_headers = self._json_headers if body is not None else self._headers
        timeout = self._timeout
        policy = self.retry_policy
        # Only a per-call timeout bounds the wait for a rate-limit slot: under the client's
        # own a batch queues for its turn instead of failing.
        slot_budget = None
        if options is not None:
            # RequestOptions checked its numbers when it was built.
            if options.timeout_in_seconds is not None:
                timeout = slot_budget = float(options.timeout_in_seconds)
            if options.max_retries is not None:
                policy = attrs.evolve(policy, max_retries=options.max_retries)
            if options.additional_query_parameters:
                params = {**(params or {}), **options.additional_query_parameters}
            if options.additional_body_parameters and body is not None:
                body = {**body, **options.additional_body_parameters}
            if options.additional_headers:
                request_headers = {**request_headers, **options.additional_headers}
        # The caller's own headers win, so an Idempotency-Key passed in request_options is
        # the one sent (and makes the create safe to retry).
        if headers:
            supplied = {name.lower() for name in request_headers}
            request_headers = {
                **request_headers,
                **{k: v for k, v in headers.items() if k.lower() not in supplied},
            }
        if not idempotent:
            idempotent = any(name.lower() == "idempotency-key" for name in request_headers)
        payload = encode_json(body) if body is not None else None
        # Creates are rate-limited apart from polls: a create 429 must not stall the waits.
        route = (method, path == TASKS_PATH)  # _CREATE_ROUTE for creates
        attempt_number = 0

        async def attempt() -> RawResponse:
            nonlocal attempt_number
            attempt_number += 1
            if not self._rate_gate.admit(route):
                await self._rate_gate.wait_turn(route, budget=slot_budget)
            sent_at = self.clock()
            started = loop.time()
            try:
                response = await self._transport.send(
                    method,
                    url,
                    headers=request_headers,
                    params=params or None,
                    body=payload,
                    timeout=timeout,
                )
            except APIConnectionError as exc:
                if _log.isEnabledFor(logging.DEBUG):
                    _log.debug(
                        "%s %s -> %s (attempt %d, %.3fs)",
                        method,
                        path,
                        type(exc).__name__,
                        attempt_number,
                        loop.time() - started,
                    )
                raise
            if _log.isEnabledFor(logging.DEBUG):
                _log.debug(
                    "%s %s -> %d (attempt %d, %.3fs)",
                    method,
                    path,
                    response.status,
                    attempt_number,
                    loop.time() - started,
                )
            if 200 <= response.status < 300:
                if "x-ratelimit-remaining" in response.headers:
                    self._rate_gate.succeeded(route, response.headers)
                return response
            error = error_for_response(response)
            if isinstance(error, RateLimitError):
                # One 429 pauses every sender of this route and paces them after it.
                self._rate_gate.rate_limited(
                    route, error.retry_after, response.headers, sent_at=sent_at
                )
            raise error

        try:
            return await attempt()
        except (APIConnectionError, APIStatusError) as exc:
            return await retry_after_failure(
                exc,
                attempt,
                policy=policy,
                idempotent=idempotent,
                sleep=self._rate_gate.sleep,
                rng=self.rng,
                description=f"{method} {path}",
            )
