"""Everything the CLI prints: rich tables and live bars when rich is installed, plain lines
otherwise, JSON for ``--json``. Results go to stdout; progress and diagnostics to stderr, so
``asyncanalyze ... --json | jq`` always sees clean JSON.

Text from the server or the user is never read as rich markup: styles come only as
``(text, style)`` spans and table cells, everything else is printed as it is.
"""

from __future__ import annotations

import enum
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

import attrs

from asyncanalyze import AnalyzeTaskResponse, BatchProgress, _json

__all__ = ["Output", "ProgressView", "Span", "fmt_time", "task_to_dict"]

# Plain progress lines are for logs and pipes (CI, `2>log`): one every few seconds shows a
# long batch moving without flooding the log; one per task change on 5,000 tasks would.
PLAIN_PROGRESS_INTERVAL = 5.0

# A piece of a printed line: literal text, or (literal text, rich style such as "red").
Span = str | tuple[str, str]


def _serialize(inst: Any, field: Any, value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def task_to_dict(task: AnalyzeTaskResponse) -> dict[str, Any]:
    """A task as JSON-ready data, field names as on the wire; absent fields left out."""
    return _present(attrs.asdict(task, value_serializer=_serialize))  # type: ignore[no-any-return]


def _present(value: Any) -> Any:
    """``value`` without the None fields of its objects, at any depth."""
    if isinstance(value, dict):
        return {key: _present(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_present(item) for item in value]
    return value


def fmt_time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _load_rich() -> Any:
    try:
        import rich.console  # the [cli] extra; plain text without it
    except ImportError:
        return None
    return rich.console


class ProgressView(Protocol):
    def update(self, progress: BatchProgress) -> None: ...

    def close(self) -> None: ...


def progress_spans(p: BatchProgress) -> list[Span]:
    """The counts of a batch: tasks created by this run, resumed from a journal, still
    running, and finished."""
    spans: list[Span] = [(f"created {p.created}", "cyan")]
    if p.resumed:
        spans += [" · ", (f"resumed {p.resumed}", "cyan")]
    return [
        *spans,
        " · ",
        (f"running {p.running}", "yellow"),
        " · ",
        (f"ready {p.ready}", "green"),
        " · ",
        (f"failed {p.failed}", "red"),
    ]


def plain(spans: Sequence[Span]) -> str:
    return "".join(span if isinstance(span, str) else span[0] for span in spans)


class _NoProgress:
    def update(self, progress: BatchProgress) -> None:
        return None

    def close(self) -> None:
        return None


class _PlainProgress:
    def __init__(self, total: int | None, label: str, clock: Callable[[], float]) -> None:
        self._total = total
        self._label = label
        self._clock = clock
        self._last_print = -float("inf")
        self._latest: BatchProgress | None = None
        self._printed: BatchProgress | None = None

    def _line(self, p: BatchProgress) -> str:
        done = p.ready + p.failed
        of = f"/{self._total}" if self._total is not None else ""
        return f"{self._label}: {done}{of} done ({plain(progress_spans(p))})"

    def update(self, progress: BatchProgress) -> None:
        self._latest = progress
        now = self._clock()
        if now - self._last_print >= PLAIN_PROGRESS_INTERVAL:
            self._last_print = now
            self._printed = progress
            print(self._line(progress), file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._latest is not None and self._latest != self._printed:
            print(self._line(self._latest), file=sys.stderr, flush=True)


class _RichProgress:
    def __init__(self, total: int | None, label: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", style="bold", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}", markup=False),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._task = self._progress.add_task(label, total=total, detail="")
        self._progress.start()

    def update(self, progress: BatchProgress) -> None:
        from rich.text import Text

        detail = Text.assemble(*progress_spans(progress))
        self._progress.update(self._task, completed=progress.ready + progress.failed, detail=detail)

    def close(self) -> None:
        self._progress.stop()


class Output:
    """The one place that decides between rich, plain text and JSON."""

    def __init__(self, *, json_mode: bool, plain: bool) -> None:
        self.json_mode = json_mode
        # JSON output never needs rich, and a missing rich must not break it.
        self._rich = None if json_mode or plain else _load_rich()

    # -- streams ------------------------------------------------------------------------------

    def line(self, text: str = "") -> None:
        print(text, flush=True)

    def note(self, text: str) -> None:
        """Progress and diagnostics: stderr, silent under --json."""
        if not self.json_mode:
            print(text, file=sys.stderr, flush=True)

    def error(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def json(self, data: Any) -> None:
        print(_json.dumps_text(data, indent=True), flush=True)

    def say(self, *spans: Span, stderr: bool = False) -> None:
        """One line from literal text and ``(text, style)`` spans; styled only with rich."""
        stream: TextIO = sys.stderr if stderr else sys.stdout
        if self._rich is not None:
            from rich.console import Console
            from rich.text import Text

            Console(file=stream, highlight=False).print(Text.assemble(*spans))
            return
        print(plain(spans), file=stream, flush=True)

    # -- structures ---------------------------------------------------------------------------

    def table(
        self,
        columns: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        title: str | None = None,
        styles: Sequence[str | None] | None = None,
    ) -> None:
        if self._rich is not None:
            from rich.console import Console
            from rich.table import Table
            from rich.text import Text

            table = Table(
                title=Text(title) if title else None, title_justify="left", title_style="bold"
            )
            for index, name in enumerate(columns):
                style = styles[index] if styles else None
                table.add_column(Text(name), style=style, overflow="fold")
            for row in rows:
                table.add_row(*(Text(cell) for cell in row))
            Console(highlight=False).print(table)
            return
        if title:
            print(title)
        widths = [
            max(len(columns[i]), *(len(row[i]) for row in rows)) if rows else len(columns[i])
            for i in range(len(columns))
        ]
        header = "  ".join(name.upper().ljust(w) for name, w in zip(columns, widths, strict=True))
        print(header.rstrip())
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

    def pairs(self, rows: Sequence[tuple[str, str]], *, title: str | None = None) -> None:
        """A two-column "label  value" block."""
        if self._rich is not None:
            from rich.console import Console
            from rich.table import Table
            from rich.text import Text

            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold cyan", no_wrap=True)
            grid.add_column(overflow="fold")
            for label, value in rows:
                grid.add_row(Text(label), Text(value))
            console = Console(highlight=False)
            if title:
                console.print(Text(title, style="bold"))
            console.print(grid)
            return
        if title:
            print(title)
        width = max((len(label) for label, _ in rows), default=0)
        for label, value in rows:
            print(f"  {label.ljust(width)}  {value}")

    def progress(self, total: int | None, label: str) -> ProgressView:
        if self.json_mode:
            return _NoProgress()
        # A live bar only where someone watches it: in a log or a pipe, redrawn frames are
        # never seen (a 96 s batch showed one line at the end), plain lines are.
        if self._rich is not None and sys.stderr.isatty():
            return _RichProgress(total, label)
        return _PlainProgress(total, label, time.monotonic)

    def status_line(self, *spans: Span) -> None:
        """A timestamped status change (``tasks wait``, ``analyze``) on stderr."""
        stamp = datetime.now().strftime("%H:%M:%S")
        self.say((stamp, "dim"), "  ", *spans, stderr=True)
