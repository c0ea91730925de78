"""Deterministic plain text: what a ready task without a response_format carries in result.data.

Separate from the JSON generator: it reads the prompt and the video (key words, duration,
timestamped scenes) rather than a schema, and shares with it only the seeding rule.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence

from ._seeds import seed
from ._tokens import cut_to_tokens

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
    rng = random.Random(seed("text", prompt, video_key, repr(float(duration))))
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
    return cut_to_tokens("\n".join(lines), max_tokens)
