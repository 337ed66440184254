"""Bad arguments are reported all at once, before anything is sent."""

from __future__ import annotations

import pytest

from cincopa_async import AsyncCincopa, CincopaError, CincopaValidationError

from .conftest import TOKEN, MakeClient

pytestmark = pytest.mark.anyio


async def test_every_problem_is_listed_and_nothing_is_sent(make_client: MakeClient) -> None:
    """Wrong types, bad enum, empty id and a non-JSON argument: one error, zero requests."""
    client, recorder = make_client()
    async with client:
        with pytest.raises(CincopaValidationError) as caught:
            await client.portal.set(
                subdomain="  ",
                args={"when": object()},
                allow_public="yes",  # type: ignore[arg-type]  # the API says yes, we take a bool
                cincopa_login_registration="everyone",  # type: ignore[arg-type]  # not an option
                cincopa_login_user_add=["a@example.com", 3],  # type: ignore[list-item]  # not a str
            )
    assert recorder.requests == []
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.operation == "portal.set"
    problems = "\n".join(error.problems)
    assert len(error.problems) == 5
    assert "subdomain: must not be empty" in problems
    assert "args: cannot be encoded as JSON" in problems
    assert "allow_public: expected bool, got str" in problems
    assert "cincopa_login_registration: must be one of 'anyone', 'restricted', 'off'" in problems
    assert "cincopa_login_user_add: item 1 is int, expected str" in problems
    assert str(error).startswith("portal.set: 5 invalid arguments")


async def test_missing_required_argument(make_client: MakeClient) -> None:
    """A required argument passed as None is reported, not sent as the text 'None'."""
    client, recorder = make_client()
    async with client:
        with pytest.raises(CincopaValidationError, match=r"rid: is required"):
            await client.asset.delete(rid=None)  # type: ignore[arg-type]  # testing the check
    assert recorder.requests == []


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"page": "2"}, "page: expected int, got str '2'"),
        ({"page": True}, "page: expected int, got bool True"),
        ({"type": ["video", ""]}, "type: item 1 is empty"),
        ({"type": ["video,image"]}, "type: item 0 contains the separator ','"),
        ({"type": b"video"}, "type: expected a sequence of str, got bytes"),
        ({"cache": "always"}, "cache: must be one of 'never', got 'always'"),
        ({"search": "\ud800"}, "search: is not valid UTF-8 text"),
    ],
)
async def test_each_kind_is_checked(
    make_client: MakeClient, kwargs: dict[str, object], problem: str
) -> None:
    """Each parameter kind rejects what it cannot encode, with a message naming the argument."""
    client, recorder = make_client()
    async with client:
        with pytest.raises(CincopaValidationError) as caught:
            await client.asset.list(**kwargs)  # type: ignore[arg-type]  # deliberately wrong
    assert recorder.requests == []
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


async def test_paged_iteration_validates_before_the_first_request(make_client: MakeClient) -> None:
    """``cp.asset.list(page='x')`` fails when called, before iterating."""
    client, recorder = make_client()
    async with client:
        with pytest.raises(CincopaValidationError):
            client.asset.list(page="x")  # type: ignore[arg-type]  # deliberately wrong
    assert recorder.requests == []


async def test_secret_values_are_never_quoted(make_client: MakeClient) -> None:
    """A bad ``simple_user_add`` is reported without its value."""
    client, _ = make_client()
    secret = "alice:hunter2-password"
    async with client:
        with pytest.raises(CincopaValidationError) as caught:
            await client.portal.set(subdomain="acme", simple_user_add=[secret])  # type: ignore[arg-type]  # wrong type
    assert "simple_user_add: expected str" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value)


async def test_json_argument_accepts_json_text(make_client: MakeClient) -> None:
    """``args`` may be a mapping or the JSON text of an object; other JSON is refused."""
    client, recorder = make_client()
    async with client:
        await client.portal.set(subdomain="acme", args='{"a": 1}')  # type: ignore[arg-type]  # text form
        with pytest.raises(CincopaValidationError, match="must encode a JSON object"):
            await client.portal.set(subdomain="acme", args="[1, 2]")  # type: ignore[arg-type]  # not an object
        with pytest.raises(CincopaValidationError, match="not valid JSON"):
            await client.portal.set(subdomain="acme", args="{nope")  # type: ignore[arg-type]  # not JSON
    assert recorder.requests[0].url.params["args"] == '{"a": 1}'
    assert len(recorder.requests) == 1


def test_missing_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """No argument and no CINCOPA_API_TOKEN: a CincopaValidationError at construction."""
    monkeypatch.delenv("CINCOPA_API_TOKEN", raising=False)
    with pytest.raises(CincopaValidationError, match="CINCOPA_API_TOKEN"):
        AsyncCincopa()


def test_token_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token falls back to CINCOPA_API_TOKEN."""
    monkeypatch.setenv("CINCOPA_API_TOKEN", TOKEN)
    client = AsyncCincopa()
    assert client._api_token == TOKEN


@pytest.mark.parametrize(
    "base_url",
    ["http://api.cincopa.com/v2/", "ftp://example.com/", "http://10.0.0.1/v2/", "not a url"],
)
def test_insecure_base_url_is_refused(base_url: str) -> None:
    """Plain http is refused unless the host is loopback: the URL carries the token."""
    with pytest.raises(CincopaValidationError, match="base_url"):
        AsyncCincopa(TOKEN, base_url=base_url)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://localhost:8765/v2/",
        "http://cincopa.localhost/v2",
        "http://127.0.0.5:1/v2/",
        "http://[::1]:80/v2/",
        "https://api.cincopa.com/v2",
    ],
)
def test_loopback_and_https_base_urls_are_accepted(base_url: str) -> None:
    """Loopback http and any https are fine; a missing trailing slash is added."""
    client = AsyncCincopa(TOKEN, base_url=base_url)
    assert client.base_url.endswith("/v2/")


@pytest.mark.parametrize(
    "options",
    [{"max_retries": -1}, {"max_retries": True}, {"max_concurrency": 0}, {"max_concurrency": 2.5}],
)
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    """Counts must be ints in range."""
    with pytest.raises(CincopaError):
        AsyncCincopa(TOKEN, **options)  # type: ignore[arg-type]  # deliberately wrong


async def test_url_too_long_for_httpx_is_a_validation_error(make_client: MakeClient) -> None:
    """Arguments that would make a URL over httpx's limit are refused before sending."""
    client, recorder = make_client()
    async with client:
        with pytest.raises(CincopaValidationError, match="65,536"):
            await client.asset.set_meta(rid="R1", description="x" * 70_000)
    assert recorder.requests == []
