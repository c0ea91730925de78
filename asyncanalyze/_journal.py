"""The batch journal: one SQLite file that remembers which request became which task.

A request's fingerprint is written with its task id *before* the task is waited on, and its
final task once terminal. A re-run after a crash finds both: created tasks are waited on, not
created again; finished ones are reported from the file. SQLite runs on one worker thread of
its own so the event loop never blocks on disk.

A journal belongs to one server and one account: its ``meta`` table records the base URL and
a digest of the API key (salted with the journal's own salt; never the key), and a client for
another server or key is refused with JournalMismatchError. A journal from before these rows
existed takes the first client's on first use. Every SQLite failure (not a database, damaged,
locked, read-only, disk full) surfaces as JournalError naming the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from os import PathLike
from typing import Any, Final, TypeVar

import attrs

from ._errors import JournalError, JournalMismatchError

__all__ = ["BUSY_TIMEOUT", "Journal", "JournalEntry", "JournalOwner", "open_journal"]

T = TypeVar("T")

# How long an open or a write waits for another process (or batch) holding the file.
BUSY_TIMEOUT: Final = 30.0
# The layout written by this version; 1 had no `generation` column and no owner rows.
_FORMAT: Final = 2
_REQUEST_COLUMNS: Final = frozenset({"fingerprint", "task_id", "final_task"})
_CREATE_TABLES: Final = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE requests (fingerprint TEXT PRIMARY KEY, task_id TEXT NOT NULL,"
    " final_task TEXT, generation INTEGER NOT NULL DEFAULT 0)",
)
# Per connection, so per run: how often each request has been seen in this run. On disk (a
# temporary file) rather than in memory, so a batch of any size costs the same memory.
_OCCURRENCES: Final = (
    "CREATE TEMP TABLE occurrences (digest TEXT PRIMARY KEY, seen INTEGER NOT NULL)"
)


@attrs.frozen
class JournalOwner:
    """Who a journal belongs to: the server's base URL and a salted digest of the API key."""

    base_url: str
    key_digest: Callable[[str], str]  # salt -> digest; the key itself never reaches here


@attrs.frozen
class JournalEntry:
    task_id: str
    final_task: str | None  # the terminal task as wire JSON, once known
    generation: int  # how many times the task was created anew (see batch)


class Journal:
    """Use :func:`open_journal`; every method is a coroutine that runs SQLite off the loop."""

    def __init__(
        self, path: str, connection: sqlite3.Connection, executor: ThreadPoolExecutor, salt: str
    ) -> None:
        self.path = path
        self.salt = salt
        self._db = connection
        self._executor = executor

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, _translated, self.path, fn, *args
        )

    def _claim(self, digest: str) -> tuple[str, JournalEntry | None]:
        self._db.execute(
            "INSERT INTO temp.occurrences (digest, seen) VALUES (?, 1)"
            " ON CONFLICT(digest) DO UPDATE SET seen = seen + 1",
            (digest,),
        )
        (seen,) = self._db.execute(
            "SELECT seen FROM temp.occurrences WHERE digest = ?", (digest,)
        ).fetchone()
        # The same request twice in one batch is two tasks: the occurrence tells them apart.
        fingerprint = f"{digest}#{seen - 1}"
        row = self._db.execute(
            "SELECT task_id, final_task, generation FROM requests WHERE fingerprint = ?",
            (fingerprint,),
        ).fetchone()
        return fingerprint, None if row is None else _entry(row)

    async def claim(self, digest: str) -> tuple[str, JournalEntry | None]:
        """This run's next fingerprint for a request with ``digest``, and its entry if any.

        The n-th request with the same digest in a run gets ``digest#n``, so a re-run maps
        the same occurrences to the same tasks.
        """
        return await self._run(self._claim, digest)

    def _record_created(self, fingerprint: str, task_id: str, generation: int) -> None:
        self._db.execute(
            "INSERT INTO requests (fingerprint, task_id, generation) VALUES (?, ?, ?)"
            " ON CONFLICT(fingerprint) DO UPDATE SET task_id = excluded.task_id,"
            " generation = excluded.generation, final_task = NULL",
            (fingerprint, task_id, generation),
        )

    async def record_created(self, fingerprint: str, task_id: str, generation: int) -> None:
        await self._run(self._record_created, fingerprint, task_id, generation)

    def _record_final(self, fingerprint: str, final_task: str) -> None:
        self._db.execute(
            "UPDATE requests SET final_task = ? WHERE fingerprint = ?", (final_task, fingerprint)
        )

    async def record_final(self, fingerprint: str, final_task: str) -> None:
        await self._run(self._record_final, fingerprint, final_task)

    async def aclose(self) -> None:
        try:
            await self._run(self._db.close)
        finally:
            self._executor.shutdown(wait=False)


def _entry(row: tuple[Any, ...]) -> JournalEntry | None:
    """The row as an entry; a row of the wrong types (a damaged file) counts as absent."""
    task_id, final_task, generation = row
    if not isinstance(task_id, str) or not task_id:
        return None
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        generation = 0
    return JournalEntry(task_id, final_task if isinstance(final_task, str) else None, generation)


