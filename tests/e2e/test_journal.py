"""The batch journal under adversity: another server or key, damaged files, a full disk,
several openers at once, and tasks the service has forgotten."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeRequest,
    AnalyzeTaskResponse,
    CreateAnalyzeTaskResponse,
    JournalError,
    JournalMismatchError,
    NotFoundError,
    VideoContext_Url,
    _journal,
)
from asyncanalyze.batch import run_batch
from asyncanalyze.emulator import Emulator

from .._helpers import task_json
from ..conftest import EMULATOR_SPEED


def scaled_client(emu: Emulator, **options: Any) -> AnalyzeAsyncClient:
    loop = asyncio.get_running_loop()

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / EMULATOR_SPEED)

    options.setdefault("api_key", "journal-key-0123456789")
    return AnalyzeAsyncClient(
        base_url=emu.base_url, sleep=sleep, clock=lambda: loop.time() * EMULATOR_SPEED, **options
    )


def requests_for(count: int, *, seconds: float = 30, tag: str = "j") -> list[AnalyzeRequest]:
    return [
        AnalyzeRequest(
            video=VideoContext_Url(
                url=f"https://videos.example/{tag}{i}.mp4?emulator_task_seconds={seconds}"
            ),
            prompt=f"Describe {i}",
        )
        for i in range(count)
    ]


async def run_all(
    client: AnalyzeAsyncClient, requests: list[AnalyzeRequest], journal: Path
) -> list[Any]:
    return [o async for o in client.tasks.analyze_many(requests, journal=journal)]


# -- 14.6: a journal belongs to one server and one account -------------------------------------


async def test_a_journal_refuses_another_server(sped_up_emulator: Emulator, tmp_path: Path) -> None:
    """A journal written against one server is refused by a client of another, before any
    request: its finished tasks would otherwise be reported as that server's results."""
    journal = tmp_path / "j.db"
    requests = requests_for(3)
    async with scaled_client(sped_up_emulator) as client:
        await run_all(client, requests, journal)
    async with Emulator(speed=EMULATOR_SPEED) as other, scaled_client(other) as client:
        with pytest.raises(JournalMismatchError) as caught:
            await run_all(client, requests, journal)
        assert sum(other.stats()["requests"].values()) == 0
    error = caught.value
    assert (error.field, error.recorded, error.current) == (
        "base_url",
        sped_up_emulator.base_url,
        other.base_url,
    )
    assert sped_up_emulator.base_url in str(error) and other.base_url in str(error)
    assert isinstance(error, JournalError) and error.path == str(journal)


async def test_a_journal_refuses_another_api_key_without_showing_either(
    sped_up_emulator: Emulator, tmp_path: Path
) -> None:
    """Another API key is refused too; neither key appears in the error or in the file."""
    journal = tmp_path / "j.db"
    first_key, second_key = "first-secret-key-AAAA", "second-secret-key-BBBB"
    requests = requests_for(2)
    async with scaled_client(sped_up_emulator, api_key=first_key) as client:
        await run_all(client, requests, journal)
        assert (await run_all(client, requests, journal))[0].from_journal  # same key: fine
    creates = sped_up_emulator.stats()["creates"]
    async with scaled_client(sped_up_emulator, api_key=second_key) as client:
        with pytest.raises(JournalMismatchError) as caught:
            await run_all(client, requests, journal)
    assert caught.value.field == "api_key"
    assert caught.value.recorded is None and caught.value.current is None
    shown = f"{caught.value} {caught.value!r} {caught.value.args}"
    assert first_key not in shown and second_key not in shown
    raw = b"".join(path.read_bytes() for path in tmp_path.iterdir() if path.is_file())
    assert first_key.encode() not in raw and second_key.encode() not in raw
    assert sped_up_emulator.stats()["creates"] == creates


