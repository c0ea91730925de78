"""Which URLs the emulator reads, and which it may contact: one reading of a URL for all.

Markers, fetching and the choice of what to fetch all parse user-supplied URLs; here that
parsing never raises, and the two host rules live: loopback ``http`` is the only place the
emulator downloads from, and a host under ``.invalid`` is never reachable.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def split_url(url: str) -> tuple[str, str, str, str, str] | None:
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


def is_unreachable_host(url: str) -> bool:
    """True for URLs whose host is under the reserved ``.invalid`` TLD (RFC 2606).

    The emulator fails such tasks as undownloadable without touching the network, which gives
    tests a deterministic, offline way to exercise the download-failure path.
    """
    parts = split_url(url)
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


def is_loopback(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket, which the create check lets through
        return False
    return parts.scheme == "http" and (parts.hostname or "").lower() in _LOOPBACK_HOSTS
