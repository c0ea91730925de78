"""Synthetic video facts: stable per URL (in any process), realistic, overridden by markers."""

from __future__ import annotations

import json
from dataclasses import asdict

from asyncanalyze.emulator._markers import Markers, parse_markers
from asyncanalyze.emulator._media import limit_violation
from asyncanalyze.emulator._synthetic import synthetic_facts

from ._fresh_process import output_in_fresh_process

BASE = "https://cdn.example.com/clips/a.mp4"


def test_synthetic_facts_are_stable_and_within_limits() -> None:
    keys = [f"https://example.com/v/{i}.mp4" for i in range(400)]
    facts = [synthetic_facts(k, Markers()) for k in keys]
    assert facts == [synthetic_facts(k, Markers()) for k in keys]
    assert all(not f.probed and limit_violation(f) is None for f in facts)
    durations = sorted(f.duration for f in facts)
    assert durations[0] >= 30 and durations[-1] <= 2400
    assert 60 <= durations[len(durations) // 2] <= 300  # skewed to a few minutes
    assert durations[-1] > 900  # but long videos happen
    resolutions = {(f.width, f.height) for f in facts}
    assert {(1920, 1080), (1280, 720), (1080, 1920)} <= resolutions


def test_markers_override_synthetic_facts() -> None:
    url = f"{BASE}?emulator_duration=2&emulator_resolution=300x300"
    facts = synthetic_facts(url, parse_markers(url))
    assert (facts.duration, facts.width, facts.height) == (2.0, 300, 300)
    assert limit_violation(facts) is not None


def test_markers_do_not_change_which_video_a_url_stands_for() -> None:
    plain = synthetic_facts(BASE, Markers())
    with_marker = f"{BASE}?emulator_task_seconds=5"
    assert synthetic_facts(with_marker, parse_markers(with_marker)) == plain


def test_synthetic_facts_are_the_same_in_other_processes() -> None:
    keys = [BASE, "64f8d2c7e4a1b37f8a9c5d12", "https://example.com/ünïcode.mp4"]
    script = (
        "import json, sys; from dataclasses import asdict;"
        "from asyncanalyze.emulator._markers import Markers;"
        "from asyncanalyze.emulator._synthetic import synthetic_facts;"
        "print(json.dumps([asdict(synthetic_facts(k, Markers())) for k in sys.argv[1:]]))"
    )
    outputs = [
        json.loads(output_in_fresh_process(script, *keys, hash_seed=hash_seed))
        for hash_seed in ("1", "2")
    ]
    here = [asdict(synthetic_facts(k, Markers())) for k in keys]
    assert outputs[0] == outputs[1] == here
