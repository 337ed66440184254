"""Each failure becomes its documented error class, with the operation and a redacted URL."""

from __future__ import annotations

import httpx
import pytest

from cincopa_async import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    CincopaError,
    NotFoundError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    ServerError,
)

from .conftest import TOKEN, MakeClient

pytestmark = pytest.mark.anyio


def reply(status: int, body: object = None, **kwargs: object) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.Response(status, content=body, **kwargs)  # type: ignore[arg-type]  # test helper
    return httpx.Response(status, json=body, **kwargs)  # type: ignore[arg-type]  # test helper


def check_common(error: CincopaError, operation: str) -> None:
    assert error.operation == operation
    assert error.url is not None
    assert TOKEN not in error.url
    assert "api_token=REDACTED" in error.url
    assert TOKEN not in str(error)
    assert TOKEN not in repr(error)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFoundError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (400, APIStatusError),
        (302, APIStatusError),
    ],
)
async def test_status_codes_map_to_classes(
    make_client: MakeClient, status: int, cls: type[APIStatusError]
) -> None:
    """HTTP status -> error class, carrying the status and the server's message."""
    client, recorder = make_client(
        lambda request: reply(status, {"success": False, "message": "invalid api_token"}),
        max_retries=0,
    )
    async with client:
        with pytest.raises(APIStatusError) as caught:
            await client.asset.delete(rid="AEyCfY7ET4hA")
    error = caught.value
    assert type(error) is cls
    assert error.status_code == status
    assert "invalid api_token" in str(error)
    assert error.body == {"success": False, "message": "invalid api_token"}
    check_common(error, "asset.delete")
    assert len(recorder.requests) == 1


async def test_redirect_is_not_followed(make_client: MakeClient) -> None:
    """A redirect elsewhere is an error: the token never travels to another host."""
    client, recorder = make_client(
        lambda request: httpx.Response(302, headers={"location": "https://evil.example/steal"}),
        max_retries=0,
    )
    async with client:
        with pytest.raises(APIStatusError) as caught:
            await client.ping()
    assert caught.value.status_code == 302
    assert [r.url.host for r in recorder.requests] == ["api.cincopa.com"]


async def test_success_false_is_api_response_error(make_client: MakeClient) -> None:
    """HTTP 200 with success false: APIResponseError with the server's message."""
    payload = {"success": False, "message": "gallery not found"}
    client, _ = make_client(lambda request: reply(200, payload))
    async with client:
        with pytest.raises(APIResponseError) as caught:
            await client.gallery.delete(fid="A4KANh__rQ_m")
    error = caught.value
    assert error.message == "gallery not found"
    assert str(error) == "gallery.delete: gallery not found"
    assert error.payload == payload
    check_common(error, "gallery.delete")


async def test_server_message_echoing_the_token_is_scrubbed(make_client: MakeClient) -> None:
    """Even a server message that quotes the token does not leak it."""
    client, _ = make_client(
        lambda request: reply(200, {"success": False, "message": f"token {TOKEN} expired"})
    )
    async with client:
        with pytest.raises(APIResponseError) as caught:
            await client.ping()
    assert TOKEN not in str(caught.value)
    assert caught.value.message == "token REDACTED expired"


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"", b'{"success": tr', b"\xff\xfe"])
async def test_body_that_is_not_json(make_client: MakeClient, body: bytes) -> None:
    """Not JSON (HTML, empty, truncated, not UTF-8): ResponseDecodeError."""
    client, _ = make_client(lambda request: reply(200, body))
    async with client:
        with pytest.raises(ResponseDecodeError) as caught:
            await client.ping()
    check_common(caught.value, "ping")


async def test_json_that_is_not_an_object(make_client: MakeClient) -> None:
    """A JSON list where an object is expected: ResponseValidationError at $."""
    client, _ = make_client(lambda request: reply(200, [1, 2]))
    async with client:
        with pytest.raises(ResponseValidationError) as caught:
            await client.ping()
    assert caught.value.errors == ("expected a JSON object, got list @ $",)


async def test_wrong_shape_names_the_field_path(make_client: MakeClient) -> None:
    """A reply whose field has the wrong type: the error names the operation and the path."""
    payload = {
        "success": True,
        "items": [{"rid": "A1"}, {"rid": "A2", "filesize": "lots"}],
        "items_data": {"page": 1, "items_per_page": 2, "items_count": 2, "pages_count": 1},
    }
    client, _ = make_client(lambda request: reply(200, payload))
    async with client:
        with pytest.raises(ResponseValidationError) as caught:
            await client.asset.list()
    error = caught.value
    assert error.operation == "asset.list"
    assert any("asset.list.items[1].filesize" in line for line in error.errors), error.errors
    assert "asset.list.items[1].filesize" in str(error)


@pytest.mark.parametrize(
    ("exc", "cls", "sent"),
    [
        (httpx.ConnectError("refused"), APIConnectionError, False),
        (httpx.ConnectTimeout("slow connect"), APITimeoutError, False),
        (httpx.PoolTimeout("pool"), APITimeoutError, False),
        (httpx.ReadTimeout("slow read"), APITimeoutError, True),
        (httpx.RemoteProtocolError("Server disconnected"), APIConnectionError, True),
        (httpx.ReadError("reset"), APIConnectionError, True),
    ],
)
async def test_transport_failures(
    make_client: MakeClient, exc: httpx.TransportError, cls: type[APIConnectionError], sent: bool
) -> None:
    """httpx transport errors become APIConnectionError/APITimeoutError, chained."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    client, _ = make_client(fail, max_retries=0)
    async with client:
        with pytest.raises(APIConnectionError) as caught:
            await client.asset.delete(rid="A1")
    error = caught.value
    assert type(error) is cls
    assert error.request_sent is sent
    # chained to a fresh copy of the same class and text: nothing else of the original
    assert type(error.__cause__) is type(exc)
    assert str(error.__cause__) == str(exc)
    assert error.__cause__ is not exc
    assert error.__cause__.__cause__ is None
    assert error.__cause__.__context__ is None
    assert error.__context__ is None
    check_common(error, "asset.delete")


async def test_transport_message_quoting_the_url_is_scrubbed(make_client: MakeClient) -> None:
    """An httpx error whose text contains the request URL is scrubbed, cause included."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError(f"failed reading {request.url}")

    client, _ = make_client(fail, max_retries=0)
    async with client:
        with pytest.raises(APIConnectionError) as caught:
            await client.ping()
    assert TOKEN not in str(caught.value)
    assert TOKEN not in str(caught.value.__cause__)
    assert "api_token=REDACTED" in str(caught.value)


# httpx reads a body through nested async generators; stopping early leaves the inner ones for
# the garbage collector, which trio reports. The connection itself is closed by response.aclose().
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_oversized_reply_is_refused_with_bounded_memory(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply over the size cap stops being read and becomes ResponseDecodeError."""
    from cincopa_async import _client

    monkeypatch.setattr(_client, "MAX_RESPONSE_BYTES", 1000)

    async def stream() -> object:
        for _ in range(100):
            yield b"x" * 100

    client, _ = make_client(lambda request: httpx.Response(200, content=stream()))
    async with client:
        with pytest.raises(ResponseDecodeError, match="larger than 1000 bytes"):
            await client.ping()
