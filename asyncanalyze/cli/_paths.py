"""Checks of the files a command will write, made before any work starts.

A bad ``--out`` or ``--journal`` used to surface as ``internal error: OperationalError`` after
the progress bar was drawn, or (the same file for both) as a journal overwritten by results:
every task paid for again. Each problem is one :class:`UsageError` line instead (exit code 2).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from ._args import UsageError

__all__ = ["check_distinct", "check_journal", "check_writable", "same_file"]

_SQLITE_HEADER: Final = b"SQLite format 3\x00"
# Files SQLite keeps next to a journal while it is open.
_SQLITE_SIDECARS: Final = ("-wal", "-shm", "-journal")


def check_writable(path: Path, option: str) -> None:
    """``path`` can be created or overwritten as a regular file."""
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory, not a file")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: no such directory {parent}")
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise UsageError(f"{option} {path}: permission denied")
    elif not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: cannot create a file in {parent} (permission denied)")


def check_journal(path: Path) -> None:
    """``path`` is a new file or an SQLite database (a journal of an earlier run)."""
    check_writable(path, "--journal")
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb") as file:
        header = file.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        raise UsageError(
            f"--journal {path}: not a journal (an SQLite file); pass a new file name to start one"
        )


def same_file(a: Path, b: Path) -> bool:
    """The same file on disk, through any relative path, symlink or hard link."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def check_distinct(files: dict[str, Path | None]) -> None:
    """No two of the named files (``{"--out": path, ...}``) are the same file, and no file is
    one SQLite keeps next to the journal."""
    named = [(option, path) for option, path in files.items() if path is not None]
    journal = files.get("--journal")
    if journal is not None:
        named += [
            (f"the journal's {suffix} file", journal.with_name(journal.name + suffix))
            for suffix in _SQLITE_SIDECARS
        ]
    for index, (first, a) in enumerate(named):
        for second, b in named[index + 1 :]:
            if same_file(a, b):
                raise UsageError(f"{first} and {second} are the same file ({a}); use two files")
