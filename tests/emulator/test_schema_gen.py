"""Generated JSON: valid for its schema, deterministic per seed, finite for hostile schemas."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncanalyze.emulator._schema_check import schema_problem
from asyncanalyze.emulator._schema_gen import generate_json

from ._fresh_process import output_in_fresh_process
from ._schemas import SCHEMAS

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER

_TIMESTAMP_AS_JSON_SCHEMA = {
    "seconds": {"type": "number"},
    "hh:mm:ss": {"type": "string", "pattern": r"^\d{2}:[0-5]\d:[0-5]\d$"},
    "hh:mm:ss.fff": {"type": "string", "pattern": r"^\d{2}:[0-5]\d:[0-5]\d\.\d{3}$"},
}


def standard(schema: Any) -> Any:
    """The schema with the platform's `timestamp` type replaced by what it produces."""
    if isinstance(schema, list):
        return [standard(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") == "timestamp":
        return _TIMESTAMP_AS_JSON_SCHEMA[schema["format"]]
    return {key: standard(value) for key, value in schema.items()}


def generated(schema: dict[str, Any], seed: str = "seed") -> Any:
    value = json.loads(generate_json(schema, seed=seed))
    jsonschema.validate(value, standard(schema), format_checker=FORMAT_CHECKER)
    return value


@pytest.mark.parametrize("name", list(SCHEMAS))
@pytest.mark.parametrize("seed", ["a", "b", "64f8d2c7e4a1b37f8a9c5d12"])
def test_generated_json_validates(name: str, seed: str) -> None:
    generated(SCHEMAS[name], seed)


def test_required_are_present_and_first() -> None:
    value = generated(SCHEMAS["required-and-optional"])
    assert {"needed", "undeclared"} <= value.keys()
    # Platform quirk: an optional first property yields its place to the first required one.
    assert next(iter(value)) == "needed"


def test_formats_are_real() -> None:
    value = generated(SCHEMAS["strings"])
    assert dt.datetime.fromisoformat(value["when"]).tzinfo is not None
    dt.date.fromisoformat(value["day"])
    assert uuid.UUID(value["id"]).version == 4
    assert re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", value["mail"])
    assert value["link"].startswith("https://")


def test_timestamps_follow_their_format_and_run_forward() -> None:
    value = generated(SCHEMAS["timestamps"])
    assert isinstance(value["at"], int | float)
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", value["clock"])
    for segment in value["segments"]:
        assert segment["start_time"] < segment["end_time"]  # same-width strings sort by time
    starts = [s["start_time"] for s in value["segments"]]
    assert starts == sorted(starts)


def test_recursive_schema_terminates() -> None:
    value = generated(SCHEMAS["recursive-refs"])

    def depth(node: dict[str, Any]) -> int:
        return 1 + max((depth(child) for child in node["children"]), default=0)

    assert depth(value) <= 10


def test_unsatisfiable_recursion_does_not_blow_the_stack() -> None:
    # Every node requires a child: no finite value exists, but generation must still return.
    schema = {
        "$defs": {
            "n": {"type": "object", "properties": {"c": {"$ref": "#/$defs/n"}}, "required": ["c"]}
        },
        "$ref": "#/$defs/n",
    }
    assert json.loads(generate_json(schema, seed="x")) is not None


def test_json_is_deterministic_and_seed_dependent() -> None:
    schema = SCHEMAS["array-of-objects"]
    assert generate_json(schema, seed="s1") == generate_json(schema, seed="s1")
    outputs = {generate_json(schema, seed=f"s{i}") for i in range(20)}
    assert len(outputs) > 10


def test_json_is_the_same_in_another_process() -> None:
    schema = SCHEMAS["timestamps"]
    script = (
        "import json, sys; from asyncanalyze.emulator._schema_gen import generate_json;"
        "print(generate_json(json.loads(sys.argv[1]), seed='t1'))"
    )
    elsewhere = output_in_fresh_process(script, json.dumps(schema), hash_seed="7")
    assert elsewhere == generate_json(schema, seed="t1") + "\n"


# -- property test --------------------------------------------------------------------------

_NAMES = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)
_ENUM_VALUES = st.one_of(st.text(max_size=5), st.integers(-5, 5), st.booleans(), st.none())


@st.composite
def _integers(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    low = draw(st.none() | st.integers(-1000, 1000))
    span = draw(st.integers(2, 50))
    if low is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        high = (low if low is not None else 0) + span
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    return schema


@st.composite
def _numbers(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number"}
    low = draw(st.none() | st.floats(-1e6, 1e6))
    span = draw(st.floats(0.01, 1e3))
    if low is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        high = (low if low is not None else 0.0) + span
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = high
    return schema


@st.composite
def _strings(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    choice = draw(st.sampled_from(["plain", "lengths", "format", "pattern"]))
    if choice == "lengths":
        low = draw(st.integers(0, 20))
        schema["minLength"] = low
        schema["maxLength"] = low + draw(st.integers(0, 10))
    elif choice == "format":
        schema["format"] = draw(st.sampled_from(["date-time", "date", "uuid", "email", "uri"]))
    elif choice == "pattern":
        schema["pattern"] = draw(
            st.sampled_from(
                [r"^[a-z]{3}$", r"^\d{2}-\d{2}$", r"^(foo|bar)+$", r"^[A-F0-9]{8}$", r"^[^@]+@x$"]
            )
        )
    return schema


_LEAVES = st.one_of(
    _integers(),
    _numbers(),
    _strings(),
    st.sampled_from([{"type": "boolean"}, {"type": "null"}, {}]),
    st.lists(_ENUM_VALUES, min_size=1, max_size=4).map(lambda values: {"enum": values}),
    st.sampled_from(["seconds", "hh:mm:ss", "hh:mm:ss.fff"]).map(
        lambda fmt: {"type": "timestamp", "format": fmt}
    ),
)


def _composites(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        props = draw(st.dictionaries(_NAMES, children, max_size=4))
        required = [name for name in props if draw(st.booleans())]
        return {"type": "object", "properties": props, "required": required}

    @st.composite
    def arrays(draw: st.DrawFn) -> dict[str, Any]:
        low = draw(st.integers(0, 3))
        schema: dict[str, Any] = {"type": "array", "items": draw(children), "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 3))
        return schema

    any_of = st.lists(children, min_size=1, max_size=3).map(lambda branches: {"anyOf": branches})
    return st.one_of(objects(), arrays(), any_of)


SIMPLE_SCHEMAS = st.recursive(_LEAVES, _composites, max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(schema=SIMPLE_SCHEMAS, seed=st.text(max_size=8))
def test_generated_json_validates_for_random_schemas(schema: dict[str, Any], seed: str) -> None:
    assert schema_problem(schema) is None
    text = generate_json(schema, seed=seed)
    jsonschema.validate(json.loads(text), standard(schema), format_checker=FORMAT_CHECKER)
    assert generate_json(schema, seed=seed) == text


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": {"type": "integer"}, "minItems": 10**9},
        {"type": "string", "minLength": 10**9},
        {"type": "object", "minProperties": 10**9},
        # Six levels of ten-element arrays would be a million leaves.
        {
            "type": "array",
            "minItems": 10,
            "items": {
                "type": "array",
                "minItems": 10,
                "items": {
                    "type": "array",
                    "minItems": 10,
                    "items": {
                        "type": "array",
                        "minItems": 10,
                        "items": {
                            "type": "array",
                            "minItems": 10,
                            "items": {"type": "array", "minItems": 10},
                        },
                    },
                },
            },
        },
    ],
    ids=["items", "string", "properties", "nested"],
)
def test_hostile_sizes_are_capped(schema: dict[str, Any]) -> None:
    assert len(generate_json(schema, seed="x")) < 1_000_000
