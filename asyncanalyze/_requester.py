"""What a resource may ask of its client: the :class:`Requester` interface.

Resources (``client.tasks``) see this and nothing else of the client: a frozen
:class:`ClientSettings`, the client's clock and random source, a liveness check, and one
``request`` call that runs the whole pipeline. So a resource can be tested against any
object with these few members, and the client is free to change how it sends.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from ._config import RequestOptions
from ._protocol import RawResponse, Route
from ._settings import ClientSettings

__all__ = ["CloseHook", "Requester"]

CloseHook = Callable[[], Awaitable[None]]


class Requester(Protocol):
    @property
    def settings(self) -> ClientSettings: ...

    @property
    def rng(self) -> random.Random: ...

    def clock(self) -> float:
        """Monotonic seconds on the client's clock."""
        ...

    def check_usable(self) -> None:
        """Raise ClientStateError if the client is closed or belongs to another loop."""
        ...

    def on_close(self, before: CloseHook, after: CloseHook) -> None:
        """Run ``before()`` when the client starts closing (it can still send then), and
        ``after()`` once it can no longer send (its rate gate ended every wait)."""
        ...

    def key_digest(self, salt: str) -> str:
        """A salted digest of the API key (tells keys apart without revealing them)."""
        ...

    async def request(
        self,
        route: Route,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        options: RequestOptions | None = None,
        idempotency_key: str | None = None,
    ) -> RawResponse:
        """Send one request (retried as the settings say) and return its 2xx response;
        raise the typed error of any other outcome."""
        ...
