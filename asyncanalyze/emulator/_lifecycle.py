"""A task's life as data: its schedule is fixed at create, its status is computed when read.

No coroutine runs per task. A task stores its creation instant and phase lengths; whoever reads
it asks ``status_at(record, now)``. That is what lets one process hold 10,000+ tasks and still
answer thousands of retrieves a second.

Phase lengths (emulator seconds), deterministic from the task id and the video:
queued 1-4 s, pending 1-3 s, processing 5 s + 0.1 x video duration. The
``emulator_task_seconds`` marker fixes create -> terminal instead, split in the same proportions.
A task whose video facts are still being fetched or probed stays ``pending`` until they are known.
A cancel (allowed while queued, pending or processing) records its instant: from then on the
task is ``canceled``, for good.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from ._seeds import unit_floats

QUEUED = "queued"
PENDING = "pending"
PROCESSING = "processing"
READY = "ready"
FAILED = "failed"
CANCELED = "canceled"
TERMINAL = frozenset({READY, FAILED, CANCELED})
CANCELABLE = frozenset({QUEUED, PENDING, PROCESSING})
STATUSES = (QUEUED, PENDING, PROCESSING, READY, FAILED, CANCELED)

PROCESSING_BASE = 5.0
PROCESSING_PER_VIDEO_SECOND = 0.1

FailStage = Literal["start", "end"]  # processing start (download/probe/limits) or its end


@dataclass
class TaskRecord:
    task_id: str
    owner: str  # the API key that created it; other keys get 404
    created_at: float  # emulator epoch seconds
    request: dict[str, Any]  # validated create body, base64 payload already stripped
    video_key: str  # what synthetic facts and generated text derive from
    queued_s: float
    pending_s: float
    task_seconds: float | None = None  # the emulator_task_seconds marker, if any
    processing_s: float | None = None  # None until the video facts are known
    duration: float | None = None
    facts_probed: bool = False
    failure: str | None = None
    fail_stage: FailStage = "start"
    webhook: dict[str, Any] | None = None  # {"url", "delivered", "attempts", "last_error"?}
    output_schema: dict[str, Any] | None = None  # result.data is JSON following this, if set
    canceled_at: float | None = None  # when a cancel request stopped it (emulator epoch seconds)

    @property
    def prompt_text(self) -> str:
        prompt_v2 = self.request.get("prompt_v2")
        if prompt_v2 is not None:
            return str(prompt_v2["input_text"])
        return str(self.request.get("prompt", ""))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TaskRecord:
        return cls(**raw)


def _unit_interval(task_id: str, salt: str) -> float:
    return unit_floats(f"{salt}:{task_id}", 1)[0]


def natural_queue_phases(task_id: str) -> tuple[float, float]:
    return 1.0 + 3.0 * _unit_interval(task_id, "queued"), 1.0 + 2.0 * _unit_interval(
        task_id, "pending"
    )


def natural_processing(duration: float) -> float:
    return PROCESSING_BASE + PROCESSING_PER_VIDEO_SECOND * duration


def initial_phases(
    task_id: str, *, task_seconds: float | None, estimated_duration: float
) -> tuple[float, float]:
    """Queued and pending lengths; with a fixed total they shrink or grow in proportion."""
    queued, pending = natural_queue_phases(task_id)
    if task_seconds is None:
        return queued, pending
    total = queued + pending + natural_processing(estimated_duration)
    scale = task_seconds / total
    return queued * scale, pending * scale


@dataclass(frozen=True)
class Outcome:
    """What is known about a task's video, and whether that makes the task fail."""

    duration: float
    probed: bool
    failure: str | None = None
    fail_stage: FailStage = "start"


def resolve(record: TaskRecord, outcome: Outcome) -> None:
    """Record what is known about the video; from here on the terminal instant is fixed."""
    record.duration = outcome.duration
    record.facts_probed = outcome.probed
    record.failure = outcome.failure
    record.fail_stage = outcome.fail_stage
    if record.task_seconds is not None:
        record.processing_s = max(0.0, record.task_seconds - record.queued_s - record.pending_s)
    else:
        record.processing_s = natural_processing(outcome.duration)


def cancel(record: TaskRecord, now: float) -> None:
    """Stop the task now; only a task whose ``status_at(record, now)`` is cancelable."""
    record.canceled_at = now


def terminal_at(record: TaskRecord) -> float | None:
    if record.canceled_at is not None:
        return record.canceled_at
    if record.processing_s is None:
        return None
    start = record.created_at + record.queued_s + record.pending_s
    if record.failure is not None and record.fail_stage == "start":
        return start
    if record.task_seconds is not None and record.processing_s > 0:
        # Exactly created + N, not a float sum of its parts: advance(N) must find it terminal.
        return record.created_at + record.task_seconds
    return start + record.processing_s


def status_at(record: TaskRecord, now: float) -> str:
    if record.canceled_at is not None and now >= record.canceled_at:
        return CANCELED
    elapsed = now - record.created_at
    if elapsed < record.queued_s:
        return QUEUED
    end = terminal_at(record)
    if end is None or elapsed < record.queued_s + record.pending_s:
        return PENDING
    if now >= end:
        return FAILED if record.failure is not None else READY
    return PROCESSING


def next_status_change(record: TaskRecord, now: float) -> float | None:
    """When ``status_at(record, ...)`` next differs from its value at ``now``; None if it
    never will on its own (terminal, or pending until the video is resolved)."""
    if record.canceled_at is not None and now >= record.canceled_at:
        return None
    queue_end = record.created_at + record.queued_s
    end = terminal_at(record)
    if now - record.created_at < record.queued_s:
        return queue_end
    if end is None:
        return None
    if now - record.created_at < record.queued_s + record.pending_s:
        return queue_end + record.pending_s
    return end if now < end else None
