"""JSON that validates against a task's schema: what result.data holds for a response_format.

The structural walk: $ref and allOf folded, const/enum/anyOf/oneOf chosen, objects and arrays
built to their counts, with caps that keep recursive or hostile schemas finite. Leaf values
come from ``_scalars``; candidates are checked with ``_schema_validator``.
"""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Mapping
from typing import Any

from ._scalars import ScalarMaker
from ._schema import MISSING, bounds, effective, json_equal, merge
from ._schema_validator import SchemaValidator
from ._seeds import seed as derive_seed

# Past this many $ref hops (or this nesting depth) objects keep only required properties and
# arrays only minItems elements, so recursive schemas bottom out.
_SOFT_REF_DEPTH = 3
_SOFT_DEPTH = 12
# Past this depth no recursion happens at all: a recursive schema whose required properties
# recurse forever cannot be satisfied by any finite value, and must not exhaust the stack.
_HARD_DEPTH = 40
# Schemas come from API users: these caps keep a hostile schema (minItems: 10**9, or deeply
# nested arrays multiplying out) from exhausting memory. Past _SOFT_NODES values generation
# turns minimal; past _HARD_NODES it stops recursing. A schema that needs more than the size
# caps cannot be satisfied here, and its output is cut at the cap.
_SOFT_NODES = 5_000
_HARD_NODES = 50_000
_MAX_ITEMS = 1_000
_MAX_PROPERTIES = 1_000


