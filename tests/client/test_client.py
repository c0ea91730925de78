"""AnalyzeAsyncClient configuration and session ownership (closed clients and foreign loops: test_lifecycle)."""

from __future__ import annotations

import gc
import warnings

import aiohttp
import pytest
from aioresponses import aioresponses

from asyncanalyze import (
    DEFAULT_BASE_URL,
    AnalyzeAsyncClient,
    InvalidRequestError,
)

from .._helpers import task_json
from ..conftest import BASE_URL

pytestmark = pytest.mark.usefixtures("no_key_or_base_url_in_environment")


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


async def test_owned_session_is_closed_on_exit(mocked_api: aioresponses) -> None:
    """The session a client creates is closed by `async with`."""
    mocked_api.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json())
    async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL) as client:
        await client.tasks.retrieve("t1")
        session = client._transport._session
        assert session is not None and not session.closed
    assert session.closed and client.closed


async def test_borrowed_session_stays_open(mocked_api: aioresponses) -> None:
    """A session passed in is used and left open for its owner."""
    mocked_api.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json())
    async with aiohttp.ClientSession() as session:
        async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL, session=session) as client:
            await client.tasks.retrieve("t1")
        assert not session.closed


async def test_no_session_before_first_request() -> None:
    """Constructing a client opens nothing; the session is made on first use."""
    client = AnalyzeAsyncClient(api_key="k", base_url=BASE_URL)
    assert client._transport._session is None
    await client.aclose()


async def test_unclosed_client_warns(mocked_api: aioresponses) -> None:
    """A client dropped with its session open emits a ResourceWarning (and schedules nothing)."""
    mocked_api.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json())
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


async def test_owned_client_closes_without_unclosed_warnings(mocked_api: aioresponses) -> None:
    """Closing properly leaves no 'Unclosed client session' warning behind."""
    mocked_api.get(f"{BASE_URL}/analyze/tasks/t1", payload=task_json())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with AnalyzeAsyncClient(api_key="k", base_url=BASE_URL) as client:
            await client.tasks.retrieve("t1")
        del client
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
