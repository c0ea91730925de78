"""Generated task output: schema-valid JSON, prompt-aware text, token counts, schema checks."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncanalyze.emulator._content import (
    count_tokens,
    generate_json,
    generate_text,
    schema_problem,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
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


SEGMENT = {
    "type": "object",
    "properties": {
        "label": {"type": "string"},
        "start_time": {"type": "timestamp", "format": "hh:mm:ss.fff"},
        "end_time": {"type": "timestamp", "format": "hh:mm:ss.fff"},
    },
    "required": ["label", "start_time", "end_time"],
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "flat": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "score": {"type": "number"},
            "count": {"type": "integer"},
            "safe": {"type": "boolean"},
            "nothing": {"type": "null"},
        },
        "required": ["title", "score", "count", "safe", "nothing"],
    },
    "nested": {
        "type": "object",
        "properties": {
            "meta": {
                "type": "object",
                "properties": {
                    "author": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                        "required": ["name", "age"],
                    }
                },
                "required": ["author"],
            }
        },
        "required": ["meta"],
    },
    "array-of-objects": {
        "type": "object",
        "properties": {
            "people": {
                "type": "array",
                "minItems": 2,
                "maxItems": 4,
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "role": {"type": "string"}},
                    "required": ["name"],
                },
            }
        },
        "required": ["people"],
    },
    "enums": {
        "type": "object",
        "properties": {
            "mood": {"type": "string", "enum": ["happy", "sad", "neutral"]},
            "level": {"enum": [1, 2, 3]},
            "typed": {"type": "string", "enum": [1, True, None, "only-string"]},
            "fixed": {"const": {"a": [1, 2]}},
        },
        "required": ["mood", "level", "typed", "fixed"],
    },
    "integer-bounds": {
        "type": "object",
        "properties": {
            "inclusive": {"type": "integer", "minimum": 5, "maximum": 5},
            "exclusive": {"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 3},
            "negative": {"type": "integer", "minimum": -50, "maximum": -40},
            "only_min": {"type": "integer", "minimum": 1000},
            "only_max": {"type": "integer", "exclusiveMaximum": -1000},
            "fractional_bounds": {"type": "integer", "minimum": 1.5, "maximum": 2.5},
            "multiple": {"type": "integer", "minimum": 1, "maximum": 100, "multipleOf": 7},
        },
        "required": [
            "inclusive",
            "exclusive",
            "negative",
            "only_min",
            "only_max",
            "fractional_bounds",
            "multiple",
        ],
    },
    "number-bounds": {
        "type": "object",
        "properties": {
            "tight": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "big": {"type": "number", "minimum": 1e9},
            # 0.3 / 0.1 != 3.0 in floating point; only exactly dividing multiples validate.
            "step": {"type": "number", "multipleOf": 0.1, "exclusiveMinimum": 0, "maximum": 1},
        },
        "required": ["tight", "confidence", "big", "step"],
    },
    "required-and-optional": {
        "type": "object",
        "properties": {
            "optional_first": {"type": "string"},
            "needed": {"type": "integer"},
        },
        "required": ["needed", "undeclared"],
    },
    "defs-refs": {
        "$defs": {
            "point": {
                "type": "object",
                "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                "required": ["x", "y"],
            }
        },
        "type": "object",
        "properties": {
            "origin": {"$ref": "#/$defs/point"},
            "path": {"type": "array", "items": {"$ref": "#/$defs/point"}, "minItems": 1},
        },
        "required": ["origin", "path"],
    },
    "definitions-refs": {
        "definitions": {"tag": {"type": "string", "enum": ["x", "y"]}},
        "type": "array",
        "items": {"$ref": "#/definitions/tag"},
        "minItems": 3,
    },
    "recursive-refs": {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                },
                "required": ["value", "children"],
            }
        },
        "$ref": "#/$defs/node",
    },
    "self-ref": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "next": {"anyOf": [{"$ref": "#"}, {"type": "null"}]},
        },
        "required": ["name", "next"],
    },
    "any-of": {
        "type": "object",
        "properties": {
            "either": {
                "anyOf": [{"type": "string", "maxLength": 0, "minLength": 1}, {"type": "integer"}]
            },
            "nullable": {"anyOf": [{"type": "null"}, {"type": "string"}]},
            "one": {"oneOf": [{"type": "string"}, {"type": "boolean"}]},
        },
        "required": ["either", "nullable", "one"],
    },
    "timestamps": {
        "type": "object",
        "properties": {
            "at": {"type": "timestamp", "format": "seconds"},
            "clock": {"type": "timestamp", "format": "hh:mm:ss"},
            "segments": {"type": "array", "items": SEGMENT, "minItems": 1},
        },
        "required": ["at", "clock", "segments"],
    },
    "strings": {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "id": {"type": "string", "format": "uuid"},
            "mail": {"type": "string", "format": "email"},
            "link": {"type": "string", "format": "uri"},
            "long": {"type": "string", "minLength": 40},
            "short": {"type": "string", "maxLength": 3},
            "exact": {"type": "string", "minLength": 7, "maxLength": 7},
            "code": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
            "choice": {"type": "string", "pattern": r"^(red|green|blue)$"},
        },
        "required": [
            "when",
            "day",
            "id",
            "mail",
            "link",
            "long",
            "short",
            "exact",
            "code",
            "choice",
        ],
    },
    "type-lists-and-inference": {
        "type": "object",
        "properties": {
            "maybe": {"type": ["string", "null"]},
            "num_or_str": {"type": ["integer", "string"]},
            "untyped": {},
            "implied_object": {"properties": {"a": {"type": "integer"}}, "required": ["a"]},
            "implied_array": {"items": {"type": "boolean"}, "minItems": 1},
            "anything": True,
        },
        "required": [
            "maybe",
            "num_or_str",
            "untyped",
            "implied_object",
            "implied_array",
            "anything",
        ],
    },
    "all-of-and-tuples": {
        "type": "object",
        "allOf": [
            {"properties": {"a": {"type": "integer", "minimum": 10}}, "required": ["a"]},
            {"properties": {"a": {"maximum": 12}, "b": {"type": "string"}}, "required": ["b"]},
        ],
        "properties": {
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "integer"}],
                "items": False,
                "minItems": 2,
            },
            "merged_items": {
                "allOf": [
                    {"type": "array", "items": {"type": "integer"}, "minItems": 2},
                    {"items": {"minimum": 5, "maximum": 6}},
                ]
            },
            "distinct": {
                "type": "array",
                "items": {"type": "integer"},
                "minItems": 4,
                "uniqueItems": True,
            },
        },
        "required": ["pair", "distinct", "merged_items"],
    },
    "top-level-array": {"type": "array", "items": {"type": "number"}, "maxItems": 0},
    "top-level-string": {"type": "string"},
}


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


def test_output_is_the_same_in_another_process() -> None:
    schema = SCHEMAS["timestamps"]
    script = (
        "import json, sys; from asyncanalyze.emulator import _content as c;"
        "s = json.loads(sys.argv[1]);"
        "print(c.generate_json(s, seed='t1'));"
        "print(c.generate_text('Describe the goals', video_key='k', duration=99.5, max_tokens=80))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "7", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(schema)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=30,
    )
    here = generate_json(schema, seed="t1") + "\n"
    here += generate_text("Describe the goals", video_key="k", duration=99.5, max_tokens=80) + "\n"
    assert done.stdout == here


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


# -- text -----------------------------------------------------------------------------------

PROMPT = "Summarize the cooking techniques and list every ingredient the chef uses"


def scene_times(text: str) -> list[tuple[int, int]]:
    def seconds(stamp: str) -> int:
        total = 0
        for part in stamp.split(":"):
            total = total * 60 + int(part)
        return total

    return [
        (seconds(a), seconds(b))
        for a, b in re.findall(r"\[((?:\d+:)?\d{2}:\d{2})-((?:\d+:)?\d{2}:\d{2})\]", text)
    ]


def test_text_relates_to_prompt_and_video() -> None:
    text = generate_text(PROMPT, video_key="https://x/v.mp4", duration=754.3, max_tokens=4096)
    lowered = text.lower()
    assert "cooking" in lowered and "techniques" in lowered and "ingredient" in lowered
    assert "12:34" in text
    scenes = scene_times(text)
    assert len(scenes) >= 2
    assert scenes[0][0] == 0 and scenes[-1][1] == 754
    assert all(start <= end <= 754 for start, end in scenes)
    assert [s for s, _ in scenes] == sorted(s for s, _ in scenes)


def test_long_videos_use_hours() -> None:
    text = generate_text("Describe it", video_key="k", duration=5400, max_tokens=4096)
    assert "1:30:00" in text
    assert all(end <= 5400 for _, end in scene_times(text))


@pytest.mark.parametrize("duration", [0.0, 0.4, 3.0, float("nan"), -5.0])
def test_text_survives_degenerate_durations(duration: float) -> None:
    text = generate_text("Hello", video_key="k", duration=duration, max_tokens=4096)
    limit = int(duration) if duration > 0 else 0  # NaN compares false, so it lands on 0 too
    assert scene_times(text)
    assert all(start <= end <= limit for start, end in scene_times(text))


def test_text_varies_with_inputs() -> None:
    texts = {
        generate_text(PROMPT, video_key=f"video-{i}", duration=30 + 97 * i, max_tokens=4096)
        for i in range(10)
    }
    assert len(texts) == 10
    assert len({len(t) for t in texts}) > 3


@pytest.mark.parametrize("max_tokens", [1, 2, 5, 20, 60])
def test_text_is_cut_at_max_tokens(max_tokens: int) -> None:
    full = generate_text(PROMPT, video_key="k", duration=600, max_tokens=100_000)
    cut = generate_text(PROMPT, video_key="k", duration=600, max_tokens=max_tokens)
    assert count_tokens(full) > 60
    assert 1 <= count_tokens(cut) <= max_tokens
    assert full.startswith(cut)
    assert cut != full


def test_text_is_deterministic() -> None:
    first = generate_text(PROMPT, video_key="k", duration=60, max_tokens=500)
    assert first == generate_text(PROMPT, video_key="k", duration=60, max_tokens=500)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("", 0, 0),
        (" ", 1, 1),
        ("hello", 1, 1),
        ("Hello, world!", 4, 4),
        ("word " * 100, 100, 100),
        ("internationalization", 3, 5),
        ("The quick brown fox jumps over the lazy dog. " * 10, 100, 140),
    ],
)
def test_count_tokens(text: str, low: int, high: int) -> None:
    assert low <= count_tokens(text) <= high


# -- schema checks --------------------------------------------------------------------------

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
