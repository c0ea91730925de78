"""The request boundary: the :class:`Transport` interface and its aiohttp implementation,
the only aiohttp client code.

A transport does one thing: ``send(Request) -> RawResponse``. Everything above it (rate
gate, status to error, retries, decoding) is the same whatever sends the bytes, so tests of
it run on ``MockTransport`` and only this module's tests need a socket or aioresponses.

aiohttp's exceptions become ours here and nowhere else. Bodies are read incrementally and
never past a cap, counted after decompression: a 2xx over ``max_response_bytes`` raises
ResponseTooLargeError, and of an error answer only its first KEPT_BODY_BYTES are read.
"""

from __future__ import annotations

import asyncio
import io
import ssl
import zlib
from typing import Protocol, runtime_checkable

import aiohttp

from ._errors import (
    CLIENT_CLOSED_MESSAGE,
    KEPT_BODY_BYTES,
    APIConnectionError,
    APITimeoutError,
    ClientStateError,
    InvalidRequestError,
    ResponseTooLargeError,
    ResponseValidationError,
)
from ._inflate import ACCEPT_ENCODING, BoundedInflater, UnsupportedEncodingError
from ._protocol import RawResponse, Request

__all__ = ["ACCEPT_ENCODING", "AiohttpTransport", "Transport"]

# aiohttp writes a bytes body in one go (and warns above 1 MiB); a file-like one in 64 KiB
# chunks with the loop free in between, which matters for 40 MB base64 videos.
_STREAMED_BODY_BYTES = 2**20


@runtime_checkable
class Transport(Protocol):
    """Sends one request and returns its response; raises ``APIConnectionError`` (or its
    ``APITimeoutError``) when no response came, ``InvalidRequestError`` for a request it
    cannot encode. Any status is a response: deciding what it means is the client's job."""

    async def send(self, request: Request) -> RawResponse: ...

    async def aclose(self) -> None: ...


