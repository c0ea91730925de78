"""``AnalyzeAsyncClient``: configuration, lifetime, and the resources.

The options become one frozen :class:`ClientSettings` (:mod:`._settings`); requests go
through the :class:`~._pipeline.Pipeline` (build -> gate -> send -> classify -> retry) to
a :class:`~._transport.Transport`; ``client.tasks`` is built on first use and sees only the
pipeline, through the small :class:`~._requester.Requester` interface.
"""

from __future__ import annotations

import random
import ssl
import warnings
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import aiohttp
import attrs

from ._config import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_CONNECTION_LIMIT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_POLL_TIMEOUT,
    DEFAULT_TIMEOUT,
    PollPolicy,
)
from ._errors import InvalidRequestError
from ._pipeline import Pipeline
from ._retry import RetryPolicy, Sleep
from ._settings import ClientSettings
from ._transport import AiohttpTransport, Transport
from .polling import DEFAULT_BULK_INTERVAL, DEFAULT_BULK_THRESHOLD
from .resources.tasks import TasksClient

__all__ = ["AnalyzeAsyncClient"]


def _deprecated_setter(name: str) -> property:
    """A settings field read as a client attribute, as before; assigning it still works
    but warns: the settings are one frozen value now."""

    def get(self: AnalyzeAsyncClient) -> Any:
        return getattr(self._pipeline.settings, name)

    def set_(self: AnalyzeAsyncClient, value: Any) -> None:
        warnings.warn(
            f"assigning client.{name} is deprecated: pass {name}=... to AnalyzeAsyncClient",
            DeprecationWarning,
            stacklevel=2,
        )
        pipeline = self._pipeline
        pipeline.replace_settings(attrs.evolve(pipeline.settings, **{name: value}))

    return property(get, set_, doc=f"``settings.{name}``.")


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
      transport          what sends the requests (:class:`Transport`); by default an aiohttp
                         one built from the options above. ``MockTransport(handler)`` answers
                         in memory, for tests of code that uses the client.

    All options are checked at once and kept as one frozen :class:`ClientSettings`,
    ``client.settings``.
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
        transport: Transport | None = None,
    ) -> None:
        settings = ClientSettings.resolve(
            api_key=api_key,
            base_url=base_url,
            allow_insecure_http=allow_insecure_http,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            poll_policy=poll_policy,
            poll_timeout=poll_timeout,
            connection_limit=connection_limit,
            ssl_context=ssl_context,
            idempotency_keys=idempotency_keys,
            default_headers=default_headers,
            sleep=sleep,
            clock=clock,
            bulk_threshold=bulk_threshold,
            bulk_interval=bulk_interval,
            creates_per_minute=creates_per_minute,
            max_response_bytes=max_response_bytes,
        )
        if transport is None:
            transport = AiohttpTransport(
                session=session,
                connection_limit=settings.connection_limit,
                connect_timeout=settings.connect_timeout,
                ssl_context=settings.ssl_context,
                max_response_bytes=settings.max_response_bytes,
            )
        elif not isinstance(transport, Transport):
            raise InvalidRequestError(
                "transport", f"must have send() and aclose(), got {type(transport).__name__}"
            )
        elif session is not None:
            raise InvalidRequestError("session", "cannot be used with transport=")
        self._pipeline = Pipeline(settings, transport)
        self._tasks: TasksClient | None = None

    # -- configuration ------------------------------------------------------------------------

    @property
    def settings(self) -> ClientSettings:
        """Everything this client was configured with (frozen; the key is not in its repr)."""
        return self._pipeline.settings

    @property
    def base_url(self) -> str:
        return self._pipeline.settings.base_url

    @property
    def closed(self) -> bool:
        return self._pipeline.closed

    retry_policy = _deprecated_setter("retry_policy")
    poll_policy = _deprecated_setter("poll_policy")
    poll_timeout = _deprecated_setter("poll_timeout")
    idempotency_keys = _deprecated_setter("idempotency_keys")
    bulk_threshold = _deprecated_setter("bulk_threshold")
    bulk_interval = _deprecated_setter("bulk_interval")
    sleep = _deprecated_setter("sleep")

    @property
    def has_custom_clock(self) -> bool:
        return self._pipeline.settings.clock is not None

    @property
    def rng(self) -> random.Random:
        """The random source of this client's poll jitter."""
        return self._pipeline.rng

    @rng.setter
    def rng(self, value: random.Random) -> None:
        # Assignable as before (a seeded one makes the poll jitter repeatable in tests);
        # it is read when the poll scheduler starts.
        self._pipeline.rng = value

    @property
    def tasks(self) -> TasksClient:
        """Analysis tasks: create, list, retrieve, delete, cancel, and wait for results."""
        tasks = self._tasks
        if tasks is None:
            tasks = self._tasks = TasksClient(self._pipeline)
        return tasks

    def key_digest(self, salt: str) -> str:
        """HMAC-SHA256 of the API key under ``salt``: tells keys apart (whose batch journal is
        this?) without revealing them."""
        return self._pipeline.key_digest(salt)

    def __repr__(self) -> str:
        # The key is deliberately absent: reprs end up in logs and tracebacks.
        return f"AnalyzeAsyncClient(base_url={self.base_url!r})"

    def clock(self) -> float:
        """Monotonic seconds, on the loop's clock when one runs (what deadlines are based on)."""
        return self._pipeline.clock()

    # -- lifetime -----------------------------------------------------------------------------

    async def __aenter__(self) -> AnalyzeAsyncClient:
        self._pipeline.bind_loop()
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
        await self._pipeline.aclose()

    @property
    def _transport(self) -> Transport:
        return self._pipeline.transport

    def __del__(self, _warn: Any = warnings.warn) -> None:
        # Warn only; scheduling cleanup from __del__ is what causes "Event loop is closed".
        # The pipeline and resources are let go first: the warning keeps this client alive
        # (its source), and the pool must still be collected now, its warnings with this one.
        pipeline = self.__dict__.pop("_pipeline", None)
        self.__dict__.pop("_tasks", None)
        if pipeline is not None and getattr(pipeline.transport, "has_open_owned_session", False):
            _warn(
                f"unclosed AnalyzeAsyncClient(base_url={pipeline.settings.base_url!r}): use"
                " 'async with' or 'await client.aclose()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )
