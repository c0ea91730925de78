"""An aiohttp web app that starts analyses and streams their progress.

Routes:
  POST /analyses                 {"video_url": ..., "prompt": ...} -> 202 {"task_id", "status"}
  GET  /analyses/{task_id}       the task's status, and its result once ready
  GET  /analyses/{task_id}/events  server-sent events: one per status change, then the result

Run it (against the emulator, no key needed)::

    python -m asyncanalyze.emulator --port 8750 --speed 20 &
    TWELVE_LABS_API_KEY=any ASYNCANALYZE_BASE_URL=http://127.0.0.1:8750/v1.3 \
        python examples/aiohttp_app.py --port 8080
    curl -s -XPOST localhost:8080/analyses \
        -d '{"video_url": "https://example.com/a.mp4", "prompt": "Summarize"}'
    curl -N localhost:8080/analyses/<task_id>/events
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeError,
    AnalyzeTaskResponse,
    InvalidRequestError,
    NotFoundError,
    TaskFailedError,
    VideoContext_Url,
)

CLIENT = web.AppKey("client", AnalyzeAsyncClient)
STREAMS: web.AppKey[weakref.WeakSet[asyncio.Task[Any]]] = web.AppKey("streams")

# How long one event stream may wait for its task, in seconds. A browser reconnects on its own
# (EventSource), so a stream does not need to outlive a proxy's idle timeout.
STREAM_TIMEOUT = 3 * 3600


def task_json(task: AnalyzeTaskResponse) -> dict[str, Any]:
    """The part of a task this app shows its users."""
    body: dict[str, Any] = {"task_id": task.task_id, "status": task.status.value}
    if task.result is not None:
        body["result"] = task.result.data
    if task.error is not None:
        body["error"] = task.error.message
    return body


def create_app(
    client_factory: Callable[[], AnalyzeAsyncClient] = AnalyzeAsyncClient,
) -> web.Application:
    """The app. ``client_factory`` builds its one client (tests pass an emulator's)."""
    app = web.Application()

    async def client_ctx(app: web.Application) -> AsyncIterator[None]:
        # One client (one connection pool, one poll scheduler) for the app's whole life, built
        # inside the running loop: a client per request would open a pool per request and
        # lose the shared scheduler that keeps many concurrent waits cheap.
        async with client_factory() as client:
            app[CLIENT] = client
            yield
        # Leaving `async with` closed the pool; cleanup_ctx runs after the streams ended.

    app[STREAMS] = weakref.WeakSet()
    app.cleanup_ctx.append(client_ctx)
    app.on_shutdown.append(end_streams)
    app.router.add_post("/analyses", create_analysis)
    app.router.add_get("/analyses/{task_id}", get_analysis)
    app.router.add_get("/analyses/{task_id}/events", stream_analysis)
    return app


async def create_analysis(request: web.Request) -> web.Response:
    try:
        payload = await request.json()
        video_url, prompt = payload["video_url"], payload["prompt"]
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": 'send {"video_url": ..., "prompt": ...}'}),
            content_type="application/json",
        ) from None
    try:
        # Returns as soon as the platform accepted the task: the handler never waits for the
        # analysis itself, which can take many minutes.
        created = await request.app[CLIENT].tasks.create(
            video=VideoContext_Url(url=video_url), prompt=prompt
        )
    except InvalidRequestError as exc:  # refused before anything was sent
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(
        {"task_id": created.task_id, "status": created.status.value}, status=202
    )


async def get_analysis(request: web.Request) -> web.Response:
    try:
        task = await request.app[CLIENT].tasks.retrieve(request.match_info["task_id"])
    except (NotFoundError, InvalidRequestError):
        return web.json_response({"error": "no such analysis"}, status=404)
    return web.json_response(task_json(task))


def status_json(task: AnalyzeTaskResponse) -> dict[str, Any]:
    # Status events stay small; the result travels once, in the final event.
    return {"task_id": task.task_id, "status": task.status.value}


def sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


async def stream_analysis(request: web.Request) -> web.StreamResponse:
    """Server-sent events: ``status`` at each change, then ``ready``, ``failed`` or ``error``."""
    client = request.app[CLIENT]
    task_id = request.match_info["task_id"]
    changes: asyncio.Queue[AnalyzeTaskResponse] = asyncio.Queue()

    # The callback only enqueues: the client calls it from its shared poll loop, so writing
    # to a slow browser from there would hold up the polls of every other waiter.
    wait = asyncio.create_task(
        client.tasks.await_result(
            task_id, timeout=STREAM_TIMEOUT, on_status_change=changes.put_nowait
        )
    )
    request.app[STREAMS].add(wait)
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    try:
        while True:
            next_change = asyncio.ensure_future(changes.get())
            await asyncio.wait({next_change, wait}, return_when=asyncio.FIRST_COMPLETED)
            if next_change.done():
                await response.write(sse("status", status_json(next_change.result())))
                continue
            next_change.cancel()
            # The wait ended: flush the changes seen before it, then its outcome.
            while not changes.empty():
                await response.write(sse("status", status_json(changes.get_nowait())))
            await response.write(final_event(wait))
            return response
    finally:
        # A browser that goes away (write fails, handler cancelled) stops this task's polls.
        wait.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await wait


def final_event(wait: asyncio.Task[AnalyzeTaskResponse]) -> bytes:
    if wait.cancelled():  # the server is shutting down: the browser reconnects elsewhere
        return sse("error", {"error": "server shutting down, reconnect"})
    error = wait.exception()
    if error is None:
        return sse("ready", task_json(wait.result()))
    if isinstance(error, TaskFailedError):
        return sse("failed", task_json(error.task))
    if isinstance(error, NotFoundError | InvalidRequestError):
        return sse("error", {"error": "no such analysis"})
    if isinstance(error, AnalyzeError):
        return sse("error", {"error": str(error)})
    raise error


async def end_streams(app: web.Application) -> None:
    # Open event streams would otherwise hold shutdown for up to its timeout; ending their
    # waits lets each send a last "reconnect" event and close before the client is closed.
    streams = app[STREAMS]
    for wait in list(streams):
        wait.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    # The client reads TWELVE_LABS_API_KEY and ASYNCANALYZE_BASE_URL when the app starts.
    web.run_app(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
