"""What the emulator learns about a task's video, and whether that makes the task fail.

- ``asset_id`` and URLs on ordinary hosts: stable synthetic facts from ``_media`` (no network).
- URLs on hosts under the reserved ``.invalid`` TLD (RFC 2606: such names never resolve): the
  task fails when processing starts, as the platform's download would.
- Loopback ``http`` URLs (127.0.0.1, localhost, ::1), with ``fetch_media`` on: the bytes are
  fetched and probed like a base64 video. No other host is ever contacted.
- base64 videos: probed. Unreadable media or a video outside the limits fails the task when
  processing starts, not at create: the platform checks media asynchronously too, so a client
  meets the failure where it would in production.
- ``emulator_fail=REASON`` in a URL fails the task at the end of processing.

Fetching and probing run in the background (probing on a thread): create answers at once.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any
from urllib.parse import urlsplit

from . import _media
from ._lifecycle import Outcome

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_FETCH_TIMEOUT = 30.0
_MAX_FETCH_BYTES = 30 * 1024 * 1024


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and (parts.hostname or "").lower() in _LOOPBACK_HOSTS


def source_of(request: dict[str, Any]) -> dict[str, Any]:
    """The task's video; for an image task, a stand-in whose facts derive from its images
    (synthetic, never fetched)."""
    video = request.get("video")
    if video is not None:
        return dict(video)
    names = (
        str(image.get("url") or image.get("asset_id") or image["name"])
        for image in request["image"]
    )
    return {"type": "image", "key": "image:" + "|".join(names)}


def markers_for(video: dict[str, Any]) -> _media.Markers:
    if video["type"] == "url":
        return _media.parse_markers(video["url"])
    return _media.Markers()


def video_key(video: dict[str, Any], data: bytes | None) -> str:
    if data is not None:
        return "sha256:" + hashlib.sha256(data).hexdigest()
    return str(video.get("url") or video.get("asset_id") or video.get("key"))


def needs_background(video: dict[str, Any], data: bytes | None, *, fetch_media: bool) -> bool:
    """True when facts come from real media (fetch or probe), which create must not wait for."""
    if data is not None:
        return True
    url = video.get("url")
    return isinstance(url, str) and fetch_media and is_loopback(url)


def synthetic_outcome(key: str, markers: _media.Markers, url: str | None) -> Outcome:
    facts = _media.synthetic_facts(key, markers)
    if url is not None and _media.is_unreachable_host(url):
        return Outcome(facts.duration, probed=False, failure=_media.DOWNLOAD_FAILED_MESSAGE)
    return _judge(facts, markers)


async def probed_outcome(
    key: str, markers: _media.Markers, data: bytes | None, url: str | None
) -> Outcome:
    try:
        if data is None:
            assert url is not None
            data = await _media.fetch_video(url, max_bytes=_MAX_FETCH_BYTES, timeout=_FETCH_TIMEOUT)
        facts = await asyncio.to_thread(_media.probe_bytes, data)
    except _media.MediaError as exc:
        fallback = _media.synthetic_facts(key, markers).duration
        return Outcome(fallback, probed=False, failure=str(exc) or _media.GENERIC_FAILURE_MESSAGE)
    return _judge(facts, markers)


def _judge(facts: _media.VideoFacts, markers: _media.Markers) -> Outcome:
    violation = _media.limit_violation(facts)
    if violation is not None:
        return Outcome(facts.duration, facts.probed, failure=violation)
    if markers.fail is not None:
        return Outcome(facts.duration, facts.probed, failure=markers.fail, fail_stage="end")
    return Outcome(facts.duration, facts.probed)
