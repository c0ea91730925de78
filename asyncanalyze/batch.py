"""Many tasks at once: the request/outcome types and the engine behind ``analyze_many``.

The engine pulls requests lazily (memory stays flat for any input size), keeps at most
``concurrency`` tasks in flight, and yields one :class:`BatchOutcome` per request as each
finishes. With a journal, a re-run after a crash resumes instead of paying twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Iterable, Mapping
from os import PathLike
from typing import Any, Final

import attrs

from . import _checks
from ._convert import WireError, structure, unstructure
from ._errors import AnalyzeError, InvalidRequestError, TaskFailedError
from ._journal import Journal, open_journal
from ._models import (
    OMIT,
    AnalyzeTaskResponse,
    CreateAnalyzeTaskResponse,
    Omit,
    ResponseFormat,
    VideoContext,
)

__all__ = [
    "DEFAULT_BATCH_CONCURRENCY",
    "AnalyzeRequest",
    "BatchOutcome",
    "BatchProgress",
    "TaskOutcome",
    "run_batch",
]

# Enough tasks in flight to keep a batch moving at the platform's usual rate limits; each
# in-flight task costs only a waiter in the shared scheduler.
DEFAULT_BATCH_CONCURRENCY: Final = 50
_REQUEST_FIELDS: Final = frozenset(
    {
        "video",
        "prompt",
        "temperature",
        "max_tokens",
        "response_format",
        "idempotency_key",
        "metadata",
    }
)


@attrs.frozen
class AnalyzeRequest:
    """One create request of a batch; ``metadata`` rides along to its outcome untouched."""

    video: VideoContext
    prompt: str
    temperature: float | Omit = OMIT
    max_tokens: int | Omit = OMIT
    response_format: ResponseFormat | dict[str, Any] | Omit = OMIT
    idempotency_key: str | None = None
    metadata: Mapping[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalyzeRequest:
        """Build a request from its JSON form (one manifest line), checking every field."""
        if not isinstance(data, Mapping):
            raise InvalidRequestError("request", "must be a JSON object")
        unknown = set(data) - _REQUEST_FIELDS
        if unknown:
            raise InvalidRequestError("request", f"unknown field(s): {', '.join(sorted(unknown))}")
        if "video" not in data:
            raise InvalidRequestError("video", "is required")
        try:
            video: VideoContext = structure(data["video"], VideoContext)  # type: ignore[arg-type]
        except WireError as exc:
            raise InvalidRequestError(
                "video", f"must be {{'type': 'url'|'asset_id'|'base64_string', ...}} ({exc})"
            ) from None
        metadata = data.get("metadata")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidRequestError("metadata", "must be a JSON object")
        request = cls(
            video=video,
            prompt=data.get("prompt"),  # type: ignore[arg-type]
            temperature=data.get("temperature", OMIT),
            max_tokens=data.get("max_tokens", OMIT),
            response_format=data.get("response_format", OMIT),
            idempotency_key=data.get("idempotency_key"),
            metadata=metadata,
        )
        request.check()
        return request

    def check(self) -> None:
        """Raise InvalidRequestError if the request would be refused before sending."""
        self.wire_body()
        if self.idempotency_key is not None and (
            not isinstance(self.idempotency_key, str) or not self.idempotency_key.strip()
        ):
            raise InvalidRequestError("idempotency_key", "must be a non-empty string")

    def wire_body(self) -> dict[str, Any]:
        """The create body this request sends (checked)."""
        body: dict[str, Any] = {
            "video": unstructure(_checks.check_video(self.video)),
            "prompt": _checks.check_prompt(self.prompt),
        }
        if (temperature := _checks.check_temperature(self.temperature)) is not OMIT:
            body["temperature"] = temperature
        if (max_tokens := _checks.check_max_tokens(self.max_tokens)) is not OMIT:
            body["max_tokens"] = max_tokens
        if (response_format := _checks.check_response_format(self.response_format)) is not OMIT:
            body["response_format"] = response_format
        return body

    def fingerprint(self) -> str:
        """A stable digest of what the request asks for (not of its metadata)."""
        if self.idempotency_key is not None:
            basis: Any = {"idempotency_key": self.idempotency_key}
        else:
            basis = self.wire_body()
        canonical = json.dumps(basis, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


@attrs.frozen
class TaskOutcome:
    """How one awaited task ended: ``task`` when it reached a terminal state, ``error`` unless
    it is ready (TaskFailedError for failed/canceled, PollTimeoutError, NotFoundError, ...)."""

    task_id: str
    task: AnalyzeTaskResponse | None
    error: AnalyzeError | None

    @property
    def ok(self) -> bool:
        return self.error is None

    def result_or_raise(self) -> AnalyzeTaskResponse:
        if self.error is not None:
            raise self.error
        assert self.task is not None
        return self.task


@attrs.frozen
class BatchOutcome:
    """How one request of a batch ended (``index`` is its position in the input)."""

    index: int
    request: AnalyzeRequest
    task_id: str | None
    task: AnalyzeTaskResponse | None
    error: AnalyzeError | None
    from_journal: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (one line of a results file)."""
        task = self.task
        return {
            "index": self.index,
            "task_id": self.task_id,
            "status": task.status.value if task is not None else None,
            "result": task.result.data if task is not None and task.result else None,
            "finish_reason": (
                task.result.finish_reason.value
                if task is not None and task.result and task.result.finish_reason
                else None
            ),
            "error": None if self.error is None else str(self.error),
            "error_type": None if self.error is None else type(self.error).__name__,
            "metadata": dict(self.request.metadata) if self.request.metadata else None,
            "from_journal": self.from_journal,
        }


