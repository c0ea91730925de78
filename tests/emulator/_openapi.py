"""Validate emulator responses against the component schemas of the vendored OpenAPI slice."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parents[1] / "spec" / "openapi_analyze_tasks.yaml"
_URI = "urn:asyncanalyze:openapi"


@cache
def _registry() -> Registry:
    document = yaml.safe_load(SPEC.read_text())
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    return Registry().with_resource(_URI, resource)


@cache
def _validator(schema_name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"{_URI}#/components/schemas/{schema_name}"}
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def validate(body: Any, schema_name: str) -> None:
    """Raise jsonschema.ValidationError unless ``body`` fits the named component schema."""
    _validator(schema_name).validate(body)
