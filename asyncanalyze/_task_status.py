"""A task's status: the one list of statuses and which of them end a task.

At the bottom of the package so that errors (``TaskCanceledError``), models, checks, the
scheduler and the CLI all read the statuses from here.
"""

from __future__ import annotations

import enum
from typing import Any, Final

__all__ = [
    "IN_PROGRESS_STATUSES",
    "KNOWN_STATUSES",
    "TERMINAL_STATUSES",
    "AnalyzeTaskStatus",
    "OpenStrEnum",
]


class OpenStrEnum(enum.StrEnum):
    """A str enum that keeps values it has never seen instead of failing.

    The platform adds statuses over time (``canceled`` arrived after v1.3); decoding must not
    break on the next one, and the unknown value must still compare equal to its string.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper()
        member._value_ = value
        return member


class AnalyzeTaskStatus(OpenStrEnum):
    QUEUED = "queued"
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        """True for ``ready``, ``failed`` and ``canceled``; an unknown status is not terminal."""
        return self in TERMINAL_STATUSES

    @property
    def is_known(self) -> bool:
        return self in KNOWN_STATUSES


# Every status the SDK knows, in the order a task goes through them; an unknown one (a status
# newer than this SDK) is in neither group below and is waited on like an in-progress one.
KNOWN_STATUSES: Final = tuple(AnalyzeTaskStatus)
# The statuses a task can leave, in order: sweeps list them one by one, skipping earlier ones.
IN_PROGRESS_STATUSES: Final = (
    AnalyzeTaskStatus.QUEUED,
    AnalyzeTaskStatus.PENDING,
    AnalyzeTaskStatus.PROCESSING,
)
TERMINAL_STATUSES: Final = (
    AnalyzeTaskStatus.READY,
    AnalyzeTaskStatus.FAILED,
    AnalyzeTaskStatus.CANCELED,
)
