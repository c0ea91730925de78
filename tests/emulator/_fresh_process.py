"""A snippet run in a fresh interpreter: shows a value does not depend on the process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def output_in_fresh_process(script: str, *args: str, hash_seed: str) -> str:
    """What ``script`` prints in a new interpreter with ``PYTHONHASHSEED=hash_seed``.

    Another hash seed exposes any use of the salted built-in ``hash()``.
    """
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=30,
    )
    return done.stdout