def _translated(path: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return fn(*args)
    except sqlite3.Error as exc:
        raise journal_error(path, exc) from exc


def journal_error(path: str, exc: sqlite3.Error) -> JournalError:
    """The JournalError for an SQLite failure, saying what to do about it."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    if code in {sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT}:
        problem = (
            "is not an asyncanalyze journal, or is damaged; move it aside (a new journal"
            " starts new tasks)"
        )
    elif code == sqlite3.SQLITE_CANTOPEN:
        problem = "cannot be opened (a directory? a folder that does not exist?)"
    elif code in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}:
        problem = f"is locked by another process (waited {BUSY_TIMEOUT:g} s); try again later"
    elif code in {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM}:
        problem = "cannot be written (read-only)"
    elif code == sqlite3.SQLITE_FULL:
        problem = (
            "cannot be written: the disk is full. Free some space and run the batch again:"
            " it resumes where it stopped"
        )
    else:
        problem = "cannot be used"
    return JournalError(path, f"{problem} [SQLite: {exc}]")


def connect(path: str) -> sqlite3.Connection:
    """The raw connection (a seam for tests that simulate a full disk)."""
    return sqlite3.connect(
        path, timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None
    )


def _open(path: str, owner: JournalOwner | None) -> tuple[sqlite3.Connection, str]:
    """``_open_once``, started again while another opener holds the file: SQLite skips its
    busy handler where waiting could deadlock (switching a new file to WAL while others open
    it), so such a "locked" is retried here, up to BUSY_TIMEOUT in all."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            return _open_once(path, owner)
        except sqlite3.OperationalError as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if code not in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}:
                raise
            if time.monotonic() >= deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))  # an executor thread, never the loop


def _open_once(path: str, owner: JournalOwner | None) -> tuple[sqlite3.Connection, str]:
    connection = connect(path)
    try:
        # Look before writing anything: another program's database must stay untouched.
        _require_journal_or_empty(path, connection)
        connection.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (only a power cut may lose the last commit).
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA temp_store=FILE")
        # One transaction, taken before reading: two batches opening a new file at once agree
        # on one salt instead of racing to write it.
        connection.execute("BEGIN IMMEDIATE")
        try:
            salt = _set_up(path, connection, owner)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # the error that got here says more
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        connection.execute(_OCCURRENCES)
    except BaseException:
        connection.close()
        raise
    return connection, salt


def _tables(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def _require_journal_or_empty(path: str, connection: sqlite3.Connection) -> None:
    tables = _tables(connection)
    if not tables:
        return
    if not {"meta", "requests"} <= tables:
        raise JournalError(
            path,
            "is an SQLite database but not an asyncanalyze journal"
            f" (tables: {', '.join(sorted(tables))}); pass a new file",
        )
    columns = {row[1] for row in connection.execute("PRAGMA table_info(requests)")}
    salt = connection.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
    if not columns >= _REQUEST_COLUMNS or salt is None:
        raise JournalError(path, "is not an asyncanalyze journal (unexpected layout)")


def _set_up(path: str, connection: sqlite3.Connection, owner: JournalOwner | None) -> str:
    """Create or upgrade the layout and check the owner; returns the salt."""
    if not _tables(connection):
        for statement in _CREATE_TABLES:
            connection.execute(statement)
        salt = secrets.token_hex(16)
        connection.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [("salt", salt), ("format", str(_FORMAT))],
        )
    else:
        _require_journal_or_empty(path, connection)  # again: it may have changed meanwhile
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        salt = str(meta["salt"])
        written_by = meta.get("format", "1")
        if not str(written_by).isdigit() or int(written_by) > _FORMAT:
            raise JournalError(
                path, f"was written by a newer asyncanalyze (format {written_by}); upgrade"
            )
        columns = {row[1] for row in connection.execute("PRAGMA table_info(requests)")}
        if "generation" not in columns:
            connection.execute(
                "ALTER TABLE requests ADD COLUMN generation INTEGER NOT NULL DEFAULT 0"
            )
        connection.execute(
            "INSERT INTO meta (key, value) VALUES ('format', ?)"
            " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(_FORMAT),),
        )
    if owner is not None:
        _check_owner(path, connection, owner, salt)
    return salt


def _check_owner(path: str, connection: sqlite3.Connection, owner: JournalOwner, salt: str) -> None:
    """Refuse another server or key; a journal without owner rows adopts this one."""
    meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
    recorded_url = meta.get("base_url")
    if recorded_url is not None and recorded_url != owner.base_url:
        raise JournalMismatchError(
            path,
            f"belongs to the server {recorded_url}, not {owner.base_url}: its tasks exist only"
            " there. Use that server, or a new journal file for this one",
            field="base_url",
            recorded=str(recorded_url),
            current=owner.base_url,
        )
    digest = owner.key_digest(salt)
    recorded_key = meta.get("api_key_digest")
    if recorded_key is not None and recorded_key != digest:
        raise JournalMismatchError(
            path,
            "was written with another API key: its tasks belong to that account. Use that"
            " key, or a new journal file for this one",
            field="api_key",
        )
    connection.executemany(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
        [("base_url", owner.base_url), ("api_key_digest", digest)],
    )


async def open_journal(path: str | PathLike[str], owner: JournalOwner | None = None) -> Journal:
    """Open (or create) a journal file for ``owner``'s server and key.

    Each journal has a random salt mixed into the Idempotency-Keys it derives: the same file
    resumes the same tasks, while a new file starts fresh tasks for the same requests.
    """
    name = str(path)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asyncanalyze-journal")
    loop = asyncio.get_running_loop()
    try:
        connection, salt = await loop.run_in_executor(
            executor, _translated, name, _open, name, owner
        )
    except ValueError as exc:  # e.g. a NUL character in the path
        executor.shutdown(wait=False)
        raise JournalError(name, f"is not a usable path ({exc})") from None
    except BaseException:
        executor.shutdown(wait=False)
        raise
    return Journal(name, connection, executor, salt)