@attrs.frozen
class BatchProgress:
    """Counts reported to ``on_progress`` on every change. ``created`` counts tasks this run
    created; ``resumed`` those an earlier run created (from the journal), running or done."""

    submitted: int = 0
    created: int = 0
    running: int = 0
    ready: int = 0
    failed: int = 0
    resumed: int = 0


Create = Callable[[AnalyzeRequest, str | None], Awaitable[CreateAnalyzeTaskResponse]]
WaitFor = Callable[[str], Awaitable[AnalyzeTaskResponse]]
ProgressCallback = Callable[[BatchProgress], None]


class _Progress:
    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self.counts: Counter[str] = Counter()

    def bump(self, **changes: int) -> None:
        self.counts.update(changes)
        if self._callback is not None:
            self._callback(BatchProgress(**{k: self.counts[k] for k in _PROGRESS_FIELDS}))


_PROGRESS_FIELDS: Final = tuple(field.name for field in attrs.fields(BatchProgress))


async def _iterate(requests: Iterable[AnalyzeRequest] | AsyncIterable[AnalyzeRequest]) -> Any:
    if isinstance(requests, AsyncIterable):
        async for request in requests:
            yield request
    else:
        for request in requests:
            yield request


def _task_from_json(text: str) -> AnalyzeTaskResponse:
    return structure(json.loads(text), AnalyzeTaskResponse)


def _task_to_json(task: AnalyzeTaskResponse) -> str:
    return json.dumps(unstructure(task))


