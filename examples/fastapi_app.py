"""A FastAPI app that starts analyses, completes them in the background, and takes webhooks.

Routes:
  POST /analyses               {"video_url": ..., "prompt": ...} -> 202 {"task_id", "status"}
  GET  /analyses/{task_id}     status and result; ``?wait=N`` long-polls up to N seconds
  POST /webhooks/analyze       the platform's signed "task ended" events

Every analysis created here is awaited by a background task that records its outcome (a real
app would store it or notify someone), so a finished analysis is served without calling the
API. With a webhook secret set, the platform's events end those waits at once and polling is
only a slow safety net for a lost event.

Run it (against the emulator, no key needed)::

    python -m asyncanalyze.emulator --port 8750 --speed 20 \\
        --webhook-url http://127.0.0.1:8000/webhooks/analyze --webhook-secret s3cret &
    TWELVE_LABS_API_KEY=any ASYNCANALYZE_BASE_URL=http://127.0.0.1:8750/v1.3 \\
        ANALYZE_WEBHOOK_SECRET=s3cret python examples/fastapi_app.py --port 8000
    curl -s -XPOST localhost:8000/analyses \\
        -H 'content-type: application/json' \\
        -d '{"video_url": "https://example.com/a.mp4", "prompt": "Summarize"}'
    curl -s 'localhost:8000/analyses/<task_id>?wait=60'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeTaskResponse,
    CreateAnalyzeTaskResponse,
    InvalidRequestError,
    NotFoundError,
    PollPolicy,
    PollTimeoutError,
    TaskFailedError,
    VideoContext_Url,
    WebhookVerificationError,
)
from asyncanalyze.webhooks import HandledEvents, unwrap

# Polling when webhooks are on: the event normally ends a wait within a second of the task
# ending, so a poll is only the net for a lost event and can be rare.
WEBHOOK_FALLBACK_POLLS = PollPolicy(initial_delay=60, multiplier=1.5, max_delay=300)
# A long-poll never holds a request longer than this: proxies drop idle requests after about
# a minute, and shutdown never waits longer for one.
MAX_WAIT = 55.0


class AnalysisIn(BaseModel):
    video_url: str
    prompt: str


class Analyses:
    """Background completion: one wait per analysis created here, and the outcomes.

    Kept in memory for the example; a real app keeps ``finished`` in its database.
    """

    def __init__(self, client: AnalyzeAsyncClient, poll_policy: PollPolicy | None) -> None:
        self.client = client
        self.poll_policy = poll_policy
        self.finished: dict[str, AnalyzeTaskResponse] = {}
        self._pending: dict[str, asyncio.Event] = {}
        self._waits: set[asyncio.Task[None]] = set()

    def track(self, created: CreateAnalyzeTaskResponse) -> None:
        self._pending[created.task_id] = asyncio.Event()
        wait = asyncio.create_task(self._complete(created))
        # The set keeps a reference (asyncio holds tasks weakly) and lets shutdown cancel.
        self._waits.add(wait)
        wait.add_done_callback(self._waits.discard)

    async def _complete(self, created: CreateAnalyzeTaskResponse) -> None:
        task_id = created.task_id
        try:
            # Given the create response (not just the id), the first poll waits a full gap:
            # a task created a moment ago cannot be done yet.
            task = await self.client.tasks.await_result(created, poll_policy=self.poll_policy)
        except TaskFailedError as exc:
            task = exc.task
        except Exception:  # an outage outlasting the retries: GET still asks the API
            return
        finally:
            self._pending.pop(task_id).set()
        self.finished[task_id] = task  # a real app: save it, send the e-mail, ...

    async def wait_finished(self, task_id: str, timeout: float) -> bool | None:
        """Wait up to ``timeout`` s for a tracked task (no polling of its own); None if this
        app does not track it, else whether it finished."""
        if task_id in self.finished:
            return True
        pending = self._pending.get(task_id)
        if pending is None:
            return None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await pending.wait()
        return task_id in self.finished

    def __contains__(self, task_id: object) -> bool:
        return task_id in self.finished or task_id in self._pending

    async def aclose(self) -> None:
        # The tasks go on at the platform; a restarted app would re-track them from where it
        # keeps their ids (a database, or a journal as in examples/worker.py).
        for wait in list(self._waits):
            wait.cancel()
        await asyncio.gather(*self._waits, return_exceptions=True)


def task_json(task: AnalyzeTaskResponse) -> dict[str, Any]:
    body: dict[str, Any] = {"task_id": task.task_id, "status": task.status.value}
    if task.result is not None:
        body["result"] = task.result.data
    if task.error is not None:
        body["error"] = task.error.message
    return body


def create_app(
    client_factory: Callable[[], AnalyzeAsyncClient] = AnalyzeAsyncClient,
    *,
    webhook_secret: str | None = None,
) -> FastAPI:
    """The app. ``client_factory`` builds its one client (tests pass an emulator's)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One client for the app's life, made inside the server's loop (not at import time,
        # when no loop runs yet) and closed after the last request.
        async with client_factory() as client:
            analyses = Analyses(client, WEBHOOK_FALLBACK_POLLS if webhook_secret else None)
            app.state.client = client
            app.state.analyses = analyses
            try:
                yield
            finally:
                await analyses.aclose()

    app = FastAPI(lifespan=lifespan)
    app.state.webhook_secret = webhook_secret
    # A signed event can be replayed within its 5-minute window: act on each id once.
    app.state.handled_events = HandledEvents()
    app.include_router(router)
    return app


def get_client(request: Request) -> AnalyzeAsyncClient:
    client: AnalyzeAsyncClient = request.app.state.client
    return client


def get_analyses(request: Request) -> Analyses:
    analyses: Analyses = request.app.state.analyses
    return analyses


# Routes ask for the shared objects by type; a test or another app can override them with
# app.dependency_overrides.
Client = Annotated[AnalyzeAsyncClient, Depends(get_client)]
Completions = Annotated[Analyses, Depends(get_analyses)]


router = APIRouter()


@router.post("/analyses", status_code=202)
async def create_analysis(
    body: AnalysisIn, client: Client, analyses: Completions
) -> dict[str, Any]:
    try:
        created = await client.tasks.create(
            video=VideoContext_Url(url=body.video_url), prompt=body.prompt
        )
    except InvalidRequestError as exc:  # refused before anything was sent
        raise HTTPException(400, str(exc)) from None
    analyses.track(created)
    return {"task_id": created.task_id, "status": created.status.value}


@router.get("/analyses/{task_id}")
async def get_analysis(
    task_id: str,
    client: Client,
    analyses: Completions,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 0,
) -> dict[str, Any]:
    if wait > 0 and await analyses.wait_finished(task_id, wait):
        # Created here: the long-poll rides on the background wait and costs no request.
        return task_json(analyses.finished[task_id])
    if (done := analyses.finished.get(task_id)) is not None:
        return task_json(done)  # completed in the background: no API call
    try:
        if wait > 0 and task_id not in analyses:
            # Created elsewhere (another replica, a script): wait through the client's shared
            # scheduler, where many long-polls on one task cost one poll.
            with contextlib.suppress(PollTimeoutError):  # not done yet: answer its state
                return task_json(await client.tasks.await_result(task_id, timeout=wait))
        return task_json(await client.tasks.retrieve(task_id))
    except TaskFailedError as exc:
        return task_json(exc.task)
    except (NotFoundError, InvalidRequestError):
        raise HTTPException(404, "no such analysis") from None


@router.post("/webhooks/analyze")
async def webhook(request: Request, client: Client) -> Any:
    secret = request.app.state.webhook_secret
    if not secret:
        raise HTTPException(404, "webhooks are not configured")
    # The signature covers the exact bytes received: read the raw body, never a parsed
    # and re-encoded one.
    raw = await request.body()
    try:
        event = unwrap(raw, request.headers, secret)
    except WebhookVerificationError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    handled: HandledEvents = request.app.state.handled_events
    if event.id in handled:
        return {"duplicate": event.id}
    # Ends the background wait on that task now (one retrieve fetches the result)
    # instead of at its next poll, minutes away.
    client.tasks.deliver_webhook_event(event)
    handled.add(event.id)
    return {"received": event.id}


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    # Key and base URL from TWELVE_LABS_API_KEY / ASYNCANALYZE_BASE_URL, read at startup.
    app = create_app(webhook_secret=os.environ.get("ANALYZE_WEBHOOK_SECRET"))
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
