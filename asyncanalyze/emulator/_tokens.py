"""How many tokens a text costs: one count for usage, max_tokens cuts and the prompt limit.

Separate from the generators because three callers share it (the result's usage, the text
generator's cut, the create-time prompt check) and must count the same way.
"""

from __future__ import annotations

import math
import re

_PIECE_RE = re.compile(r"\w+|[^\w\s]")
# Subword tokenizers split long words; one token per started five characters lands near the
# usual "words x 1.3" rule of thumb for English text.
_CHARS_PER_TOKEN = 5


def _piece_cost(piece: str) -> int:
    if piece[0].isalnum() or piece[0] == "_":
        return max(1, math.ceil(len(piece) / _CHARS_PER_TOKEN))
    return 1


def count_tokens(text: str) -> int:
    """A stable approximation used for usage.input_tokens/output_tokens and max_tokens cuts."""
    if not text:
        return 0
    total = sum(_piece_cost(m.group()) for m in _PIECE_RE.finditer(text))
    return max(1, total)


def cut_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` ending at a piece boundary that fits ``max_tokens``."""
    if max_tokens <= 0:
        return ""
    if count_tokens(text) <= max_tokens:
        return text
    budget = max_tokens
    end = 0
    for match in _PIECE_RE.finditer(text):
        cost = _piece_cost(match.group())
        if cost > budget:
            if end == 0:
                # Nothing fits whole: keep as much of the first word as the budget pays for.
                end = match.start() + budget * _CHARS_PER_TOKEN
            break
        budget -= cost
        end = match.end()
    return text[:end].rstrip()
