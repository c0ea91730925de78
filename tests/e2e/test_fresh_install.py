"""A fresh install has no test framework, no dev tool and no optional extra: the package, its
CLI and its emulator must work there. Each check runs in a subprocess in which those packages
cannot be imported (a finder refuses them), whatever this environment has installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# Dev-only packages (the [dev] and [testing] extras) and the optional extras ([cli]: rich,
# [media]: av, [speed]: orjson): none may be needed by the core, the CLI or the emulator.
pytestmark = pytest.mark.slow  # each check starts a Python subprocess

HIDDEN = [
    "pytest",
    "_pytest",
    "pytest_asyncio",
    "pytest_cov",
    "hypothesis",
    "aioresponses",
    "jsonschema",
    "yaml",
    "twelvelabs",
    "fastapi",
    "httpx",
    "uvicorn",
    "rich",
    "av",
    "orjson",
]
REPO = Path(__file__).resolve().parents[2]
PLUGINS = {"asyncanalyze.pytest_plugin", "asyncanalyze.emulator.pytest_plugin"}

PRELUDE = textwrap.dedent(
    f"""
    import importlib.abc, sys
    HIDDEN = {set(HIDDEN)!r}

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, Hide())
    """
)


def run_without_extras(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_module_but_the_pytest_plugins_imports_without_extras() -> None:
    """Walking the whole package imports nothing dev-only; the plugins alone need pytest."""
    result = run_without_extras(
        f"""
        import importlib, json, pkgutil
        import asyncanalyze
        plugins = {sorted(PLUGINS)!r}
        # A __main__ runs its command on import: the help test below covers those.
        names = [
            m.name
            for m in pkgutil.walk_packages(asyncanalyze.__path__, "asyncanalyze.")
            if not m.name.endswith(".__main__")
        ]
        for name in names:
            if name not in plugins:
                importlib.import_module(name)
        refused = []
        for name in plugins:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                refused.append(exc.name)
        print(json.dumps({{"imported": len(names) - len(plugins), "refused": refused}}))
        """
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["imported"] > 40
    # The finder really hides pytest: both plugins fail on it.
    assert report["refused"] == ["pytest_asyncio", "pytest_asyncio"]


def test_cli_demo_and_testing_helpers_work_without_extras() -> None:
    """`asyncanalyze demo` (plain output, no rich) and emulator_client run on the core alone."""
    result = run_without_extras(
        """
        import asyncio, sys
        from asyncanalyze.cli import main
        from asyncanalyze.emulator import Emulator
        from asyncanalyze.testing import EMULATOR_API_KEY, emulator_client

        async def one_task():
            async with Emulator(speed=1000) as emu, emulator_client(emu) as client:
                assert client is not None and EMULATOR_API_KEY
                return (await client.tasks.list()).data

        asyncio.run(one_task())
        sys.exit(main(["demo", "--tasks", "4", "--speed", "5000"]))
        """
    )
    assert result.returncode == 0, result.stderr
    assert "4: 2 ready, 2 failed" in result.stdout
    assert "Traceback" not in result.stderr


def test_help_of_both_command_lines_without_extras() -> None:
    """`asyncanalyze --help` and `python -m asyncanalyze.emulator --help` need no extra."""
    result = run_without_extras(
        """
        import contextlib, runpy, sys
        from asyncanalyze.cli import main
        assert main(["--help"]) == 0
        sys.argv = ["asyncanalyze", "--help"]
        with contextlib.suppress(SystemExit):
            runpy.run_module("asyncanalyze.cli", run_name="__main__")
        sys.argv = ["asyncanalyze.emulator", "--help"]
        with contextlib.suppress(SystemExit):
            runpy.run_module("asyncanalyze.emulator", run_name="__main__")
        """
    )
    assert result.returncode == 0, result.stderr
    assert "asyncanalyze demo" in result.stdout and "--speed" in result.stdout


def test_readme_snippet_for_your_own_tests_passes_in_a_new_project(tmp_path: Path) -> None:
    """The README's "In your own tests" files, verbatim in an empty project with no pytest
    configuration of its own, give one passing test (CI repeats this in a fresh venv that
    has only asyncanalyze[testing])."""
    subprocess.run(
        [sys.executable, str(REPO / ".ci" / "readme.py"), "files", "In your own tests", tmp_path],
        check=True,
        capture_output=True,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conftest.py", "test_summary.py"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
