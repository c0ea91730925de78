"""Many tasks at once: the request/outcome types and the engine behind ``analyze_many``.

The engine pulls requests lazily (memory stays flat for any input size), keeps at most
``concurrency`` tasks in flight, and yields one :class:`BatchOutcome` per request as each
finishes. Each request is checked (and, with a journal, fingerprinted) once; a large one (an
inline base64 video) in a worker thread, so the event loop never stalls on it. With a journal,
a re-run after a crash resumes instead of paying twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    Sequence,
)
from os import PathLike
from typing import Any, Final

import attrs

from . import _checks, _json
from ._cancel_on_exit import CancelOnExit
from ._convert import WireError, structure, unstructure
from ._create_body import create_body
from ._errors import (
    AnalyzeError,
    ClientStateError,
    InvalidRequestError,
    JournalError,
    NotFoundError,
    TaskCanceledError,
    TaskFailedError,
    task_failure_reason,
)
from ._fingerprint import canonical_digest
from ._journal import Journal, JournalEntry, JournalOwner, open_journal
from ._media_inputs import as_model
from ._models import (
    OMIT,
    AnalysisMode,
    AnalyzeImageInput,
    AnalyzePromptV2,
    AnalyzeTaskResponse,
    AnalyzeTaskStatus,
    CreateAnalyzeTaskResponse,
    MaxTokens,
    ModelName,
    Omit,
    ResponseFormat,
    SegmentResponseFormat,
    VideoContext,
    VideoContext_Base64String,
)
from ._numbers import check_count
from ._protocol import task_path
from ._segments import SEGMENT_FORMAT_TYPE

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
_WIRE_FIELDS: Final = (
    "video",
    "image",
    "prompt",
    "prompt_v2",
    "model_name",
    "analysis_mode",
    "custom_id",
    "temperature",
    "max_tokens",
    "response_format",
    "min_segment_duration",
    "max_segment_duration",
    "start_time",
    "end_time",
)
_REQUEST_FIELDS: Final = frozenset({*_WIRE_FIELDS, "idempotency_key", "metadata"})


@attrs.frozen
class AnalyzeRequest:
    """One create request of a batch: the parameters of ``tasks.create`` (unset ones are not
    sent); ``metadata`` rides along to its outcome untouched, ``custom_id`` too (and to the
    platform, which returns it with the task)."""

    video: VideoContext | Omit = OMIT
    prompt: str | Omit = OMIT
    temperature: float | Omit = OMIT
    max_tokens: MaxTokens | Omit = OMIT
    response_format: ResponseFormat | SegmentResponseFormat | dict[str, Any] | Omit = OMIT
    idempotency_key: str | None = None
    metadata: Mapping[str, Any] | None = None
    model_name: ModelName | str | Omit = attrs.field(default=OMIT, kw_only=True)
    analysis_mode: AnalysisMode | str | Omit = attrs.field(default=OMIT, kw_only=True)
    custom_id: str | Omit = attrs.field(default=OMIT, kw_only=True)
    image: Sequence[AnalyzeImageInput | dict[str, Any]] | Omit = attrs.field(
        default=OMIT, kw_only=True
    )
    prompt_v2: AnalyzePromptV2 | dict[str, Any] | Omit = attrs.field(default=OMIT, kw_only=True)
    min_segment_duration: float | Omit = attrs.field(default=OMIT, kw_only=True)
    max_segment_duration: float | Omit = attrs.field(default=OMIT, kw_only=True)
    start_time: float | Omit = attrs.field(default=OMIT, kw_only=True)
    end_time: float | Omit = attrs.field(default=OMIT, kw_only=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalyzeRequest:
        """Build a request from its JSON form (one manifest line: the API's field names plus
        ``idempotency_key`` and ``metadata``), checking every field."""
        if not isinstance(data, Mapping):
            raise InvalidRequestError("request", "must be a JSON object")
        unknown = set(data) - _REQUEST_FIELDS
        if unknown:
            raise InvalidRequestError("request", f"unknown field(s): {', '.join(sorted(unknown))}")
        given = {name: data[name] for name in _WIRE_FIELDS if name in data}
        if "video" in given:
            try:
                given["video"] = structure(given["video"], VideoContext)  # type: ignore[arg-type]
            except WireError as exc:
                raise InvalidRequestError(
                    "video", f"must be {{'type': 'url'|'asset_id'|'base64_string', ...}} ({exc})"
                ) from None
        given.update(_as_models(given))
        metadata = data.get("metadata")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidRequestError("metadata", "must be a JSON object")
        request = cls(idempotency_key=data.get("idempotency_key"), metadata=metadata, **given)
        request.check()
        return request

    def check(self) -> None:
        """Raise InvalidRequestError if the request would be refused before sending."""
        self._checked_body()

    def wire_body(self) -> dict[str, Any]:
        """The create body this request sends (checked; structured values copied as plain
        JSON, see ``MAX_JSON_DEPTH``)."""
        return create_body(self)

    def _checked_body(self) -> dict[str, Any]:
        """``wire_body()`` after checking every field, ``idempotency_key`` included."""
        body = self.wire_body()
        _checks.check_idempotency_key(self.idempotency_key)
        return body

    def fingerprint(self) -> str:
        """A stable digest of what the request asks for (not of its metadata)."""
        return self._fingerprint_of(self.wire_body())

    def _fingerprint_of(self, body: Mapping[str, Any]) -> str:
        """``fingerprint()`` given this request's ``wire_body()``, without checking it again.

        The digest of the body's canonical JSON, or of ``idempotency_key`` when there is one;
        the same digest as earlier versions computed, so old journals still resume.
        """
        if self.idempotency_key is not None:
            return canonical_digest({"idempotency_key": self.idempotency_key})
        return canonical_digest(body)


def _as_models(given: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest line's structured values as models, whose reprs never print a base64
    image whole (a batch outcome's repr shows its request); other shapes are left for the
    checks to name."""
    typed: dict[str, Any] = {}
    image = given.get("image")
    if isinstance(image, list):
        typed["image"] = [
            as_model(f"image[{position}]", item, AnalyzeImageInput)
            for position, item in enumerate(image)
        ]
    if isinstance(given.get("prompt_v2"), Mapping):
        typed["prompt_v2"] = as_model("prompt_v2", given["prompt_v2"], AnalyzePromptV2)
    response_format = given.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") == SEGMENT_FORMAT_TYPE:
        typed["response_format"] = as_model(
            "response_format", response_format, SegmentResponseFormat
        )
    return typed


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
    """How one request of a batch ended (``index`` is its position in the input).

    ``from_journal``: reported from the journal, the service not asked again.
    ``recreated``: the journal's task was unknown to the service (404: deleted, expired),
    so the request was created anew (at most once per run).
    """

    index: int
    request: AnalyzeRequest
    task_id: str | None
    task: AnalyzeTaskResponse | None
    error: AnalyzeError | None
    from_journal: bool = False
    recreated: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def failure_reason(self) -> str | None:
        """Why the request failed, in one line (None if it did not): the task's own reason
        when it ended failed or canceled, else the error's type and message."""
        error = self.error
        if error is None:
            return None
        if isinstance(error, TaskFailedError):
            return error.reason
        if self.task is not None and self.task.error is not None:
            return task_failure_reason(self.task)
        return f"{type(error).__name__}: {error}"

    @property
    def custom_id(self) -> str | None:
        """The request's ``custom_id`` (None if it has none), even when no task was made."""
        custom_id = self.request.custom_id
        return custom_id if isinstance(custom_id, str) else None

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
            "custom_id": self.custom_id,
            "from_journal": self.from_journal,
            "recreated": self.recreated,
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


