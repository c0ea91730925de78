"""The README's Python examples, run against the emulator, so the docs cannot rot.

Every ```python block of README.md runs, each in a fresh namespace that holds what the prose
around the blocks assumes: the public names of ``asyncanalyze``, ``asyncio``, a ``client``
on the emulator's clock, a ``created`` task (asking for the JSON the structured-output
example parses), ``urls``, ``save`` and ``log`` for the batch example, and a signed
webhook delivery (``raw_body``, ``request_headers``, ``secret``). Top-level ``await`` and
``async for`` work as in a notebook. A block that defines ``test_*`` functions (the pytest
example) has them called with the client as their fixture. ``TWELVE_LABS_API_KEY`` and
``ASYNCANALYZE_BASE_URL`` point at the emulator, so ``AnalyzeAsyncClient()`` finds it.

Convention: a block that cannot run on its own (a fragment) is preceded in README.md by the
line ``<!-- not-tested -->``; this test skips exactly those and no others.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import asyncanalyze
from asyncanalyze import ResponseFormat, VideoContext_Url
from asyncanalyze.emulator import sign_webhook
from asyncanalyze.testing import emulator_client

from .._served import ThreadedEmulator

README = Path(__file__).resolve().parents[2] / "README.md"
SKIP_MARKER = "<!-- not-tested -->"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "topics": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["title", "topics"],
}


def readme_blocks() -> list[tuple[int, str]]:
    """(line number, source) of each python block not marked as a fragment."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        if before.strip() == SKIP_MARKER:
            continue
        blocks.append((text.count("\n", 0, match.start()) + 1, match.group(1)))
    return blocks


@pytest.fixture(scope="module")
def readme_emulator() -> Iterator[ThreadedEmulator]:
    emulator = ThreadedEmulator(speed=1000)
    yield emulator
    emulator.close()


def make_clip(path: Path) -> None:
    """A real 5-second 480x360 MP4 (black frames at 1 fps), for the local-file example."""
    try:
        import av
    except ImportError:  # without [media] only the size is checked: any bytes will do
        path.write_bytes(b"\0" * 4096)
        return
    codec = "mpeg4" if "mpeg4" in av.codecs_available else "libx264"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = 480, 360, "yuv420p"
        for index in range(5):
            frame = av.VideoFrame(480, 360, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    path.write_bytes(buffer.getvalue())


def webhook_delivery(task_id: str) -> dict[str, Any]:
    secret = "whsec_readme"
    raw = json.dumps(
        {
            "id": "whe_readme",
            "type": "analyze.task.ready",
            "created_at": "2026-01-01T00:00:00Z",
            "data": {"id": task_id, "status": "ready", "created_at": "2026-01-01T00:00:00Z"},
        },
        separators=(",", ":"),
    )
    signature = sign_webhook(secret, int(time.time()), raw)
    return {
        "secret": secret,
        "raw_body": raw.encode(),
        "request_headers": {"TL-Signature": signature},
    }


def run_block(
    source: str, line: int, loop: asyncio.AbstractEventLoop, names: dict[str, Any]
) -> None:
    code = compile(source, f"README.md:{line}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    if code.co_flags & inspect.CO_COROUTINE:
        loop.run_until_complete(eval(code, names))
    else:
        exec(code, names)
    for name, value in list(names.items()):
        if name.startswith("test_") and inspect.iscoroutinefunction(value):
            loop.run_until_complete(value(names["client"]))


@pytest.mark.parametrize(
    ("line", "source"),
    [pytest.param(line, source, id=f"README.md:{line}") for line, source in readme_blocks()],
)
def test_readme_example_runs(
    line: int,
    source: str,
    readme_emulator: ThreadedEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The README block starting at this line runs without error against the emulator."""
    monkeypatch.setenv("TWELVE_LABS_API_KEY", "readme-key")
    monkeypatch.setenv("ASYNCANALYZE_BASE_URL", readme_emulator.emulator.base_url)
    monkeypatch.chdir(tmp_path)  # journals and files the examples write land here
    make_clip(tmp_path / "clip.mp4")
    loop = asyncio.new_event_loop()
    try:
        client = emulator_client(readme_emulator.emulator)

        async def create() -> Any:
            return await client.tasks.create(
                video=VideoContext_Url(
                    url="https://videos.example/readme.mp4?emulator_task_seconds=30"
                ),
                prompt="Summarize",
                response_format=ResponseFormat(json_schema=SUMMARY_SCHEMA),
            )

        created = loop.run_until_complete(create())
        saved: list[Any] = []
        names: dict[str, Any] = {
            "__name__": "readme_example",
            "asyncio": asyncio,
            **{name: getattr(asyncanalyze, name) for name in asyncanalyze.__all__},
            "client": client,
            "created": created,
            "urls": [f"https://videos.example/r{i}.mp4?emulator_task_seconds=20" for i in range(3)],
            "save": lambda *args: saved.append(args),
            "log": lambda *args: saved.append(args),
            **webhook_delivery(created.task_id),
        }
        run_block(source, line, loop, names)
        loop.run_until_complete(client.aclose())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def test_every_python_block_is_run_or_marked() -> None:
    """Blocks are found at all (the pattern still matches the README's fences)."""
    text = README.read_text(encoding="utf-8")
    markers = sum(line.strip() == SKIP_MARKER for line in text.splitlines())
    assert text.count("```python") == len(readme_blocks()) + markers
    assert len(readme_blocks()) >= 5
