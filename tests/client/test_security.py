"""Security: the key stays secret everywhere, TLS stays on, ids stay in their path segment, and
the emulator is private by default.

(Webhook signature checks are tested with the webhooks module.)
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
import socket
import ssl
import traceback
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.client_reqrep import RequestInfo
from aioresponses import aioresponses
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from asyncanalyze import (
    AnalyzeAsyncClient,
    AnalyzeError,
    AnalyzeRequest,
    APIConnectionError,
    AuthenticationError,
    InvalidRequestError,
    MockTransport,
    NotFoundError,
    RawResponse,
    Request,
    RequestOptions,
    VideoContext_Url,
)
from asyncanalyze.cli import main
from asyncanalyze.emulator import Emulator, FaultConfig
from asyncanalyze.testing import emulator_client, json_response

from .._served import ThreadedEmulator
from ..conftest import BASE_URL

SECRET = "tlk_SECURITY_SECRET_never_shown_9f3a"


pytestmark = pytest.mark.usefixtures("no_key_or_base_url_in_environment")


@pytest.fixture
async def key_locked_emulator() -> AsyncIterator[Emulator]:
    """An emulator that accepts only SECRET, with every endpoint failing now and then."""
    faults = {"*": FaultConfig(error_503=0.2, reset=0.1)}
    async with Emulator(speed=1000, api_key=SECRET, faults=faults, seed=3) as emulator:
        yield emulator


def renderings(value: object) -> str:
    """Every way a value ends up on a screen or in a log: str, repr, its attributes, and the
    traceback."""
    text = f"{value!s}\n{value!r}"
    if isinstance(value, BaseException):
        text += "".join(traceback.format_exception(value))
    if hasattr(value, "__dict__") and not isinstance(value, AnalyzeAsyncClient):
        # (The client itself must hold the key: only its str and repr count.)
        text += repr(vars(value))
    return text


async def exercise(client: AnalyzeAsyncClient) -> list[object]:
    """Drive every public call, successes and failures, and return what the user would see."""
    seen: list[object] = [client, client.tasks]
    fine = VideoContext_Url(url="https://videos.example/a.mp4?emulator_task_seconds=20")
    failing = VideoContext_Url(url="https://videos.example/b.mp4?emulator_fail=Broken")
    created = await client.tasks.create(video=fine, prompt="Summarize")
    seen += [created, await client.tasks.await_result(created)]
    seen.append(await client.tasks.list(page_limit=5))
    running = await client.tasks.create(video=fine, prompt="Summarize")
    seen.append(await client.tasks.cancel(running))
    seen += [task async for task in client.tasks.iter(page_limit=2)]
    bad = await client.tasks.create(video=failing, prompt="Summarize")
    seen += [o async for o in client.tasks.as_completed([bad, "ffffffffffffffffffffffff"])]
    requests = [AnalyzeRequest(video=fine, prompt="p"), AnalyzeRequest(video=failing, prompt="p")]
    seen += [o async for o in client.tasks.analyze_many(requests)]
    for call in (
        lambda: client.tasks.await_result(bad),
        lambda: client.tasks.retrieve("ffffffffffffffffffffffff"),
        lambda: client.tasks.delete("ffffffffffffffffffffffff"),
        lambda: client.tasks.cancel("ffffffffffffffffffffffff"),
        lambda: client.tasks.cancel(created),  # ready: it cannot be canceled
        lambda: client.tasks.create(
            video=fine,
            prompt="p",
            request_options=RequestOptions(additional_body_parameters={"bogus": 1}),
        ),
        lambda: client.tasks.create(video=fine, prompt=""),
    ):
        with pytest.raises(AnalyzeError) as info:
            await call()
        seen.append(info.value)
    await client.tasks.delete(created.task_id)
    return seen


async def test_key_never_in_logs_reprs_errors_or_tracebacks(
    key_locked_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """With every logger at DEBUG, nothing logged, printed or raised shows the key."""
    with caplog.at_level(logging.DEBUG):
        async with emulator_client(key_locked_emulator, api_key=SECRET) as client:
            seen = await exercise(client)
        async with AnalyzeAsyncClient(
            api_key=SECRET[:-1], base_url=key_locked_emulator.base_url
        ) as wrong:
            with pytest.raises(AuthenticationError) as denied:
                await wrong.tasks.list()
        seen += [wrong, denied.value]
    kinds = {type(value).__name__ for value in seen}
    assert {"TaskFailedError", "NotFoundError", "BadRequestError", "InvalidRequestError"} <= kinds
    assert {"BatchOutcome", "TaskOutcome", "AnalyzeTaskResponse", "TasksListResponse"} <= kinds
    assert any("attempt" in record.getMessage() for record in caplog.records)  # DEBUG was on
    # The refused key is SECRET[:-1], a prefix of SECRET: looking for it finds either key.
    either_key = SECRET[:-1]
    for value in seen:
        assert either_key not in renderings(value), type(value).__name__
    assert either_key not in caplog.text
    assert either_key not in "".join(repr(record.__dict__) for record in caplog.records)


async def test_key_never_in_connection_error_tracebacks() -> None:
    """A refused connection's error and its whole chain leave the key out."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AnalyzeAsyncClient(
        api_key=SECRET, base_url=f"http://127.0.0.1:{port}/v1.3", max_retries=0
    ) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.tasks.retrieve("t1")
    assert SECRET not in renderings(info.value)


