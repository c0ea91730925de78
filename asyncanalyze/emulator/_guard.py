"""Around the API handlers: each request counted, faults injected, the key checked, and an
``ApiProblem`` turned into the platform's error answer; and the answers for other paths.

Separate from the handlers, which then hold only their resource's logic, and from app
assembly: the error and fault answers (shapes, empty bodies, dropped connections) have one
home. Failure machinery costs nothing unless configured.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ._clock import Clock
from ._config import EmulatorConfig, FaultConfig
from ._faults import FaultInjector
from ._ratelimit import injected_429_headers, rate_limit_message
from ._stats import Stats
from ._wire import JSON_HEADERS, UNAVAILABLE_MESSAGE, ApiProblem, error_body, not_modeled

_API_KEY_INVALID = ApiProblem(
    401,
    "api_key_invalid",
    "API Key is either invalid or expired. Please check your API key or generate a new one "
    "from the dashboard and try again.",
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Dropped(Exception):
    """The connection was closed on purpose (an injected fault): nothing is to be sent."""


@dataclass(eq=False)
class Guard:
    config: EmulatorConfig
    clock: Clock
    stats: Stats
    faults: FaultInjector

    def wrap(self, endpoint: str, handler: Handler) -> Handler:
        """Count the request, apply faults, check the key, turn ApiProblem into an answer."""
        shape = self.config.error_shape

        async def guarded(request: web.Request) -> web.StreamResponse:
            self.stats.requests[endpoint] += 1
            try:
                fault_config = self.faults.by_endpoint.get(endpoint)
                if fault_config is not None:
                    early = await self._inject(fault_config, request)
                    if early is not None:
                        return early
                return await handler(request)
            except ApiProblem as problem:
                return error_response(shape, problem)
            except Dropped:
                return web.Response(status=500)  # never reaches the client: transport is gone

        return guarded

    async def _inject(self, config: FaultConfig, request: web.Request) -> web.Response | None:
        latency = self.faults.latency(config)
        if latency:
            await asyncio.sleep(latency)
        kind = self.faults.pick(config)
        if kind is None:
            return None
        if kind == "reset":
            drop_connection(request)
        if kind == "too_many_requests":
            self.stats.rate_limit_shapes[config.rate_limit_shape] += 1
            headers = {**JSON_HEADERS, **injected_429_headers(config, self.clock.now())}
            message = rate_limit_message("injected", config.retry_after)
            body = error_body(self.config.error_shape, "too_many_requests", message)
            return _injected(429, b"" if config.empty_body else body, headers)
        status = 503 if kind == "error_503" else 500
        message = (
            UNAVAILABLE_MESSAGE
            if status == 503
            else "An internal error occurred. Please try again later."
        )
        body = error_body(self.config.error_shape, "internal_error", message)
        return _injected(status, b"" if config.empty_body else body, JSON_HEADERS)

    async def batches(self, request: web.Request) -> web.Response:
        self.stats.requests["other"] += 1
        return error_response(self.config.error_shape, not_modeled("the analyze batches API"))

    async def unknown_route(self, request: web.Request) -> web.Response:
        self.stats.requests["other"] += 1
        problem = ApiProblem(
            404,
            "resource_not_exist",
            f"The endpoint {request.method} {request.path} does not exist.",
        )
        return error_response(self.config.error_shape, problem)


def owner_of(request: web.Request, api_key: str | None) -> str:
    """The caller's key (tasks are per key); 401 without one, or with another than ``api_key``."""
    key = request.headers.get("x-api-key")
    if not key or (api_key is not None and key != api_key):
        raise _API_KEY_INVALID
    return key


def error_response(shape: Any, problem: ApiProblem) -> web.Response:
    return web.Response(status=problem.status, body=problem.body(shape), headers=JSON_HEADERS)


def _injected(status: int, body: bytes, headers: Mapping[str, str]) -> web.Response:
    if not body:
        headers = {name: value for name, value in headers.items() if name != "Content-Type"}
    return web.Response(status=status, body=body, headers=headers)


def drop_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
    raise Dropped
