"""An in-memory :class:`~._transport.Transport`: a function answers each request.

As httpx's ``MockTransport``: the client's whole pipeline (rate gate, errors, retries,
decoding, polling) runs as it would against the service, with no socket and no server::

    def handler(request: Request) -> RawResponse:
        if request.route is Route.RETRIEVE:
            return json_response(200, {"task_id": "t1", "status": "ready"})
        return json_response(404, {"code": "not_found", "message": "no such task"})

    client = AnalyzeAsyncClient(api_key="k", transport=MockTransport(handler))
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from ._errors import CLIENT_CLOSED_MESSAGE, ClientStateError
from ._protocol import RawResponse, Request, encode_json

__all__ = ["Handler", "MockTransport", "json_response"]

Handler = Callable[[Request], RawResponse | Awaitable[RawResponse]]


def json_response(
    status: int, data: Any = None, headers: Mapping[str, str] | None = None
) -> RawResponse:
    """A response whose body is ``data`` as JSON (empty for None), headers case-insensitive."""
    body = b"" if data is None else encode_json(data)
    all_headers = CIMultiDict(headers or {})
    if body:
        all_headers.setdefault("Content-Type", "application/json")
    return RawResponse(status, CIMultiDictProxy(all_headers), body)


class MockTransport:
    """Answers every request with ``handler(request)`` (a plain or an async function).

    The handler may raise ``APIConnectionError``/``APITimeoutError`` to play a network
    failure. Header names of its responses are matched without regard to case, as aiohttp's.
    """

    def __init__(self, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError("MockTransport needs a function: handler(request) -> RawResponse")
        self._handler = handler
        self._closed = False

    def __repr__(self) -> str:
        return f"MockTransport({self._handler!r})"

    @property
    def closed(self) -> bool:
        return self._closed

    async def send(self, request: Request) -> RawResponse:
        if self._closed:
            raise ClientStateError(CLIENT_CLOSED_MESSAGE)
        answer = self._handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if not isinstance(answer, RawResponse):
            raise TypeError(f"the handler must return a RawResponse, got {type(answer).__name__}")
        if not isinstance(answer.headers, CIMultiDict | CIMultiDictProxy):
            answer = RawResponse(
                answer.status, CIMultiDictProxy(CIMultiDict(answer.headers)), answer.body
            )
        return answer

    async def aclose(self) -> None:
        self._closed = True
