"""What the emulator knows about a task's video: duration, resolution, and whether it can be used.

INTERFACE CONTRACT (owned by the media/content helper; the server calls exactly these names).

Facts come from one of two places:

* ``probe_bytes``: real media (base64 uploads, or bytes fetched with ``fetch_video``), read with
  PyAV, the optional ``[media]`` extra;
* ``synthetic_facts``: a stable made-up duration and resolution derived from the URL or asset id,
  for videos the emulator cannot or does not download. Test markers in the URL's query string
  (``parse_markers``) override them.

``limit_violation`` then turns facts into the platform's failure message, if any.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp

if TYPE_CHECKING:
    # Annotations only: PyAV is optional and imported lazily where it is used.
    from av.container import InputContainer
    from av.video.stream import VideoStream

__all__ = [
    "DOWNLOAD_FAILED_MESSAGE",
    "GENERIC_FAILURE_MESSAGE",
    "MAX_ASPECT_RATIO",
    "MAX_DURATION_SECONDS",
    "MAX_LONG_SIDE",
    "MAX_SHORT_SIDE",
    "MIN_DURATION_SECONDS",
    "MIN_SIDE",
    "Markers",
    "MediaError",
    "VideoFacts",
    "fetch_video",
    "is_unreachable_host",
    "limit_violation",
    "parse_markers",
    "probe_bytes",
    "synthetic_facts",
]

MIN_DURATION_SECONDS = 4.0
MAX_DURATION_SECONDS = 7200.0
MIN_SIDE = 360
MAX_LONG_SIDE = 5184
MAX_SHORT_SIDE = 2160
# Kept as a fraction (12/5 == 2.4) so the aspect check is exact integer arithmetic: 5184x2160
# is exactly 2.4:1 and must pass, which float division does not guarantee in general.
_ASPECT_NUM, _ASPECT_DEN = 12, 5
MAX_ASPECT_RATIO = _ASPECT_NUM / _ASPECT_DEN

GENERIC_FAILURE_MESSAGE = (
    "The video could not be processed. The file may be corrupted or in an unsupported format"
)
DOWNLOAD_FAILED_MESSAGE = "The video could not be downloaded from the provided URL"

MARKER_DURATION = "emulator_duration"
MARKER_TASK_SECONDS = "emulator_task_seconds"
MARKER_FAIL = "emulator_fail"
MARKER_RESOLUTION = "emulator_resolution"
_MARKER_PREFIX = "emulator_"

# A marker's failure text ends up in a JSON response; a cap keeps a hostile URL from
# producing a huge task body.
_MAX_FAIL_MESSAGE_CHARS = 500
# Sides above this are not a plausible video; treating them as malformed keeps arithmetic sane.
_MAX_MARKER_SIDE = 100_000

_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_RESOLUTION_RE = re.compile(r"([0-9]{1,6})[xX]([0-9]{1,6})")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Markers:
    """Test markers read from a video URL's query string (documented in the README)."""

    duration: float | None = None  # emulator_duration=SECONDS: the video's length
    task_seconds: float | None = None  # emulator_task_seconds=SECONDS: create -> terminal time
    fail: str | None = None  # emulator_fail=REASON: the task fails with this message
    resolution: tuple[int, int] | None = None  # emulator_resolution=WxH


@dataclass(frozen=True)
class VideoFacts:
    duration: float  # seconds
    width: int
    height: int
    probed: bool  # True when read from real media, False when synthetic


class MediaError(Exception):
    """The bytes are not a video the emulator can read."""


# --------------------------------------------------------------------------------------------
# Markers


