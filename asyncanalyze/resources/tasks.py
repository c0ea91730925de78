"""``client.tasks``: the endpoints of /analyze/tasks (create, list, retrieve, delete, cancel)
plus waiting and paging helpers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import uuid
import warnings
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable, Sequence
from os import PathLike
from typing import Any

from .. import _checks, _paging
from .._cancel_on_exit import CancelOnExit
from .._config import PollPolicy, RequestOptions
from .._create_body import CreateArguments, create_body
from .._errors import AnalyzeError, ClientStateError, InvalidRequestError
from .._journal import JournalOwner
from .._models import (
    OMIT,
    AnalysisMode,
    AnalyzeImageInput,
    AnalyzePromptV2,
    AnalyzeTaskResponse,
    AnalyzeTaskStatus,
    CancelAnalyzeTaskResponse,
    CreateAnalyzeTaskResponse,
    MaxTokens,
    ModelName,
    Omit,
    ResponseFormat,
    SegmentResponseFormat,
    TasksListResponse,
    VideoContext,
    WebhookEvent,
)
from .._numbers import check_positive
from .._protocol import (
    TASKS_PATH,
    Route,
    cancel_path,
    decode,
    decode_canceled,
    decode_created,
    decode_task,
    task_path,
)
from .._requester import Requester
from ..batch import (
    DEFAULT_BATCH_CONCURRENCY,
    AnalyzeRequest,
    BatchOutcome,
    BatchProgress,
    TaskOutcome,
    run_batch,
)
from ..polling import PollScheduler, StatusCallback, Wait

__all__ = ["TasksClient"]


class TasksClient:
    """Analysis tasks: create, list, retrieve, delete, cancel, and wait for results."""

    def __init__(self, requester: Requester) -> None:
        pipeline = getattr(requester, "_pipeline", None)
        if pipeline is not None and not hasattr(requester, "request"):
            # TasksClient(client) is how it was built before resources saw only a Requester.
            warnings.warn(
                "TasksClient(client) is deprecated: use client.tasks",
                DeprecationWarning,
                stacklevel=2,
            )
            requester = pipeline
        self._requester = requester
        self._scheduler: PollScheduler | None = None
        # analyze_many runs with cancel_on_exit: their tasks are canceled before the client
        # closes, while it can still send.
        self._exit_cancels: set[CancelOnExit] = set()
        requester.on_close(self._before_close, self._aclose)

    def __repr__(self) -> str:
        return f"TasksClient(base_url={self._requester.settings.base_url!r})"

    async def list(
        self,
        *,
        page: int | None = None,
        page_limit: int | None = None,
        status: AnalyzeTaskStatus | str | None = None,
        video_url: str | None = None,
        asset_id: str | None = None,
        analysis_mode: AnalysisMode | str | None = None,
        request_options: RequestOptions | None = None,
    ) -> TasksListResponse:
        """One page of tasks, newest first. Unset arguments are not sent.

        Filters: ``status``, ``video_url`` (the exact URL a task was created with),
        ``asset_id``, ``analysis_mode``.
        """
        params: dict[str, Any] = {}
        if (checked_page := _checks.check_page(page)) is not None:
            params["page"] = checked_page
        if (checked_limit := _checks.check_page_limit(page_limit)) is not None:
            params["page_limit"] = checked_limit
        params.update(_list_filters(status, video_url, asset_id, analysis_mode))
        response = await self._requester.request(
            Route.LIST, TASKS_PATH, params=params, options=request_options
        )
        return decode(response, TasksListResponse)

    async def iter(
        self,
        *,
        status: AnalyzeTaskStatus | str | None = None,
        video_url: str | None = None,
        asset_id: str | None = None,
        analysis_mode: AnalysisMode | str | None = None,
        page_limit: int = _checks.MAX_PAGE_LIMIT,
        request_options: RequestOptions | None = None,
    ) -> AsyncGenerator[AnalyzeTaskResponse, None]:
        """Every task across all pages, newest first: ``async for task in client.tasks.iter()``.

        Takes the filters of :meth:`list`. Pages are fetched lazily, one request per
        ``page_limit`` tasks. Tasks created while iterating shift later pages, so a task may be
        seen twice; ids make that easy to skip. A page repeating an earlier one is skipped, a
        server that keeps repeating them ends the walk, and no walk asks for more than
        ``MAX_WALK_PAGES`` pages.
        """
        filters = _list_filters(status, video_url, asset_id, analysis_mode)
        page_limit = _checks.check_page_limit(page_limit) or _checks.MAX_PAGE_LIMIT
        repeats = _paging.PageRepeats()
        for page in range(1, _paging.MAX_WALK_PAGES + 1):
            listing = await self.list(
                page=page, page_limit=page_limit, request_options=request_options, **filters
            )
            if not repeats.repeated(task.task_id for task in listing.data):
                for task in listing.data:
                    yield task
            elif repeats.lying:
                return
            if listing.is_last_page(page, page_limit):
                return

    async def create(
        self,
        *,
        video: VideoContext | Omit = OMIT,
        prompt: str | Omit = OMIT,
        temperature: float | Omit = OMIT,
        max_tokens: MaxTokens | Omit = OMIT,
        response_format: ResponseFormat | SegmentResponseFormat | dict[str, Any] | Omit = OMIT,
        model_name: ModelName | str | Omit = OMIT,
        analysis_mode: AnalysisMode | str | Omit = OMIT,
        custom_id: str | Omit = OMIT,
        image: Sequence[AnalyzeImageInput | dict[str, Any]] | Omit = OMIT,
        prompt_v2: AnalyzePromptV2 | dict[str, Any] | Omit = OMIT,
        min_segment_duration: float | Omit = OMIT,
        max_segment_duration: float | Omit = OMIT,
        start_time: float | Omit = OMIT,
        end_time: float | Omit = OMIT,
        idempotency_key: str | None = None,
        request_options: RequestOptions | None = None,
    ) -> CreateAnalyzeTaskResponse:
        """Start an analysis; returns at once with the task id.

        A ``video`` and a ``prompt`` (general analysis, the default), or a video, no prompt
        and a :class:`SegmentResponseFormat` (``analysis_mode="time_based_metadata"``), or
        ``image`` instead of the video (pegasus1.6). Only what is given is sent; every value
        and the rules between them are checked first (InvalidRequestError, nothing sent).
        ``custom_id`` comes back with the task (``task.custom_id``).

        Every create sends an ``Idempotency-Key`` (``idempotency_key`` or a fresh UUID), the
        same on each retry, so a retry after a lost response returns the first task instead
        of paying for a second. Pass your own key to make a create safe to repeat across runs.
        """
        body = create_body(
            CreateArguments(
                video=video,
                prompt=prompt,
                temperature=temperature,
                max_tokens=max_tokens,
                response_format=response_format,
                model_name=model_name,
                analysis_mode=analysis_mode,
                custom_id=custom_id,
                image=image,
                prompt_v2=prompt_v2,
                min_segment_duration=min_segment_duration,
                max_segment_duration=max_segment_duration,
                start_time=start_time,
                end_time=end_time,
            )
        )
        return await self._send_create(body, idempotency_key, request_options)

    async def _send_create(
        self,
        body: dict[str, Any],
        idempotency_key: str | None,
        request_options: RequestOptions | None = None,
    ) -> CreateAnalyzeTaskResponse:
        """POST a create body that is already checked (``wire_body()``)."""
        key = self._idempotency_key(idempotency_key)
        response = await self._requester.request(
            Route.CREATE, TASKS_PATH, body=body, options=request_options, idempotency_key=key
        )
        return decode_created(response)

    def _idempotency_key(self, explicit: str | None) -> str | None:
        if explicit is not None:
            return _checks.check_idempotency_key(explicit)
        return uuid.uuid4().hex if self._requester.settings.idempotency_keys else None

    async def retrieve(
        self, task_id: str, *, request_options: RequestOptions | None = None
    ) -> AnalyzeTaskResponse:
        """The task's current status, and its result once ``ready``.

        An answer about another task than ``task_id`` raises ResponseValidationError.
        """
        response = await self._requester.request(
            Route.RETRIEVE, task_path(task_id), options=request_options
        )
        return decode_task(response, task_id)

    async def delete(self, task_id: str, *, request_options: RequestOptions | None = None) -> None:
        """Delete a finished task (a task still in progress gets ConflictError)."""
        await self._requester.request(Route.DELETE, task_path(task_id), options=request_options)

    async def cancel(
        self,
        task: str | CreateAnalyzeTaskResponse,
        *,
        request_options: RequestOptions | None = None,
    ) -> CancelAnalyzeTaskResponse:
        """Cancel a task that is ``queued``, ``pending`` or ``processing`` (it cannot be undone).

        Returns the task id and its status, ``canceled``. Repeating the cancel answers the
        same, so it is retried like a retrieve on connection trouble, 429 and 5xx. Waits of
        this client on the task (``await_result``, ``as_completed``, ``analyze_many``) end at
        once with :class:`TaskCanceledError` (a TaskFailedError; one ``retrieve`` confirms the
        status) instead of at their next poll. The platform may send an
        ``analyze.task.canceled`` webhook; processing already under way can run on briefly.

        Errors: NotFoundError (404) for an unknown or deleted task; a task that already
        ended ``ready`` or ``failed`` cannot be canceled: ConflictError (409), or
        BadRequestError (400), the other refusal the platform's SDK declares for this call.
        """
        task_id = _task_id_of(task)
        response = await self._requester.request(
            Route.CANCEL, cancel_path(task_id), options=request_options
        )
        canceled = decode_canceled(response, task_id)
        if canceled.status.is_terminal:
            # As a webhook would: the waits on it retrieve it now instead of at their next poll.
            self._poll_scheduler().notify_terminal(task_id)
        return canceled

    def deliver_webhook_event(self, event: WebhookEvent) -> bool:
        """Tell this client's waits that the event's task has ended (opt-in webhook speed-up).

        Waits on that task (``await_result``, ``as_completed``, ``analyze_many``) then finish
        after one ``retrieve`` (events carry no result) instead of at their next poll; an
        event that arrives before the wait starts is remembered for it. Polling goes on
        regardless, so a lost event costs only latency. Returns False, doing nothing, for an
        event that is not about a task ending (or names no valid task id). Call it on the client's event loop; verify the
        event first (``asyncanalyze.webhooks.unwrap``, or ``aiohttp_handler(client=...)``).
        """
        if not isinstance(event, WebhookEvent):
            raise InvalidRequestError(
                "event", f"must be a WebhookEvent, got {type(event).__name__}"
            )
        if not event.data.status.is_terminal:
            return False
        try:
            task_path(event.data.task_id)
        except InvalidRequestError:
            return False  # not an id any wait of ours can have: nothing to speed up
        self._poll_scheduler().notify_terminal(event.data.task_id)
        return True

    def _poll_scheduler(self) -> PollScheduler:
        # A closed client, or one from another loop, must fail the call itself: otherwise
        # as_completed and analyze_many would report the same error once per item.
        requester = self._requester
        requester.check_usable()
        scheduler = self._scheduler
        if scheduler is None:
            settings = requester.settings
            scheduler = PollScheduler(
                self.retrieve,
                self._list_for_sweep,
                sleep=settings.sleep,
                clock=requester.clock,
                rng=requester.rng,
                bulk_threshold=settings.bulk_threshold,
                bulk_interval=settings.bulk_interval,
                clock_is_loop_time=settings.clock is None,
            )
            self._scheduler = scheduler
        else:
            # Cheap, and what makes a setting assigned on the client reach later waits.
            settings = requester.settings
            scheduler.retune(settings.sleep, settings.bulk_threshold, settings.bulk_interval)
        return scheduler

    async def _list_for_sweep(
        self, status: str | None, page: int, page_limit: int
    ) -> TasksListResponse:
        return await self.list(page=page, page_limit=page_limit, status=status)

    async def _before_close(self) -> None:
        """Cancel the tasks of cancel_on_exit batches still running: after this, the client
        cannot send, and those batches would end with their tasks orphaned."""
        runs = list(self._exit_cancels)
        self._exit_cancels.clear()
        await asyncio.gather(*(run.cancel_all("the client is closing") for run in runs))

    async def _aclose(self) -> None:
        if self._scheduler is not None:
            await self._scheduler.aclose()

    def _wait_settings(
        self, timeout: float | None, poll_policy: PollPolicy | None
    ) -> tuple[PollPolicy, float | None]:
        if poll_policy is not None and not isinstance(poll_policy, PollPolicy):
            # Checked here, not at the first poll: a bad policy would fail inside the shared
            # scheduler, after requests went out.
            raise InvalidRequestError(
                "poll_policy", f"must be a PollPolicy, got {type(poll_policy).__name__}"
            )
        settings = self._requester.settings
        policy = poll_policy or settings.poll_policy
        wait_for = settings.poll_timeout if timeout is None else timeout
        wait_for = check_positive("timeout", wait_for, infinite_ok=True)
        return policy, None if math.isinf(wait_for) else wait_for

    async def await_result(
        self,
        task: str | CreateAnalyzeTaskResponse,
        *,
        timeout: float | None = None,
        poll_policy: PollPolicy | None = None,
        on_status_change: StatusCallback | None = None,
    ) -> AnalyzeTaskResponse:
        """Poll until the task is terminal and return it once ``ready``.

        ``timeout`` (seconds) defaults to the client's ``poll_timeout``; ``math.inf`` waits
        for ever. Raises TaskFailedError (``.task``) when the task fails, its subclass
        TaskCanceledError when it is canceled, and PollTimeoutError (``.task``: the last
        state seen) when the deadline passes.
        ``on_status_change`` (plain or async function; keep it quick) gets the task at each
        new status. All waits of a client share one scheduler (see ``asyncanalyze.polling``).
        """
        task_id = _task_id_of(task)
        policy, deadline = self._wait_settings(timeout, poll_policy)
        if on_status_change is not None and not callable(on_status_change):
            raise InvalidRequestError("on_status_change", "must be a function or None")
        return await self._poll_scheduler().wait(
            task_id,
            policy=policy,
            timeout=deadline,
            # A task created a moment ago cannot be done yet: skip the poll that would say so.
            first_delay=policy.initial_delay if isinstance(task, CreateAnalyzeTaskResponse) else 0,
            on_status_change=on_status_change,
        )

    async def as_completed(
        self,
        tasks: Iterable[str | CreateAnalyzeTaskResponse],
        *,
        timeout: float | None = None,
        poll_policy: PollPolicy | None = None,
    ) -> AsyncGenerator[TaskOutcome, None]:
        """Yield a :class:`TaskOutcome` for each task as it ends, in completion order.

        Failures are values (``outcome.error``; TaskCanceledError for a canceled task), so
        one failed task never ends the loop.
        ``timeout`` applies to each task. Leaving the loop early, or cancelling it, stops
        polling the tasks not yet delivered.
        """
        items = list(tasks)
        task_ids = [_task_id_of(item) for item in items]
        policy, deadline = self._wait_settings(timeout, poll_policy)
        scheduler = self._poll_scheduler()
        finished: asyncio.Queue[Wait] = asyncio.Queue()
        waits: list[Wait] = []
        try:
            for item, task_id in zip(items, task_ids, strict=True):
                wait = scheduler.register(
                    task_id,
                    policy=policy,
                    timeout=deadline,
                    first_delay=(
                        policy.initial_delay if isinstance(item, CreateAnalyzeTaskResponse) else 0
                    ),
                )
                wait.future.add_done_callback(functools.partial(_put_when_done, finished, wait))
                waits.append(wait)
            for _ in range(len(waits)):
                done = await finished.get()
                yield _outcome_of(done)
        finally:
            for wait in waits:
                scheduler.discard(wait)

    async def analyze_many(
        self,
        requests: Iterable[AnalyzeRequest] | AsyncIterable[AnalyzeRequest],
        *,
        concurrency: int = DEFAULT_BATCH_CONCURRENCY,
        timeout: float | None = None,
        journal: str | PathLike[str] | None = None,
        on_progress: Callable[[BatchProgress], None] | None = None,
        cancel_on_exit: bool = False,
    ) -> AsyncGenerator[BatchOutcome, None]:
        """Create, wait for and report many tasks: one :class:`BatchOutcome` per request.

        Requests are read lazily (any iterable or async iterable, of any size) and at most
        ``concurrency`` tasks are in flight at once. Outcomes arrive as tasks finish; a failed
        request (an invalid one included: InvalidRequestError) is an outcome with ``error``
        set, never an exception that ends the loop. Only a closed client (ClientStateError)
        or an unusable journal (JournalError) ends it, raised once.

        With ``journal`` (a SQLite file path) a re-run of the same batch resumes: tasks
        already created are waited on, not created again, and finished ones are reported
        from the journal (``from_journal=True``). A journal belongs to this client's server
        and API key (JournalMismatchError otherwise). A journaled task the service no longer
        knows (404: deleted, expired) is created anew, at most once per run, and its outcome
        says ``recreated=True``; so is one that was canceled (it has no result to report),
        e.g. by ``cancel_on_exit``. ``on_progress`` gets a :class:`BatchProgress` on every
        change. A task canceled while the batch waits on it is an outcome with
        :class:`TaskCanceledError`.

        Leaving the loop early (``break``, an exception, cancelling the consumer) stops the
        waiting and creating; the tasks already created keep running at the service. With
        ``cancel_on_exit=True`` they are canceled instead: when the run ends before its last
        outcome (or the client closes under it), every task it still waits on, created or
        resumed, gets one cancel (8 at a time, 30 s in all, best effort; the result is logged
        on the ``asyncanalyze`` logger, and never raised over the reason the run ended). A
        create still on the wire at that moment may leave a task nobody knows of.
        """
        policy, deadline = self._wait_settings(timeout, None)
        if not isinstance(cancel_on_exit, bool):
            raise InvalidRequestError("cancel_on_exit", "must be True or False")
        scheduler = self._poll_scheduler()
        requester = self._requester

        async def wait_for(task_id: str) -> AnalyzeTaskResponse:
            return await scheduler.wait(
                task_id, policy=policy, timeout=deadline, first_delay=policy.initial_delay
            )

        exit_cancel = CancelOnExit(self.cancel) if cancel_on_exit else None
        if exit_cancel is not None:
            self._exit_cancels.add(exit_cancel)
        batch = run_batch(
            requests,
            create=self._send_create,
            wait_for=wait_for,
            concurrency=concurrency,
            journal=journal,
            owner=JournalOwner(requester.settings.base_url, requester.key_digest),
            on_progress=on_progress,
            exit_cancel=exit_cancel,
        )
        try:
            # Closed with this generator, not whenever the garbage collector gets to it: its
            # clean-up (stopping the waits, cancel_on_exit, the journal) happens on leaving.
            async with contextlib.aclosing(batch):
                async for outcome in batch:
                    yield outcome
        finally:
            if exit_cancel is not None:
                self._exit_cancels.discard(exit_cancel)


def _list_filters(
    status: object, video_url: object, asset_id: object, analysis_mode: object
) -> dict[str, str]:
    """The list filters that are set, checked: the query of list, iter and the CLI."""
    filters = {
        "status": _checks.check_status(status),
        "video_url": _checks.check_filter("video_url", video_url),
        "asset_id": _checks.check_filter("asset_id", asset_id),
        "analysis_mode": (
            None if analysis_mode is None else _checks.check_analysis_mode(analysis_mode)
        ),
    }
    return {name: value for name, value in filters.items() if isinstance(value, str)}


def _task_id_of(task: str | CreateAnalyzeTaskResponse) -> str:
    task_id = task.task_id if isinstance(task, CreateAnalyzeTaskResponse) else task
    task_path(task_id)  # reject a bad id before any waiting
    return task_id


def _put_when_done(queue: asyncio.Queue[Wait], wait: Wait, _: object) -> None:
    queue.put_nowait(wait)


def _outcome_of(wait: Wait) -> TaskOutcome:
    future = wait.future
    if future.cancelled():
        raise asyncio.CancelledError
    error = future.exception()
    if error is None:
        return TaskOutcome(wait.task_id, future.result(), None)
    if not isinstance(error, AnalyzeError) or isinstance(error, ClientStateError):
        raise error  # a closed client ends the loop once, not once per task
    return TaskOutcome(wait.task_id, getattr(error, "task", None), error)
