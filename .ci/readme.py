"""Pieces of README.md that CI runs verbatim, so the README cannot promise what fails.

    python .ci/readme.py command "Try it"                 # the shell block of that section
    python .ci/readme.py files "In your own tests" DIR    # its python blocks, as the files
                                                          # their first line names (# conftest.py)
A section runs from its heading (matched by prefix, any level) to the next heading of the same
or a higher level.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
FILE_NAME = re.compile(r"#\s*([\w./-]+\.py)\s*$")


def section(title: str, text: str) -> str:
    heading = re.search(rf"^(#+) {re.escape(title)}[^\n]*\n", text, re.MULTILINE)
    if heading is None:
        raise SystemExit(f"README.md: no section {title!r}")
    level = len(heading.group(1))
    lines = text[heading.end() :].splitlines(keepends=True)
    in_fence = False
    for index, line in enumerate(lines):
        in_fence ^= line.startswith("```")
        if not in_fence and re.match(rf"#{{1,{level}}} ", line):
            return "".join(lines[:index])
    return "".join(lines)


def blocks(title: str, *languages: str) -> list[str]:
    text = section(title, README.read_text("utf-8"))
    chosen = [m.group(2) for m in FENCE.finditer(text) if m.group(1) in languages]
    if not chosen:
        raise SystemExit(f"README.md: section {title!r} has no {'/'.join(languages)} block")
    return chosen


def main(argv: list[str]) -> int:
    match argv:
        case ["command", title]:
            print(blocks(title, "bash", "sh", "shell")[0].strip())
        case ["files", title, directory]:
            for code in blocks(title, "python"):
                name = FILE_NAME.match(code.splitlines()[0])
                if name is None:
                    raise SystemExit(f"README.md: a block of {title!r} names no file")
                target = Path(directory) / name.group(1)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(code, encoding="utf-8")
                print(target)
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