def old_fingerprint(request: AnalyzeRequest) -> str:
    """The fingerprint 0.1.0 wrote, computed here independently of the library."""
    canonical = json.dumps(
        request.wire_body(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def sqlite_file(path: Path, script: str, rows: Sequence[tuple[Any, ...]] = ()) -> Path:
    """A database made by ``script``, then ``rows`` into its ``requests`` table; closed."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.executescript(script)
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            db.executemany(f"INSERT INTO requests VALUES ({marks})", rows)
    return path


OLD_LAYOUT = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE requests (fingerprint TEXT PRIMARY KEY, task_id TEXT NOT NULL, final_task TEXT);"
    "INSERT INTO meta VALUES ('salt', '0123456789abcdef0123456789abcdef');"
)


async def test_an_old_journal_resumes_and_is_adopted_by_its_first_client(
    sped_up_emulator: Emulator, tmp_path: Path
) -> None:
    """A journal from before owner rows resumes its tasks (fingerprints unchanged), then
    belongs to the first client that used it: another key is refused afterwards."""
    journal = tmp_path / "old.db"
    requests = requests_for(2)
    async with scaled_client(sped_up_emulator) as client:
        created = await client.tasks.create(video=requests[0].video, prompt=requests[0].prompt)
        # A journal as 0.1.0 wrote it: a salt, and no owner rows or generation column.
        sqlite_file(
            journal, OLD_LAYOUT, [(old_fingerprint(requests[0]) + "#0", created.task_id, None)]
        )
        outcomes = await run_all(client, requests, journal)
    assert {o.index: o.task_id for o in outcomes}[0] == created.task_id
    assert all(o.ok for o in outcomes)
    assert (
        sped_up_emulator.stats()["creates"] == 2
    )  # the journaled task was waited on, not created again
    async with scaled_client(sped_up_emulator, api_key="someone-else") as client:
        with pytest.raises(JournalMismatchError):
            await run_all(client, requests, journal)


# -- 14.11: damage surfaces as JournalError --------------------------------------------------


def not_a_database(path: Path) -> Path:
    path.write_text("index,url\n1,https://videos.example/a.mp4\n")
    return path


def truncated(path: Path) -> Path:
    sqlite_file(path, OLD_LAYOUT, [(f"f{i}", f"t{i}", "x" * 500) for i in range(200)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def a_directory(path: Path) -> Path:
    path.mkdir()
    return path


def another_programs_database(path: Path) -> Path:
    return sqlite_file(
        path,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
        "INSERT INTO users (name) VALUES ('ada');",
    )


def same_table_names_other_columns(path: Path) -> Path:
    return sqlite_file(
        path,
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        "CREATE TABLE requests (id INTEGER PRIMARY KEY, body TEXT);",
    )


@pytest.mark.parametrize(
    "damage",
    [
        not_a_database,
        truncated,
        a_directory,
        another_programs_database,
        same_table_names_other_columns,
    ],
)
async def test_an_unusable_journal_file_is_a_journal_error_before_any_request(
    sped_up_emulator: Emulator, tmp_path: Path, damage: Callable[[Path], Path]
) -> None:
    """Not a database, truncated, a directory or a foreign schema: JournalError naming the
    file, nothing sent, and another program's database left as it was."""
    path = damage(tmp_path / "journal.db")
    before = path.read_bytes() if path.is_file() else None
    async with scaled_client(sped_up_emulator) as client:
        with pytest.raises(JournalError) as caught:
            await run_all(client, requests_for(2), path)
    assert caught.value.path == str(path)
    assert not isinstance(caught.value, sqlite3.Error)
    assert sped_up_emulator.stats()["creates"] == 0
    if before is not None:
        assert path.read_bytes() == before


async def test_a_journal_path_that_cannot_exist_is_a_journal_error(
    sped_up_emulator: Emulator, tmp_path: Path
) -> None:
    """A path in a folder that does not exist, or with a NUL in it, is a JournalError too."""
    async with scaled_client(sped_up_emulator) as client:
        for path in (tmp_path / "missing" / "j.db", f"{tmp_path}/j\0.db"):
            with pytest.raises(JournalError):
                await run_all(client, requests_for(1), path)  # type: ignore[arg-type]
    assert sped_up_emulator.stats()["creates"] == 0


@pytest.fixture
def connect_with(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[Callable[[sqlite3.Connection], None]], None]:
    """Apply a setting to every journal connection the engine opens (simulating a full disk)."""

    original = _journal.connect

    def install(setting: Callable[[sqlite3.Connection], None]) -> None:
        def connect(path: str) -> sqlite3.Connection:
            connection = original(path)
            setting(connection)
            return connection

        monkeypatch.setattr(_journal, "connect", connect)

    return install


async def test_a_full_disk_mid_batch_ends_it_with_a_journal_error(
    sped_up_emulator: Emulator,
    tmp_path: Path,
    connect_with: Callable[[Callable[[sqlite3.Connection], None]], None],
) -> None:
    """When the journal can no longer be written, the batch ends with one JournalError that
    says so; a re-run once there is room creates no task twice."""
    journal = tmp_path / "full.db"
    connect_with(lambda db: db.execute("PRAGMA max_page_count = 8"))
    requests = requests_for(60)
    delivered = 0
    async with scaled_client(sped_up_emulator) as client:
        with pytest.raises(JournalError, match="full") as caught:
            async for _ in client.tasks.analyze_many(requests, concurrency=10, journal=journal):
                delivered += 1
        assert delivered < 60 and caught.value.path == str(journal)
        created = sped_up_emulator.stats()["tasks"]["total"]
        connect_with(lambda db: None)
        outcomes = await run_all(client, requests, journal)
    assert len(outcomes) == 60 and all(o.ok for o in outcomes)
    # Tasks created but not recorded were found again by their Idempotency-Keys.
    assert sped_up_emulator.stats()["tasks"]["total"] == 60 >= created


async def test_a_read_only_journal_is_a_journal_error(
    sped_up_emulator: Emulator,
    tmp_path: Path,
    connect_with: Callable[[Callable[[sqlite3.Connection], None]], None],
) -> None:
    """A journal that cannot be written is refused with a JournalError, nothing sent."""
    journal = tmp_path / "ro.db"
    async with scaled_client(sped_up_emulator) as client:
        await run_all(client, requests_for(1), journal)
        connect_with(lambda db: db.execute("PRAGMA query_only = ON"))
        with pytest.raises(JournalError):
            await run_all(client, requests_for(2, tag="more"), journal)
    assert sped_up_emulator.stats()["creates"] == 1


async def test_an_unreadable_journal_row_is_fetched_again_not_fatal(
    sped_up_emulator: Emulator, tmp_path: Path
) -> None:
    """A row whose result or task id cannot be read back does not end the batch: the task is
    fetched again, or its create resent with the same key (the same task, no new one)."""
    journal = tmp_path / "rows.db"
    requests = requests_for(5)
    damage = [
        "final_task = '{not json'",
        "final_task = '{\"status\": 5}'",
        "final_task = X'00ff'",
        "task_id = X'00ff', final_task = NULL",
        "task_id = '../x', final_task = NULL",
    ]
    async with scaled_client(sped_up_emulator) as client:
        first = await run_all(client, requests, journal)
        with contextlib.closing(sqlite3.connect(journal)) as db, db:
            rows = db.execute("SELECT fingerprint FROM requests ORDER BY fingerprint").fetchall()
            for (fingerprint,), change in zip(rows, damage, strict=True):
                db.execute(f"UPDATE requests SET {change} WHERE fingerprint = ?", (fingerprint,))
        again = await run_all(client, requests, journal)
    assert len(again) == 5 and all(o.ok for o in again)
    assert {o.index: o.task_id for o in again} == {o.index: o.task_id for o in first}
    assert not any(o.from_journal or o.recreated for o in again)
    assert sped_up_emulator.stats()["tasks"]["total"] == 5


def open_all_at_once(path: str, openers: int) -> tuple[list[str], list[BaseException]]:
    """Open one journal from ``openers`` threads released together; (salts, errors)."""
    owner = _journal.JournalOwner("https://api.example/v1.3", lambda salt: "digest-" + salt)
    barrier = threading.Barrier(openers)
    salts: list[str] = []
    errors: list[BaseException] = []

    async def open_it() -> None:
        barrier.wait()
        journal = await _journal.open_journal(path, owner)
        salts.append(journal.salt)
        await journal.aclose()

    def run() -> None:
        try:
            asyncio.run(open_it())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return salts, errors


def test_a_new_journal_opened_by_many_at_once_gets_one_salt(tmp_path: Path) -> None:
    """Many openers racing on a new file all succeed and agree on its salt (no UNIQUE
    constraint or 'database is locked' error)."""
    for round_ in range(6):
        salts, errors = open_all_at_once(str(tmp_path / f"race{round_}.db"), 8)
        assert errors == [] and len(salts) == 8 and len(set(salts)) == 1


async def test_two_batches_on_one_new_journal_at_once_create_each_task_once(
    sped_up_emulator: Emulator, tmp_path: Path
) -> None:
    """Two analyze_many on the same new journal in one process share its salt, so the
    same requests become the same tasks."""
    journal = tmp_path / "twice.db"
    requests = requests_for(10)
    async with scaled_client(sped_up_emulator) as client:
        first, second = await asyncio.gather(
            run_all(client, requests, journal), run_all(client, requests, journal)
        )
    assert {o.task_id for o in first} == {o.task_id for o in second}
    assert sped_up_emulator.stats()["tasks"]["total"] == 10


async def test_a_journal_locked_by_another_process_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An open that cannot get the file within the busy timeout is a clear JournalError."""
    path = tmp_path / "locked.db"
    journal = await _journal.open_journal(path)
    await journal.aclose()
    monkeypatch.setattr(_journal, "BUSY_TIMEOUT", 0.05)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(JournalError, match="locked"):
            await _journal.open_journal(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# -- a journaled task the service no longer knows -------------------------------------------


async def test_tasks_a_fresh_server_never_saw_are_created_anew_once(tmp_path: Path) -> None:
    """Journaled tasks a restarted (emptied) server answers 404 for are created anew and
    reported as recreated; the next run finds everything in the journal."""
    journal = tmp_path / "fresh.db"
    requests = requests_for(4, seconds=600)
    requests[0] = requests_for(1, seconds=5, tag="quick")[0]
    async with Emulator(speed=EMULATOR_SPEED) as first:
        port = first.port
        async with scaled_client(first) as client:
            async for outcome in client.tasks.analyze_many(requests, journal=journal):
                assert outcome.index == 0
                break  # the other three are created and journaled, not finished
    async with Emulator(speed=EMULATOR_SPEED, port=port) as second:
        async with scaled_client(second) as client:
            outcomes = await run_all(client, requests, journal)
            assert second.stats()["creates"] == 3
            by_index = {o.index: o for o in outcomes}
            assert by_index[0].from_journal and not by_index[0].recreated
            assert all(by_index[i].recreated and by_index[i].ok for i in (1, 2, 3))
            third = await run_all(client, requests, journal)
        assert all(o.from_journal and not o.recreated for o in third)
        assert second.stats()["creates"] == 3


async def test_a_deleted_task_is_created_anew_under_a_new_key(
    sped_up_emulator: Emulator, tmp_path: Path
) -> None:
    """A journaled task deleted on the server is created anew with a new Idempotency-Key: the
    old key would only return the deleted task again."""
    journal = tmp_path / "deleted.db"
    requests = [requests_for(1, seconds=5, tag="q")[0], requests_for(1, seconds=300)[0]]
    async with scaled_client(sped_up_emulator) as client:
        async for _ in client.tasks.analyze_many(requests, journal=journal):
            break
        with contextlib.closing(sqlite3.connect(journal)) as db:
            journaled = {row[0] for row in db.execute("SELECT task_id FROM requests")}
        (deleted,) = journaled - {t.task_id async for t in client.tasks.iter(status="ready")}
        await client.tasks.await_result(deleted)
        await client.tasks.delete(deleted)
        outcomes = {o.index: o for o in await run_all(client, requests, journal)}
    assert outcomes[1].recreated and outcomes[1].ok and outcomes[1].task_id != deleted
    assert outcomes[1].to_dict()["recreated"] is True
    assert sped_up_emulator.stats()["creates"] == 3


class FakeService:
    """create/wait_for for the engine alone: creates record their keys; waits answer from
    a dict of task id -> status, 404 for an id it does not know."""

    def __init__(self) -> None:
        self.keys: list[str | None] = []
        self.known: set[str] = set()
        self.forget_on_create = False

    async def create(self, body: dict[str, Any], key: str | None) -> CreateAnalyzeTaskResponse:
        self.keys.append(key)
        task_id = f"t{len(self.keys)}"
        if not self.forget_on_create:
            self.known.add(task_id)
        return CreateAnalyzeTaskResponse(task_id=task_id, status="queued")  # type: ignore[arg-type]

    async def wait_for(self, task_id: str) -> AnalyzeTaskResponse:
        from asyncanalyze._convert import structure

        if task_id not in self.known:
            raise NotFoundError("task not found", status_code=404)
        return structure(task_json("ready", task_id=task_id), AnalyzeTaskResponse)


async def run_engine(
    service: FakeService, requests: list[AnalyzeRequest], journal: Path
) -> list[Any]:
    return [
        outcome
        async for outcome in run_batch(
            requests,
            create=service.create,
            wait_for=service.wait_for,
            concurrency=4,
            journal=journal,
            on_progress=None,
        )
    ]


async def test_a_forgotten_task_is_created_anew_at_most_once_per_run(tmp_path: Path) -> None:
    """If the new task is unknown too, the request fails with NotFoundError (no loop); each
    later run tries once more, each time under a key never used before."""
    journal = tmp_path / "gen.db"
    service = FakeService()
    requests = requests_for(1)
    service.forget_on_create = True
    first = await run_engine(service, requests, journal)
    assert isinstance(first[0].error, NotFoundError) and not first[0].recreated
    assert len(service.keys) == 1  # a task created in this run is not created again
    for run in (2, 3):
        outcome = (await run_engine(service, requests, journal))[0]
        assert isinstance(outcome.error, NotFoundError) and outcome.recreated
        assert len(service.keys) == run
    assert len(set(service.keys)) == 3
    service.forget_on_create = False
    outcome = (await run_engine(service, requests, journal))[0]
    assert outcome.ok and outcome.recreated and len(set(service.keys)) == 4
    assert (await run_engine(service, requests, journal))[0].from_journal
