"""AnalyzeAsyncClient configuration, session ownership and lifetime."""

from __future__ import annotations

import asyncio
import gc
import ssl
import warnings

import aiohttp
import pytest
from aioresponses import aioresponses

from asyncanalyze import (
    DEFAULT_BASE_URL,
    AnalyzeAsyncClient,
    ClientStateError,
    InvalidRequestError,
)

from ._helpers import task_json
from .conftest import API_KEY, BASE_URL


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWELVE_LABS_API_KEY", raising=False)
    monkeypatch.delenv("ASYNCANALYZE_BASE_URL", raising=False)


def test_missing_key_is_a_clear_error() -> None:
    """Without an api_key argument or TWELVE_LABS_API_KEY, construction fails naming both."""
    with pytest.raises(InvalidRequestError, match="TWELVE_LABS_API_KEY"):
        AnalyzeAsyncClient()


def test_key_and_base_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key and base URL fall back to their environment variables."""
    monkeypatch.setenv("TWELVE_LABS_API_KEY", "env-key")
    monkeypatch.setenv("ASYNCANALYZE_BASE_URL", "https://env.example/v1.3/")
    client = AnalyzeAsyncClient()
    assert client.base_url == "https://env.example/v1.3"
    assert client.settings.api_key == "env-key"


def test_explicit_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit api_key/base_url always wins over the environment."""
    monkeypatch.setenv("TWELVE_LABS_API_KEY", "env-key")
    monkeypatch.setenv("ASYNCANALYZE_BASE_URL", "https://env.example/v1.3")
    client = AnalyzeAsyncClient(api_key="arg-key", base_url="https://arg.example/v1.3")
    assert (client.settings.api_key, client.base_url) == ("arg-key", "https://arg.example/v1.3")


def test_default_base_url() -> None:
    """Without argument or variable, the platform's URL is used."""
    assert AnalyzeAsyncClient(api_key="k").base_url == DEFAULT_BASE_URL


@pytest.mark.parametrize(
    "url", ["http://api.example.com/v1.3", "http://10.0.0.5:8080", "ftp://x/y", "not a url", ""]
)
def test_insecure_or_bad_base_url_refused(url: str) -> None:
    """Plain http off loopback, other schemes and junk are refused."""
    with pytest.raises(InvalidRequestError) as info:
        AnalyzeAsyncClient(api_key="k", base_url=url)
    assert info.value.parameter == "base_url"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8750/v1.3", "http://localhost:1/v1.3", "http://[::1]:9/v1.3"]
)
def test_plain_http_allowed_on_loopback(url: str) -> None:
    """Plain http is fine for loopback hosts (the emulator)."""
    assert AnalyzeAsyncClient(api_key="k", base_url=url).base_url == url


def test_plain_http_off_loopback_needs_explicit_opt_in() -> None:
    """allow_insecure_http=True is the explicit opt-in for http to another host."""
    client = AnalyzeAsyncClient(
        api_key="k", base_url="http://api.internal/v1.3", allow_insecure_http=True
    )
    assert client.base_url == "http://api.internal/v1.3"


def test_unverified_ssl_context_warns() -> None:
    """Handing in a context that does not verify certificates is never silent."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with pytest.warns(UserWarning, match="does not verify"):
        AnalyzeAsyncClient(api_key="k", ssl_context=context)


def test_repr_hides_the_key() -> None:
    """Neither the client's nor its resource's repr shows the key."""
    client = AnalyzeAsyncClient(api_key=API_KEY, base_url=BASE_URL)
    assert API_KEY not in repr(client)
    assert API_KEY not in repr(client.tasks)
    assert API_KEY not in str(vars(client.tasks))


async def test_owned_session_is_closed_on_exit(mocked: aioresponses) -> None:
    """The session a client creates is closed by `async with`."""
    mocked.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json())
    async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL) as client:
        await client.tasks.retrieve("t1")
        session = client._transport._session
        assert session is not None and not session.closed
    assert session.closed and client.closed


async def test_borrowed_session_stays_open(mocked: aioresponses) -> None:
    """A session passed in is used and left open for its owner."""
    mocked.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json())
    async with aiohttp.ClientSession() as session:
        async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL, session=session) as client:
            await client.tasks.retrieve("t1")
        assert not session.closed


async def test_no_session_before_first_request() -> None:
    """Constructing a client opens nothing; the session is made on first use."""
    client = AnalyzeAsyncClient(api_key="k", base_url=BASE_URL)
    assert client._transport._session is None
    await client.aclose()


async def test_closed_client_refuses_requests() -> None:
    """Using a client after aclose() is a clear ClientStateError, not an aiohttp error."""
    client = AnalyzeAsyncClient(api_key="k", base_url=BASE_URL)
    await client.aclose()
    with pytest.raises(ClientStateError, match="closed"):
        await client.tasks.retrieve("t1")


def test_client_used_from_two_loops_is_refused(mocked: aioresponses) -> None:
    """A client bound to one loop gives a clear error in another (no 'Event loop is closed')."""
    mocked.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json(), repeat=True)
    client = AnalyzeAsyncClient(api_key="k", base_url=BASE_URL)

    async def use_then_release_pool() -> None:
        await client.tasks.retrieve("t1")
        await client._transport.aclose()  # the pool only; the client stays bound to this loop

    asyncio.run(use_then_release_pool())
    with pytest.raises(ClientStateError, match="another event loop"):
        asyncio.run(client.tasks.retrieve("t1"))


def test_client_created_outside_a_loop_works_inside_one(mocked: aioresponses) -> None:
    """A client built at import time works once used in a running loop."""
    mocked.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json())
    client = AnalyzeAsyncClient(api_key="k", base_url=BASE_URL)

    async def main() -> str:
        async with client:
            return (await client.tasks.retrieve("t1")).task_id

    assert asyncio.run(main()) == task_json()["task_id"]


async def test_unclosed_client_warns(mocked: aioresponses) -> None:
    """A client dropped with its session open emits a ResourceWarning (and schedules nothing)."""
    mocked.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json())
    client = AnalyzeAsyncClient(api_key="k", base_url=BASE_URL)
    await client.tasks.retrieve("t1")
    session = client._transport._session
    assert session is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    await session.close()


async def test_owned_client_closes_without_unclosed_warnings(mocked: aioresponses) -> None:
    """Closing properly leaves no 'Unclosed client session' warning behind."""
    mocked.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL) as client:
            await client.tasks.retrieve("t1")
        del client
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
