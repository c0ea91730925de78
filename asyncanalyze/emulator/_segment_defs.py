"""Segment definitions checked, and turned into the JSON schema a segmentation result follows.

``response_format.segment_definitions`` (analysis_mode time_based_metadata) is checked as the
platform documents it: 1-20 definitions, reserved field names, formats, ``items``, at most 4
``media_sources``, time ranges of 2 s or more that do not overlap. The result is JSON keyed by
definition id; a ``time_array`` field holds timed events inside each segment. Separate from
the other field checks: it is a small schema language of its own, compiled to JSON Schema so
the one generator serves both response formats.
"""

from __future__ import annotations

import itertools
from typing import Any

from ._media_fields import media_sources
from ._model_rules import LATEST_MODEL
from ._schema import TIMESTAMP_FORMATS, is_number
from ._wire import invalid, not_provided

MAX_SEGMENT_DEFINITIONS = 20
MAX_ENUM_VALUES = 100
MIN_TIME_RANGE_SECONDS = 2
_RESERVED_FIELD_NAMES = ("start_time", "end_time", "metadata")
_SCALAR_TYPES = ("string", "boolean", "number", "integer")
_SEGMENT_FIELD_TYPES = {
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "number": {"type": "number"},
    "integer": {"type": "integer"},
    "timestamp": {"type": "number"},
}


class SegmentDefinitions:
    """Segment definitions checked, and the JSON schema a segmentation result follows:
    definition id -> list of segments."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.has_time_ranges = False

    def schema(self, definitions: Any) -> dict[str, Any]:
        where = "response_format.segment_definitions"
        if definitions is None:
            raise not_provided(where)
        if (
            not isinstance(definitions, list)
            or not 1 <= len(definitions) <= MAX_SEGMENT_DEFINITIONS
        ):
            raise invalid(where)
        properties: dict[str, Any] = {}
        for definition in definitions:
            if not isinstance(definition, dict):
                raise invalid(where)
            for name in ("id", "description"):
                if not isinstance(definition.get(name), str) or not definition[name]:
                    raise not_provided(f"{where}.{name}")
            if "media_sources" in definition:
                media_sources(definition["media_sources"], f"{where}.media_sources")
            if "time_ranges" in definition:
                self._time_ranges(definition["time_ranges"], f"{where}.time_ranges")
            fields = self._fields(definition.get("fields") or [], f"{where}.fields", event=False)
            segment = _timed({"metadata": _object(fields)})
            properties[definition["id"]] = {"type": "array", "items": segment, "minItems": 1}
        return {"type": "object", "properties": properties, "required": list(properties)}

    def _time_ranges(self, ranges: Any, where: str) -> None:
        self.has_time_ranges = True
        if not isinstance(ranges, list) or not ranges:
            raise invalid(where)
        windows: list[tuple[float, float]] = []
        for window in ranges:
            if not isinstance(window, dict):
                raise invalid(where)
            start, end = window.get("start_time"), window.get("end_time")
            if not is_number(start) or not is_number(end) or start < 0:
                raise invalid(where)
            if end - start < MIN_TIME_RANGE_SECONDS:
                raise invalid(where, f"Each range of {where} must last at least 2 seconds.")
            windows.append((start, end))
        windows.sort()
        for (_, earlier_end), (later_start, _) in itertools.pairwise(windows):
            if later_start < earlier_end:
                raise invalid(where, f"The ranges of {where} must not overlap.")

    def _fields(self, fields: Any, where: str, *, event: bool) -> dict[str, Any]:
        if not isinstance(fields, list):
            raise invalid(where)
        schemas: dict[str, Any] = {}
        for field in fields:
            if not isinstance(field, dict) or not isinstance(field.get("name"), str):
                raise invalid(where)
            if field["name"] in _RESERVED_FIELD_NAMES or (event and field["name"] in schemas):
                raise invalid(f"{where}.name")
            schemas[field["name"]] = self._field(field, where, event=event)
        return schemas

    def _field(self, field: dict[str, Any], where: str, *, event: bool) -> dict[str, Any]:
        kind = field.get("type")
        if kind == "timestamp" and (event or field.get("format") not in TIMESTAMP_FORMATS):
            raise invalid(f"{where}.format" if not event else f"{where}.type")
        if kind != "timestamp" and "format" in field:
            raise invalid(f"{where}.format")
        enum = field.get("enum")
        if enum is not None and (
            not isinstance(enum, list)
            or len(enum) > MAX_ENUM_VALUES
            or kind == "timestamp"
            or (event and kind != "string")
        ):
            raise invalid(f"{where}.enum")
        items = field.get("items")
        if kind == "time_array":
            if event or self.model != LATEST_MODEL:
                raise invalid(f"{where}.type")
            if not isinstance(items, dict) or items.get("type") != "object":
                raise invalid(f"{where}.items")
            events = self._fields(items.get("fields"), f"{where}.items.fields", event=True)
            if not events:
                raise invalid(f"{where}.items.fields")
            return {"type": "array", "items": _timed(events)}
        if kind == "array":
            if not isinstance(items, dict) or items.get("type") not in _SCALAR_TYPES:
                raise invalid(f"{where}.items")
            if "fields" in items:
                raise invalid(f"{where}.items.fields")
            return {"type": "array", "items": dict(_SEGMENT_FIELD_TYPES[items["type"]])}
        if kind not in _SEGMENT_FIELD_TYPES:
            raise invalid(f"{where}.type")
        if items is not None:
            raise invalid(f"{where}.items")
        if isinstance(enum, list) and enum:
            return {"type": "string", "enum": list(enum)}
        return dict(_SEGMENT_FIELD_TYPES[kind])


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


def _timed(properties: dict[str, Any]) -> dict[str, Any]:
    """An object with the automatic start_time and end_time keys before ``properties``."""
    bounds = {
        "start_time": {"type": "number", "minimum": 0},
        "end_time": {"type": "number", "minimum": 0},
    }
    return _object({**bounds, **properties})
