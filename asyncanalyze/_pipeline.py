"""The one request pipeline: build -> gate -> send -> classify -> (on a failure) retry.

Each step is a small method; the pure ones live in :mod:`._protocol` (classify) and
:mod:`._retry` (what may be retried, how long to wait). :class:`Pipeline` is what resources
talk to (it is the :class:`~._requester.Requester` of a client); the transport under it only
moves bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import platform
import random
import time
from collections.abc import Mapping
from typing import Any, Final

import aiohttp
import attrs
from yarl import URL

from ._config import RequestOptions
from ._errors import (
    CLIENT_CLOSED_MESSAGE,
    APIConnectionError,
    APIStatusError,
    ClientStateError,
    InvalidRequestError,
)
from ._protocol import (
    API_KEY_HEADER,
    ROUTE_METHODS,
    RawResponse,
    Request,
    Route,
    SentHeaders,
    encode_json,
    error_for_response,
    exhausted_quota,
    parse_rate_limit_headers,
)
from ._ratelimit import RateGate
from ._requester import CloseHook
from ._retry import retry_after_failure
from ._settings import ClientSettings
from ._transport import ACCEPT_ENCODING, Transport
from ._version import __version__

__all__ = ["Pipeline"]

_log: Final = logging.getLogger("asyncanalyze")
USER_AGENT: Final = (
    f"asyncanalyze/{__version__} python/{platform.python_version()} aiohttp/{aiohttp.__version__}"
)


class Pipeline:
    """Sends a client's requests: its loop binding, headers, rate gate and transport."""

    def __init__(self, settings: ClientSettings, transport: Transport) -> None:
        self.settings = settings
        self.transport = transport
        self.rng = random.Random()
        self.closed = False
        self._close_hooks: list[tuple[CloseHook, CloseHook]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        headers = {
            API_KEY_HEADER: settings.api_key,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            # The aiohttp transport inflates these itself, bounded (see _inflate).
            "Accept-Encoding": ACCEPT_ENCODING,
            **settings.default_headers,
        }
        # Built once per client: the common request sends one of these two as they are.
        self.headers: Final = SentHeaders(headers)
        self.json_headers: Final = self.headers.merged({"Content-Type": "application/json"})
        self.gate = RateGate(
            self.clock, settings.sleep, max_pause=settings.retry_policy.max_retry_after
        )
        if settings.creates_per_minute is not None:
            self.gate.limit(Route.CREATE, settings.creates_per_minute)

    def replace_settings(self, settings: ClientSettings) -> None:
        """The client's deprecated setters: requests, retries and gate waits from now on use
        ``settings``."""
        self.settings = settings
        self.gate.retune(settings.sleep, max_pause=settings.retry_policy.max_retry_after)

    # -- what resources read -------------------------------------------------------------------

    def clock(self) -> float:
        """Monotonic seconds: the settings' clock, else the loop's once one runs."""
        custom = self.settings.clock
        if custom is not None:
            return custom()
        loop = self._loop
        return loop.time() if loop is not None else time.monotonic()

    def key_digest(self, salt: str) -> str:
        return hmac.new(salt.encode(), self.settings.api_key.encode(), hashlib.sha256).hexdigest()

    def on_close(self, before: CloseHook, after: CloseHook) -> None:
        self._close_hooks.append((before, after))

    async def aclose(self) -> None:
        """Close in the order that leaves nothing behind: the hooks' ``before`` while
        requests can still go (batches cancel their tasks), then no more sending, the rate
        gate's waits ended, the hooks' ``after`` (the poll scheduler), the transport."""
        if not self.closed:
            for before, _ in self._close_hooks:
                await before()
        self.closed = True
        await self.gate.aclose()
        for _, after in self._close_hooks:
            await after()
        await self.transport.aclose()

    def check_usable(self) -> None:
        self.bind_loop()

    def bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self.closed:
            raise ClientStateError(CLIENT_CLOSED_MESSAGE)
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise ClientStateError(
                "this AnalyzeAsyncClient belongs to another event loop; create one client per"
                " loop (e.g. inside the coroutine that asyncio.run() runs)"
            )
        return loop

    # -- the pipeline --------------------------------------------------------------------------

    async def request(
        self,
        route: Route,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
        idempotency_key: str | None = None,
    ) -> RawResponse:
        self.bind_loop()
        request = self.build(route, path, params, body, options, idempotency_key)
        # Only a per-call timeout bounds the wait for a rate-limit slot: under the client's
        # own a batch queues for its turn instead of failing.
        slot_budget = request.timeout if options and options.timeout_in_seconds else None
        try:
            return await self.attempt(request, slot_budget)
        except (APIConnectionError, APIStatusError) as exc:
            policy = self.settings.retry_policy
            if options is not None and options.max_retries is not None:
                policy = attrs.evolve(policy, max_retries=options.max_retries)
            return await retry_after_failure(
                exc,
                lambda again, number: self.attempt(again, slot_budget, number),
                request,
                policy=policy,
                sleep=self.gate.sleep,
            )

    def build(
        self,
        route: Route,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
        options: RequestOptions | None,
        idempotency_key: str | None,
    ) -> Request:
        """The request as it goes out (and goes out again on a retry)."""
        headers = self.json_headers if body is not None else self.headers
        timeout = self.settings.timeout
        if options is not None:
            if not isinstance(options, RequestOptions):
                raise InvalidRequestError(
                    "request_options", f"must be a RequestOptions, got {type(options).__name__}"
                )
            # RequestOptions checked its numbers when it was built.
            if options.timeout_in_seconds is not None:
                timeout = float(options.timeout_in_seconds)
            if options.additional_query_parameters:
                params = {**(params or {}), **options.additional_query_parameters}
            if options.additional_body_parameters and body is not None:
                body = {**body, **options.additional_body_parameters}
            if options.additional_headers:
                headers = headers.merged(options.additional_headers)
        idempotent = route is not Route.CREATE
        if idempotency_key is not None or not idempotent:
            has_key = any(name.lower() == "idempotency-key" for name in headers)
            if idempotency_key is not None and not has_key:
                # An Idempotency-Key passed in request_options is the one sent (the caller's
                # own headers win), and either makes the create safe to retry.
                headers = headers.merged({"Idempotency-Key": idempotency_key})
                has_key = True
            idempotent = idempotent or has_key
        return Request(
            route,
            ROUTE_METHODS[route],
            path,
            URL(self.settings.base_url + path, encoded=True),
            headers,
            params or None,
            encode_json(body) if body is not None else None,
            timeout,
            idempotent,
        )

    async def attempt(
        self, request: Request, slot_budget: float | None, attempt_number: int = 1
    ) -> RawResponse:
        """One try: wait for the route's turn, send, and return the 2xx or raise its error."""
        gate = self.gate
        if not gate.admit(request.route):
            await gate.wait_turn(request.route, budget=slot_budget)
        sent_at = self.clock()
        started = time.perf_counter()
        try:
            response = await self.transport.send(request)
        except APIConnectionError as exc:
            if _log.isEnabledFor(logging.DEBUG):
                _log_attempt(request, type(exc).__name__, attempt_number, started)
            raise
        status = response.status
        if _log.isEnabledFor(logging.DEBUG):
            _log_attempt(request, status, attempt_number, started)
        if 200 <= status < 300:
            if "x-ratelimit-remaining" in response.headers:
                exhausted = exhausted_quota(response.headers)
                if exhausted is not None:
                    gate.exhausted(request.route, exhausted)
            return response
        raise self.classify(request, response, sent_at)

    def classify(self, request: Request, response: RawResponse, sent_at: float) -> APIStatusError:
        """The error of a non-2xx answer; a 429 also pauses and paces its route, so every
        sender of the route waits, not only this one."""
        if response.status != 429:
            return error_for_response(response)
        limits = parse_rate_limit_headers(response.headers)
        error = error_for_response(response, limits)
        retry_after = getattr(error, "retry_after", None)
        self.gate.rate_limited(request.route, retry_after, limits, sent_at=sent_at)
        return error


def _log_attempt(request: Request, outcome: object, attempt: int, started: float) -> None:
    _log.debug(
        "%s %s -> %s (attempt %d, %.3fs)",
        request.method,
        request.path,
        outcome,
        attempt,
        time.perf_counter() - started,
    )