def test_key_never_in_configuration_errors() -> None:
    """Refusing a bad base URL or key never echoes the key."""
    for kwargs in (
        {"api_key": SECRET, "base_url": "http://api.example.com/v1.3"},
        {"api_key": SECRET, "base_url": f"https://user:{SECRET}@api.example.com/v1.3"},
        {"api_key": SECRET + "\n"},
    ):
        with pytest.raises(InvalidRequestError) as info:
            AnalyzeAsyncClient(**kwargs)  # type: ignore[arg-type]
        assert SECRET not in renderings(info.value)


async def test_key_never_in_what_a_transport_is_handed() -> None:
    """A test transport sees every Request (and may print or log it): the key header is sent,
    but no repr, str or log line of the request shows it."""
    seen: list[Request] = []

    def handler(request: Request) -> RawResponse:
        seen.append(request)
        return json_response(404, {"code": "not_found", "message": "no such task"})

    client = AnalyzeAsyncClient(api_key=SECRET, transport=MockTransport(handler))
    async with client:
        with pytest.raises(NotFoundError):
            await client.tasks.retrieve("t1")
    (request,) = seen
    assert request.headers["x-api-key"] == SECRET
    shown = (repr(request), str(request), repr(tuple(request)), repr(request._asdict()))
    for text in (*shown, repr(copy.deepcopy(request)), repr(client.settings)):
        assert SECRET not in text
    assert "<redacted>" in repr(request)


async def test_a_request_s_headers_cannot_be_changed_by_a_transport() -> None:
    """Every request of a client starts from one set of headers: a transport that writes into
    one Request's headers must not change what later requests send."""
    seen: list[Request] = []

    def handler(request: Request) -> RawResponse:
        seen.append(request)
        with pytest.raises(TypeError):
            request.headers["x-api-key"] = "someone-else"  # type: ignore[index]
        with pytest.raises(TypeError):
            request.headers.update({"x-api-key": "someone-else"})
        return json_response(404, {"code": "not_found", "message": "no such task"})

    async with AnalyzeAsyncClient(api_key=SECRET, transport=MockTransport(handler)) as client:
        for _ in range(2):
            with pytest.raises(NotFoundError):
                await client.tasks.retrieve("t1")
    assert [request.headers["x-api-key"] for request in seen] == [SECRET, SECRET]


