"""The create-time check of a ``json_schema`` response format, with the platform's answers.

``422`` for the keywords the platform documents as unsupported (``minLength``, ``maxLength``,
``additionalProperties``, ``uniqueItems``, ``maxItems``); ``400`` naming the first part of the
schema the generator cannot follow, with the platform's message for a ``timestamp`` type
without a valid ``format``. Separate from the generator: this judges the schema a user sent;
the generator only sees schemas that passed it, or that the emulator built itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._schema import KNOWN_TYPES, MISSING, TIMESTAMP_FORMATS, resolve
from ._wire import ApiProblem, invalid

SCHEMA_PATH = "response_format.json_schema"
_UNSUPPORTED_KEYWORDS = {
    "minLength": "String length constraints (minLength) are not supported.",
    "maxLength": "String length constraints (maxLength) are not supported.",
    "additionalProperties": "The additionalProperties keyword is not supported.",
    "uniqueItems": "The uniqueItems keyword is not supported.",
    "maxItems": "The maxItems keyword is not supported.",
}


def check_schema(schema: dict[str, Any]) -> None:
    """422 for the keywords the platform refuses, 400 for a schema the generator cannot follow."""
    keyword = _unsupported_keyword(schema)
    if keyword is not None:
        raise ApiProblem(
            422, "parameter_invalid", f"{SCHEMA_PATH}: {_UNSUPPORTED_KEYWORDS[keyword]}"
        )
    problem = schema_problem(schema)
    if problem is not None:
        raise invalid(SCHEMA_PATH, problem)


def _unsupported_keyword(node: Any) -> str | None:
    if isinstance(node, list):
        for item in node:
            found = _unsupported_keyword(item)
            if found is not None:
                return found
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _UNSUPPORTED_KEYWORDS:
                return str(key)
            # Under "properties" the keys are names the user chose, not keywords. Either may
            # not be an object at all: schema_problem() names that mistake afterwards.
            named = key in ("properties", "$defs") and isinstance(value, dict)
            children = value.values() if named else [value]
            for child in children:
                found = _unsupported_keyword(child)
                if found is not None:
                    return found
    return None


def schema_problem(schema: Any) -> str | None:
    """A platform-style message naming the first unusable part of a json_schema, else None."""
    if not isinstance(schema, dict):
        return f"{SCHEMA_PATH}: must be a JSON object"
    return _check(schema, SCHEMA_PATH, schema, 0)


_TIMESTAMP_FORMAT_MESSAGE = "format is required for timestamp type; allowed values: " + ", ".join(
    TIMESTAMP_FORMATS
)
_MAX_CHECK_DEPTH = 64


def _check(node: Any, path: str, root: Mapping[str, Any], depth: int) -> str | None:
    if isinstance(node, bool):
        return None
    if not isinstance(node, dict):
        return f"{path}: must be a JSON object"
    if depth > _MAX_CHECK_DEPTH:
        return f"{path}: the schema is nested too deeply"
    if "type" in node:
        kind = node["type"]
        names = kind if isinstance(kind, list) else [kind]
        if not names or not all(isinstance(n, str) and n in KNOWN_TYPES for n in names):
            shown = kind if isinstance(kind, str) else json.dumps(kind, default=repr)
            return f"{path}.type: unsupported type {shown!s}; allowed values: " + ", ".join(
                KNOWN_TYPES
            )
        if "timestamp" in names and node.get("format") not in TIMESTAMP_FORMATS:
            return f"{path}.format: {_TIMESTAMP_FORMAT_MESSAGE}"
    if "properties" in node:
        found = _check_members(node, "properties", path, root, depth)
        if found:
            return found
    if "required" in node:
        required = node["required"]
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            return f"{path}.required: must be an array of strings"
    if "enum" in node and not (isinstance(node["enum"], list) and node["enum"]):
        return f"{path}.enum: must be a non-empty array"
    for key in ("items", "additionalProperties", "not", "additionalItems"):
        if key not in node:
            continue
        sub = node[key]
        if key == "items" and isinstance(sub, list):
            found = _check_elements(sub, f"{path}.items", root, depth)
        else:
            found = _check(sub, f"{path}.{key}", root, depth + 1)
        if found:
            return found
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if key not in node:
            continue
        branches = node[key]
        if not isinstance(branches, list) or not branches:
            return f"{path}.{key}: must be a non-empty array of schemas"
        found = _check_elements(branches, f"{path}.{key}", root, depth)
        if found:
            return found
    for key in ("$defs", "definitions"):
        if key not in node:
            continue
        found = _check_members(node, key, path, root, depth)
        if found:
            return found
    if "$ref" in node:
        ref = node["$ref"]
        if resolve(root, ref) is MISSING:
            return (
                f"{path}.$ref: cannot resolve {json.dumps(ref, default=repr)}; only references "
                "to subschemas in this schema (#/$defs/...) are supported"
            )
    return None


def _check_members(
    node: Mapping[str, Any], key: str, path: str, root: Mapping[str, Any], depth: int
) -> str | None:
    """The first problem among the named subschemas under ``node[key]`` (properties, $defs)."""
    members = node[key]
    if not isinstance(members, dict):
        return f"{path}.{key}: must be an object"
    for name, sub in members.items():
        found = _check(sub, f"{path}.{key}.{name}", root, depth + 1)
        if found:
            return found
    return None


def _check_elements(
    elements: list[Any], where: str, root: Mapping[str, Any], depth: int
) -> str | None:
    """The first problem among the subschemas of a list (items, anyOf, ...), at ``where[i]``."""
    for index, element in enumerate(elements):
        found = _check(element, f"{where}[{index}]", root, depth + 1)
        if found:
            return found
    return None
