"""What the emulator learns about a task's video, and whether that makes the task fail.

- ``asset_id`` and URLs on ordinary hosts: stable synthetic facts (``_synthetic``, no network).
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

from ._fetch import fetch_video
from ._lifecycle import Outcome
from ._markers import Markers, parse_markers
from ._media import (
    DOWNLOAD_FAILED_MESSAGE,
    GENERIC_FAILURE_MESSAGE,
    MAX_VIDEO_BYTES,
    MediaError,
    VideoFacts,
    limit_violation,
)
from ._probe import probe_bytes
from ._synthetic import synthetic_facts
from ._urls import is_loopback, is_unreachable_host

_FETCH_TIMEOUT = 30.0


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


def markers_for(video: dict[str, Any]) -> Markers:
    if video["type"] == "url":
        return parse_markers(video["url"])
    return Markers()


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


def synthetic_outcome(key: str, markers: Markers, url: str | None) -> Outcome:
    facts = synthetic_facts(key, markers)
    if url is not None and is_unreachable_host(url):
        return Outcome(facts.duration, probed=False, failure=DOWNLOAD_FAILED_MESSAGE)
    return _judge(facts, markers)


async def probed_outcome(
    key: str, markers: Markers, data: bytes | None, url: str | None
) -> Outcome:
    try:
        if data is None:
            assert url is not None
            data = await fetch_video(url, max_bytes=MAX_VIDEO_BYTES, timeout=_FETCH_TIMEOUT)
        facts = await asyncio.to_thread(probe_bytes, data)
    except MediaError as exc:
        fallback = synthetic_facts(key, markers).duration
        return Outcome(fallback, probed=False, failure=str(exc) or GENERIC_FAILURE_MESSAGE)
    return _judge(facts, markers)


def _judge(facts: VideoFacts, markers: Markers) -> Outcome:
    violation = limit_violation(facts)
    if violation is not None:
        return Outcome(facts.duration, facts.probed, failure=violation)
    if markers.fail is not None:
        return Outcome(facts.duration, facts.probed, failure=markers.fail, fail_stage="end")
    return Outcome(facts.duration, facts.probed)