@pytest.mark.parametrize(
    "argv",
    [
        ["tasks", "get", "ffffffffffffffffffffffff"],
        ["-v", "tasks", "get", "ffffffffffffffffffffffff"],
        ["-v", "--json", "tasks", "list", "--page-limit", "3"],
        ["-v", "analyze", "https://videos.example/x.mp4", "-p", "Sum", "--no-wait"],
        ["tasks", "delete", "../etc"],
    ],
)
async def test_cli_never_prints_the_key(
    key_locked_emulator: Emulator, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """CLI output, verbose logs and error messages never show the key, success or failure."""
    base = ["--base-url", key_locked_emulator.base_url, "--api-key", SECRET, "--plain"]
    # main() runs its own event loop: run it in a thread so this loop keeps serving.
    code = await asyncio.to_thread(main, [*base, *argv])
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    assert code in (0, 1, 2)


async def test_cli_never_prints_the_key_when_the_server_is_gone(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection failure, with the key from the environment, prints no key."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("TWELVE_LABS_API_KEY", SECRET)
    code = await asyncio.to_thread(
        main, ["-v", "--base-url", f"http://127.0.0.1:{port}/v1.3", "tasks", "list"]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert SECRET not in captured.out + captured.err


def test_cli_never_prints_the_key_it_was_refused_with(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 prints one line without the key, even with -v logging on, exit code 1."""
    locked = ThreadedEmulator(api_key="other")
    try:
        for argv in (
            ["--base-url", locked.base_url, "--api-key", SECRET, "tasks", "list"],
            ["-v", "--base-url", locked.base_url, "--api-key", SECRET, "tasks", "get", "t1"],
        ):
            assert main(argv) == 1
            captured = capsys.readouterr()
            assert "401" in captured.err
            assert SECRET not in captured.out + captured.err
        monkeypatch.setenv("TWELVE_LABS_API_KEY", SECRET)
        assert main(["--base-url", locked.base_url, "--json", "tasks", "list"]) == 1
        captured = capsys.readouterr()
        assert SECRET not in captured.out + captured.err
    finally:
        locked.close()


async def test_aiohttp_error_chain_never_shows_the_key(mocked_api: aioresponses) -> None:
    """aiohttp errors that hold the request (and so the key) are not chained into ours."""
    url = f"{BASE_URL}/analyze/tasks/t1"
    info = RequestInfo(URL(url), "GET", CIMultiDictProxy(CIMultiDict({"x-api-key": SECRET})))
    mocked_api.get(
        url, exception=aiohttp.ClientResponseError(info, (), status=400, message="bad"), repeat=True
    )
    async with AnalyzeAsyncClient(api_key=SECRET, base_url=BASE_URL, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.tasks.retrieve("t1")
    assert SECRET not in renderings(caught.value)
    assert caught.value.__cause__ is None


# -- TLS ---------------------------------------------------------------------------------------


def test_there_is_no_switch_to_turn_tls_verification_off() -> None:
    """The client has no verify=False style option; the only TLS knob is an ssl_context."""
    parameters = set(inspect.signature(AnalyzeAsyncClient).parameters)
    assert not {p for p in parameters if "verif" in p or "insecure_tls" in p or p == "ssl"}
    with pytest.raises(TypeError):
        AnalyzeAsyncClient(api_key="k", verify=False)  # type: ignore[call-arg]
    assert AnalyzeAsyncClient(api_key="k")._transport._ssl is True


@pytest.mark.parametrize("what", ["no certificate check", "no host name check"])
def test_a_non_verifying_ssl_context_always_warns(what: str) -> None:
    """A custom context that skips certificate or host name checks warns at construction."""
    context = ssl.create_default_context()
    context.check_hostname = False
    if what == "no certificate check":
        context.verify_mode = ssl.CERT_NONE
    with pytest.warns(UserWarning, match="does not verify"):
        AnalyzeAsyncClient(api_key="k", ssl_context=context)


def test_a_verifying_ssl_context_is_silent(recwarn: pytest.WarningsRecorder) -> None:
    """A private-CA context that still verifies is accepted without a warning."""
    AnalyzeAsyncClient(api_key="k", ssl_context=ssl.create_default_context())
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost.evil.example/v1.3",
        "http://127.0.0.1.nip.io/v1.3",
        "http://0.0.0.0:8750/v1.3",
        "http://[::ffff:10.0.0.1]/v1.3",
        "HTTP://api.example.com/v1.3",
    ],
)
def test_plain_http_to_lookalike_hosts_is_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hosts that only look local get no plain http, from an argument or the environment."""
    with pytest.raises(InvalidRequestError):
        AnalyzeAsyncClient(api_key="k", base_url=url)
    monkeypatch.setenv("ASYNCANALYZE_BASE_URL", url)
    with pytest.raises(InvalidRequestError):
        AnalyzeAsyncClient(api_key="k")


# -- task ids against the real emulator --------------------------------------------------------


@pytest.fixture
async def open_emulator() -> AsyncIterator[Emulator]:
    async with Emulator(speed=1000) as emulator:
        yield emulator


@pytest.mark.parametrize("task_id", ["../x", "a/b", "..", ".", "a\\b", "x\r\nHost: evil"])
async def test_path_changing_ids_are_refused_unsent(open_emulator: Emulator, task_id: str) -> None:
    """Ids that would leave their path segment never reach the server."""
    async with AnalyzeAsyncClient(api_key="k", base_url=open_emulator.base_url) as client:
        for call in (
            client.tasks.retrieve,
            client.tasks.delete,
            client.tasks.cancel,
            client.tasks.await_result,
        ):
            with pytest.raises(InvalidRequestError):
                await call(task_id)
    assert open_emulator.stats()["requests"] == {}


@pytest.mark.parametrize("task_id", ["\ud800", "a\udfffb", "64f8d2c7e4a1b37f8a9c5d1\udc80"])
async def test_ids_that_are_not_text_are_refused_unsent(
    open_emulator: Emulator, task_id: str
) -> None:
    """An id holding a lone surrogate cannot be put in a URL: InvalidRequestError naming
    task_id before anything is sent (it was a raw UnicodeEncodeError)."""
    async with AnalyzeAsyncClient(api_key="k", base_url=open_emulator.base_url) as client:
        for call in (client.tasks.retrieve, client.tasks.delete, client.tasks.await_result):
            with pytest.raises(InvalidRequestError) as info:
                await call(task_id)
            assert info.value.parameter == "task_id"
        with pytest.raises(InvalidRequestError):
            [o async for o in client.tasks.as_completed(["ok", task_id])]
    assert open_emulator.stats()["requests"] == {}


@pytest.mark.parametrize(
    "make_id",
    [
        lambda real: real + "%2F..",
        lambda real: "%2F",
        lambda real: real + "?",
        lambda real: real + "#",
        lambda real: real + "?page=1",
        lambda real: "%3F",
        lambda real: "%2e%2e",
        lambda real: real + " ",
    ],
)
async def test_escaped_ids_reach_only_their_own_route(
    open_emulator: Emulator, make_id: Any
) -> None:
    """An id with %2F, ?, # or dots is one escaped segment: it reaches the task route and no
    other (never the list, another task, or an unknown route)."""
    async with AnalyzeAsyncClient(api_key="k", base_url=open_emulator.base_url) as client:
        real = await client.tasks.create(
            video=VideoContext_Url(url="https://videos.example/a.mp4"), prompt="p"
        )
        open_emulator.reset_stats()
        for call in (client.tasks.retrieve, client.tasks.delete, client.tasks.cancel):
            with pytest.raises(NotFoundError):
                await call(make_id(real.task_id))
        untouched = await client.tasks.retrieve(real.task_id)
    requests = open_emulator.stats()["requests"]
    assert requests == {"retrieve": 2, "delete": 1, "cancel": 1}, requests
    assert untouched.status != "canceled"  # the real task was neither deleted nor canceled


# -- the emulator is private by default ---------------------------------------------------------


async def test_emulator_binds_loopback_only_by_default() -> None:
    """Without host=..., the emulator listens on 127.0.0.1 and nowhere else."""
    from asyncanalyze.emulator.__main__ import build_parser

    assert build_parser().parse_args([]).host == "127.0.0.1"
    async with Emulator() as emulator:
        assert emulator.config.host == "127.0.0.1"
        assert emulator.base_url.startswith("http://127.0.0.1:")
        runner = emulator._runner
        assert runner is not None
        assert [address[0] for address in runner.addresses] == ["127.0.0.1"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/stats"),
        ("GET", "/faults"),
        ("POST", "/faults"),
        ("POST", "/reset-stats"),
        ("POST", "/clock/advance"),
    ],
)
async def test_introspection_is_off_unless_asked_for(method: str, path: str) -> None:
    """Every /_emulator endpoint answers 404 by default and works with introspection=True."""
    async with (
        Emulator() as closed,
        Emulator(introspection=True) as opened,
        aiohttp.ClientSession() as session,
    ):
        async with session.request(method, closed.admin_url + path, json={}) as response:
            assert response.status == 404
        async with session.request(method, opened.admin_url + path, json={}) as response:
            assert response.status != 404
