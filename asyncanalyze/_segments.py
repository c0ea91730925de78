"""``response_format`` of type ``segment_definitions`` (time_based_metadata), checked and put in
wire form.

The platform's rules (SDK 1.3.6 docstrings): 1 to 20 definitions, each with an ``id`` and a
``description``; a field's ``format`` is required for ``timestamp`` and refused otherwise;
``enum`` holds at most 100 values and not on a timestamp; ``array`` and ``time_array`` need
``items`` (a time_array's: ``type="object"`` and at least one field; an array's: a scalar type,
no fields); the names ``start_time``, ``end_time`` and ``metadata`` are reserved; an event field
of a time_array is never a timestamp or a time_array and carries no format; time ranges last at
least 2 s and do not overlap within a definition.
"""

from __future__ import annotations

import itertools
from typing import Any, Final

import attrs

from . import _checks
from ._errors import InvalidRequestError
from ._media_inputs import as_model, check_media_sources
from ._models import (
    AnalyzeTimeRange,
    SegmentDefinition,
    SegmentField,
    SegmentFieldItems,
    SegmentResponseFormat,
)

__all__ = ["SEGMENT_FORMAT_TYPE", "SegmentFormat", "check_segment_format"]

SEGMENT_FORMAT_TYPE: Final = "segment_definitions"  # response_format.type of this format
MAX_DEFINITIONS: Final = 20
MAX_ENUM_VALUES: Final = 100
MIN_TIME_RANGE_SECONDS: Final = 2.0
FIELD_TYPES: Final = ("string", "boolean", "number", "integer", "array", "timestamp", "time_array")
_EVENT_FIELD_TYPES: Final = ("string", "boolean", "number", "integer", "array")
_SCALAR_TYPES: Final = ("string", "number", "boolean", "integer")
_RESERVED_NAMES: Final = frozenset({"start_time", "end_time", "metadata"})


@attrs.frozen
class SegmentFormat:
    """A checked segment response format: its wire form and what other rules need to know."""

    wire: dict[str, Any]
    has_time_ranges: bool
    has_time_array: bool


