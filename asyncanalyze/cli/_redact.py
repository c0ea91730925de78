"""Scrubbing the API key from what the CLI prints, where a key can appear and nowhere else.

The SDK never puts the key into messages, logs or reprs; this is the CLI's last line of
defence. It replaces the key where text could carry one: after a header or parameter name
(``x-api-key: K``, ``api_key='K'``, ``?key=K``, ``Authorization: Bearer K``) and in a URL's
user info (``https://K@host``). A key long enough to be unmistakable (a real one is ~40
characters) is also replaced wherever it stands as a whole token. Replacing every occurrence
of any string would garble text: ``--api-key k`` once turned ``analyze_task`` into
``analyze_tas***``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Final

__all__ = ["MASK", "redactor"]

MASK: Final = "***"
# Shorter keys are replaced only in the contexts above: a short string stands in ordinary words.
MIN_FREE_STANDING_KEY: Final = 12
_NAME: Final = r"(?:x-api-key|api[_-]?key|apikey|key|token|authorization)"
# What keys and task ids are made of: next to the key, such a character means a longer token.
_TOKEN_CHAR: Final = r"[\w-]"  # noqa: S105 (a character class, not a password)


def _patterns(secret: str) -> list[re.Pattern[str]]:
    """Patterns whose group ``key`` is the secret in a place a key can stand."""
    key = rf"(?P<key>{re.escape(secret)})"
    patterns = [
        # a named value: header, parameter, keyword argument or JSON member, quoted or not
        re.compile(
            rf"(?i)(?<![\w-]){_NAME}['\"]?\s*[:=]\s*(?:bearer\s+)?['\"]?{key}(?!{_TOKEN_CHAR})"
        ),
        # a URL's user info: scheme://KEY@host or scheme://user:KEY@host
        re.compile(rf"://(?:[^/\s@:]*:)?{key}@"),
    ]
    if len(secret) >= MIN_FREE_STANDING_KEY:
        patterns.append(re.compile(rf"(?<!{_TOKEN_CHAR}){key}(?!{_TOKEN_CHAR})"))
    return patterns


def _mask(match: re.Match[str]) -> str:
    start, end = match.span("key")
    text = match.group(0)
    offset = match.start()
    return text[: start - offset] + MASK + text[end - offset :]


def redactor(secrets: Iterable[str | None]) -> Callable[[str], str]:
    """A function that masks each of ``secrets`` (and its stripped form) in a text."""
    keys = {k for s in secrets if s and s.strip() for k in (s, s.strip())}
    patterns = [p for key in sorted(keys, key=len, reverse=True) for p in _patterns(key)]

    def redact(text: str) -> str:
        for pattern in patterns:
            text = pattern.sub(_mask, text)
        return text

    return redact