Create = Callable[[dict[str, Any], str | None], Awaitable[CreateAnalyzeTaskResponse]]
"""Send a checked create body with an Idempotency-Key (None: the client's usual key)."""
WaitFor = Callable[[str], Awaitable[AnalyzeTaskResponse]]
ProgressCallback = Callable[[BatchProgress], None]

_log: Final = logging.getLogger("asyncanalyze")
# Above this many characters of prompt and inline video, checking and fingerprinting a request
# (~5 ms per MiB) runs in a worker thread instead of on the event loop.
_OFF_LOOP_CHARS: Final = 256 * 1024


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


@attrs.frozen
class _Prepared:
    """A request checked once: the body to send and, with a journal, its fingerprint."""

    body: dict[str, Any]
    digest: str | None


def _prepare(request: AnalyzeRequest, fingerprinted: bool) -> _Prepared:
    body = request._checked_body()
    return _Prepared(body, request._fingerprint_of(body) if fingerprinted else None)


def _size(request: AnalyzeRequest) -> int:
    """Characters of prompt and inline media: what checking and fingerprinting cost."""
    size = len(request.prompt) if isinstance(request.prompt, str) else 0
    video = request.video
    if isinstance(video, VideoContext_Base64String) and isinstance(video.base64_string, str):
        size += len(video.base64_string)
    images = list(_items(request.image))
    images += _items(_field(request.prompt_v2, "media_sources"))
    for definition in _items(_field(request.response_format, "segment_definitions")):
        images += _items(_field(definition, "media_sources"))
    for image in images:
        inline = _field(image, "base64_string")
        size += len(inline) if isinstance(inline, str) else 0
    return size


