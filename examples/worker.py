"""A long-running asyncio worker: analysis jobs in, results out, safe to stop and restart.

Jobs come one per line (JSONL) from a file or stdin, each with a unique ``id``::

    {"id": "job-1", "video": {"type": "url", "url": "https://..."}, "prompt": "Summarize"}

(``temperature``, ``max_tokens``, ``response_format`` are optional, as in ``AnalyzeRequest``).
Each finished job becomes one line of the results file. On SIGTERM (or Ctrl-C) the worker stops
taking jobs, gives the analyses in flight up to ``--grace`` seconds to finish, and exits; the
journal keeps the task ids of those still running, so a restart with the same journal and
input waits on them instead of creating (and paying for) them again. Jobs already in the
results file are skipped: every job completes exactly once across any number of restarts.
A second SIGTERM stops at once (the journal still resumes everything).

Run it (against the emulator, no key needed)::

    python -m asyncanalyze.emulator --port 8750 --speed 50 &
    export TWELVE_LABS_API_KEY=any ASYNCANALYZE_BASE_URL=http://127.0.0.1:8750/v1.3
    python examples/worker.py jobs.jsonl --results results.jsonl --journal worker.db
    producer | python examples/worker.py - --results results.jsonl --journal worker.db

It logs one JSON line per event on stdout (``started``, ``progress``, ``stopping``, ``stopped``,
``finished``). POSIX only (signal handlers on the event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import signal
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import IO, Any

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeRequest,
    BatchOutcome,
    BatchProgress,
    InvalidRequestError,
    PollPolicy,
)

# End of input, put on the queue by the reader.
_EOF = None


def log(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def job_request(job: Any) -> tuple[str, AnalyzeRequest]:
    """(job id, request) of one job line; raises ValueError or InvalidRequestError."""
    if not isinstance(job, dict):
        raise ValueError("a job must be a JSON object")
    job_id = job.pop("id", None)
    if not isinstance(job_id, str) or not job_id:
        raise ValueError('every job needs a non-empty string "id"')
    request = AnalyzeRequest.from_dict({**job, "metadata": {"job_id": job_id}})
    if request.idempotency_key is None:
        # A key derived from the job (its id and what it asks for) makes the create safe to
        # repeat after a crash: the platform answers with the task it already made. It also
        # names the job in the journal, so two jobs asking the same thing stay two tasks.
        basis = json.dumps([job_id, request.wire_body()], sort_keys=True)
        key = "job-" + hashlib.sha256(basis.encode()).hexdigest()[:40]
        request = AnalyzeRequest(
            video=request.video,
            prompt=request.prompt,
            temperature=request.temperature,
            max_tokens=request.max_tokens,
            response_format=request.response_format,
            idempotency_key=key,
            metadata=request.metadata,
        )
    return job_id, request


class Results:
    """The results file: one JSON line per finished job, appended and flushed as each ends."""

    def __init__(self, path: Path) -> None:
        self.done = self._load(path)
        # Local-disk appends of one short line are quick enough to do on the loop.
        self._file: IO[str] = path.open("a", encoding="utf-8")

    @staticmethod
    def _load(path: Path) -> set[str]:
        if not path.exists():
            return set()
        raw = path.read_bytes()
        if raw and not raw.endswith(b"\n"):
            # A line cut short by a hard kill: drop it, that job is redone (via the journal).
            raw = raw[: raw.rfind(b"\n") + 1]
            path.write_bytes(raw)
        done = set()
        for line in raw.decode("utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                record = json.loads(line)
                # A bad input line is remembered by its text, so a restart reports it once.
                done.add(record["job_id"] or f"line:{record['line']}")
        return done

    def write(self, job_id: str | None, record: dict[str, Any]) -> None:
        self._file.write(json.dumps({"job_id": job_id, **record}) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def outcome_record(outcome: BatchOutcome) -> dict[str, Any]:
    record = outcome.to_dict()
    for name in ("index", "metadata"):  # a position in one run's input; the job id says it
        record.pop(name)
    return record


async def stdin_lines() -> AsyncGenerator[bytes, None]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )
    except ValueError:
        # stdin redirected from a regular file (`< jobs.jsonl`), which asyncio cannot watch.
        for line in _file_lines(sys.stdin.buffer):
            yield line
        return
    # A pipe is read without blocking the loop, so a producer that pauses never stalls the
    # waits in flight, and shutdown does not hang on a read the way a reader thread would.
    try:
        while line := await reader.readline():
            yield line
    finally:
        transport.close()


def _file_lines(file: IO[bytes]) -> Iterator[bytes]:
    yield from file


async def file_lines(path: Path) -> AsyncGenerator[bytes, None]:
    # A local file is read on the loop: each line is a short disk read, and the bounded
    # queue keeps the reader from running ahead of the work.
    with path.open("rb") as file:
        for line in _file_lines(file):
            yield line


class Worker:
    def __init__(
        self,
        *,
        source: str,
        results: Path,
        journal: Path,
        concurrency: int,
        grace: float,
        client_factory: Callable[[], AnalyzeAsyncClient],
    ) -> None:
        self.source = source
        self.results = Results(results)
        self.journal = journal
        self.concurrency = concurrency
        self.grace = grace
        self.client_factory = client_factory
        # Jobs the reader parsed, waiting for a free slot; bounded, so a huge input or a fast
        # producer costs no memory.
        self.queue: asyncio.Queue[tuple[str, AnalyzeRequest] | None] = asyncio.Queue(
            maxsize=concurrency
        )
        # Our own slots, taken *before* a job leaves the queue: a job is never taken while
        # no slot is free, so "stop taking work" leaves nothing half-taken.
        self.slots = asyncio.Semaphore(concurrency)
        self.stop = asyncio.Event()
        self.in_flight: set[str] = set()

    async def read(self) -> None:
        lines = stdin_lines() if self.source == "-" else file_lines(Path(self.source))
        seen = set(self.results.done)
        async with contextlib.aclosing(lines):
            async for raw in lines:
                if not raw.strip():
                    continue
                try:
                    job_id, request = job_request(json.loads(raw))
                except (ValueError, InvalidRequestError) as exc:
                    # A bad line is a result, not a crash: the rest of the input goes on.
                    line = raw.decode("utf-8", "replace").strip()
                    if f"line:{line}" not in seen:
                        seen.add(f"line:{line}")
                        self.results.write(None, {"error": str(exc), "line": line})
                    continue
                if job_id in seen:  # done in an earlier run, or listed twice
                    continue
                seen.add(job_id)
                await self.queue.put((job_id, request))
        await self.queue.put(_EOF)

    async def _until_stopped(self, aw: Any) -> Any:
        """``await aw``, or None as soon as a stop is requested."""
        work = asyncio.ensure_future(aw)
        stopping = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait({work, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if self.stop.is_set():
            work.cancel()
            return None
        return work.result()

    async def requests(self) -> AsyncIterator[AnalyzeRequest]:
        """The jobs as analyze_many reads them: one per free slot, until EOF or a stop."""
        while True:
            if await self._until_stopped(self.slots.acquire()) is None:
                return
            item = await self._until_stopped(self.queue.get())
            if item is None:  # the end of the input, or a stop
                self.slots.release()
                return
            job_id, request = item
            self.in_flight.add(job_id)
            yield request

    async def consume(self, client: AnalyzeAsyncClient) -> None:
        logged = (0, 0, 0, 0, 0)  # nothing created, resumed, running or finished yet

        def progress(counts: BatchProgress) -> None:
            # A real worker would export these as metrics; the test reads them to know when.
            # Only the work is logged: jobs merely read from the input (``submitted``) change
            # nothing yet, and a line per job read would flood the log before anything started.
            nonlocal logged
            work = (counts.created, counts.resumed, counts.running, counts.ready, counts.failed)
            if work == logged:
                return
            logged = work
            log(
                "progress",
                submitted=counts.submitted,
                created=counts.created,
                resumed=counts.resumed,
                running=counts.running,
                ready=counts.ready,
                failed=counts.failed,
            )

        outcomes = client.tasks.analyze_many(
            self.requests(),
            concurrency=self.concurrency,
            journal=self.journal,
            on_progress=progress,
        )
        async with contextlib.aclosing(outcomes):
            async for outcome in outcomes:
                job_id = str((outcome.request.metadata or {})["job_id"])
                self.results.write(job_id, outcome_record(outcome))
                self.in_flight.discard(job_id)
                self.slots.release()

    async def run(self) -> bool:
        """Work until the input ends (True) or a stop; False if jobs were left unfinished."""
        loop = asyncio.get_running_loop()
        reader = asyncio.create_task(self.read())
        try:
            async with self.client_factory() as client:
                consumer = asyncio.create_task(self.consume(client))

                def on_signal() -> None:
                    if self.stop.is_set():  # the second signal: stop now
                        consumer.cancel()
                        return
                    log("stopping", in_flight=sorted(self.in_flight), grace=self.grace)
                    self.stop.set()

                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, on_signal)
                stopping = asyncio.create_task(self.stop.wait())
                await asyncio.wait({consumer, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if not consumer.done():
                    # Stop taking work (requests() returns); the waits in flight may finish
                    # within the grace period, then whatever is left is cancelled. Their task
                    # ids are in the journal already: cancelling only stops our polling.
                    done, _ = await asyncio.wait({consumer}, timeout=self.grace)
                    if not done:
                        consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer
        finally:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self.results.close()
        if self.stop.is_set():
            log("stopped", unfinished_jobs=sorted(self.in_flight), journal=str(self.journal))
            return not self.in_flight
        log("finished")
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", help="a JSONL file of jobs, or - for stdin")
    parser.add_argument("--results", type=Path, default=Path("results.jsonl"))
    parser.add_argument("--journal", type=Path, default=Path("worker-journal.db"))
    parser.add_argument("--concurrency", type=int, default=20, help="analyses in flight")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds to drain on SIGTERM")
    parser.add_argument(
        "--poll-interval",
        type=float,
        help="longest gap between polls of a task, and between sweeps when many are in flight"
        " (default: the client's, 20 s and 8 s)",
    )
    args = parser.parse_args(argv)

    def client_factory() -> AnalyzeAsyncClient:
        # Key and base URL come from TWELVE_LABS_API_KEY / ASYNCANALYZE_BASE_URL.
        if args.poll_interval is None:
            return AnalyzeAsyncClient()
        interval = args.poll_interval
        return AnalyzeAsyncClient(
            poll_policy=PollPolicy(initial_delay=min(2.0, interval), max_delay=interval),
            bulk_interval=interval,
        )

    worker = Worker(
        source=args.jobs,
        results=args.results,
        journal=args.journal,
        concurrency=args.concurrency,
        grace=args.grace,
        client_factory=client_factory,
    )
    # asyncio.run gives the worker a fresh loop and closes it; the client is created inside.
    asyncio.run(worker.run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
