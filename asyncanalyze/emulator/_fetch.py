"""Downloading a video URL for probing: bounded in size and time, never following redirects.

Separate from probing: this is network I/O, bounded against a hostile or stalled server, and
its failures become a task's download-failure message without repeating what upstream said.
"""

from __future__ import annotations

import aiohttp

from ._media import DOWNLOAD_FAILED_MESSAGE, MediaError, plain_number
from ._urls import is_unreachable_host, split_url


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
    parts = split_url(url)
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
        raise _download_error(
            f"the download timed out after {plain_number(timeout)} seconds"
        ) from exc
    except aiohttp.ClientConnectionError as exc:
        raise _download_error("the host could not be reached") from exc
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        raise _download_error("the request failed") from exc


def _too_large(max_bytes: int) -> MediaError:
    return _download_error(f"the file exceeds the maximum allowed size of {max_bytes} bytes")
