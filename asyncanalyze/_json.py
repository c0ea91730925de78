"""The one JSON codec of the package: orjson when the ``[speed]`` extra is installed, the
standard library otherwise. Everything that reads or writes JSON (the wire, the journal,
webhooks, a result's ``json()``, the CLI's output and manifests) goes through here, so both
installs parse and write the same documents the same way.

Canonical JSON for fingerprints is not an encoding choice but a stable format, and keeps its
own spelling in ``_fingerprint``.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any, Final, cast

__all__ = ["HAVE_ORJSON", "dumps", "dumps_text", "loads"]

orjson: ModuleType | None
try:  # the optional [speed] extra: orjson decodes ~2x faster than the stdlib
    import orjson
except ImportError:  # pragma: no cover - exercised when the extra is absent
    orjson = None

HAVE_ORJSON: Final = orjson is not None


def loads(data: bytes | bytearray | str) -> Any:
    """Parse one JSON document; a malformed one raises ValueError (``json.JSONDecodeError``,
    which orjson's error subclasses; UnicodeDecodeError for bytes that are not UTF-8), a
    too-deep one ValueError or RecursionError."""
    if orjson is not None:
        return orjson.loads(data)
    if not isinstance(data, str):
        data = bytes(data).decode("utf-8")  # JSON on the wire and in files is UTF-8 (RFC 8259)
    return _STRICT.decode(data)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


# The stdlib also reads NaN and Infinity, which orjson (and JSON) refuse: refused here too, so
# a manifest line or a response means the same with or without the extra.
_STRICT: Final = json.JSONDecoder(parse_constant=_not_json)


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, for the wire and the journal."""
    if orjson is not None:
        try:
            return cast(bytes, orjson.dumps(value))
        except TypeError:
            if not _stdlib_can(value):
                raise
    return json.dumps(value, separators=(",", ":")).encode()


def dumps_text(value: Any, *, indent: bool = False) -> str:
    """JSON text for people and JSON-lines files: non-ASCII kept as is, ``indent`` for two
    spaces per level."""
    if orjson is not None:
        try:
            text = orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else 0).decode()
            return cast(str, text)
        except TypeError:
            if not _stdlib_can(value):
                raise
    if indent:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _stdlib_can(value: Any) -> bool:
    """orjson refuses integers beyond 64 bits, which JSON itself allows and the stdlib
    writes: such a value takes the stdlib path instead of failing on one install only."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
