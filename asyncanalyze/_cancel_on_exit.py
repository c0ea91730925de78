"""``analyze_many(cancel_on_exit=True)``: the tasks a batch still waits on, canceled if it
ends early.

Leaving a batch early normally stops only the waiting: the service goes on with the tasks (and
bills them). With cancel-on-exit the run keeps here the ids of the tasks it waits on and, when
it ends before every outcome was delivered (the loop left, the consumer cancelled, the client
closing, a journal failure), sends one cancel per task: at most ``CANCEL_ON_EXIT_CONCURRENCY``
at a time, all within ``CANCEL_ON_EXIT_TIMEOUT`` seconds. It is best effort and never raises:
what could not be confirmed is logged (and returned), and the reason the run ended is the
exception its caller sees.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

import attrs

from ._errors import BadRequestError, ConflictError, NotFoundError

__all__ = [
    "CANCEL_ON_EXIT_CONCURRENCY",
    "CANCEL_ON_EXIT_TIMEOUT",
    "CancelOnExit",
    "CancelOnExitReport",
]

# Cancels are small requests; a few at a time finish a 1,000-task batch in seconds without
# crowding out other users of the client's connection pool.
CANCEL_ON_EXIT_CONCURRENCY: Final = 8
# A run that is ending must end: cancels still unanswered after this are given up (and logged).
CANCEL_ON_EXIT_TIMEOUT: Final = 30.0
# Ids named in one log line; the rest are counted.
_LOGGED_IDS: Final = 10

Cancel = Callable[[str], Awaitable[object]]

_log: Final = logging.getLogger("asyncanalyze")


@attrs.frozen
class CancelOnExitReport:
    """What cancel-on-exit did: ``canceled`` the service confirmed; ``not_running`` had ended
    (or was gone) before the cancel reached it; ``unconfirmed`` (id, why) may still run."""

    canceled: tuple[str, ...] = ()
    not_running: tuple[str, ...] = ()
    unconfirmed: tuple[tuple[str, str], ...] = ()


class CancelOnExit:
    """The tasks one run waits on (insertion-ordered), and the cancel that ends them."""

    def __init__(
        self,
        cancel: Cancel,
        *,
        concurrency: int = CANCEL_ON_EXIT_CONCURRENCY,
        timeout: float = CANCEL_ON_EXIT_TIMEOUT,
    ) -> None:
        self._cancel = cancel
        self._concurrency = concurrency
        self._timeout = timeout
        self._waiting: dict[str, None] = {}

    def track(self, task_id: str) -> None:
        self._waiting[task_id] = None

    def untrack(self, task_id: str) -> None:
        self._waiting.pop(task_id, None)

    @property
    def waiting(self) -> tuple[str, ...]:
        return tuple(self._waiting)

    async def cancel_all(self, reason: str) -> CancelOnExitReport:
        """Cancel every tracked task (each at most once, whoever calls first); never raises
        an error of its own."""
        task_ids = list(self._waiting)
        self._waiting.clear()
        if not task_ids:
            return CancelOnExitReport()
        canceled: list[str] = []
        not_running: list[str] = []
        problems: dict[str, str] = {}
        limiter = asyncio.Semaphore(self._concurrency)

        async def cancel_one(task_id: str) -> None:
            async with limiter:
                try:
                    await self._cancel(task_id)
                except (NotFoundError, ConflictError, BadRequestError):
                    # The platform refuses to cancel a task that is no longer queued, pending
                    # or processing (or no longer exists): there is nothing left to stop.
                    not_running.append(task_id)
                except Exception as exc:  # best effort: report it, never raise it
                    problems[task_id] = f"{type(exc).__name__}: {exc}"
                else:
                    canceled.append(task_id)

        sends = {asyncio.ensure_future(cancel_one(task_id)): task_id for task_id in task_ids}
        try:
            _, unfinished = await asyncio.wait(sends, timeout=self._timeout)
        finally:
            for send in sends:
                send.cancel()
        # Let the abandoned sends unwind (they were just cancelled) before reporting them.
        await asyncio.gather(*unfinished, return_exceptions=True)
        for send in unfinished:
            problems.setdefault(sends[send], "no answer in time")
        report = CancelOnExitReport(
            tuple(canceled),
            tuple(not_running),
            tuple((task_id, problems[task_id]) for task_id in task_ids if task_id in problems),
        )
        _log_report(reason, len(task_ids), report)
        return report


def _log_report(reason: str, total: int, report: CancelOnExitReport) -> None:
    _log.info(
        "cancel_on_exit: %s; canceled %d of the %d tasks still running (%d had already ended)",
        reason,
        len(report.canceled),
        total,
        len(report.not_running),
    )
    if report.unconfirmed:
        shown = ", ".join(f"{task_id} ({why})" for task_id, why in report.unconfirmed[:_LOGGED_IDS])
        more = len(report.unconfirmed) - _LOGGED_IDS
        _log.warning(
            "cancel_on_exit: %d tasks may still be running, their cancel was not confirmed: %s%s",
            len(report.unconfirmed),
            shown,
            f" and {more} more" if more > 0 else "",
        )
