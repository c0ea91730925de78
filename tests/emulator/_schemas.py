"""JSON schemas the generator must satisfy and the create-time check must accept."""

from __future__ import annotations

from typing import Any

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