class _Generator:
    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self.rng = rng
        self.values = ScalarMaker(rng)
        self.validator = SchemaValidator(root)
        self.root = root
        self.nodes = 0

    def gen(self, schema: Any, *, name: str | None = None, depth: int = 0, refs: int = 0) -> Any:
        if schema is False:
            return None
        if not isinstance(schema, dict):
            return self.values.text(name)
        schema, refs = effective(self.root, schema, refs)
        if not isinstance(schema, dict):
            return None if schema is False else self.values.text(name)
        self.nodes += 1
        if depth >= _HARD_DEPTH or self.nodes > _HARD_NODES:
            return self.minimal(schema)
        minimal = refs > _SOFT_REF_DEPTH or depth >= _SOFT_DEPTH or self.nodes > _SOFT_NODES

        if "const" in schema:
            return copy.deepcopy(schema["const"])
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            rest = {k: v for k, v in schema.items() if k != "enum"}
            fitting = [v for v in enum if self.validator.conforms(v, rest)] or enum
            return copy.deepcopy(self.rng.choice(fitting))
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                rest = {k: v for k, v in schema.items() if k != key}
                first: Any = MISSING
                for branch in branches:
                    if isinstance(branch, dict):
                        merged: Any = merge(rest, branch)
                    else:
                        merged = rest if branch is True else False
                    candidate = self.gen(merged, name=name, depth=depth + 1, refs=refs)
                    if self.validator.conforms(candidate, schema):
                        return candidate
                    if first is MISSING:
                        first = candidate
                return first

        kind = self.pick_type(schema, minimal)
        if kind == "object":
            return self.object(schema, depth, refs, minimal)
        if kind == "array":
            return self.array(schema, depth, refs, minimal)
        if kind == "integer":
            return self.values.integer(schema, name)
        if kind == "number":
            return self.values.number(schema, name)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        if kind == "timestamp":
            return self.values.timestamp(schema.get("format"))
        return self.values.string(schema, name)

    def pick_type(self, schema: Mapping[str, Any], minimal: bool) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            names = [k for k in kind if isinstance(k, str)]
            if "null" in names and (minimal or len(names) == 1):
                return "null"
            # Nullable fields are usually filled in real output, so prefer a concrete type.
            concrete = [k for k in names if k != "null"]
            return concrete[0] if concrete else "string"
        if isinstance(kind, str):
            return kind
        if "properties" in schema or "required" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema or "minItems" in schema:
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "multipleOf")):
            return "number"
        return "string"

    def minimal(self, schema: Mapping[str, Any]) -> Any:
        """A value built without recursing, for the hard depth limit."""
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            return copy.deepcopy(enum[0])
        kind = self.pick_type(schema, minimal=True)
        low, low_x, _, _ = bounds(schema)
        start = 0.0 if low is None else (math.floor(low) + 1 if low_x else math.ceil(low))
        values: dict[str, Any] = {
            "object": {},
            "array": [],
            "integer": int(start),
            "number": start,
            "boolean": False,
            "null": None,
            "timestamp": 0.0 if schema.get("format") in (None, "seconds") else "00:00:00",
        }
        return values.get(kind, "")

    def object(
        self, schema: Mapping[str, Any], depth: int, refs: int, minimal: bool
    ) -> dict[str, Any]:
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        required_raw = schema.get("required")
        required = [r for r in required_raw or [] if isinstance(r, str)]
        extra = schema.get("additionalProperties")
        extra_schema: Any = extra if isinstance(extra, dict) else {}
        out: dict[str, Any] = {}
        # Optional properties are always filled, as a model asked for structured output does;
        # only past the recursion limits are they dropped, so recursive schemas terminate.
        for prop, sub in props.items():
            if prop in required or not minimal:
                out[prop] = self.gen(sub, name=prop, depth=depth + 1, refs=refs)
        for prop in required:
            if prop not in out:
                out[prop] = self.gen(extra_schema, name=prop, depth=depth + 1, refs=refs)
        min_props = schema.get("minProperties")
        if isinstance(min_props, int) and extra is not False:
            optional = [p for p in props if p not in out]
            counter = 1
            while len(out) < min(min_props, _MAX_PROPERTIES):
                if optional:
                    prop = optional.pop(0)
                    out[prop] = self.gen(props[prop], name=prop, depth=depth + 1, refs=refs)
                else:
                    out[f"extra_{counter}"] = self.gen(extra_schema, depth=depth + 1, refs=refs)
                    counter += 1
        max_props = schema.get("maxProperties")
        if isinstance(max_props, int):
            for prop in [p for p in reversed(list(out)) if p not in required]:
                if len(out) <= max_props:
                    break
                del out[prop]
        return _required_first(out, list(props), required)

    def array(self, schema: Mapping[str, Any], depth: int, refs: int, minimal: bool) -> list[Any]:
        min_items = schema.get("minItems")
        min_items = min_items if isinstance(min_items, int) and min_items > 0 else 0
        max_items = schema.get("maxItems")
        max_items = max_items if isinstance(max_items, int) and max_items >= 0 else None
        prefix = schema.get("prefixItems")
        items: Any = schema.get("items", {})
        if isinstance(items, list):  # draft 4 tuple form
            prefix, items = items, schema.get("additionalItems", {})
        prefix = prefix if isinstance(prefix, list) else []
        min_items = min(min_items, _MAX_ITEMS)
        count = min_items if minimal else max(min_items, self.rng.randint(1, 3))
        if max_items is not None:
            count = min(count, max(max_items, 0))
        if items is False:
            count = min(count, len(prefix))
        unique = schema.get("uniqueItems") is True
        out: list[Any] = []
        for index in range(count):
            sub = prefix[index] if index < len(prefix) else items
            value = self.gen(sub, depth=depth + 1, refs=refs)
            for _ in range(8 if unique else 0):
                if not any(json_equal(value, seen) for seen in out):
                    break
                value = self.gen(sub, depth=depth + 1, refs=refs)
            out.append(value)
        return out


def _required_first(
    out: dict[str, Any], declared: list[str], required: list[str]
) -> dict[str, Any]:
    # Platform quirk: when the first declared property is optional, the first required one is
    # moved to the front of the output.
    if not declared or declared[0] in required:
        return out
    first_required = next((p for p in declared if p in required and p in out), None)
    if first_required is None:
        return out
    return {first_required: out[first_required], **out}


def generate_json(schema: dict[str, Any], *, seed: str) -> str:
    """A JSON text that validates against `schema` (objects, arrays, enums, required, ...).

    Supported: type (incl. lists and the platform's ``timestamp``), const, enum, properties,
    required, additionalProperties, min/maxProperties, items, prefixItems, min/maxItems,
    uniqueItems, numeric bounds, multipleOf (integral), min/maxLength, pattern (best effort),
    format, anyOf/oneOf (first branch whose value validates), allOf (merged), local ``$ref``.
    The same schema and seed always give the same text.
    """
    try:
        fingerprint = json.dumps(schema, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        fingerprint = repr(schema)
    rng = random.Random(derive_seed("json", seed, fingerprint))
    root: Mapping[str, Any] = schema if isinstance(schema, dict) else {}
    value = _Generator(root, rng).gen(schema)
    return json.dumps(value, ensure_ascii=False)
