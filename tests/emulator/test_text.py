"""Generated text: about the prompt and the video, deterministic, cut at max_tokens by count."""

from __future__ import annotations

import re

import pytest

from asyncanalyze.emulator._text import generate_text
from asyncanalyze.emulator._tokens import count_tokens

from ._fresh_process import output_in_fresh_process

PROMPT = "Summarize the cooking techniques and list every ingredient the chef uses"


def scene_times(text: str) -> list[tuple[int, int]]:
    def seconds(stamp: str) -> int:
        total = 0
        for part in stamp.split(":"):
            total = total * 60 + int(part)
        return total

    return [
        (seconds(a), seconds(b))
        for a, b in re.findall(r"\[((?:\d+:)?\d{2}:\d{2})-((?:\d+:)?\d{2}:\d{2})\]", text)
    ]


def test_text_relates_to_prompt_and_video() -> None:
    text = generate_text(PROMPT, video_key="https://x/v.mp4", duration=754.3, max_tokens=4096)
    lowered = text.lower()
    assert "cooking" in lowered and "techniques" in lowered and "ingredient" in lowered
    assert "12:34" in text
    scenes = scene_times(text)
    assert len(scenes) >= 2
    assert scenes[0][0] == 0 and scenes[-1][1] == 754
    assert all(start <= end <= 754 for start, end in scenes)
    assert [s for s, _ in scenes] == sorted(s for s, _ in scenes)


def test_long_videos_use_hours() -> None:
    text = generate_text("Describe it", video_key="k", duration=5400, max_tokens=4096)
    assert "1:30:00" in text
    assert all(end <= 5400 for _, end in scene_times(text))


@pytest.mark.parametrize("duration", [0.0, 0.4, 3.0, float("nan"), -5.0])
def test_text_survives_degenerate_durations(duration: float) -> None:
    text = generate_text("Hello", video_key="k", duration=duration, max_tokens=4096)
    limit = int(duration) if duration > 0 else 0  # NaN compares false, so it lands on 0 too
    assert scene_times(text)
    assert all(start <= end <= limit for start, end in scene_times(text))


def test_text_varies_with_inputs() -> None:
    texts = {
        generate_text(PROMPT, video_key=f"video-{i}", duration=30 + 97 * i, max_tokens=4096)
        for i in range(10)
    }
    assert len(texts) == 10
    assert len({len(t) for t in texts}) > 3


@pytest.mark.parametrize("max_tokens", [1, 2, 5, 20, 60])
def test_text_is_cut_at_max_tokens(max_tokens: int) -> None:
    full = generate_text(PROMPT, video_key="k", duration=600, max_tokens=100_000)
    cut = generate_text(PROMPT, video_key="k", duration=600, max_tokens=max_tokens)
    assert count_tokens(full) > 60
    assert 1 <= count_tokens(cut) <= max_tokens
    assert full.startswith(cut)
    assert cut != full


def test_text_is_deterministic() -> None:
    first = generate_text(PROMPT, video_key="k", duration=60, max_tokens=500)
    assert first == generate_text(PROMPT, video_key="k", duration=60, max_tokens=500)


def test_text_is_the_same_in_another_process() -> None:
    script = (
        "from asyncanalyze.emulator._text import generate_text;"
        "print(generate_text('Describe the goals', video_key='k', duration=99.5, max_tokens=80))"
    )
    elsewhere = output_in_fresh_process(script, hash_seed="7")
    here = generate_text("Describe the goals", video_key="k", duration=99.5, max_tokens=80)
    assert elsewhere == here + "\n"


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("", 0, 0),
        (" ", 1, 1),
        ("hello", 1, 1),
        ("Hello, world!", 4, 4),
        ("word " * 100, 100, 100),
        ("internationalization", 3, 5),
        ("The quick brown fox jumps over the lazy dog. " * 10, 100, 140),
    ],
)
def test_count_tokens(text: str, low: int, high: int) -> None:
    assert low <= count_tokens(text) <= high
