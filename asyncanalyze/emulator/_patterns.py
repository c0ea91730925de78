"""Strings that match a regular expression, built from the ``re`` module's own parse tree.

Separate from the schema generator, which only asks for "a string matching ``pattern``": the
walk over regex syntax (literals, classes, repeats, groups, back references) is its own job.
"""

from __future__ import annotations

import importlib
import random
import re
from collections.abc import Iterator
from typing import Any


def pattern_string(pattern: str, rng: random.Random) -> str | None:
    """A string that ``re.search(pattern, ...)`` accepts, or None when none was found."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return None
    candidates: list[str] = []
    try:
        # re._parser is private, so any surprise there only costs the pattern support.
        parser = importlib.import_module("re._parser")
        candidates.append("".join(_emit(parser.parse(pattern), rng, {})))
    except Exception:  # noqa: S110
        pass
    candidates += ["", "a", "example", "A1", "0", "abc-123", "2024-01-01"]
    return next((c for c in candidates if compiled.search(c)), None)


_CLASS_ALPHABET = "abcxyzABCXYZ0123456789_-. @:/"
_REPEAT_EXTRA = 3


def _emit(items: Any, rng: random.Random, groups: dict[int, str]) -> Iterator[str]:
    for op, arg in items:
        kind = str(op)
        if kind == "LITERAL":
            yield chr(arg)
        elif kind == "NOT_LITERAL":
            yield "a" if chr(arg) != "a" else "b"
        elif kind == "ANY":
            yield rng.choice("abcxyz")
        elif kind == "IN":
            yield _class_char(arg, rng)
        elif kind in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
            low, high, sub = arg
            high = min(high, low + _REPEAT_EXTRA)
            for _ in range(rng.randint(low, high)):
                yield from _emit(sub, rng, groups)
        elif kind in {"SUBPATTERN", "ATOMIC_GROUP"}:
            sub = arg[-1] if kind == "SUBPATTERN" else arg
            text = "".join(_emit(sub, rng, groups))
            if kind == "SUBPATTERN" and arg[0] is not None:
                groups[arg[0]] = text
            yield text
        elif kind == "BRANCH":
            yield from _emit(rng.choice(arg[1]), rng, groups)
        elif kind == "GROUPREF":
            yield groups.get(arg, "")
        elif kind in {"AT", "ASSERT", "ASSERT_NOT"}:
            continue
        else:
            raise ValueError(kind)


def _class_char(items: Any, rng: random.Random) -> str:
    negate = bool(items) and str(items[0][0]) == "NEGATE"
    members = items[1:] if negate else items
    matching = [c for c in _CLASS_ALPHABET if _in_class(c, members)]
    if negate:
        matching = [c for c in _CLASS_ALPHABET if c not in matching]
    if not matching:
        raise ValueError("empty class")
    return rng.choice(matching)


def _in_class(char: str, members: Any) -> bool:
    for op, arg in members:
        kind = str(op)
        if kind == "LITERAL" and char == chr(arg):
            return True
        if kind == "RANGE" and arg[0] <= ord(char) <= arg[1]:
            return True
        if kind == "CATEGORY":
            category = str(arg)
            tests = {
                "CATEGORY_DIGIT": char.isdigit(),
                "CATEGORY_NOT_DIGIT": not char.isdigit(),
                "CATEGORY_WORD": char.isalnum() or char == "_",
                "CATEGORY_NOT_WORD": not (char.isalnum() or char == "_"),
                "CATEGORY_SPACE": char.isspace(),
                "CATEGORY_NOT_SPACE": not char.isspace(),
            }
            if tests.get(category, False):
                return True
    return False
