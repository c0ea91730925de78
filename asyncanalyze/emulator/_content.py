"""Deterministic generated output: the text a ready task carries in result.data.

INTERFACE CONTRACT (owned by the media/content helper; the server calls exactly these names).

Everything here is a pure function of its inputs. Randomness comes from ``random.Random``
seeded with a SHA-256 digest of the inputs, never from ``hash()`` (salted per process), so two
emulator processes produce byte-identical results for the same request.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import importlib
import json
import math
import random
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "SCHEMA_PATH",
    "TIMESTAMP_FORMATS",
    "count_tokens",
    "generate_json",
    "generate_text",
    "schema_problem",
]

TIMESTAMP_FORMATS = ("seconds", "hh:mm:ss", "hh:mm:ss.fff")
SCHEMA_PATH = "response_format.json_schema"
_KNOWN_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string", "timestamp")


def _seed(*parts: str) -> int:
    # hash() is salted per process; SHA-256 gives the same seed in every process.
    joined = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.sha256(joined).digest()[:16], "big")


# --------------------------------------------------------------------------------------------
# Tokens

_PIECE_RE = re.compile(r"\w+|[^\w\s]")
# Subword tokenizers split long words; one token per started five characters lands near the
# usual "words x 1.3" rule of thumb for English text.
_CHARS_PER_TOKEN = 5


def _piece_cost(piece: str) -> int:
    if piece[0].isalnum() or piece[0] == "_":
        return max(1, math.ceil(len(piece) / _CHARS_PER_TOKEN))
    return 1


def count_tokens(text: str) -> int:
    """A stable approximation used for usage.input_tokens/output_tokens and max_tokens cuts."""
    if not text:
        return 0
    total = sum(_piece_cost(m.group()) for m in _PIECE_RE.finditer(text))
    return max(1, total)


def _cut_to_tokens(text: str, max_tokens: int) -> str:
    """The longest prefix of ``text`` ending at a piece boundary that fits ``max_tokens``."""
    if max_tokens <= 0:
        return ""
    if count_tokens(text) <= max_tokens:
        return text
    budget = max_tokens
    end = 0
    for match in _PIECE_RE.finditer(text):
        cost = _piece_cost(match.group())
        if cost > budget:
            if end == 0:
                # Nothing fits whole: keep as much of the first word as the budget pays for.
                end = match.start() + budget * _CHARS_PER_TOKEN
            break
        budget -= cost
        end = match.end()
    return text[:end].rstrip()


# --------------------------------------------------------------------------------------------
# Text

_STOPWORD_TEXT = """
    a about above after again all also an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself
    just me more most my no nor not now of off on once only or other our out over own please
    same she should so some such than that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom why
    will with would you your yours give tell describe explain provide list write make show
    video videos clip footage summarize summarise summary used use using identify analyze
    analyse extract find generate include including based main key detailed brief short
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_SHOTS = (
    "A wide shot",
    "A close-up",
    "A handheld shot",
    "A slow pan",
    "An overhead shot",
    "A medium shot",
    "A tracking shot",
)
_SETTINGS = (
    "in a bright studio",
    "on a busy city street",
    "in a small office",
    "outdoors in a park",
    "in a home kitchen",
    "on a stage in front of an audience",
    "in a workshop",
    "at a desk with a laptop",
    "in a warehouse",
    "on a beach at sunset",
)
_SUBJECTS = (
    "a presenter",
    "a pair of hosts",
    "a woman in a blue jacket",
    "a man wearing glasses",
    "a small group",
    "the narrator",
    "a chef",
    "an engineer",
    "a cyclist",
    "a teacher",
)
_ACTIONS = (
    "speaks directly to the camera",
    "demonstrates a product",
    "walks through the space",
    "points at a chart on a screen",
    "prepares ingredients",
    "assembles a device",
    "answers questions",
    "reviews handwritten notes",
    "laughs with a colleague",
    "rides past the camera",
)
_LINKS = (
    "This part is most relevant to {kw}.",
    "The narration here touches on {kw}.",
    "On-screen text mentions {kw}.",
    "The focus shifts to {kw}.",
)
_TONES = ("calm", "upbeat", "informative", "lively", "focused", "relaxed")


