"""Shared helpers for the examples' tests: import examples/*.py by name."""

from __future__ import annotations

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

# The examples are scripts, not a package: put their folder on the path so a test imports
# one as `import aiohttp_app`, exactly the module a user runs with `python examples/...`.
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
