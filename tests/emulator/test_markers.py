"""Test markers in a video URL: parsed when well formed, ignored otherwise, never raising."""

from __future__ import annotations

import pytest

from asyncanalyze.emulator._markers import Markers, parse_markers
from asyncanalyze.emulator._media import GENERIC_FAILURE_MESSAGE

BASE = "https://cdn.example.com/clips/a.mp4"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"{BASE}?emulator_duration=12.5&emulator_task_seconds=3"
            "&emulator_fail=Bad+codec&emulator_resolution=640x360",
            Markers(duration=12.5, task_seconds=3.0, fail="Bad codec", resolution=(640, 360)),
        ),
        (f"{BASE}?emulator_fail=1", Markers(fail=GENERIC_FAILURE_MESSAGE)),
        (f"{BASE}?emulator_fail=TRUE", Markers(fail=GENERIC_FAILURE_MESSAGE)),
        (f"{BASE}?emulator_fail=Video%20is%20corrupt", Markers(fail="Video is corrupt")),
        (f"{BASE}?emulator_fail=false", Markers()),
        (f"{BASE}?emulator_fail=0&emulator_fail=1", Markers()),
        (f"{BASE}?emulator_fail=", Markers()),
        (f"{BASE}?emulator_fail=a%0Ab", Markers(fail="a b")),
        (f"{BASE}?emulator_resolution=1080X1920", Markers(resolution=(1080, 1920))),
        (f"{BASE}?emulator_duration=.5", Markers(duration=0.5)),
        (f"{BASE}?emulator_task_seconds=0", Markers(task_seconds=0.0)),
        # First well-formed occurrence wins; malformed ones are skipped.
        (
            f"{BASE}?emulator_duration=x&emulator_duration=9&emulator_duration=7",
            Markers(duration=9),
        ),
        (f"{BASE}?x=1&emulator_duration=5#frag", Markers(duration=5.0)),
    ],
)
def test_parse_markers(url: str, expected: Markers) -> None:
    assert parse_markers(url) == expected


@pytest.mark.parametrize(
    "query",
    [
        "emulator_duration=abc",
        "emulator_duration=-5",
        "emulator_duration=nan",
        "emulator_duration=inf",
        "emulator_duration=1e3",
        "emulator_duration=1_000",
        "emulator_duration=",
        "emulator_task_seconds=soon",
        "emulator_resolution=640x",
        "emulator_resolution=0x360",
        "emulator_resolution=640*360",
        "emulator_resolution=axb",
        "emulator_resolution=9999999x1",
        "emulator_resolution=-640x360",
        "emulator_unknown=1",
        "%zz=%zz&&&=",
    ],
)
def test_malformed_markers_are_ignored(query: str) -> None:
    assert parse_markers(f"{BASE}?{query}") == Markers()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a url",
        "64f8d2c7e4a1b37f8a9c5d12",
        "?emulator_duration=5",
        "/relative/path.mp4?emulator_duration=5",
        "http://[::1?emulator_duration=5",
    ],
)
def test_non_urls_have_no_markers(text: str) -> None:
    assert parse_markers(text) == Markers()


def test_fail_message_is_capped() -> None:
    markers = parse_markers(f"{BASE}?emulator_fail={'x' * 5000}")
    assert markers.fail is not None
    assert 0 < len(markers.fail) <= 500