def _keywords(prompt: str, limit: int = 6) -> list[str]:
    seen: list[str] = []
    for word in re.findall(r"[^\W\d_][\w'-]*", prompt):
        lowered = word.lower().strip("'-")
        if len(lowered) < 3 or lowered in _STOPWORDS or lowered in seen:
            continue
        seen.append(lowered)
        if len(seen) == limit:
            break
    return seen


def _clock(seconds: float) -> str:
    """mm:ss, or h:mm:ss from one hour on (so a 2 h video does not read as 120:00)."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _join_words(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def generate_text(prompt: str, *, video_key: str, duration: float, max_tokens: int) -> str:
    """Plain text derived from the prompt and the video, stable for the same inputs.

    The text quotes the prompt, reuses its key words, gives the video's length and describes a
    few timestamped scenes inside it; the result never exceeds ``max_tokens`` as counted by
    ``count_tokens``. Calling with a huge ``max_tokens`` gives the untruncated text, so a
    caller can tell a cut (finish_reason "length") by comparing the two.
    """
    if not math.isfinite(duration) or duration < 0:
        duration = 0.0
    rng = random.Random(_seed("text", prompt, video_key, repr(float(duration))))
    keywords = _keywords(prompt)
    short_prompt = " ".join(prompt.split())
    if len(short_prompt) > 80:
        short_prompt = short_prompt[:77].rstrip() + "..."

    lines: list[str] = []
    opening = f'Response to the prompt "{short_prompt}".' if short_prompt else "Video analysis."
    tone = rng.choice(_TONES)
    if keywords:
        topics = _join_words(keywords[:3])
        opening += (
            f" The video runs {_clock(duration)} and has a {tone} tone; "
            f"it is mostly about {topics}."
        )
    else:
        opening += f" The video runs {_clock(duration)} and has a {tone} tone."
    lines.append(opening)
    lines.append("")

    scene_count = 2 + int(math.log2(1 + duration / 30)) + rng.randint(0, 2)
    scene_count = max(1, min(scene_count, 9, int(duration) or 1))
    cuts = sorted(rng.sample(range(1, int(duration)), scene_count - 1)) if scene_count > 1 else []
    bounds = [0, *cuts, int(duration)]
    lines.append("Scenes:")
    for index in range(scene_count):
        start, end = bounds[index], bounds[index + 1]
        sentence = (
            f"{rng.choice(_SHOTS)} {rng.choice(_SETTINGS)}: "
            f"{rng.choice(_SUBJECTS)} {rng.choice(_ACTIONS)}."
        )
        if keywords and rng.random() < 0.6:
            sentence += " " + rng.choice(_LINKS).format(kw=rng.choice(keywords))
        lines.append(f"- [{_clock(start)}-{_clock(end)}] {sentence}")
    lines.append("")

    if keywords:
        closing = (
            f"Overall, the video covers {_join_words(keywords)} across {scene_count} "
            f"scene{'s' if scene_count != 1 else ''}"
        )
    else:
        closing = f"Overall, the video moves through {scene_count} scene" + (
            "s" if scene_count != 1 else ""
        )
    closing += f" and ends at {_clock(duration)}."
    if rng.random() < 0.5:
        closing += f" The pacing stays {rng.choice(_TONES)} throughout."
    lines.append(closing)
    return _cut_to_tokens("\n".join(lines), max_tokens)


# --------------------------------------------------------------------------------------------
# JSON values from a schema

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
_MAX_STRING = 10_000
_VALIDATE_DEPTH = 80
_EPOCH = _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)

_WORDS = (
    "morning",
    "harbor",
    "market",
    "lesson",
    "garden",
    "review",
    "launch",
    "journey",
    "studio",
    "interview",
    "recipe",
    "match",
    "workshop",
    "festival",
    "demo",
)
_ADJECTIVES = ("quiet", "busy", "short", "bright", "detailed", "friendly", "quick", "clear")
_NAMES = ("Alex Kim", "Maria Lopez", "Sam Okafor", "Priya Shah", "Jonas Berg", "Lea Martin")
_MISSING = object()


def _bounds(schema: Mapping[str, Any]) -> tuple[float | None, bool, float | None, bool]:
    """(low, low_exclusive, high, high_exclusive), reading draft 4 boolean forms too."""
    low: float | None = None
    low_x = False
    high: float | None = None
    high_x = False

    def num(value: Any) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
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


def _json_equal(a: Any, b: Any) -> bool:
    # JSON Schema keeps booleans apart from numbers, unlike Python's True == 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and bool(a == b)


def _type_ok(value: Any, name: str) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    checks: dict[str, bool] = {
        "null": value is None,
        "boolean": isinstance(value, bool),
        "string": isinstance(value, str),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
        "number": is_number,
        "integer": is_number and float(value).is_integer(),
        "timestamp": is_number or isinstance(value, str),
    }
    return checks.get(name, True)


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
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
                    props[name] = _merge(prev, sub)
                else:
                    props[name] = sub
            out[key] = props
        elif key in {"items", "additionalProperties"} and (value is False or out[key] is False):
            out[key] = False
        elif key in {"items", "additionalProperties", "not"} and isinstance(out[key], dict):
            out[key] = _merge(out[key], value) if isinstance(value, dict) else out[key]
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
            both_enum = [v for v in out[key] if any(_json_equal(v, w) for w in value)]
            out[key] = both_enum or value
        else:
            out[key] = value
    return out


def _pick(a: Any, b: Any, choose: Any) -> Any:
    numeric = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
    return choose(a, b) if numeric else b


class _Generator:
    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        # Timestamps come off one advancing clock so start_time < end_time within an object
        # and array elements (segments) come out in chronological order.
        self.clock = rng.uniform(0.0, 5.0)
        self.nodes = 0

    # -- references -------------------------------------------------------------------------

    def resolve(self, ref: Any) -> Any:
        """The subschema a local ``$ref`` points to, or _MISSING."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            return _MISSING
        node: Any = self.root
        pointer = ref[1:]
        if not pointer:
            return node
        if not pointer.startswith("/"):
            return _MISSING
        for raw in pointer[1:].split("/"):
            part = raw.replace("%25", "%").replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return _MISSING
        return node

    def effective(self, schema: Mapping[str, Any], refs: int) -> tuple[Any, int]:
        """``schema`` with $ref and allOf folded in, and the number of $ref hops taken."""
        current: Any = dict(schema)
        for _ in range(16):
            if not isinstance(current, dict):
                return current, refs
            if "$ref" in current:
                target = self.resolve(current["$ref"])
                siblings = {k: v for k, v in current.items() if k != "$ref"}
                refs += 1
                if target is _MISSING or isinstance(target, bool):
                    current = siblings if target is not False else False
                    continue
                current = _merge(target, siblings)
                continue
            all_of = current.get("allOf")
            if isinstance(all_of, list) and all_of:
                merged = {k: v for k, v in current.items() if k != "allOf"}
                for sub in all_of:
                    if isinstance(sub, dict):
                        merged = _merge(merged, sub)
                current = merged
                continue
            return current, refs
        return current, refs

    # -- validation of candidates -------------------------------------------------------------

    def conforms(self, value: Any, schema: Any, depth: int = 0) -> bool:
        """A small JSON Schema check of the keywords this module generates for."""
        if schema is True or not isinstance(schema, dict) or depth > _VALIDATE_DEPTH:
            return schema is not False
        if "$ref" in schema:
            target = self.resolve(schema["$ref"])
            if target is not _MISSING and not self.conforms(value, target, depth + 1):
                return False
        if "const" in schema and not _json_equal(value, schema["const"]):
            return False
        enum = schema.get("enum")
        if isinstance(enum, list) and not any(_json_equal(value, e) for e in enum):
            return False
        kind = schema.get("type")
        if isinstance(kind, str) and not _type_ok(value, kind):
            return False
        if isinstance(kind, list) and kind and not any(_type_ok(value, k) for k in kind):
            return False
        if isinstance(value, int | float) and not isinstance(value, bool):
            low, low_x, high, high_x = _bounds(schema)
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
        min_len, max_len = schema.get("minLength"), schema.get("maxLength")
        if isinstance(min_len, int) and len(value) < min_len:
            return False
        if isinstance(max_len, int) and len(value) > max_len:
            return False
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                return re.search(pattern, value) is not None
            except re.error:
                return True
        return True

    def _array_ok(self, value: list[Any], schema: Mapping[str, Any], depth: int) -> bool:
        min_items, max_items = schema.get("minItems"), schema.get("maxItems")
        if isinstance(min_items, int) and len(value) < min_items:
            return False
        if isinstance(max_items, int) and len(value) > max_items:
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
                if any(_json_equal(first, later) for later in value[i + 1 :]):
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
        min_props, max_props = schema.get("minProperties"), schema.get("maxProperties")
        if isinstance(min_props, int) and len(value) < min_props:
            return False
        return not (isinstance(max_props, int) and len(value) > max_props)

    # -- generation ---------------------------------------------------------------------------

    def gen(self, schema: Any, *, name: str | None = None, depth: int = 0, refs: int = 0) -> Any:
        if schema is False:
            return None
        if not isinstance(schema, dict):
            return self.text(name)
        schema, refs = self.effective(schema, refs)
        if not isinstance(schema, dict):
            return None if schema is False else self.text(name)
        self.nodes += 1
        if depth >= _HARD_DEPTH or self.nodes > _HARD_NODES:
            return self.minimal(schema)
        minimal = refs > _SOFT_REF_DEPTH or depth >= _SOFT_DEPTH or self.nodes > _SOFT_NODES

        if "const" in schema:
            return copy.deepcopy(schema["const"])
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            rest = {k: v for k, v in schema.items() if k != "enum"}
            fitting = [v for v in enum if self.conforms(v, rest)] or enum
            return copy.deepcopy(self.rng.choice(fitting))
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                rest = {k: v for k, v in schema.items() if k != key}
                first: Any = _MISSING
                for branch in branches:
                    if isinstance(branch, dict):
                        merged: Any = _merge(rest, branch)
                    else:
                        merged = rest if branch is True else False
                    candidate = self.gen(merged, name=name, depth=depth + 1, refs=refs)
                    if self.conforms(candidate, schema):
                        return candidate
                    if first is _MISSING:
                        first = candidate
                return first

        kind = self.pick_type(schema, minimal)
        if kind == "object":
            return self.object(schema, depth, refs, minimal)
        if kind == "array":
            return self.array(schema, depth, refs, minimal)
        if kind == "integer":
            return self.integer(schema, name)
        if kind == "number":
            return self.number(schema, name)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        if kind == "timestamp":
            return self.timestamp(schema.get("format"))
        return self.string(schema, name)

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
        low, low_x, _, _ = _bounds(schema)
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
                if not any(_json_equal(value, seen) for seen in out):
                    break
                value = self.gen(sub, depth=depth + 1, refs=refs)
            out.append(value)
        return out

    def integer(self, schema: Mapping[str, Any], name: str | None) -> int:
        low, low_x, high, high_x = _bounds(schema)
        lo = None if low is None else (math.floor(low) + 1 if low_x else math.ceil(low))
        hi = None if high is None else (math.ceil(high) - 1 if high_x else math.floor(high))
        if lo is None and hi is None and _is_time_name(name):
            return round(self.next_time())
        default_lo, default_hi = _integer_hint(name)
        if lo is None and hi is None:
            lo, hi = default_lo, default_hi
        elif lo is None:
            assert hi is not None
            lo = hi - (default_hi - default_lo)
        elif hi is None:
            hi = lo + (default_hi - default_lo)
        if lo > hi:
            return lo
        step = schema.get("multipleOf")
        if isinstance(step, int) and not isinstance(step, bool) and step > 0:
            first = -(-lo // step) * step
            if first > hi:
                return first
            return first + step * self.rng.randint(0, (hi - first) // step)
        return self.rng.randint(lo, hi)

    def number(self, schema: Mapping[str, Any], name: str | None) -> float | int:
        low, low_x, high, high_x = _bounds(schema)
        step = schema.get("multipleOf")
        if isinstance(step, int) and not isinstance(step, bool) and step > 0:
            return self.integer(schema, name)
        if low is None and high is None and _is_time_name(name):
            return round(self.next_time(), 1)
        span = 1.0 if _is_fraction_name(name) else 100.0
        if low is None and high is None:
            low, high = 0.0, span
        elif low is None:
            assert high is not None
            low = high - span
        elif high is None:
            high = low + span

        def fits(v: float) -> bool:
            above = v > low if low_x else v >= low
            below = v < high if high_x else v <= high
            return above and below

        if isinstance(step, float) and math.isfinite(step) and step > 0:
            found = self.float_multiple(step, low, high, fits)
            if found is not None:
                return found
        value = round(self.rng.uniform(low, high), 2)
        if fits(value):
            return value
        middle = (low + high) / 2
        return middle if fits(middle) else low

    def float_multiple(
        self, step: float, low: float, high: float, fits: Callable[[float], bool]
    ) -> float | None:
        """A multiple of ``step`` in range whose quotient is exact in binary floating point.

        Validators test multipleOf by float division, and 0.3 / 0.1 is not 3.0, so only
        multiples that divide back exactly are offered.
        """
        first, last = math.ceil(low / step), math.floor(high / step)
        if first > last or last - first > 10**9:
            first, last = first, first + 100
        tries = [self.rng.randint(first, last) for _ in range(20)] + [first, last, 0]
        for k in tries:
            value = round(k * step, 12)
            if fits(value) and (value / step).is_integer():
                return value
        return None

    def timestamp(self, fmt: Any) -> float | str:
        seconds = self.next_time()
        if fmt == "hh:mm:ss":
            return _hms(round(seconds))
        if fmt == "hh:mm:ss.fff":
            return _hms_ms(seconds)
        return round(seconds, 1)

    def next_time(self) -> float:
        self.clock += self.rng.uniform(1.0, 30.0)
        return self.clock

    def string(self, schema: Mapping[str, Any], name: str | None) -> str:
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        text: str | None = None
        if isinstance(fmt, str):
            text = self.formatted(fmt)
        if text is None and isinstance(pattern, str):
            text = _pattern_string(pattern, self.rng)
        if text is None and _is_time_name(name) and fmt is None:
            # The platform renders reserved start_time/end_time strings as hh:mm:ss.fff.
            text = _hms_ms(self.next_time())
        if text is None:
            text = self.text(name)
        return self.fit_length(text, schema)

    def fit_length(self, text: str, schema: Mapping[str, Any]) -> str:
        min_len, max_len = schema.get("minLength"), schema.get("maxLength")
        if isinstance(min_len, int) and not isinstance(min_len, bool) and len(text) < min_len:
            target = min(min_len, _MAX_STRING)
            parts = [text] if text else []
            length = len(text)
            while length < target:
                parts.append(self.rng.choice(_WORDS))
                length += len(parts[-1]) + (1 if len(parts) > 1 else 0)
            text = " ".join(parts)
        if isinstance(max_len, int) and not isinstance(max_len, bool) and len(text) > max_len:
            text = text[: max(max_len, 0)]
            # Avoid a trailing space unless the minimum length needs it.
            stripped = text.rstrip()
            if not isinstance(min_len, int) or len(stripped) >= min_len:
                text = stripped
        return text

    def formatted(self, fmt: str) -> str | None:
        rng = self.rng
        moment = _EPOCH + _dt.timedelta(seconds=rng.randrange(0, 2 * 365 * 24 * 3600))
        word = rng.choice(_WORDS)
        number = rng.randint(1, 999)
        makers = {
            "date-time": lambda: moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "date": lambda: moment.strftime("%Y-%m-%d"),
            "time": lambda: moment.strftime("%H:%M:%SZ"),
            "uri": lambda: f"https://example.com/{word}/{number}",
            "url": lambda: f"https://example.com/{word}/{number}",
            "iri": lambda: f"https://example.com/{word}/{number}",
            "uri-reference": lambda: f"/{word}/{number}",
            "email": lambda: f"{word}{number}@example.com",
            "idn-email": lambda: f"{word}{number}@example.com",
            "uuid": lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "hostname": lambda: f"{word}.example.com",
            "ipv4": lambda: f"192.0.2.{number % 255}",
            "ipv6": lambda: f"2001:db8::{number:x}",
            "duration": lambda: f"PT{number}S",
        }
        maker = makers.get(fmt)
        return maker() if maker is not None else None

    def text(self, name: str | None) -> str:
        rng = self.rng
        hint = (name or "").lower()
        if "name" in hint or hint in {"author", "speaker", "person", "host"}:
            return rng.choice(_NAMES)
        if "title" in hint or "topic" in hint or "heading" in hint:
            return f"The {rng.choice(_ADJECTIVES)} {rng.choice(_WORDS)}".title()
        if any(h in hint for h in ("summary", "description", "caption", "text", "note")):
            return (
                f"A {rng.choice(_ADJECTIVES)} {rng.choice(_WORDS)} "
                f"followed by a {rng.choice(_ADJECTIVES)} {rng.choice(_WORDS)}."
            )
        if hint == "id" or hint.endswith("_id"):
            return f"{rng.getrandbits(96):024x}"
        return f"{rng.choice(_ADJECTIVES)} {rng.choice(_WORDS)}"


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


def _is_time_name(name: str | None) -> bool:
    return name in {"start_time", "end_time"}


def _is_fraction_name(name: str | None) -> bool:
    hint = (name or "").lower()
    return any(h in hint for h in ("confidence", "probability", "score", "ratio"))


def _integer_hint(name: str | None) -> tuple[int, int]:
    hint = (name or "").lower()
    if "year" in hint:
        return 1990, 2025
    if "rating" in hint or "stars" in hint:
        return 1, 5
    return 0, 100


def _hms(whole: int) -> str:
    whole = max(0, whole)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def _hms_ms(seconds: float) -> str:
    millis = max(0, round(seconds * 1000))
    whole, ms = divmod(millis, 1000)
    return f"{_hms(whole)}.{ms:03d}"


def _pattern_string(pattern: str, rng: random.Random) -> str | None:
    """A string that ``re.search(pattern, ...)`` accepts, or None when none was found."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return None
    candidates: list[str] = []
    try:
        # re._parser is private, so any surprise there only costs the pattern support.
        parser = importlib.import_module("re._parser")
        candidates.append("".join(_emit(parser.parse(pattern), rng, {})))
    except Exception:  # noqa: S110
        pass
    candidates += ["", "a", "example", "A1", "0", "abc-123", "2024-01-01"]
    return next((c for c in candidates if compiled.search(c)), None)


_CLASS_ALPHABET = "abcxyzABCXYZ0123456789_-. @:/"
_REPEAT_EXTRA = 3


def _emit(items: Any, rng: random.Random, groups: dict[int, str]) -> Iterator[str]:
    for op, arg in items:
        kind = str(op)
        if kind == "LITERAL":
            yield chr(arg)
        elif kind == "NOT_LITERAL":
            yield "a" if chr(arg) != "a" else "b"
        elif kind == "ANY":
            yield rng.choice("abcxyz")
        elif kind == "IN":
            yield _class_char(arg, rng)
        elif kind in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
            low, high, sub = arg
            high = min(high, low + _REPEAT_EXTRA)
            for _ in range(rng.randint(low, high)):
                yield from _emit(sub, rng, groups)
        elif kind in {"SUBPATTERN", "ATOMIC_GROUP"}:
            sub = arg[-1] if kind == "SUBPATTERN" else arg
            text = "".join(_emit(sub, rng, groups))
            if kind == "SUBPATTERN" and arg[0] is not None:
                groups[arg[0]] = text
            yield text
        elif kind == "BRANCH":
            yield from _emit(rng.choice(arg[1]), rng, groups)
        elif kind == "GROUPREF":
            yield groups.get(arg, "")
        elif kind in {"AT", "ASSERT", "ASSERT_NOT"}:
            continue
        else:
            raise ValueError(kind)


def _class_char(items: Any, rng: random.Random) -> str:
    negate = bool(items) and str(items[0][0]) == "NEGATE"
    members = items[1:] if negate else items
    matching = [c for c in _CLASS_ALPHABET if _in_class(c, members)]
    if negate:
        matching = [c for c in _CLASS_ALPHABET if c not in matching]
    if not matching:
        raise ValueError("empty class")
    return rng.choice(matching)


def _in_class(char: str, members: Any) -> bool:
    for op, arg in members:
        kind = str(op)
        if kind == "LITERAL" and char == chr(arg):
            return True
        if kind == "RANGE" and arg[0] <= ord(char) <= arg[1]:
            return True
        if kind == "CATEGORY":
            category = str(arg)
            tests = {
                "CATEGORY_DIGIT": char.isdigit(),
                "CATEGORY_NOT_DIGIT": not char.isdigit(),
                "CATEGORY_WORD": char.isalnum() or char == "_",
                "CATEGORY_NOT_WORD": not (char.isalnum() or char == "_"),
                "CATEGORY_SPACE": char.isspace(),
                "CATEGORY_NOT_SPACE": not char.isspace(),
            }
            if tests.get(category, False):
                return True
    return False


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
    rng = random.Random(_seed("json", seed, fingerprint))
    root: Mapping[str, Any] = schema if isinstance(schema, dict) else {}
    value = _Generator(root, rng).gen(schema)
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Create-time schema checks


def schema_problem(schema: Any) -> str | None:
    """A platform-style message naming the first unusable part of a json_schema, else None."""
    if not isinstance(schema, dict):
        return f"{SCHEMA_PATH}: must be a JSON object"
    return _check(schema, SCHEMA_PATH, schema, 0)


_TIMESTAMP_FORMAT_MESSAGE = (
    "format is required for timestamp type; allowed values: seconds, hh:mm:ss, hh:mm:ss.fff"
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
        if not names or not all(isinstance(n, str) and n in _KNOWN_TYPES for n in names):
            shown = kind if isinstance(kind, str) else json.dumps(kind, default=repr)
            return f"{path}.type: unsupported type {shown!s}; allowed values: " + ", ".join(
                _KNOWN_TYPES
            )
        if "timestamp" in names and node.get("format") not in TIMESTAMP_FORMATS:
            return f"{path}.format: {_TIMESTAMP_FORMAT_MESSAGE}"
    if "properties" in node:
        props = node["properties"]
        if not isinstance(props, dict):
            return f"{path}.properties: must be an object"
        for name, sub in props.items():
            found = _check(sub, f"{path}.properties.{name}", root, depth + 1)
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
            for index, element in enumerate(sub):
                found = _check(element, f"{path}.items[{index}]", root, depth + 1)
                if found:
                    return found
            continue
        found = _check(sub, f"{path}.{key}", root, depth + 1)
        if found:
            return found
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        if key not in node:
            continue
        branches = node[key]
        if not isinstance(branches, list) or not branches:
            return f"{path}.{key}: must be a non-empty array of schemas"
        for index, branch in enumerate(branches):
            found = _check(branch, f"{path}.{key}[{index}]", root, depth + 1)
            if found:
                return found
    for key in ("$defs", "definitions"):
        if key not in node:
            continue
        defs = node[key]
        if not isinstance(defs, dict):
            return f"{path}.{key}: must be an object"
        for name, sub in defs.items():
            found = _check(sub, f"{path}.{key}.{name}", root, depth + 1)
            if found:
                return found
    if "$ref" in node:
        ref = node["$ref"]
        if _Generator(root, random.Random(0)).resolve(ref) is _MISSING:
            return (
                f"{path}.$ref: cannot resolve {json.dumps(ref, default=repr)}; only references "
                "to subschemas in this schema (#/$defs/...) are supported"
            )
    return None
