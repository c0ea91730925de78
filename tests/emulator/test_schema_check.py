"""The create-time schema check: usable schemas pass, others get the platform's message."""

from __future__ import annotations

from typing import Any

import pytest

from asyncanalyze.emulator._schema_check import schema_problem

from ._schemas import SCHEMAS

TS_MESSAGE = (
    "format is required for timestamp type; allowed values: seconds, hh:mm:ss, hh:mm:ss.fff"
)


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_usable_schemas_have_no_problem(name: str) -> None:
    assert schema_problem(SCHEMAS[name]) is None


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ([], "response_format.json_schema: must be a JSON object"),
        ("object", "response_format.json_schema: must be a JSON object"),
        (
            {"type": "objekt"},
            "response_format.json_schema.type: unsupported type objekt; allowed values: "
            "array, boolean, integer, null, number, object, string, timestamp",
        ),
        ({"type": 5}, "response_format.json_schema.type: unsupported type 5"),
        ({"type": []}, "response_format.json_schema.type: unsupported type []"),
        (
            {"type": "object", "properties": {"t": {"type": "timestamp"}}},
            f"response_format.json_schema.properties.t.format: {TS_MESSAGE}",
        ),
        (
            {"type": "object", "properties": {"t": {"type": "timestamp", "format": "mm:ss"}}},
            f"response_format.json_schema.properties.t.format: {TS_MESSAGE}",
        ),
        (
            {
                "type": "object",
                "properties": {
                    "segs": {"type": "array", "items": {"properties": {"t": {"type": "timestamp"}}}}
                },
            },
            f"response_format.json_schema.properties.segs.items.properties.t.format: {TS_MESSAGE}",
        ),
        (
            {"type": "object", "properties": ["a"]},
            "response_format.json_schema.properties: must be an object",
        ),
        (
            {"type": "object", "properties": {"a": "string"}},
            "response_format.json_schema.properties.a: must be a JSON object",
        ),
        (
            {"type": "object", "required": "a"},
            "response_format.json_schema.required: must be an array of strings",
        ),
        (
            {"type": "object", "required": ["a", 1]},
            "response_format.json_schema.required: must be an array of strings",
        ),
        ({"anyOf": []}, "response_format.json_schema.anyOf: must be a non-empty array of schemas"),
        (
            {"anyOf": [{"type": "string"}, {"type": "bogus"}]},
            "response_format.json_schema.anyOf[1].type: unsupported type bogus",
        ),
        ({"enum": []}, "response_format.json_schema.enum: must be a non-empty array"),
        (
            {"properties": {"p": {"$ref": "#/$defs/missing"}}},
            'response_format.json_schema.properties.p.$ref: cannot resolve "#/$defs/missing"',
        ),
        (
            {"$ref": "https://example.com/schema.json"},
            'response_format.json_schema.$ref: cannot resolve "https://example.com/schema.json"',
        ),
        (
            {"$defs": {"x": {"type": "timestamp", "format": None}}},
            f"response_format.json_schema.$defs.x.format: {TS_MESSAGE}",
        ),
    ],
)
def test_schema_problem(schema: Any, message: str) -> None:
    found = schema_problem(schema)
    assert found is not None
    assert found.startswith(message)


def test_schema_problem_on_absurd_nesting() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(500):
        schema = {"type": "array", "items": schema}
    found = schema_problem(schema)
    assert found is not None
    assert "nested too deeply" in found
