"""The api_token never shows in a repr, an error, a log record or a URL the SDK prints."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cincopa_async import AsyncCincopa, CincopaError, TempToken, TokenCreated
from cincopa_async._redact import redact

from ._leaks import all_logs, assert_no_secret, texts_of
from .conftest import golden

TOKENS = st.from_regex(r"[1-9][0-9]{4,8}i[a-z0-9]{12,30}", fullmatch=True)


def _raise(exc: Exception) -> httpx.Response:
    raise exc


# Each builds a reply (or a failure) for a request; several quote the request URL or the token.
ERROR_PATHS: dict[str, Callable[[httpx.Request, str], httpx.Response]] = {
    "403 quoting the token": lambda r, t: httpx.Response(
        403, json={"success": False, "message": f"invalid api_token {t}"}
    ),
    "200 success false quoting the url": lambda r, t: httpx.Response(
        200, json={"success": False, "message": f"bad request {r.url}"}
    ),
    "429": lambda r, t: httpx.Response(429, headers={"Retry-After": "999"}),
    "500 html quoting the url": lambda r, t: httpx.Response(500, text=f"<h1>{r.url}</h1>"),
    "200 not json quoting the token": lambda r, t: httpx.Response(200, text=f"oops {t}"),
    "200 wrong shape": lambda r, t: httpx.Response(200, json={"success": True, "ping": {"x": t}}),
    "read error quoting the url": lambda r, t: _raise(httpx.ReadError(f"reset on {r.url}")),
    "timeout quoting the url": lambda r, t: _raise(httpx.ReadTimeout(f"timed out: {r.url}")),
    "connect error quoting the token": lambda r, t: _raise(httpx.ConnectError(f"no {t}")),
}


async def run_error_path(token: str, path: str) -> tuple[CincopaError, list[str]]:
    def handler(request: httpx.Request) -> httpx.Response:
        return ERROR_PATHS[path](request, token)

    client = AsyncCincopa(token, transport=httpx.MockTransport(handler), max_retries=1)

    async def no_sleep(delay: float) -> None:
        return None

    client._shared.sleep = no_sleep
    with all_logs() as logs:
        async with client:
            with pytest.raises(CincopaError) as caught:
                await client.ping()
    return caught.value, logs.lines


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(token=TOKENS, path=st.sampled_from(sorted(ERROR_PATHS)))
def test_token_never_leaks_on_error_paths(backend: str, token: str, path: str) -> None:
    """Property: for any token and error path, no message, repr or log record contains it."""
    error, lines = anyio.run(run_error_path, token, path, backend=backend)
    assert_no_secret([*texts_of(error), *lines], [token])
    assert error.operation == "ping"


@given(token=TOKENS)
@settings(max_examples=25)
def test_client_repr_never_shows_the_token(token: str) -> None:
    client = AsyncCincopa(token)
    assert token not in repr(client)
    assert token not in str(client)
    assert token not in repr(client.with_options(max_retries=0))


def test_httpx_request_log_is_redacted() -> None:
    """httpx logs every request URL at INFO; the SDK's filter redacts the token in it."""
    token = "1234567iloggedtokenabcdefgh"

    async def main() -> None:
        transport = httpx.MockTransport(lambda r: httpx.Response(200, json=golden("ping")))
        async with AsyncCincopa(token, transport=transport) as client:
            await client.ping()

    with all_logs() as logs:
        anyio.run(main)
    assert any("HTTP Request: GET" in line for line in logs.lines)
    assert any("api_token=REDACTED" in line for line in logs.lines)
    assert not any(token in line for line in logs.lines)


def test_secret_reply_fields_are_hidden_from_repr() -> None:
    """Tokens that come back in replies (temp tokens, created tokens) are not in repr."""
    temp = TempToken(token="1234567i2secrettemp")
    created = TokenCreated(api_token="7654321inewsecrettoken")
    assert "secrettemp" not in repr(temp)
    assert "newsecrettoken" not in repr(created)
    assert temp.token == "1234567i2secrettemp"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://x/v2/ping.json?api_token=abc&x=1",
            "https://x/v2/ping.json?api_token=REDACTED&x=1",
        ),
        ("GET /?a=1&API_TOKEN=abc#f", "GET /?a=1&API_TOKEN=REDACTED#f"),
        ("simple_user_add=bob%3Apw&subdomain=x", "simple_user_add=REDACTED&subdomain=x"),
        ("url=https%3A%2F%2Fx%3Fapi_token%3Dabc", "url=https%3A%2F%2Fx%3Fapi_token%3DREDACTED"),
        ("security_key=s3cr3t", "security_key=REDACTED"),
        ("https://bob:pw@proxy:8080/v2/", "https://REDACTED@proxy:8080/v2/"),
        ("mail bob@example.com", "mail bob@example.com"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_redact_patterns(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_upload_urls_are_hidden_from_repr() -> None:
    """Upload URLs authorise uploads on their own: no repr shows them."""
    from cincopa_async import Gallery, GalleryItems, UploadUrl

    url = "https://mediaupload.cincopa.com/post.jpg?uid=1&d=x&hash=SECRETHASH"
    for model in (
        UploadUrl(upload_url=url),
        Gallery(fid="F", upload_url=url),
        GalleryItems(upload_url=url),
    ):
        assert "SECRETHASH" not in repr(model)


def test_user_information_of_a_base_url_is_not_in_an_error() -> None:
    password = "pw-" + "9f8e7d"  # not in the source line a traceback quotes
    with pytest.raises(CincopaError) as caught:
        AsyncCincopa("1234567itoken0123456789", base_url=f"http://bob:{password}@example.com/v2/")
    assert_no_secret(texts_of(caught.value), [password])
