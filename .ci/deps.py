"""The runtime dependencies' lower bounds, as pyproject.toml states them.

    python .ci/deps.py lowest          # aiohttp==3.10.11 attrs==23.1.0 ...: the pins to test
    python .ci/deps.py check-lowest    # constraints/lowest.txt pins exactly those (exit 1 if not)

CI runs the suite once against constraints/lowest.txt, so a bound in pyproject.toml is a version
that was tested, not a guess. Every runtime dependency must have a ``>=`` bound.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
LOWER_BOUND = re.compile(r">=\s*([0-9][0-9A-Za-z.]*)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def same_version(a: str | None, b: str) -> bool:
    """Equal as pip compares them: 23.1 is 23.1.0."""
    if a is None:
        return False
    if a == b:
        return True
    if not (re.fullmatch(r"[0-9.]+", a) and re.fullmatch(r"[0-9.]+", b)):
        return False
    left, right = [int(x) for x in a.split(".")], [int(x) for x in b.split(".")]
    width = max(len(left), len(right))
    return left + [0] * (width - len(left)) == right + [0] * (width - len(right))


def lower_bounds() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    bounds = {}
    for requirement in project["dependencies"]:
        match = REQUIREMENT.match(requirement)
        bound = LOWER_BOUND.search(match.group(3)) if match else None
        if match is None or bound is None:
            raise SystemExit(f"pyproject.toml: {requirement!r} has no '>=' lower bound")
        bounds[normalized(match.group(1))] = bound.group(1)
    return bounds


def pinned(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text("utf-8").splitlines():
        name, sep, version = line.split("#", 1)[0].strip().partition("==")
        if sep:
            pins[normalized(name)] = version.strip()
    return pins


def main(argv: list[str]) -> int:
    match argv:
        case ["lowest"]:
            print(" ".join(f"{name}=={version}" for name, version in lower_bounds().items()))
        case ["check-lowest"]:
            pins = pinned(ROOT / "constraints" / "lowest.txt")
            wrong = [
                f"{name}: pyproject.toml says >={version}, constraints/lowest.txt pins "
                f"{pins.get(name, 'nothing')}"
                for name, version in lower_bounds().items()
                if not same_version(pins.get(name), version)
            ]
            if wrong:
                print("\n".join(wrong) + "\n(regenerate with: bash .ci/lock)", file=sys.stderr)
                return 1
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
