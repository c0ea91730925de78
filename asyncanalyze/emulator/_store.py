"""Where tasks and idempotency keys live: always in memory, optionally mirrored to SQLite.

Reads never touch the disk: the in-memory maps are the index every request uses. With a
``db_path`` each change is written through before the request that made it is answered, so a
restarted emulator loses nothing it acknowledged. SQLite calls run on one dedicated thread, off
the event loop and in order, which is also what ``sqlite3`` connections want.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ._lifecycle import TaskRecord
from ._status_index import StatusIndex

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    record TEXT  -- NULL once deleted: the id stays retired so it is never handed out again
);
CREATE TABLE IF NOT EXISTS idempotency (
    owner TEXT NOT NULL,
    key TEXT NOT NULL,
    task_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (owner, key)
);
"""


@dataclass(frozen=True)
class IdempotencyEntry:
    task_id: str
    fingerprint: str  # a hash of the original body, to notice a key reused for another request


class TaskStore:
    def __init__(self, db_path: str | None = None) -> None:
        self.tasks: dict[str, TaskRecord] = {}
        self.by_owner: dict[str, list[str]] = {}  # creation order; list() walks it backwards
        self.idempotency: dict[tuple[str, str], IdempotencyEntry] = {}
        self.retired: set[str] = set()  # ids of deleted tasks, never to be reused
        self.in_progress = StatusIndex()  # what status-filtered lists read
        self._db_path = db_path
        self._db: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._seq = 0

    async def open(self) -> None:
        if self._db_path is None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-sqlite")
        rows, keys = await self._run(self._open_sync, self._db_path)
        for task_id, seq, raw in rows:
            self._seq = max(self._seq, seq)
            if raw is None:
                self.retired.add(task_id)
                continue
            record = TaskRecord.from_dict(json.loads(raw))
            self._index(record)
        for owner, key, task_id, fingerprint in keys:
            self.idempotency[(owner, key)] = IdempotencyEntry(task_id, fingerprint)

    async def close(self) -> None:
        if self._executor is None:
            return
        if self._db is not None:
            await self._run(self._db.close)
            self._db = None
        self._executor.shutdown(wait=True)
        self._executor = None

    def get(self, task_id: str, owner: str) -> TaskRecord | None:
        record = self.tasks.get(task_id)
        if record is None or record.owner != owner:
            return None
        return record

    def newest_first(self, owner: str) -> list[TaskRecord]:
        ids = self.by_owner.get(owner, [])
        return [self.tasks[task_id] for task_id in reversed(ids)]

    def add(
        self, record: TaskRecord, idempotency: tuple[str, IdempotencyEntry] | None
    ) -> Awaitable[None]:
        """Index the task now, so a racing duplicate sees it; await the result to persist it."""
        self._index(record)
        if idempotency is not None:
            self.idempotency[(record.owner, idempotency[0])] = idempotency[1]
        self._seq += 1
        return self._persist_new(record, self._seq, idempotency)

    async def _persist_new(
        self, record: TaskRecord, seq: int, idempotency: tuple[str, IdempotencyEntry] | None
    ) -> None:
        if self._executor is not None:
            await self._run(self._insert_sync, record, seq, idempotency)

    async def save(self, record: TaskRecord) -> None:
        self.in_progress.touch(record)
        if self._executor is not None and record.task_id in self.tasks:
            await self._run(self._update_sync, record)

    async def delete(self, record: TaskRecord) -> None:
        self.tasks.pop(record.task_id, None)
        self.retired.add(record.task_id)
        self.in_progress.remove(record)
        owned = self.by_owner.get(record.owner)
        if owned is not None:
            owned.remove(record.task_id)
        if self._executor is not None:
            await self._run(self._delete_sync, record.task_id)

    def _index(self, record: TaskRecord) -> None:
        self.tasks[record.task_id] = record
        self.by_owner.setdefault(record.owner, []).append(record.task_id)
        self.in_progress.add(record)

    async def _run(self, func: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, func, *args)

    # Everything below runs on the SQLite thread.

    def _open_sync(
        self, path: str
    ) -> tuple[list[tuple[str, int, str | None]], list[tuple[str, str, str, str]]]:
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.executescript(_SCHEMA)
        rows = self._db.execute("SELECT task_id, seq, record FROM tasks ORDER BY seq").fetchall()
        keys = self._db.execute(
            "SELECT owner, key, task_id, fingerprint FROM idempotency"
        ).fetchall()
        return rows, keys

    def _insert_sync(
        self, record: TaskRecord, seq: int, idempotency: tuple[str, IdempotencyEntry] | None
    ) -> None:
        assert self._db is not None
        with self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO tasks (task_id, seq, record) VALUES (?, ?, ?)",
                (record.task_id, seq, json.dumps(record.to_dict())),
            )
            if idempotency is not None:
                key, entry = idempotency
                self._db.execute(
                    "INSERT OR REPLACE INTO idempotency VALUES (?, ?, ?, ?)",
                    (record.owner, key, entry.task_id, entry.fingerprint),
                )

    def _update_sync(self, record: TaskRecord) -> None:
        assert self._db is not None
        with self._db:
            self._db.execute(
                "UPDATE tasks SET record = ? WHERE task_id = ?",
                (json.dumps(record.to_dict()), record.task_id),
            )

    def _delete_sync(self, task_id: str) -> None:
        assert self._db is not None
        with self._db:
            self._db.execute("UPDATE tasks SET record = NULL WHERE task_id = ?", (task_id,))