def _field(value: object, name: str) -> object:
    """``value.name`` or ``value[name]``: a model or its JSON form, whichever was given."""
    return value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


async def _prepared(request: AnalyzeRequest, fingerprinted: bool) -> _Prepared:
    if _size(request) > _OFF_LOOP_CHARS:
        return await asyncio.to_thread(_prepare, request, fingerprinted)
    return _prepare(request, fingerprinted)


def _derived_key(salt: str, fingerprint: str, generation: int) -> str:
    """The Idempotency-Key of a journaled request: the same in every run of one journal, and a
    new one for each time the task had to be created anew."""
    basis = f"{salt}:{fingerprint}" if generation == 0 else f"{salt}:{fingerprint}:{generation}"
    return "aa-" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def _usable_task_id(task_id: str) -> bool:
    try:
        task_path(task_id)
    except InvalidRequestError:
        return False
    return True


def _task_from_json(text: str) -> AnalyzeTaskResponse | None:
    """The journaled final task, or None if the row cannot be read back."""
    try:
        return structure(_json.loads(text), AnalyzeTaskResponse)
    except (ValueError, WireError, RecursionError):
        return None


def _task_to_json(task: AnalyzeTaskResponse) -> str:
    return _json.dumps_text(unstructure(task))


@attrs.frozen
class _Claim:
    """A request's place in the journal: its fingerprint and what an earlier run recorded."""

    fingerprint: str
    entry: JournalEntry | None


