"""The batch journal: one SQLite file that remembers which request became which task.

A request's fingerprint is written with its task id *before* the task is waited on, and its
final task once terminal. A re-run after a crash finds both: created tasks are waited on, not
created again; finished ones are reported from the file. SQLite runs on one worker thread of
its own so the event loop never blocks on disk.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from os import PathLike
from typing import Any, Final, TypeVar

import attrs

__all__ = ["JournalEntry", "open_journal"]

T = TypeVar("T")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    fingerprint TEXT PRIMARY KEY,
    task_id TEXT NOT NULL,
    final_task TEXT
);
"""


@attrs.frozen
class JournalEntry:
    task_id: str
    final_task: str | None  # the terminal task as wire JSON, once known


class Journal:
    """Use :func:`open_journal`; every method is a coroutine that runs SQLite off the loop."""

    def __init__(self, connection: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self._db = connection
        self._executor = executor
        self.salt = ""

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _get(self, fingerprint: str) -> JournalEntry | None:
        row = self._db.execute(
            "SELECT task_id, final_task FROM requests WHERE fingerprint = ?", (fingerprint,)
        ).fetchone()
        return None if row is None else JournalEntry(row[0], row[1])

    async def get(self, fingerprint: str) -> JournalEntry | None:
        entry: JournalEntry | None = await self._run(self._get, fingerprint)
        return entry

    def _record_created(self, fingerprint: str, task_id: str) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO requests (fingerprint, task_id) VALUES (?, ?)"
                " ON CONFLICT(fingerprint) DO UPDATE SET task_id = excluded.task_id",
                (fingerprint, task_id),
            )

    async def record_created(self, fingerprint: str, task_id: str) -> None:
        await self._run(self._record_created, fingerprint, task_id)

    def _record_final(self, fingerprint: str, final_task: str) -> None:
        with self._db:
            self._db.execute(
                "UPDATE requests SET final_task = ? WHERE fingerprint = ?",
                (final_task, fingerprint),
            )

    async def record_final(self, fingerprint: str, final_task: str) -> None:
        await self._run(self._record_final, fingerprint, final_task)

    async def aclose(self) -> None:
        await self._run(self._db.close)
        self._executor.shutdown(wait=False)


def _connect(path: str) -> tuple[sqlite3.Connection, str]:
    connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a killed process (only a power cut may lose the last commit).
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.executescript(_SCHEMA)
    row = connection.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
    if row is None:
        salt = secrets.token_hex(16)
        connection.execute("INSERT INTO meta (key, value) VALUES ('salt', ?)", (salt,))
    else:
        salt = row[0]
    return connection, salt


async def open_journal(path: str | PathLike[str]) -> Journal:
    """Open (or create) a journal file.

    Each journal has a random salt mixed into the Idempotency-Keys it derives: the same file
    resumes the same tasks, while a new file starts fresh tasks for the same requests.
    """
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asyncanalyze-journal")
    loop = asyncio.get_running_loop()
    try:
        connection, salt = await loop.run_in_executor(executor, _connect, str(path))
    except BaseException:
        executor.shutdown(wait=False)
        raise
    journal = Journal(connection, executor)
    journal.salt = salt
    return journal
