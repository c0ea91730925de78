"""The aiohttp.web webhook handler.

The one exception to "aiohttp.web lives only in emulator/": receiving webhooks is a server's
job, and users of an aiohttp SDK most likely serve with aiohttp too. This module is imported
only when :func:`asyncanalyze.webhooks.aiohttp_handler` is called, and nothing else in the SDK
imports it; it uses only the webhooks module and the client's public surface.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

from aiohttp import web

from .._errors import WebhookVerificationError
from .._models import WebhookEvent
from . import OnEvent, parse_event, signature_header, verify_signature
from ._handled import HandledEvents

if TYPE_CHECKING:
    from .._client import AnalyzeAsyncClient

__all__ = ["make_handler"]

_log: Final = logging.getLogger("asyncanalyze")


def make_handler(
    secret: str,
    *,
    on_event: OnEvent | None,
    client: AnalyzeAsyncClient | None,
    tolerance: float | None,
    remember_events: int,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    handled = HandledEvents(remember_events)
    # Event id -> the outcome (handled or not) of the delivery being handled right now.
    running: dict[str, asyncio.Future[bool]] = {}

    async def handle_webhook(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            verify_signature(
                raw, signature_header(request.headers) or "", secret, tolerance=tolerance
            )
        except WebhookVerificationError as exc:
            _log.info("webhook rejected (401): %s", exc)
            return web.Response(status=401, text="invalid signature\n")
        try:
            event = parse_event(raw)
        except WebhookVerificationError as exc:
            _log.info("webhook rejected (400): %s", exc)
            return web.Response(status=400, text="invalid event\n")
        # A replay (or the platform redelivering after a lost 200) is answered 200 unseen.
        # One that arrives mid-handling waits for that outcome, and if it failed, handles
        # the event itself: only a success is remembered.
        while (first := running.get(event.id)) is not None:
            if await asyncio.shield(first):
                return _duplicate()
        if event.id in handled:
            return _duplicate()
        outcome = running[event.id] = asyncio.get_running_loop().create_future()
        succeeded = False
        try:
            await _handle(event, client, on_event)
            succeeded = True
        finally:
            del running[event.id]
            outcome.set_result(succeeded)
            if succeeded:
                handled.add(event.id)
        return web.Response(status=200, text="ok\n")

    return handle_webhook


def _duplicate() -> web.Response:
    return web.Response(status=200, text="duplicate\n")


async def _handle(
    event: WebhookEvent, client: AnalyzeAsyncClient | None, on_event: OnEvent | None
) -> None:
    if client is not None:
        client.tasks.deliver_webhook_event(event)
    if on_event is not None:
        outcome = on_event(event)
        if inspect.isawaitable(outcome):
            await outcome
