"""examples/notebook.md: the client from a running loop (notebook cells with top-level await),
from repeated asyncio.run calls with a fresh client each, and the clear error when one client
is carried across two asyncio.run calls."""

from __future__ import annotations

import ast
import asyncio
import gc
import inspect
import re
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncanalyze import ClientStateError, VideoContext_Url
from asyncanalyze.emulator import Emulator
from asyncanalyze.testing import emulator_client

NOTEBOOK_MD = Path(__file__).resolve().parents[3] / "examples" / "notebook.md"


def notebook_cells() -> list[str]:
    """The python blocks of the notebook section, in order: the cells a reader runs."""
    text = NOTEBOOK_MD.read_text()
    section = text.split("## In a notebook", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


async def test_notebook_cells_run_with_top_level_await(capsys: pytest.CaptureFixture[str]) -> None:
    cells = notebook_cells()
    assert len(cells) == 3
    namespace: dict[str, Any] = {}
    # What IPython does with a cell: compile it allowing top-level await, evaluate it, and
    # await the coroutine that gives, on the loop that is already running (this test's).
    for cell in cells:
        code = compile(cell, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, namespace)  # the documented cells, verbatim
        if inspect.iscoroutine(result):
            await result
    printed = capsys.readouterr().out
    statuses, _, result = printed.partition("ready\n")  # the callback printed each change
    assert set(statuses.split()) <= {"queued", "pending", "processing"}
    assert result.startswith('Response to the prompt "Summarize this video')
    with pytest.raises(ClientStateError, match="closed"):
        await namespace["client"].tasks.retrieve("0" * 24)


@pytest.fixture
def emulator_in_thread() -> Iterator[Emulator]:
    """An emulator on its own loop in a thread, so this test's code can call asyncio.run."""
    started = threading.Event()
    box: dict[str, Any] = {}

    async def serve() -> None:
        async with Emulator(speed=1000) as emu:
            box.update(emu=emu, loop=asyncio.get_running_loop(), stop=asyncio.Event())
            started.set()
            await box["stop"].wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield box["emu"]
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(10)


async def summarize(emu: Emulator, url: str) -> str:
    async with emulator_client(emu) as client:  # made and closed inside this loop
        created = await client.tasks.create(video=VideoContext_Url(url=url), prompt="Summarize")
        task = await client.tasks.await_result(created)
        assert task.result is not None
        return task.result.data


def test_repeated_asyncio_run_with_a_fresh_client_each_time(emulator_in_thread: Emulator) -> None:
    first = asyncio.run(summarize(emulator_in_thread, "https://example.com/a.mp4"))
    second = asyncio.run(summarize(emulator_in_thread, "https://example.com/b.mp4"))
    third = asyncio.run(summarize(emulator_in_thread, "https://example.com/a.mp4"))
    assert first and second and first != second
    assert third == first  # deterministic text per video and prompt


def test_one_client_across_two_asyncio_runs_is_a_clear_error(emulator_in_thread: Emulator) -> None:
    clients = [emulator_client(emulator_in_thread)]  # made outside any loop

    async def use() -> None:
        await clients[0].tasks.list(page_limit=1)

    asyncio.run(use())
    with pytest.raises(ClientStateError, match="belongs to another event loop"):
        asyncio.run(use())
    # Its connections died, unclosed, with the first loop: collecting it says so.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clients.clear()
        gc.collect()
    assert any("unclosed AnalyzeAsyncClient" in str(w.message) for w in caught)
