"""Fingerprints: the SHA-256 of a value's canonical JSON, hashed as it is written.

Canonical JSON is ``json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`` encoded as UTF-8, the form batch journals have always keyed requests by,
so a journal written by an earlier version still finds its requests. Writing it piece by piece
lets a long string that needs no escaping (a base64 video of 40 MB) go to the hash in slices,
instead of first being copied into one JSON text of the same size and then into bytes.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring
from typing import Any, Final

__all__ = ["canonical_digest"]

# Strings longer than this are hashed in slices of this size.
_SLICE: Final = 1 << 20
# Printable ASCII except the two characters JSON escapes: such text is its own JSON form.
_VERBATIM: Final = bytes(sorted(set(range(0x20, 0x7F)) - {ord('"'), ord("\\")}))


def canonical_digest(value: Any) -> str:
    """Hex SHA-256 of ``value``'s canonical JSON; ``value`` is plain JSON (see check_json)."""
    writer = _CanonicalWriter()
    writer.write(value)
    return writer.hexdigest()


class _CanonicalWriter:
    """Writes canonical JSON into a SHA-256, short pieces batched, long strings sliced."""

    def __init__(self) -> None:
        self._hasher = hashlib.sha256()
        self._pending: list[str] = []

    def hexdigest(self) -> str:
        self._flush()
        return self._hasher.hexdigest()

    def _flush(self) -> None:
        self._hasher.update("".join(self._pending).encode())
        self._pending.clear()

    def write(self, value: Any) -> None:
        pending = self._pending
        if isinstance(value, str):
            if not (len(value) > _SLICE and value.isascii() and self._write_verbatim(value)):
                pending.append(encode_basestring(value))
        elif isinstance(value, dict):
            pending.append("{")
            for position, key in enumerate(sorted(value)):
                pending.append(("," if position else "") + encode_basestring(key) + ":")
                self.write(value[key])
            pending.append("}")
        elif isinstance(value, list | tuple):
            pending.append("[")
            for position, item in enumerate(value):
                if position:
                    pending.append(",")
                self.write(item)
            pending.append("]")
        else:  # numbers, booleans and null, exactly as json.dumps writes them
            pending.append(json.dumps(value))

    def _write_verbatim(self, text: str) -> bool:
        """Hash ``"text"`` slice by slice; False, with nothing written, if it needs escaping."""
        self._flush()
        trial = self._hasher.copy()
        trial.update(b'"')
        for start in range(0, len(text), _SLICE):
            chunk = text[start : start + _SLICE].encode("ascii")
            if chunk.translate(None, _VERBATIM):  # something other than verbatim characters
                return False
            trial.update(chunk)
        self._hasher = trial
        self._pending.append('"')
        return True