def _split(url: str) -> tuple[str, str, str, str, str] | None:
    """The URL's parts, or None when the string is not an absolute URL with a host."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment


def _parse_seconds(raw: str) -> float | None:
    raw = raw.strip()
    # A strict grammar rather than float(): float() also takes "nan", "inf", "1e400" and "1_0".
    if not _NUMBER_RE.fullmatch(raw):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def _parse_resolution(raw: str) -> tuple[int, int] | None:
    match = _RESOLUTION_RE.fullmatch(raw.strip())
    if match is None:
        return None
    width, height = int(match.group(1)), int(match.group(2))
    if not (0 < width <= _MAX_MARKER_SIDE and 0 < height <= _MAX_MARKER_SIDE):
        return None
    return width, height


def _parse_fail(raw: str) -> str | None:
    text = _CONTROL_RE.sub(" ", raw).strip()
    if not text:
        return None
    lowered = text.lower()
    if lowered in {"1", "true", "yes"}:
        return GENERIC_FAILURE_MESSAGE
    # Lets a test URL say "do not fail" explicitly instead of failing with the text "false".
    if lowered in {"0", "false", "no"}:
        return None
    return text[:_MAX_FAIL_MESSAGE_CHARS]


def parse_markers(url: str) -> Markers:
    """Markers from ``url``'s query string; malformed values and non-URLs give no marker.

    The first well-formed occurrence of each marker wins. Never raises: the URL is user input.
    """
    parts = _split(url)
    if parts is None or not parts[3]:
        return Markers()
    duration: float | None = None
    task_seconds: float | None = None
    fail: str | None = None
    fail_seen = False
    resolution: tuple[int, int] | None = None
    try:
        pairs = parse_qsl(parts[3], keep_blank_values=True)
    except ValueError:
        return Markers()
    for key, value in pairs:
        if key == MARKER_DURATION and duration is None:
            duration = _parse_seconds(value)
        elif key == MARKER_TASK_SECONDS and task_seconds is None:
            task_seconds = _parse_seconds(value)
        elif key == MARKER_FAIL and not fail_seen:
            # An explicit "false" counts as seen, so a later "true" cannot override it.
            if value.strip():
                fail_seen = True
                fail = _parse_fail(value)
        elif key == MARKER_RESOLUTION and resolution is None:
            resolution = _parse_resolution(value)
    return Markers(duration=duration, task_seconds=task_seconds, fail=fail, resolution=resolution)


# --------------------------------------------------------------------------------------------
# Synthetic facts

# (width, height, weight): what a typical upload mix looks like; every entry is within limits.
_RESOLUTIONS: tuple[tuple[int, int, int], ...] = (
    (1920, 1080, 40),
    (1280, 720, 22),
    (3840, 2160, 9),
    (1080, 1920, 10),
    (720, 1280, 4),
    (854, 480, 5),
    (2560, 1440, 4),
    (1080, 1080, 3),
    (640, 360, 3),
)
_SYNTHETIC_MIN_SECONDS = 30.0
_SYNTHETIC_MAX_SECONDS = 2400.0
# u**1.6 pushes most of the mass toward the short end: median about 2 minutes, 90th
# percentile about 20 minutes, never beyond 40 minutes.
_SYNTHETIC_SKEW = 1.6


def _stable_key(source_key: str) -> str:
    """The key without emulator_* query parameters.

    Adding a marker such as emulator_task_seconds to a URL should not change the video it
    stands for, so markers are left out of the hash.
    """
    parts = _split(source_key)
    if parts is None or not parts[3]:
        return source_key
    scheme, netloc, path, query, fragment = parts
    kept = [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if not k.startswith(_MARKER_PREFIX)
    ]
    return urlunsplit((scheme, netloc, path, urlencode(kept), fragment))


def _unit_floats(source_key: str, count: int) -> list[float]:
    # hashlib rather than hash(): str hashes are salted per process (PYTHONHASHSEED), and the
    # same URL must describe the same video in every emulator process.
    digest = hashlib.sha256(_stable_key(source_key).encode("utf-8", "surrogatepass")).digest()
    return [int.from_bytes(digest[i * 8 : i * 8 + 8], "big") / 2**64 for i in range(count)]


def synthetic_facts(source_key: str, markers: Markers) -> VideoFacts:
    """Stable facts derived from a URL or asset id (same key -> same facts), markers win."""
    u_duration, u_resolution = _unit_floats(source_key, 2)
    ratio = _SYNTHETIC_MAX_SECONDS / _SYNTHETIC_MIN_SECONDS
    duration = round(_SYNTHETIC_MIN_SECONDS * ratio ** (u_duration**_SYNTHETIC_SKEW), 2)
    total = sum(weight for _, _, weight in _RESOLUTIONS)
    point = u_resolution * total
    width, height = _RESOLUTIONS[0][:2]
    for w, h, weight in _RESOLUTIONS:
        if point < weight:
            width, height = w, h
            break
        point -= weight
    if markers.duration is not None:
        duration = markers.duration
    if markers.resolution is not None:
        width, height = markers.resolution
    return VideoFacts(duration=duration, width=width, height=height, probed=False)


# --------------------------------------------------------------------------------------------
# Probing real media


def probe_bytes(data: bytes) -> VideoFacts:
    """Real facts from media bytes with PyAV; raises MediaError if unreadable or PyAV missing."""
    try:
        import av
    except ImportError as exc:
        raise MediaError(
            "Reading video files needs PyAV, which is not installed; "
            "install the media extra: pip install 'asyncanalyze[media]'"
        ) from exc

    if not data:
        raise MediaError("The video file is empty")
    try:
        # A BytesIO source means no network or filesystem I/O can block, and FFmpeg's probing
        # is bounded by the data length, so garbage input fails fast instead of hanging.
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.video:
                raise MediaError("The file does not contain a video stream")
            stream = container.streams.video[0]
            width = int(stream.codec_context.width or 0)
            height = int(stream.codec_context.height or 0)
            duration = _container_duration(container.duration)
            if duration is None:
                duration = _stream_duration(stream)
            if duration is None:
                duration = _demuxed_duration(container, stream)
    except MediaError:
        raise
    except (av.FFmpegError, OSError, ValueError, TypeError, IndexError, EOFError) as exc:
        raise MediaError("The file is not a readable video") from exc
    if width <= 0 or height <= 0:
        raise MediaError("The video's resolution could not be determined")
    if duration is None:
        raise MediaError("The video's duration could not be determined")
    return VideoFacts(duration=duration, width=width, height=height, probed=True)


def _positive(value: float) -> float | None:
    return value if math.isfinite(value) and value > 0 else None


def _container_duration(duration: int | None) -> float | None:
    # FFmpeg reports container duration in AV_TIME_BASE units (microseconds).
    if duration is None:
        return None
    return _positive(duration / 1_000_000)


def _stream_duration(stream: VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        found = _positive(float(stream.duration * stream.time_base))
        if found is not None:
            return found
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    if stream.frames and rate:
        return _positive(stream.frames / float(rate))
    return None


# Demuxing reads packets only (no decoding), but an absurd packet count is not a video we want
# to spend time on; the cap bounds the work for hostile input.
_MAX_DEMUX_PACKETS = 200_000


def _demuxed_duration(container: InputContainer, stream: VideoStream) -> float | None:
    """Last resort for containers without duration metadata (raw streams, broken indexes).

    The end of the last timestamped packet, or, for elementary streams whose packets carry no
    timestamps, the packet count divided by the frame rate.
    """
    end: float | None = None
    packets = 0
    for count, packet in enumerate(container.demux(stream)):
        if count >= _MAX_DEMUX_PACKETS:
            break
        if packet.size == 0:  # the flush packet demux() yields at the end
            continue
        packets += 1
        if packet.pts is None or packet.time_base is None:
            continue
        packet_end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
        end = packet_end if end is None else max(end, packet_end)
    if end is not None:
        start = stream.start_time or 0
        base = stream.time_base
        return _positive(end - (float(start * base) if base is not None else 0.0))
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    if packets and rate:
        return _positive(packets / float(rate))
    return None


# --------------------------------------------------------------------------------------------
# Limits


def _fmt(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _aspect_text(width: int, height: int) -> str:
    ratio = max(width, height) / min(width, height)
    shown = round(ratio, 2)
    if shown <= MAX_ASPECT_RATIO:
        # 865x360 is 2.4027:1; two decimals would print the allowed "2.4" in a rejection.
        shown = round(ratio, 4)
    return f"{_fmt(shown)}:1" if width >= height else f"1:{_fmt(shown)}"


def limit_violation(facts: VideoFacts) -> str | None:
    """The platform's failure message when the video breaks the brief's limits, else None.

    The brief's "360x360 to 5184x2160 pixels" is read orientation-free: the short side must be
    360..2160 and the long side at most 5184, so 1080x1920 portrait passes like 1920x1080.
    The aspect ratio (long side / short side) must be at most 2.4, boundary included.
    Checks run in the order duration, resolution, aspect ratio; the first failure is reported.
    """
    duration = facts.duration
    if not math.isfinite(duration) or duration < 0:
        return "Video duration could not be determined"
    if duration > MAX_DURATION_SECONDS:
        return (
            "Video duration exceeds maximum allowed duration of 7200 seconds (2 hours): "
            f"the video is {_fmt(duration)} seconds long"
        )
    if duration < MIN_DURATION_SECONDS:
        return (
            "Video duration is below the minimum of 4 seconds: "
            f"the video is {_fmt(duration)} seconds long"
        )
    width, height = facts.width, facts.height
    short, long = min(width, height), max(width, height)
    if short < MIN_SIDE or short > MAX_SHORT_SIDE or long > MAX_LONG_SIDE:
        return (
            f"Video resolution {width}x{height} is outside the supported range 360x360 to 5184x2160"
        )
    if long * _ASPECT_DEN > short * _ASPECT_NUM:
        return (
            f"Video aspect ratio {_aspect_text(width, height)} is outside the supported range "
            "1:2.4 to 2.4:1"
        )
    return None


# --------------------------------------------------------------------------------------------
# Fetching


def is_unreachable_host(url: str) -> bool:
    """True for URLs whose host is under the reserved ``.invalid`` TLD (RFC 2606).

    The emulator fails such tasks as undownloadable without touching the network, which gives
    tests a deterministic, offline way to exercise the download-failure path.
    """
    parts = _split(url)
    if parts is None:
        return False
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return False
    if not host:
        return False
    host = host.rstrip(".").lower()
    return host == "invalid" or host.endswith(".invalid")


def _download_error(reason: str) -> MediaError:
    return MediaError(f"{DOWNLOAD_FAILED_MESSAGE}: {reason}")


# The server's contract names the parameter `timeout`; it bounds the whole download, which
# aiohttp's own ClientTimeout enforces more precisely than a wrapping asyncio.timeout would.
async def fetch_video(url: str, *, max_bytes: int, timeout: float) -> bytes:
    """The body at ``url`` (http or https), at most ``max_bytes`` long, within ``timeout`` s.

    Every failure is a MediaError whose message can go straight into a task's
    ``error.message``. Redirects are not followed: the caller vetted this URL's host, not
    wherever it points next. The message never repeats the upstream answer (status,
    location, body): a task's error must not become a way to read another service.
    """
    if not timeout > 0 or max_bytes < 0:
        # aiohttp reads a zero timeout as "no timeout": a caller bug, not a download failure.
        raise ValueError("timeout must be positive and max_bytes non-negative")
    parts = _split(url)
    if parts is None or parts[0].lower() not in {"http", "https"}:
        raise _download_error("the URL must be an absolute http or https URL")
    if is_unreachable_host(url):
        raise _download_error("the host could not be reached")
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    try:
        async with (
            aiohttp.ClientSession(timeout=client_timeout) as session,
            session.get(url.strip(), allow_redirects=False) as response,
        ):
            if not 200 <= response.status < 300:
                raise _download_error("the server did not return the file")
            if response.content_length is not None and response.content_length > max_bytes:
                raise _too_large(max_bytes)
            body = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                body += chunk
                # Checked while streaming because Content-Length may be absent or wrong.
                if len(body) > max_bytes:
                    raise _too_large(max_bytes)
            return bytes(body)
    except MediaError:
        raise
    except TimeoutError as exc:
        raise _download_error(f"the download timed out after {_fmt(timeout)} seconds") from exc
    except aiohttp.ClientConnectionError as exc:
        raise _download_error("the host could not be reached") from exc
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        raise _download_error("the request failed") from exc


def _too_large(max_bytes: int) -> MediaError:
    return _download_error(f"the file exceeds the maximum allowed size of {max_bytes} bytes")
