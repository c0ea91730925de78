"""JSON values and schemas as the emulator reads them, one reading for every schema consumer.

The generator, its validator and the create-time check all need a $ref's target, a schema's
numeric bounds and JSON's own equality (``true`` is not ``1``); kept here so the three cannot
read one schema three ways.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeGuard

# The platform's types: JSON Schema's, plus ``timestamp`` with one of these formats.
KNOWN_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string", "timestamp")
TIMESTAMP_FORMATS = ("seconds", "hh:mm:ss", "hh:mm:ss.fff")
# What resolve() answers for a reference that points nowhere (None is a valid subschema value).
MISSING = object()


def is_number(value: Any) -> TypeGuard[float]:
    """A JSON number: an int or float, and not a bool (which Python counts as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def bounds(schema: Mapping[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """(low, low_exclusive, high, high_exclusive), reading draft 4 boolean forms too."""
    low: float | None = None
    low_x = False
    high: float | None = None
    high_x = False

    def num(value: Any) -> float | None:
        if not is_number(value):
            return None
        return float(value) if math.isfinite(value) else None

    minimum, maximum = num(schema.get("minimum")), num(schema.get("maximum"))
    ex_min, ex_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if minimum is not None:
        low, low_x = minimum, ex_min is True
    strict_low = num(ex_min)
    if strict_low is not None and (low is None or strict_low >= low):
        low, low_x = strict_low, True
    if maximum is not None:
        high, high_x = maximum, ex_max is True
    strict_high = num(ex_max)
    if strict_high is not None and (high is None or strict_high <= high):
        high, high_x = strict_high, True
    return low, low_x, high, high_x


def json_equal(a: Any, b: Any) -> bool:
    # JSON Schema keeps booleans apart from numbers, unlike Python's True == 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and bool(a == b)


def resolve(root: Mapping[str, Any], ref: Any) -> Any:
    """The subschema a local ``$ref`` in ``root`` points to, or MISSING."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        return MISSING
    node: Any = root
    pointer = ref[1:]
    if not pointer:
        return node
    if not pointer.startswith("/"):
        return MISSING
    for raw in pointer[1:].split("/"):
        part = raw.replace("%25", "%").replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def effective(root: Mapping[str, Any], schema: Mapping[str, Any], refs: int) -> tuple[Any, int]:
    """``schema`` with $ref and allOf folded in, and the number of $ref hops taken."""
    current: Any = dict(schema)
    for _ in range(16):
        if not isinstance(current, dict):
            return current, refs
        if "$ref" in current:
            target = resolve(root, current["$ref"])
            siblings = {k: v for k, v in current.items() if k != "$ref"}
            refs += 1
            if target is MISSING or isinstance(target, bool):
                current = siblings if target is not False else False
                continue
            current = merge(target, siblings)
            continue
        all_of = current.get("allOf")
        if isinstance(all_of, list) and all_of:
            merged = {k: v for k, v in current.items() if k != "allOf"}
            for sub in all_of:
                if isinstance(sub, dict):
                    merged = merge(merged, sub)
            current = merged
            continue
        return current, refs
    return current, refs


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """A single schema close to ``allOf: [base, extra]`` for generation purposes."""
    out = dict(base)
    for key, value in extra.items():
        if key not in out:
            out[key] = value
        elif key == "properties" and isinstance(out[key], dict) and isinstance(value, dict):
            props = dict(out[key])
            for name, sub in value.items():
                prev = props.get(name)
                if isinstance(prev, dict) and isinstance(sub, dict):
                    props[name] = merge(prev, sub)
                else:
                    props[name] = sub
            out[key] = props
        elif key in {"items", "additionalProperties"} and (value is False or out[key] is False):
            out[key] = False
        elif key in {"items", "additionalProperties", "not"} and isinstance(out[key], dict):
            out[key] = merge(out[key], value) if isinstance(value, dict) else out[key]
        elif key == "required" and isinstance(out[key], list) and isinstance(value, list):
            out[key] = list(dict.fromkeys([*out[key], *value]))
        elif key in {"minimum", "exclusiveMinimum", "minItems", "minLength", "minProperties"}:
            out[key] = _pick(out[key], value, max)
        elif key in {"maximum", "exclusiveMaximum", "maxItems", "maxLength", "maxProperties"}:
            out[key] = _pick(out[key], value, min)
        elif key == "type":
            mine = out[key] if isinstance(out[key], list) else [out[key]]
            theirs = value if isinstance(value, list) else [value]
            common = [t for t in mine if t in theirs]
            if "integer" in theirs and "number" in mine and "integer" not in common:
                common.append("integer")
            if "integer" in mine and "number" in theirs and "integer" not in common:
                common.append("integer")
            out[key] = common if len(common) != 1 else common[0]
            if not common:
                out[key] = value
        elif key == "enum" and isinstance(out[key], list) and isinstance(value, list):
            both_enum = [v for v in out[key] if any(json_equal(v, w) for w in value)]
            out[key] = both_enum or value
        else:
            out[key] = value
    return out


def _pick(a: Any, b: Any, choose: Any) -> Any:
    numeric = is_number(a) and is_number(b)
    return choose(a, b) if numeric else b
