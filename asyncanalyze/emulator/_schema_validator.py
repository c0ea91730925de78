"""Whether a JSON value satisfies a schema: the generator's check of its own candidates.

The generator tries values (an enum's members, each anyOf/oneOf branch) and keeps the first
that validates; the check is a small standard-library one of the keywords it generates for,
since the emulator runs without a JSON Schema package.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._schema import MISSING, bounds, is_number, json_equal, resolve

_VALIDATE_DEPTH = 80


class SchemaValidator:
    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root  # what local $refs point into

    def conforms(self, value: Any, schema: Any, depth: int = 0) -> bool:
        """A small JSON Schema check of the keywords the generator generates for."""
        if schema is True or not isinstance(schema, dict) or depth > _VALIDATE_DEPTH:
            return schema is not False
        if "$ref" in schema:
            target = resolve(self.root, schema["$ref"])
            if target is not MISSING and not self.conforms(value, target, depth + 1):
                return False
        if "const" in schema and not json_equal(value, schema["const"]):
            return False
        enum = schema.get("enum")
        if isinstance(enum, list) and not any(json_equal(value, e) for e in enum):
            return False
        kind = schema.get("type")
        if isinstance(kind, str) and not _type_ok(value, kind):
            return False
        if isinstance(kind, list) and kind and not any(_type_ok(value, k) for k in kind):
            return False
        if is_number(value):
            low, low_x, high, high_x = bounds(schema)
            if low is not None and (value <= low if low_x else value < low):
                return False
            if high is not None and (value >= high if high_x else value > high):
                return False
        if isinstance(value, str) and not self._string_ok(value, schema):
            return False
        if isinstance(value, list) and not self._array_ok(value, schema, depth):
            return False
        if isinstance(value, dict) and not self._object_ok(value, schema, depth):
            return False
        for sub in schema.get("allOf") or []:
            if not self.conforms(value, sub, depth + 1):
                return False
        any_of = schema.get("anyOf")
        if (
            isinstance(any_of, list)
            and any_of
            and not any(self.conforms(value, sub, depth + 1) for sub in any_of)
        ):
            return False
        one_of = schema.get("oneOf")
        if (
            isinstance(one_of, list)
            and one_of
            and sum(1 for sub in one_of if self.conforms(value, sub, depth + 1)) != 1
        ):
            return False
        return not ("not" in schema and self.conforms(value, schema["not"], depth + 1))

    @staticmethod
    def _string_ok(value: str, schema: Mapping[str, Any]) -> bool:
        if not _count_ok(len(value), schema, "minLength", "maxLength"):
            return False
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                return re.search(pattern, value) is not None
            except re.error:
                return True
        return True

    def _array_ok(self, value: list[Any], schema: Mapping[str, Any], depth: int) -> bool:
        if not _count_ok(len(value), schema, "minItems", "maxItems"):
            return False
        prefix = schema.get("prefixItems")
        items = schema.get("items")
        if isinstance(items, list):  # draft 4 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        prefix = prefix if isinstance(prefix, list) else []
        for index, element in enumerate(value):
            sub = prefix[index] if index < len(prefix) else items
            if sub is not None and not self.conforms(element, sub, depth + 1):
                return False
        if schema.get("uniqueItems") is True:
            for i, first in enumerate(value):
                if any(json_equal(first, later) for later in value[i + 1 :]):
                    return False
        return True

    def _object_ok(self, value: dict[str, Any], schema: Mapping[str, Any], depth: int) -> bool:
        required = schema.get("required")
        if isinstance(required, list) and any(r not in value for r in required):
            return False
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        for name, sub in props.items():
            if name in value and not self.conforms(value[name], sub, depth + 1):
                return False
        extra = schema.get("additionalProperties")
        if extra is not None and "patternProperties" not in schema:
            for name in value.keys() - props.keys():
                if not self.conforms(value[name], extra, depth + 1):
                    return False
        return _count_ok(len(value), schema, "minProperties", "maxProperties")


def _type_ok(value: Any, name: str) -> bool:
    number = is_number(value)
    checks: dict[str, bool] = {
        "null": value is None,
        "boolean": isinstance(value, bool),
        "string": isinstance(value, str),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
        "number": number,
        "integer": number and float(value).is_integer(),
        "timestamp": number or isinstance(value, str),
    }
    return checks.get(name, True)


def _count_ok(count: int, schema: Mapping[str, Any], low_key: str, high_key: str) -> bool:
    """``count`` (a length, items, properties) within the schema's pair of size keywords."""
    low, high = schema.get(low_key), schema.get(high_key)
    if isinstance(low, int) and count < low:
        return False
    return not (isinstance(high, int) and count > high)
