"""Everything the CLI prints: rich tables and live bars when rich is installed, plain lines
otherwise, JSON for ``--json``. Results go to stdout; progress and diagnostics to stderr, so
``asyncanalyze ... --json | jq`` always sees clean JSON.
"""

from __future__ import annotations

import enum
import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs

from asyncanalyze import AnalyzeTaskResponse, BatchProgress

__all__ = ["Output", "ProgressView", "fmt_time", "task_to_dict"]

# Plain progress lines are for logs and pipes: one every few seconds is readable, one per
# task change on a 5,000-task batch is not.
_PLAIN_PROGRESS_INTERVAL = 2.0
# Only the style tags this package writes are stripped in plain mode; user text is left alone.
_STYLE = r"(?:bold|dim|italic|red|green|yellow|cyan|magenta|blue)"
_TAG_RE = re.compile(rf"\[/\]|\[/?{_STYLE}(?:\s+{_STYLE})*\]")


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
    raw = attrs.asdict(task, value_serializer=_serialize)
    return {key: value for key, value in raw.items() if value is not None}


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


def describe_progress(p: BatchProgress) -> str:
    return f"created {p.created} · running {p.running} · ready {p.ready} · failed {p.failed}"


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
        return f"{self._label}: {done}{of} done ({describe_progress(p)})"

    def update(self, progress: BatchProgress) -> None:
        self._latest = progress
        now = self._clock()
        if now - self._last_print >= _PLAIN_PROGRESS_INTERVAL:
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
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        )
        self._task = self._progress.add_task(label, total=total, detail="")
        self._progress.start()

    def update(self, progress: BatchProgress) -> None:
        detail = (
            f"[cyan]created {progress.created}[/] · [yellow]running {progress.running}[/]"
            f" · [green]ready {progress.ready}[/] · [red]failed {progress.failed}[/]"
        )
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
        print(json.dumps(data, indent=2, ensure_ascii=False), flush=True)

    def markup(self, text: str, *, stderr: bool = False) -> None:
        """Rich markup when available; the same text with tags stripped otherwise."""
        if self._rich is not None:
            from rich.console import Console

            Console(stderr=stderr, highlight=False).print(text)
            return
        print(_TAG_RE.sub("", text), file=sys.stderr if stderr else sys.stdout, flush=True)

    def esc(self, value: object) -> str:
        """User data inside ``markup``: never read as style tags."""
        text = str(value)
        if self._rich is not None:
            from rich.markup import escape

            return escape(text)
        return text

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

            table = Table(title=title, title_justify="left", title_style="bold")
            for index, name in enumerate(columns):
                style = styles[index] if styles else None
                table.add_column(name, style=style, overflow="fold")
            for row in rows:
                table.add_row(*row)
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

            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold cyan", no_wrap=True)
            grid.add_column(overflow="fold")
            for label, value in rows:
                grid.add_row(label, value)
            console = Console(highlight=False)
            if title:
                console.print(f"[bold]{title}[/]")
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
        if self._rich is not None:
            return _RichProgress(total, label)
        return _PlainProgress(total, label, time.monotonic)

    def status_line(self, text: str) -> None:
        """A timestamped status change (``tasks wait``, ``analyze``)."""
        stamp = datetime.now().strftime("%H:%M:%S")
        self.markup(f"[dim]{stamp}[/]  {text}", stderr=True)
