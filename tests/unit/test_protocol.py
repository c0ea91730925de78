"""Pure response interpretation: errors from statuses and bodies, Retry-After, task paths."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from multidict import CIMultiDict

from asyncanalyze import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from asyncanalyze._protocol import (
    RawResponse,
    error_for_response,
    parse_rate_limit_headers,
    parse_retry_after,
    task_path,
)


def response(status: int, body: bytes = b"", **headers: str) -> RawResponse:
    return RawResponse(status, CIMultiDict(headers), body)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_status_maps_to_error_class(status: int, cls: type[APIStatusError]) -> None:
    """Each documented status becomes its own error class with the status attached."""
    error = error_for_response(response(status))
    assert type(error) is cls
    assert error.status_code == status


def test_flat_error_body() -> None:
    """The flat shape {"code", "message"} fills .code and .message."""
    body = b'{"code": "parameter_invalid", "message": "The temperature parameter is invalid."}'
    error = error_for_response(response(400, body))
    assert error.code == "parameter_invalid"
    assert error.message == "The temperature parameter is invalid."
    assert error.body == body
    assert "parameter_invalid" in str(error)


def test_nested_error_body() -> None:
    """The nested shape {"error": {...}} fills .code and .message."""
    body = json.dumps(
        {"error": {"code": "resource_not_exist", "message": "Resource with id 1 does not exist."}}
    ).encode()
    error = error_for_response(response(404, body))
    assert (error.code, error.message) == (
        "resource_not_exist",
        "Resource with id 1 does not exist.",
    )


@pytest.mark.parametrize("body", [b"", b"   ", b"<html>Bad Gateway</html>", b"[1, 2]", b'"x"'])
def test_empty_or_odd_error_bodies(body: bytes) -> None:
    """Empty, HTML or non-object bodies still produce a typed error, never a crash."""
    error = error_for_response(response(502, body))
    assert isinstance(error, InternalServerError)
    assert error.code is None
    assert error.body == body


def test_request_id_and_headers_are_kept() -> None:
    """A request id header is surfaced and headers stay available."""
    error = error_for_response(response(500, b"", **{"X-Request-Id": "req-42"}))
    assert error.request_id == "req-42"
    assert error.headers["x-request-id"] == "req-42"


def test_rate_limit_error_reads_retry_after() -> None:
    """RateLimitError.retry_after comes from the Retry-After header."""
    error = error_for_response(response(429, b"", **{"Retry-After": "15"}))
    assert isinstance(error, RateLimitError) and error.retry_after == 15.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "3"}, 3.0),
        ({"Retry-After": "2.5"}, 2.5),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
        ({"Retry-After": "-4"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "1e12"}, None),
        ({"retry-after-ms": "garbage", "Retry-After": "4"}, 4.0),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """Retry-After in seconds and retry-after-ms are read; nonsense is ignored, never negative."""
    assert parse_retry_after(CIMultiDict(headers)) == expected


def test_parse_retry_after_http_date() -> None:
    """An HTTP-date Retry-After becomes the seconds from now until that moment."""
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC), usegmt=True)
    waited = parse_retry_after(CIMultiDict({"Retry-After": later}), now=now.timestamp())
    assert waited == pytest.approx(30.0)
    past = format_datetime(datetime(2025, 1, 1, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(CIMultiDict({"Retry-After": past}), now=now.timestamp()) == 0.0


def test_rate_limit_headers_are_read_on_the_servers_clock() -> None:
    """X-Ratelimit-Reset is measured against the response's Date, so a client clock that is
    an hour off still reads the right wait; without a Date, against the client's clock."""
    server_now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    headers = CIMultiDict(
        {
            "Date": format_datetime(datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC), usegmt=True),
            "X-Ratelimit-Limit": "100",
            "X-Ratelimit-Remaining": "0",
            "X-Ratelimit-Reset": str(int(server_now) + 20),
        }
    )
    info = parse_rate_limit_headers(headers, now=server_now + 3600)
    assert (info.limit, info.remaining, info.reset_in) == (100, 0, 20.0)
    del headers["Date"]
    assert parse_rate_limit_headers(headers, now=server_now + 5).reset_in == 15.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Ratelimit-Reset": "30"}, (None, None, 30.0)),  # seconds, not an epoch time
        ({"X-Ratelimit-Limit": "-1", "X-Ratelimit-Remaining": "2.5"}, (None, None, None)),
        ({"X-Ratelimit-Limit": "ten", "X-Ratelimit-Reset": "nan"}, (None, None, None)),
        ({"X-Ratelimit-Reset": "99999999999"}, (None, None, None)),  # years away: nonsense
        ({}, (None, None, None)),
    ],
)
def test_unreadable_rate_limit_headers_are_ignored(
    headers: dict[str, str], expected: tuple[object, ...]
) -> None:
    """Negative, fractional or non-numeric counts and absurd resets read as absent."""
    info = parse_rate_limit_headers(CIMultiDict(headers), now=1_767_225_600.0)
    assert (info.limit, info.remaining, info.reset_in) == expected


def test_a_429_without_retry_after_advises_the_time_to_reset() -> None:
    """With no Retry-After, RateLimitError.retry_after is the time to X-Ratelimit-Reset."""
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    headers = {
        "Date": format_datetime(now, usegmt=True),
        "X-Ratelimit-Reset": str(int(now.timestamp()) + 7),
    }
    error = error_for_response(response(429, b"", **headers))
    assert isinstance(error, RateLimitError) and error.retry_after == 7.0
    both = error_for_response(response(429, b"", **headers, **{"Retry-After": "2"}))
    assert isinstance(both, RateLimitError) and both.retry_after == 2.0


@pytest.mark.parametrize(
    ("task_id", "path"),
    [
        ("64f8d2c7e4a1b37f8a9c5d12", "/analyze/tasks/64f8d2c7e4a1b37f8a9c5d12"),
        ("a?b", "/analyze/tasks/a%3Fb"),
        ("a#b", "/analyze/tasks/a%23b"),
        ("a%2Fb", "/analyze/tasks/a%252Fb"),
        ("a b", "/analyze/tasks/a%20b"),
    ],
)
def test_task_path_escapes_to_one_segment(task_id: str, path: str) -> None:
    """Query, fragment and percent characters are escaped so the id stays one path segment."""
    assert task_path(task_id) == path


@pytest.mark.parametrize("task_id", ["../x", "a/b", "..", ".", "", "  ", "a\\b", "a\nb", 5, None])
def test_task_path_rejects_path_changing_ids(task_id: object) -> None:
    """Ids that could change the path (or are not ids at all) are refused before any request."""
    with pytest.raises(InvalidRequestError) as info:
        task_path(task_id)
    assert info.value.parameter == "task_id"
