"""Validate emulator responses against the component schemas of the vendored OpenAPI slice,
plus what the platform's SDK 1.3.6 documents since (``openapi_sdk_additions.yaml``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parents[1] / "spec" / "openapi_analyze_tasks.yaml"
ADDITIONS = Path(__file__).resolve().with_name("openapi_sdk_additions.yaml")
_URI = "urn:asyncanalyze:openapi"


def _merged(base: Any, addition: Any) -> Any:
    if isinstance(base, dict) and isinstance(addition, dict):
        return {**base, **{key: _merged(base.get(key), value) for key, value in addition.items()}}
    return addition


@cache
def _registry() -> Registry:
    document = _merged(yaml.safe_load(SPEC.read_text()), yaml.safe_load(ADDITIONS.read_text()))
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    return Registry().with_resource(_URI, resource)


@cache
def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"{_URI}#/components/schemas/{schema_name}"}
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def validate(body: Any, schema_name: str) -> None:
    """Raise jsonschema.ValidationError unless ``body`` fits the named component schema."""
    _validator(schema_name).validate(body)
