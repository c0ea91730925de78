"""Bounded decompression of response bodies.

The transport asks for ``ACCEPT_ENCODING`` and inflates what comes back itself, never more than
the caller's limit plus one byte: aiohttp's own inflation is unbounded before 3.13.3
(CVE-2025-69223: one small gzip chunk became 140 MiB in memory) and, after it, bounded at its
own 32 MiB rather than at ``max_response_bytes``. Doing it here makes the cap exact and the
same on every aiohttp version, owned or borrowed session alike.
"""

from __future__ import annotations

import zlib
from typing import Final

__all__ = ["ACCEPT_ENCODING", "BoundedInflater", "UnsupportedEncodingError"]

# Only what zlib (the standard library) can inflate: brotli or zstd would need another package.
ACCEPT_ENCODING: Final = "gzip, deflate"
# 32 + 15: zlib detects the gzip or zlib header itself.
_GZIP_OR_ZLIB: Final = 47
_RAW_DEFLATE: Final = -15


class UnsupportedEncodingError(ValueError):
    """A Content-Encoding this module cannot inflate (the server ignored Accept-Encoding)."""


class BoundedInflater:
    """Inflates a stream chunk by chunk; ``feed`` never returns more than ``room`` bytes and
    keeps the rest of its input until asked again, so memory follows the limit, not the ratio."""

    def __init__(self, content_encoding: str) -> None:
        encoding = content_encoding.strip().lower()
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise UnsupportedEncodingError(f"unsupported Content-Encoding {content_encoding!r}")
        self._raw_deflate_possible = encoding == "deflate"
        self._inflater = zlib.decompressobj(_GZIP_OR_ZLIB)
        self._started = False

    def feed(self, chunk: bytes, room: int) -> bytes:
        """Up to ``room`` inflated bytes of ``chunk`` plus whatever input is still pending.

        Raises ``zlib.error`` on a corrupt stream.
        """
        if not self._started and chunk:
            self._started = True
            if self._raw_deflate_possible and not _has_zlib_header(chunk):
                # "deflate" is meant to be zlib-wrapped, yet some servers send it raw.
                self._inflater = zlib.decompressobj(_RAW_DEFLATE)
        pending = self._inflater.unconsumed_tail + chunk
        return self._inflater.decompress(pending, max(room, 1))

    def flush(self) -> bytes:
        """What zlib still holds once the input has ended: at most its 32 KiB window, since
        ``feed`` only returns short of ``room`` after consuming all of its input."""
        return self._inflater.flush()


def _has_zlib_header(chunk: bytes) -> bool:
    if len(chunk) < 2:
        return True  # too short to tell; zlib will say if it is not
    first, second = chunk[0], chunk[1]
    return first & 0x0F == 8 and (first << 8 | second) % 31 == 0