class _Run:
    """One batch run: the per-request work, shared state and the journal."""

    def __init__(
        self,
        create: Create,
        wait_for: WaitFor,
        journal: Journal | None,
        progress: _Progress,
    ) -> None:
        self.create = create
        self.wait_for = wait_for
        self.journal = journal
        self.progress = progress

    async def process(self, index: int, request: AnalyzeRequest, occurrence: int) -> BatchOutcome:
        journal = self.journal
        fingerprint = ""
        task_id: str | None = None
        if journal is not None:
            # The same request twice in one batch is two tasks: the occurrence tells them apart.
            fingerprint = f"{request.fingerprint()}#{occurrence}"
            entry = await journal.get(fingerprint)
            if entry is not None:
                task_id = entry.task_id
                if entry.final_task is not None:
                    return self._replayed(index, request, entry.task_id, entry.final_task)
        try:
            if task_id is None:
                key = request.idempotency_key
                if key is None and journal is not None:
                    key = (
                        "aa-"
                        + hashlib.sha256(f"{journal.salt}:{fingerprint}".encode()).hexdigest()[:40]
                    )
                created = await self.create(request, key)
                task_id = created.task_id
                if journal is not None:
                    await journal.record_created(fingerprint, task_id)
                self.progress.bump(created=1, running=1)
            else:
                self.progress.bump(resumed=1, running=1)
            try:
                task = await self.wait_for(task_id)
                error: AnalyzeError | None = None
            except TaskFailedError as exc:
                task, error = exc.task, exc
            finally:
                self.progress.bump(running=-1)
        except AnalyzeError as exc:
            self.progress.bump(failed=1)
            return BatchOutcome(index, request, task_id, getattr(exc, "task", None), exc)
        if journal is not None:
            await journal.record_final(fingerprint, _task_to_json(task))
        self.progress.bump(**({"ready": 1} if error is None else {"failed": 1}))
        return BatchOutcome(index, request, task_id, task, error)

    def _replayed(
        self, index: int, request: AnalyzeRequest, task_id: str, final_task: str
    ) -> BatchOutcome:
        task = _task_from_json(final_task)
        error = None if task.status == "ready" else TaskFailedError(task)
        self.progress.bump(resumed=1, **({"ready": 1} if error is None else {"failed": 1}))
        return BatchOutcome(index, request, task_id, task, error, from_journal=True)


async def run_batch(
    requests: Iterable[AnalyzeRequest] | AsyncIterable[AnalyzeRequest],
    *,
    create: Create,
    wait_for: WaitFor,
    concurrency: int,
    journal: str | PathLike[str] | None,
    on_progress: ProgressCallback | None,
) -> AsyncGenerator[BatchOutcome, None]:
    """Yield one outcome per request, in completion order (see ``TasksClient.analyze_many``)."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidRequestError("concurrency", "must be an int >= 1")
    opened = await open_journal(journal) if journal is not None else None
    run = _Run(create, wait_for, opened, _Progress(on_progress))
    # A slot is freed when the consumer takes an outcome, so a slow consumer slows intake
    # instead of letting finished outcomes pile up in memory.
    slots = asyncio.Semaphore(concurrency)
    outcomes: asyncio.Queue[BatchOutcome | BaseException | None] = asyncio.Queue()
    workers: set[asyncio.Task[None]] = set()

    async def work(index: int, request: AnalyzeRequest, occurrence: int) -> None:
        try:
            outcome = await run.process(index, request, occurrence)
        except Exception as exc:  # a bug of ours must surface, not vanish with the worker
            outcomes.put_nowait(exc)
            return
        outcomes.put_nowait(outcome)

    async def feed() -> None:
        seen: Counter[str] = Counter()
        index = 0
        try:
            async for request in _iterate(requests):
                await slots.acquire()
                run.progress.bump(submitted=1)
                if not isinstance(request, AnalyzeRequest):
                    slots.release()
                    raise InvalidRequestError(
                        f"requests[{index}]",
                        f"must be an AnalyzeRequest, got {type(request).__name__}",
                    )
                occurrence = 0
                if opened is not None:
                    try:
                        digest = request.fingerprint()
                    except InvalidRequestError as exc:
                        run.progress.bump(failed=1)
                        outcomes.put_nowait(BatchOutcome(index, request, None, None, exc))
                        index += 1
                        continue
                    occurrence = seen[digest]
                    seen[digest] += 1
                worker = asyncio.create_task(work(index, request, occurrence))
                workers.add(worker)
                worker.add_done_callback(workers.discard)
                index += 1
            while workers:
                await asyncio.gather(*list(workers))
        except BaseException as exc:
            outcomes.put_nowait(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        outcomes.put_nowait(None)

    feeder = asyncio.create_task(feed())
    try:
        while True:
            item = await outcomes.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            slots.release()
            yield item
    finally:
        feeder.cancel()
        for worker in list(workers):
            worker.cancel()
        await asyncio.gather(feeder, *workers, return_exceptions=True)
        if opened is not None:
            await opened.aclose()
