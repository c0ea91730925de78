"""Rate-limit coordination for one client: a 429 pauses every sender of that route, and the
senders then go out one by one at the server's pace instead of all at once.

Without this, N coroutines that meet a 429 all retry after the same Retry-After, one of them
gets the freed token and N-1 meet another 429: a stampede that burns every retry budget. Here
each paused sender reserves its own slot, ``spacing`` apart. The spacing starts at the rate the
server announces (``X-Ratelimit-Limit`` per minute), grows by half at each further 429 and
shrinks again while responses report plenty of ``X-Ratelimit-Remaining``; a lane with no
spacing left and no pause disappears, so an unthrottled client pays one dict lookup per send.
A response that reports ``Remaining: 0`` starts the pacing before the wall is hit.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Final

__all__ = ["RateGate"]

Clock = Callable[[], float]

# The platform documents per-minute limits; X-Ratelimit-Limit is read as requests per minute.
_WINDOW_SECONDS: Final = 60.0
# With no Limit header to go by, paced senders start this far apart.
_FALLBACK_SPACING: Final = 0.05
_BACKOFF: Final = 1.5
_RECOVERY: Final = 0.9
# However often 429s repeat, senders are never held further apart than this.
_MAX_SPACING: Final = 60.0
# Below this spacing, and outside any pause, a lane is dropped.
_NEGLIGIBLE_SPACING: Final = 0.005


class _Lane:
    __slots__ = ("changed_at", "floor", "next_slot", "paused_until", "spacing")

    def __init__(self, floor: float = 0.0) -> None:
        self.paused_until = 0.0
        self.next_slot = 0.0
        self.spacing = floor
        self.floor = floor  # a pace the user asked for: never relaxed below, never dropped
        self.changed_at = -float("inf")


class RateGate:
    """Slots for the senders of one client, per route (e.g. creates apart from polls)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lanes: dict[Hashable, _Lane] = {}

    def limit(self, route: Hashable, per_minute: float) -> None:
        """Never send more than ``per_minute`` requests a minute on ``route`` (evenly spaced)."""
        lane = self._lanes.setdefault(route, _Lane())
        lane.floor = _WINDOW_SECONDS / per_minute
        lane.spacing = max(lane.spacing, lane.floor)

    def reserve(self, route: Hashable) -> float:
        """Seconds this sender must wait before sending (0 when the route is not throttled)."""
        lane = self._lanes.get(route)
        if lane is None:
            return 0.0
        now = self._clock()
        slot = max(now, lane.paused_until, lane.next_slot)
        lane.next_slot = slot + lane.spacing
        return slot - now

    def rate_limited(
        self,
        route: Hashable,
        retry_after: float | None,
        headers: Mapping[str, str],
        *,
        sent_at: float | None = None,
    ) -> None:
        """A 429 on ``route`` for a request sent at ``sent_at``: pause the route for
        ``retry_after`` and pace the senders after it."""
        lane = self._lanes.setdefault(route, _Lane())
        now = self._clock()
        if retry_after is not None:
            lane.paused_until = max(lane.paused_until, now + retry_after)
        announced = _announced_spacing(headers) or _FALLBACK_SPACING
        # Only a request sent at the current pace proves the pace too fast; the burst that
        # went out before pacing began all comes back 429 and must not compound the spacing.
        paced = sent_at is None or sent_at >= lane.changed_at
        grown = min(lane.spacing * _BACKOFF, _MAX_SPACING) if lane.spacing and paced else 0.0
        spacing = max(announced, grown, lane.spacing if not paced else 0.0)
        if spacing != lane.spacing:
            lane.spacing = spacing
            lane.changed_at = now
        lane.next_slot = max(lane.next_slot, lane.paused_until)

    def succeeded(self, route: Hashable, headers: Mapping[str, str]) -> None:
        """A 2xx on ``route``: slow down before the wall, or relax once there is room."""
        remaining = _int_header(headers, "x-ratelimit-remaining")
        if remaining is None:
            return
        lane = self._lanes.get(route)
        if remaining <= 0:
            lane = lane or self._lanes.setdefault(route, _Lane())
            lane.spacing = max(lane.spacing, _announced_spacing(headers) or _FALLBACK_SPACING)
            return
        if lane is None:
            return
        limit = _int_header(headers, "x-ratelimit-limit")
        if limit is None or remaining * 2 >= limit:
            lane.spacing = max(lane.floor, lane.spacing * _RECOVERY)
            if (
                lane.floor == 0.0
                and lane.spacing < _NEGLIGIBLE_SPACING
                and self._clock() >= lane.paused_until
            ):
                del self._lanes[route]


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


def _announced_spacing(headers: Mapping[str, str]) -> float | None:
    limit = _int_header(headers, "x-ratelimit-limit")
    return _WINDOW_SECONDS / limit if limit and limit > 0 else None
