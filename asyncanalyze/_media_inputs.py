"""Images in a create request: ``image`` (what to analyze) and reference images
(``prompt_v2`` and segment definitions' ``media_sources``), checked and put in wire form.

The platform's rules (SDK 1.3.6 docstrings): exactly one source per image; image URLs are
HTTPS; ``image`` holds 1 to 20 images named with letters, digits and ``_``, unique in the list,
each at most 20 MB; a prompt refers to every image (``<@name>``) or to none; ``media_sources``
holds at most 4 images of at most 32 MB each. Dicts (a manifest line) are accepted in the
models' place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, TypeVar

from . import _checks
from ._convert import WireError, structure, unstructure
from ._errors import InvalidRequestError
from ._models import AnalyzeImageInput, AnalyzePromptV2, MediaSource

__all__ = ["as_model", "check_images", "check_media_sources", "check_prompt_v2"]

T = TypeVar("T")

MAX_IMAGES: Final = 20
MAX_MEDIA_SOURCES: Final = 4
MAX_IMAGE_BYTES: Final = 20 * 1024 * 1024
MAX_MEDIA_SOURCE_BYTES: Final = 32 * 1024 * 1024
_IMAGE_NAME: Final = re.compile(r"[A-Za-z0-9_]+")
_PLACEHOLDER: Final = re.compile(r"<@([^<>\s]+)>")
_SOURCES: Final = ("url", "asset_id", "base64_string")


def as_model(parameter: str, value: object, cls: type[T]) -> T:
    """``value`` if it is a ``cls``, else a dict with ``cls``'s wire keys turned into one."""
    if isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        raise InvalidRequestError(
            parameter, f"must be a {cls.__name__} or a dict, got {type(value).__name__}"
        )
    try:
        return structure(dict(value), cls)
    except WireError as exc:
        raise InvalidRequestError(parameter, f"is not a valid {cls.__name__} ({exc})") from None


def _check_source(parameter: str, image: AnalyzeImageInput | MediaSource, max_bytes: int) -> None:
    given = [name for name in _SOURCES if getattr(image, name) is not None]
    if len(given) != 1:
        raise InvalidRequestError(
            parameter, f"must have exactly one of url, asset_id, base64_string, got {given or 0}"
        )
    where = f"{parameter}.{given[0]}"
    if image.base64_string is not None:
        _checks.check_base64(
            where, image.base64_string, max_bytes, hint="upload it as an asset or pass a URL"
        )
        return
    value = _checks.check_name(where, image.url if image.url is not None else image.asset_id)
    if image.url is not None and not value.lower().startswith("https://"):
        raise InvalidRequestError(where, "must be an https URL (the platform refuses http)")


def _wire(parameter: str, model: object) -> Any:
    return _checks.check_json(unstructure(model), parameter)


def check_images(value: object, prompt: str | None) -> list[dict[str, Any]]:
    """``image``: 1-20 named images; ``prompt`` refers to all of them or to none."""
    images = [
        as_model(f"image[{position}]", item, AnalyzeImageInput)
        for position, item in enumerate(_checks.check_items("image", value, 1, MAX_IMAGES))
    ]
    names: set[str] = set()
    for position, image in enumerate(images):
        where = f"image[{position}]"
        name = _checks.check_name(f"{where}.name", image.name)
        if not _IMAGE_NAME.fullmatch(name):
            raise InvalidRequestError(
                f"{where}.name", f"must hold only letters, digits and '_', got {name!r}"
            )
        if name in names:
            raise InvalidRequestError(f"{where}.name", f"{name!r} is used twice")
        names.add(name)
        _check_source(where, image, MAX_IMAGE_BYTES)
    if prompt is not None:
        referenced = names.intersection(_PLACEHOLDER.findall(prompt))
        if referenced and referenced != names:
            missing = ", ".join(f"<@{name}>" for name in sorted(names - referenced))
            raise InvalidRequestError(
                "prompt", f"refers to some images but not to {missing}: refer to all or none"
            )
    return [_wire(f"image[{position}]", image) for position, image in enumerate(images)]


def check_media_sources(parameter: str, value: object) -> list[dict[str, Any]]:
    """Reference images: at most 4, each named, with exactly one source."""
    sources = [
        as_model(f"{parameter}[{position}]", item, MediaSource)
        for position, item in enumerate(_checks.check_items(parameter, value, 0, MAX_MEDIA_SOURCES))
    ]
    for position, source in enumerate(sources):
        where = f"{parameter}[{position}]"
        _checks.check_name(f"{where}.name", source.name)
        if source.media_type != "image":
            raise InvalidRequestError(
                f"{where}.media_type", f"must be 'image', got {source.media_type!r}"
            )
        _check_source(where, source, MAX_MEDIA_SOURCE_BYTES)
    return [_wire(f"{parameter}[{position}]", source) for position, source in enumerate(sources)]


def check_prompt_v2(value: object) -> dict[str, Any]:
    """A structured prompt: non-empty ``input_text`` and its reference images."""
    prompt = as_model("prompt_v2", value, AnalyzePromptV2)
    wire: dict[str, Any] = {
        "input_text": _checks.check_name("prompt_v2.input_text", prompt.input_text)
    }
    if prompt.media_sources is not None:
        wire["media_sources"] = check_media_sources("prompt_v2.media_sources", prompt.media_sources)
    return wire