class _Walk:
    """One pass over the definitions, noting what cross-parameter rules need."""

    def __init__(self) -> None:
        self.has_time_ranges = False
        self.has_time_array = False

    def definition(self, where: str, value: object) -> dict[str, Any]:
        definition = as_model(where, value, SegmentDefinition)
        wire: dict[str, Any] = {
            "id": _checks.check_name(f"{where}.id", definition.id),
            "description": _checks.check_name(f"{where}.description", definition.description),
        }
        if definition.fields is not None:
            wire["fields"] = self.fields(f"{where}.fields", definition.fields, event=False)
        if definition.media_sources is not None:
            wire["media_sources"] = check_media_sources(
                f"{where}.media_sources", definition.media_sources
            )
        if definition.time_ranges is not None:
            wire["time_ranges"] = self.time_ranges(f"{where}.time_ranges", definition.time_ranges)
        return wire

    def fields(self, where: str, value: object, *, event: bool) -> list[dict[str, Any]]:
        wire = []
        names: set[str] = set()
        for position, item in enumerate(_checks.check_items(where, value, 1 if event else 0)):
            field = self.field(f"{where}[{position}]", item, event=event)
            if event and field["name"] in names:  # documented for events only
                raise InvalidRequestError(
                    f"{where}[{position}].name", f"{field['name']!r} is used twice"
                )
            names.add(field["name"])
            wire.append(field)
        return wire

    def field(self, where: str, value: object, *, event: bool) -> dict[str, Any]:
        field = as_model(where, value, SegmentField)
        name = _checks.check_name(f"{where}.name", field.name)
        if name in _RESERVED_NAMES:
            raise InvalidRequestError(
                f"{where}.name", f"{name!r} is reserved (start_time, end_time, metadata)"
            )
        kind = _checks.check_choice(
            f"{where}.type", field.type, _EVENT_FIELD_TYPES if event else FIELD_TYPES
        )
        wire: dict[str, Any] = {
            "name": name,
            "type": kind,
            "description": _checks.check_name(f"{where}.description", field.description),
        }
        if kind == "timestamp":
            wire["format"] = _checks.check_choice(
                f"{where}.format", field.format, _checks.TIME_FORMATS
            )
        elif field.format is not None:
            raise InvalidRequestError(f"{where}.format", "is only for type 'timestamp'")
        if field.enum is not None:
            if kind == "timestamp" or (event and kind != "string"):
                raise InvalidRequestError(f"{where}.enum", f"is not allowed on type {kind!r}")
            values = _checks.check_items(f"{where}.enum", field.enum, 1, MAX_ENUM_VALUES)
            wire["enum"] = [
                _checks.check_name(f"{where}.enum[{i}]", item) for i, item in enumerate(values)
            ]
        if kind in ("array", "time_array"):
            if field.items is None:
                raise InvalidRequestError(f"{where}.items", f"is required for type {kind!r}")
            wire["items"] = self.items(f"{where}.items", field.items, kind)
        elif field.items is not None:
            raise InvalidRequestError(f"{where}.items", f"is not allowed on type {kind!r}")
        return wire

    def items(self, where: str, value: object, kind: str) -> dict[str, Any]:
        items = as_model(where, value, SegmentFieldItems)
        if kind == "time_array":
            self.has_time_array = True
            _checks.check_choice(f"{where}.type", items.type, ("object",))
            if items.fields is None:
                raise InvalidRequestError(f"{where}.fields", "is required for a time_array")
            return {
                "type": "object",
                "fields": self.fields(f"{where}.fields", items.fields, event=True),
            }
        if items.fields is not None:
            raise InvalidRequestError(f"{where}.fields", "is only for a time_array")
        return {"type": _checks.check_choice(f"{where}.type", items.type, _SCALAR_TYPES)}

    def time_ranges(self, where: str, value: object) -> list[dict[str, float]]:
        self.has_time_ranges = True
        ranges = []
        for position, item in enumerate(_checks.check_items(where, value, 1)):
            here = f"{where}[{position}]"
            window = as_model(here, item, AnalyzeTimeRange)
            start, end = _checks.check_window(
                f"{here}.start_time",
                window.start_time,
                f"{here}.end_time",
                window.end_time,
                min_length=MIN_TIME_RANGE_SECONDS,
            )
            ranges.append((start, end))
        ordered = sorted(ranges)
        for (_, earlier_end), (later_start, _) in itertools.pairwise(ordered):
            if later_start < earlier_end:  # touching ([0, 5] and [5, 10]) is allowed
                raise InvalidRequestError(where, "must not overlap")
        return [{"start_time": start, "end_time": end} for start, end in ranges]


def check_segment_format(value: object) -> SegmentFormat:
    """A SegmentResponseFormat (or its dict) as wire JSON, with what the other rules need."""
    response_format = as_model("response_format", value, SegmentResponseFormat)
    walk = _Walk()
    where = "response_format.segment_definitions"
    wire_definitions = []
    ids: set[str] = set()
    for position, item in enumerate(
        _checks.check_items(where, response_format.segment_definitions, 1, MAX_DEFINITIONS)
    ):
        definition = walk.definition(f"{where}[{position}]", item)
        if definition["id"] in ids:
            raise InvalidRequestError(
                f"{where}[{position}].id", f"{definition['id']!r} is used twice"
            )
        ids.add(definition["id"])
        wire_definitions.append(definition)
    wire: dict[str, Any] = {"type": SEGMENT_FORMAT_TYPE, "segment_definitions": wire_definitions}
    if response_format.segment_time_format is not None:
        wire["segment_time_format"] = _checks.check_choice(
            "response_format.segment_time_format",
            response_format.segment_time_format,
            _checks.TIME_FORMATS,
        )
    return SegmentFormat(wire, walk.has_time_ranges, walk.has_time_array)