class _Run:
    """One batch run: the per-request work, shared state and the journal."""

    def __init__(
        self,
        create: Create,
        wait_for: WaitFor,
        journal: Journal | None,
        progress: _Progress,
        exit_cancel: CancelOnExit | None = None,
    ) -> None:
        self.create = create
        self.wait_for = wait_for
        self.journal = journal
        self.progress = progress
        self.exit_cancel = exit_cancel

    async def process(
        self, index: int, request: AnalyzeRequest, prepared: _Prepared, claim: _Claim | None
    ) -> BatchOutcome:
        """The request's outcome. ClientStateError and JournalError end the whole batch, so
        they propagate; every other error is this request's outcome."""
        task_id: str | None = None
        entry = claim.entry if claim is not None else None
        generation = entry.generation if entry is not None else 0
        # A journaled task that was canceled has no result to report: a re-run, whose job is
        # to finish the batch, creates it anew, as it does for one the service lost (below).
        recreate_now = False
        if entry is not None and _usable_task_id(entry.task_id):
            task_id = entry.task_id
            if entry.final_task is not None:
                final = _task_from_json(entry.final_task)
                if final is not None and final.status != AnalyzeTaskStatus.CANCELED:
                    return self._replayed(index, request, task_id, final)
                if final is None:
                    _log.warning(
                        "journal: unreadable result for task %s; fetching it again", task_id
                    )
                recreate_now = final is not None
        # Anything else recorded (a damaged row) counts as absent: the create goes out again
        # with the same Idempotency-Key, and the service answers with the task it made.
        resumed = task_id is not None
        recreated = False
        try:
            if task_id is None or recreate_now:
                if recreate_now:
                    generation += 1
                    recreated = True
                task_id = await self._create(request, prepared, claim, generation)
                self.progress.bump(created=1, running=1)
            else:
                self.progress.bump(resumed=1, running=1)
            try:
                lost = False
                try:
                    task, error = await self._wait(task_id)
                except NotFoundError:
                    if not resumed or recreated:
                        raise
                    lost = True
                if resumed and not recreated and (lost or isinstance(error, TaskCanceledError)):
                    # The journal's task will never have a result: the service no longer knows
                    # it (deleted, expired) or it was canceled (e.g. by an earlier run's
                    # cancel_on_exit). Create it anew, once per run, under a new key so the
                    # old one cannot answer with the old task.
                    generation += 1
                    task_id = await self._create(request, prepared, claim, generation)
                    recreated = True
                    self.progress.bump(created=1)
                    task, error = await self._wait(task_id)
            finally:
                self.progress.bump(running=-1)
        except (ClientStateError, JournalError):
            raise
        except AnalyzeError as exc:
            self.progress.bump(failed=1)
            return BatchOutcome(
                index, request, task_id, getattr(exc, "task", None), exc, recreated=recreated
            )
        if self.journal is not None and claim is not None:
            await self.journal.record_final(claim.fingerprint, _task_to_json(task))
        self.progress.bump(**({"ready": 1} if error is None else {"failed": 1}))
        return BatchOutcome(index, request, task_id, task, error, recreated=recreated)

    async def _create(
        self, request: AnalyzeRequest, prepared: _Prepared, claim: _Claim | None, generation: int
    ) -> str:
        key = request.idempotency_key if generation == 0 else None
        journal = self.journal
        if key is None and journal is not None and claim is not None:
            key = _derived_key(journal.salt, claim.fingerprint, generation)
        created = await self.create(prepared.body, key)
        if self.exit_cancel is not None:
            self.exit_cancel.track(created.task_id)  # from the moment its id is known
        if journal is not None and claim is not None:
            await journal.record_created(claim.fingerprint, created.task_id, generation)
        return created.task_id

    async def _wait(self, task_id: str) -> tuple[AnalyzeTaskResponse, AnalyzeError | None]:
        exit_cancel = self.exit_cancel
        if exit_cancel is not None:
            exit_cancel.track(task_id)
        settled = True
        try:
            return await self.wait_for(task_id), None
        except TaskFailedError as exc:
            return exc.task, exc
        except (asyncio.CancelledError, ClientStateError):
            settled = False  # the run ends with the task still running: cancel_on_exit's case
            raise
        finally:
            if settled and exit_cancel is not None:
                exit_cancel.untrack(task_id)

    def _replayed(
        self, index: int, request: AnalyzeRequest, task_id: str, task: AnalyzeTaskResponse
    ) -> BatchOutcome:
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
    owner: JournalOwner | None = None,
    on_progress: ProgressCallback | None,
    exit_cancel: CancelOnExit | None = None,
) -> AsyncGenerator[BatchOutcome, None]:
    """Yield one outcome per request, in completion order (see ``TasksClient.analyze_many``).

    ``owner`` (the client's server and key) is checked against the journal's. With
    ``exit_cancel``, the tasks still waited on when the run ends early are canceled.
    """
    check_count("concurrency", concurrency, minimum=1)
    if journal is not None and not isinstance(journal, str | PathLike):
        raise InvalidRequestError("journal", f"must be a file path, got {type(journal).__name__}")
    opened = await open_journal(journal, owner) if journal is not None else None
    run = _Run(create, wait_for, opened, _Progress(on_progress), exit_cancel)
    # A slot is freed when the consumer takes an outcome, so a slow consumer slows intake
    # instead of letting finished outcomes pile up in memory.
    slots = asyncio.Semaphore(concurrency)
    outcomes: asyncio.Queue[BatchOutcome | BaseException | None] = asyncio.Queue()
    workers: set[asyncio.Task[None]] = set()

    async def work(
        index: int, request: AnalyzeRequest, prepared: _Prepared, claim: _Claim | None
    ) -> None:
        try:
            outcome = await run.process(index, request, prepared, claim)
        except Exception as exc:  # the batch's end (or a bug of ours): it must surface
            outcomes.put_nowait(exc)
            return
        outcomes.put_nowait(outcome)

    async def feed() -> None:
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
                try:
                    prepared = await _prepared(request, fingerprinted=opened is not None)
                except InvalidRequestError as exc:
                    run.progress.bump(failed=1)
                    outcomes.put_nowait(BatchOutcome(index, request, None, None, exc))
                else:
                    claim = None
                    if opened is not None:
                        assert prepared.digest is not None
                        claim = _Claim(*await opened.claim(prepared.digest))
                    worker = asyncio.create_task(work(index, request, prepared, claim))
                    workers.add(worker)
                    worker.add_done_callback(workers.discard)
                index += 1
                # Let the waits, the consumer and the loop's I/O run between requests.
                await asyncio.sleep(0)
            while workers:
                await asyncio.gather(*list(workers))
        except BaseException as exc:
            outcomes.put_nowait(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        outcomes.put_nowait(None)

    feeder = asyncio.create_task(feed())
    ended_early: str | None = "the loop was left early"
    try:
        while True:
            item = await outcomes.get()
            if item is None:
                ended_early = None
                return
            if isinstance(item, BaseException):
                raise item
            slots.release()
            yield item
    except asyncio.CancelledError:
        ended_early = "the batch was cancelled"
        raise
    except Exception as exc:
        ended_early = f"the batch ended with {type(exc).__name__}"
        raise
    finally:
        feeder.cancel()
        for worker in list(workers):
            worker.cancel()
        await asyncio.gather(feeder, *workers, return_exceptions=True)
        try:
            if exit_cancel is not None and ended_early is not None:
                await exit_cancel.cancel_all(ended_early)
        finally:
            if opened is not None:
                await opened.aclose()