class AiohttpTransport:
    """Owns (or borrows) an ``aiohttp.ClientSession`` and sends one request at a time with it."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None,
        connection_limit: int,
        connect_timeout: float,
        ssl_context: ssl.SSLContext | None,
        max_response_bytes: int,
    ) -> None:
        self._session = session
        self._max_response_bytes = max_response_bytes
        self._owns_session = session is None
        self._connection_limit = connection_limit
        self._connect_timeout = connect_timeout
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._closed = False
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    @property
    def has_open_owned_session(self) -> bool:
        return self._owns_session and self._session is not None and not self._session.closed

    def _get_session(self) -> aiohttp.ClientSession:
        session = self._session
        if self._closed:
            # A retry that wakes after aclose() must not quietly open a new pool.
            raise ClientStateError(CLIENT_CLOSED_MESSAGE)
        if session is None:
            # Created on first use so it binds to the loop that actually runs the requests.
            connector = aiohttp.TCPConnector(
                limit=self._connection_limit,
                limit_per_host=self._connection_limit,
                ttl_dns_cache=300,
                ssl=self._ssl,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                # Cookies mean nothing to this API; skipping the jar saves work per response.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            self._session = session
        return session

    async def send(self, request: Request) -> RawResponse:
        method, url, timeout, body = request.method, request.url, request.timeout, request.body
        session = self._get_session()
        if session.closed:
            raise ClientStateError("the aiohttp session lent to this client has been closed")
        client_timeout = self._timeouts.get(timeout)
        if client_timeout is None:
            # Built once per distinct timeout: most clients only ever use one.
            client_timeout = aiohttp.ClientTimeout(
                total=timeout, sock_connect=min(self._connect_timeout, timeout)
            )
            if len(self._timeouts) < 16:
                self._timeouts[timeout] = client_timeout
        # aiohttp's exceptions can carry the request (headers included, so the API key) in
        # their repr: ours are raised "from None" so no traceback ever prints them.
        try:
            async with session.request(
                method,
                url,
                headers=request.headers,
                params=request.params,
                data=io.BytesIO(body) if body and len(body) > _STREAMED_BODY_BYTES else body,
                timeout=client_timeout,
                allow_redirects=False,
                # _inflate does it, bounded by max_response_bytes (see why there).
                auto_decompress=False,
                # A borrowed session may raise on non-2xx; statuses are ours to interpret.
                raise_for_status=False,
            ) as response:
                payload = await self._read_body(response)
                return RawResponse(response.status, response.headers, payload)
        except zlib.error as exc:
            error: Exception = APIConnectionError(
                f"{method} failed: a compressed body is corrupt: {exc}"
            )
        except (aiohttp.ConnectionTimeoutError, aiohttp.SocketTimeoutError) as exc:
            # A connect timeout happens before anything is sent, but the socket-read kind may not.
            sent = not isinstance(exc, aiohttp.ConnectionTimeoutError)
            error = APITimeoutError(f"{method} timed out after {timeout:g}s", request_sent=sent)
        except TimeoutError:
            error = APITimeoutError(f"{method} timed out after {timeout:g}s")
        except aiohttp.ClientConnectorError as exc:
            # Refused / DNS / TLS handshake: the request never left this machine.
            error = APIConnectionError(
                f"cannot connect to {url.host}: {exc.os_error}", request_sent=False
            )
        except aiohttp.InvalidURL as exc:
            error = InvalidRequestError("url", f"is not a valid URL: {exc}")
        except aiohttp.ClientError as exc:
            error = APIConnectionError(f"{method} failed: {type(exc).__name__}: {exc}")
        except (TypeError, ValueError) as exc:
            # aiohttp/yarl refusing a header or query value before anything is sent.
            error = InvalidRequestError("request", f"cannot be encoded: {exc}")
        raise error from None

    async def _read_body(self, response: aiohttp.ClientResponse) -> bytes:
        status = response.status
        ok = 200 <= status < 300
        # Of an error answer the status says what happened; a prefix of the body explains it.
        limit = self._max_response_bytes if ok else min(self._max_response_bytes, KEPT_BODY_BYTES)
        encoding = response.headers.get("Content-Encoding", "identity")
        if encoding.strip().lower() not in ("identity", ""):
            try:
                inflater = BoundedInflater(encoding)
            except UnsupportedEncodingError as exc:
                raw, _ = await _read_at_most(response.content, KEPT_BODY_BYTES)
                if ok:
                    raise ResponseValidationError(str(exc), body=raw, status_code=status) from None
                return raw
            body, complete = await _read_at_most(response.content, limit, inflater)
        else:
            declared = response.content_length
            if declared is not None and declared <= limit:
                # The common case: aiohttp reads exactly the declared length, so this cannot
                # hold more than the limit.
                return await response.read()
            if declared is not None and ok:
                raise ResponseTooLargeError(limit=limit, body=b"", status_code=status)
            body, complete = await _read_at_most(response.content, limit)
        if ok and not complete:
            # Leaving the "async with" unread closes the connection instead of draining it.
            raise ResponseTooLargeError(limit=limit, body=body, status_code=status)
        return body

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()
            # Give the SSL transports a tick to finish closing, as aiohttp's docs advise.
            await asyncio.sleep(0)


async def _read_at_most(
    content: aiohttp.StreamReader, limit: int, inflater: BoundedInflater | None = None
) -> tuple[bytes, bool]:
    """The body (inflated, with an ``inflater``) and True if it ends within ``limit`` bytes;
    else its first ``min(limit, KEPT_BODY_BYTES)`` bytes and False.

    One network chunk at a time, never a join of the whole buffer: at most one chunk beyond
    the limit is ever held, and an inflater never yields more than ``limit + 1`` bytes,
    whatever the compression ratio.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        raw = await content.readany()
        if inflater is None:
            piece = raw
        else:
            piece = inflater.feed(raw, limit - size + 1) if raw else inflater.flush()
        if piece:
            chunks.append(piece)
            size += len(piece)
            if size > limit:
                return _head(chunks, min(limit, KEPT_BODY_BYTES)), False
        if not raw:
            return b"".join(chunks), True


def _head(chunks: list[bytes], size: int) -> bytes:
    """The first ``size`` bytes of the chunks, without joining all of them."""
    head = bytearray()
    for chunk in chunks:
        head += chunk[: size - len(head)]
        if len(head) >= size:
            break
    return bytes(head)
