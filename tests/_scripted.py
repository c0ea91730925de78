"""A scripted server on MockTransport, for tests of everything above the transport.

Replies are queued per (method, path) and used in order; the last one queued with
``repeat=True`` answers from then on. A request with nothing left to answer it is a 599 with
a message saying so, so a test fails on its assertion, not on a hang.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

import attrs
from multidict import CIMultiDict, CIMultiDictProxy

from asyncanalyze import MockTransport, RawResponse, Request
from asyncanalyze._mock_transport import json_response


@attrs.frozen
class _Reply:
    response: RawResponse | None
    exception: Exception | None
    repeat: bool


class ScriptedServer:
    def __init__(self) -> None:
        self._replies: defaultdict[tuple[str, str], deque[_Reply]] = defaultdict(deque)
        self.requests: list[Request] = []
        self.transport = MockTransport(self._answer)

    def reply(
        self,
        method: str,
        path: str,
        status: int = 200,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        exception: Exception | None = None,
        repeat: bool = False,
        body: bytes | str | None = None,
    ) -> None:
        if body is not None:
            raw = body.encode() if isinstance(body, str) else body
            response = RawResponse(status, CIMultiDictProxy(CIMultiDict(headers or {})), raw)
        else:
            response = None if exception else json_response(status, payload, headers)
        self._replies[method, path].append(_Reply(response, exception, repeat))

    def get(self, path: str, **options: Any) -> None:
        self.reply("GET", path, **options)

    def post(self, path: str, **options: Any) -> None:
        self.reply("POST", path, **options)

    def delete(self, path: str, **options: Any) -> None:
        self.reply("DELETE", path, **options)

    @property
    def sent(self) -> int:
        return len(self.requests)

    def _answer(self, request: Request) -> RawResponse:
        self.requests.append(request)
        queue = self._replies.get((request.method, request.path))
        if not queue:
            return json_response(599, {"message": f"nothing scripted for {request.path}"})
        reply = queue[0] if queue[0].repeat else queue.popleft()
        if reply.exception is not None:
            raise reply.exception
        assert reply.response is not None
        return reply.response


def header(request: Request, name: str) -> str | None:
    """A header of a sent request, its name matched without regard to case."""
    for key, value in request.headers.items():
        if key.lower() == name.lower():
            return value
    return None
