"""A create's body taken in within bounds: its share of body memory, a size cap, a deadline.

Separate from the create handler: these bounds protect the whole server from one client
(docs/emulator.md, "Limits"), whatever the body turns out to say.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ._limits import MemoryBudget, Reservation
from ._wire import UNAVAILABLE_MESSAGE, ApiProblem

# What a create holds per body byte: the raw bytes, the parsed text, the decoded video.
_BODY_COPIES = 3
# Real seconds a create may wait for its share of body memory, and then to receive its body:
# long enough for a queue of large uploads, short enough that a stalled sender lets go.
_BODY_WAIT_SECONDS = 60.0
_BODY_READ_SECONDS = 60.0
_BUSY = ApiProblem(503, "internal_error", UNAVAILABLE_MESSAGE)
_BODY_TIMEOUT = ApiProblem(408, "request_timeout", "The request body was not received in time.")


async def reserve_body(request: web.Request, limit: int, budget: MemoryBudget) -> Reservation:
    """Body memory for ``request``'s body (what it declares, else ``limit``), held by the
    caller until create answers; a declared body over ``limit`` is refused unread."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(limit)  # refused unread
    # Held until create answers, but the decoded video's share goes with it to its probe.
    expected = limit if declared is None else declared
    return await _take_body_memory(budget, _BODY_COPIES * expected)


async def _take_body_memory(budget: MemoryBudget, size: int) -> Reservation:
    try:
        async with asyncio.timeout(_BODY_WAIT_SECONDS):
            return await budget.take(size)
    except TimeoutError:
        raise _BUSY from None


async def read_body(request: web.Request, limit: int) -> bytes:
    # Not request.read(): it keeps the body on the request object, which aiohttp holds
    # while the connection stays open, so sixteen idle keep-alive clients kept sixteen
    # 40 MiB bodies alive after their creates had answered.
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(_BODY_READ_SECONDS):
            while chunk := await request.content.readany():
                size += len(chunk)
                if size > limit:  # chunked: no length was declared up front
                    raise _too_large(limit)
                chunks.append(chunk)
    except TimeoutError:
        raise _BODY_TIMEOUT from None
    return b"".join(chunks)


def _too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413, "content_too_large", f"The request body exceeds the maximum size of {limit} bytes."
    )
