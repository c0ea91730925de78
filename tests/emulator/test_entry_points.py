"""The command line, the pytest plugin fixtures and the Emulator's own lifetime."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp
import pytest

from asyncanalyze.emulator import Emulator, FaultConfig, ManualClock
from asyncanalyze.emulator.__main__ import build_parser, config_from_args, parse_fault
from asyncanalyze.emulator.pytest_plugin import FIXTURE_SPEED, EmulatorFactory


async def test_cli_prints_its_base_url_and_serves(http_session: aiohttp.ClientSession) -> None:
    """`python -m asyncanalyze.emulator --port 0` prints a working base URL, stops on SIGTERM."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncanalyze.emulator",
        "--port",
        "0",
        "--introspection",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        base_url = line.decode().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1.3")
        async with http_session.get(
            base_url + "/analyze/tasks", headers={"x-api-key": "k"}
        ) as reply:
            assert reply.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 20) == 0


def test_cli_options_map_onto_the_config() -> None:
    """Every flag lands in EmulatorConfig, faults parsed per endpoint."""
    args = build_parser().parse_args(
        [
            "--speed=50",
            "--api-key=K",
            "--create-rpm=30",
            "--error-shape=flat",
            "--db=/tmp/x.sqlite",
            "--webhook-url=http://127.0.0.1:1/h",
            "--webhook-secret=s",
            "--introspection",
            "--seed=9",
            "--manual-clock",
            "--fault=create:error_503=0.2,latency=0.1",
            "--fault=*:reset=0.01",
        ]
    )
    config = config_from_args(args)
    assert (config.speed, config.api_key, config.create_rpm) == (50, "K", 30)
    assert (config.error_shape, config.db_path, config.seed) == ("flat", "/tmp/x.sqlite", 9)
    assert config.introspection and isinstance(config.clock, ManualClock)
    assert config.faults == {
        "create": FaultConfig(error_503=0.2, latency=0.1),
        "*": FaultConfig(reset=0.01),
    }


def test_bad_fault_spec_is_refused() -> None:
    """A fault without an endpoint or with an unknown kind is an argument error."""
    import argparse

    for spec in ("error_503=0.2", "create:bogus=1", "create:error_503=x"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_fault(spec)


async def test_plugin_fixture_is_a_running_fast_emulator(
    analyze_emulator: Emulator, http_session: aiohttp.ClientSession
) -> None:
    """analyze_emulator is already serving, on loopback, at the fixture's speed."""
    assert analyze_emulator.config.speed == FIXTURE_SPEED
    url = analyze_emulator.base_url + "/analyze/tasks"
    async with http_session.get(url, headers={"x-api-key": "k"}) as reply:
        assert reply.status == 200


async def test_plugin_factory_takes_options(analyze_emulator_factory: EmulatorFactory) -> None:
    """analyze_emulator_factory(**options) starts emulators with any option."""
    clock = ManualClock()
    first = await analyze_emulator_factory(clock=clock, create_rpm=5)
    second = await analyze_emulator_factory()
    assert first.clock is clock and first.config.create_rpm == 5
    assert first.port != second.port


async def test_emulator_start_stop_and_urls() -> None:
    """start()/stop() work without `async with`; urls share the bound port."""
    emulator = Emulator()
    with pytest.raises(RuntimeError):
        _ = emulator.base_url
    await emulator.start()
    try:
        assert emulator.base_url == f"http://127.0.0.1:{emulator.port}/v1.3"
        assert emulator.admin_url == f"http://127.0.0.1:{emulator.port}/_emulator"
    finally:
        await emulator.stop()
    await emulator.stop()  # a second stop is harmless


async def test_fast_clock_moves_tasks_in_real_time(http_session: aiohttp.ClientSession) -> None:
    """With speed, tasks progress on their own: 1,000x finishes a short task in milliseconds."""
    async with Emulator(speed=1000) as emulator:
        video = {"type": "url", "url": "https://example.com/v.mp4?emulator_task_seconds=20"}
        headers = {"x-api-key": "k"}
        url = emulator.base_url + "/analyze/tasks"
        async with http_session.post(
            url, json={"video": video, "prompt": "p"}, headers=headers
        ) as r:
            task_id = (await r.json())["task_id"]
        started = asyncio.get_running_loop().time()
        status = "queued"
        while status != "ready" and asyncio.get_running_loop().time() - started < 5:
            async with http_session.get(f"{url}/{task_id}", headers=headers) as r:
                status = (await r.json())["status"]
        assert status == "ready"


async def test_cli_on_a_busy_port_says_so_in_one_line(http_session: aiohttp.ClientSession) -> None:
    """A port already in use is one line on stderr and exit code 2, not a traceback."""
    async with Emulator() as running:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "asyncanalyze.emulator",
            "--port",
            str(running.port),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert out == b""
    assert err.decode().count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{running.port}" in err.decode()
    assert "already in use" in err.decode().lower()


def test_cli_refuses_a_port_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--port", "70000"])
    assert exit_info.value.code == 2
    assert "must be 0-65535" in capsys.readouterr().err
