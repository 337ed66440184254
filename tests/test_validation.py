"""Bad arguments are reported all at once, before anything is sent."""

from __future__ import annotations

import math
import re
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from cincopa_async import AsyncCincopa, BulkResult, CincopaError, CincopaValidationError
from cincopa_async.testing import CincopaEmulator

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


SECRET = "4242iSECRETSECRETSECRET"


@pytest.mark.parametrize(
    ("base_url", "problem"),
    [
        (f"http://u:{SECRET}@127.0.0.1/v2/", "must not carry credentials"),
        (f"https://{SECRET}@api.cincopa.com/v2/", "must not carry credentials"),
        (f"ftp://u:{SECRET}@example.com/", "must not carry credentials"),
        (f"http://127.0.0.1/v2/?api_token={SECRET}", "must not have a query string"),
        (f"https://api.cincopa.com/v2/?{SECRET}", "must not have a query string"),
        (f"https://api.cincopa.com/v2/#{SECRET}", "or a fragment"),
        ("https://api.cincopa.com/v2/?", "must not have a query string"),
        (f"http://127.0.0.1:{SECRET}/v2/", "not a valid URL (Invalid port)"),
    ],
)
@pytest.mark.parametrize("source", ["argument", "environment"])
def test_a_base_url_with_credentials_a_query_or_a_fragment_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, base_url: str, problem: str, source: str
) -> None:
    """Only a scheme, host, port and path: the refused parts (likely a pasted token) are never
    quoted, in the message or in the exception chain."""
    options = {"base_url": base_url}
    if source == "environment":
        monkeypatch.setenv("CINCOPA_BASE_URL", base_url)
        options = {}
    with pytest.raises(CincopaValidationError, match=re.escape(problem)) as raised:
        AsyncCincopa(TOKEN, **options)
    error: BaseException | None = raised.value
    while error is not None:
        assert SECRET not in repr(error) + str(error) + repr(vars(error))
        error = error.__cause__ or error.__context__
    assert "SECRET" not in "".join(traceback.format_exception(raised.value))


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


# -- the validation table: each bad argument is a CincopaValidationError, nothing sent ----------

Case = Callable[[AsyncCincopa, Path], Awaitable[object]]


def _construct(**options: object) -> Case:
    async def case(cp: AsyncCincopa, tmp_path: Path) -> object:
        options.setdefault("api_token", TOKEN)
        return AsyncCincopa(**options)  # type: ignore[arg-type]  # deliberately wrong

    return case


def _view(**options: object) -> Case:
    async def case(cp: AsyncCincopa, tmp_path: Path) -> object:
        return cp.with_options(**options)  # type: ignore[arg-type]  # deliberately wrong

    return case


def _item_failure(run: Callable[[AsyncCincopa, Path], Awaitable[BulkResult[Any, Any]]]) -> Case:
    """A bulk call that must not raise: its one item fails, and that failure is raised here."""

    async def case(cp: AsyncCincopa, tmp_path: Path) -> object:
        result = await run(cp, tmp_path)
        assert len(result) == 1
        [failure] = result.failed
        raise failure.error

    return case


def _good_file(tmp_path: Path) -> str:
    path = tmp_path / "good.mp4"
    path.write_bytes(b"x" * 100)
    return str(path)


VALIDATION_TABLE: list[tuple[str, Case, str]] = [
    ("token int", _construct(api_token=123), "api_token: expected a str, got int"),
    ("token surrogate", _construct(api_token="tok\ud800en"), "api_token: is not valid UTF-8"),
    ("token NUL", _construct(api_token="tok\0en"), "api_token: contains whitespace or a control"),
    ("token CR", _construct(api_token="tok\ren"), "api_token: contains whitespace or a control"),
    ("token LF", _construct(api_token="tok\nen"), "api_token: contains whitespace or a control"),
    ("base_url int", _construct(base_url=123), "base_url: expected a str, got int"),
    (
        "base_url bad IPv6",
        _construct(base_url="https://[::1"),
        "base_url: not a valid URL (",
    ),
    (
        "base_url userinfo",
        _construct(base_url="https://user:pw@api.cincopa.com/v2/"),
        "base_url: must not carry credentials",
    ),
    (
        "base_url query",
        _construct(base_url="https://api.cincopa.com/v2/?x=1"),
        "base_url: must not have a query string",
    ),
    ("timeout str", _construct(timeout="5"), "timeout: must be a number of seconds > 0"),
    ("timeout -1", _construct(timeout=-1), "timeout: must be a number of seconds > 0"),
    ("timeout nan", _construct(timeout=math.nan), "timeout: must be a number of seconds > 0"),
    ("timeout 0", _construct(timeout=0), "timeout: must be a number of seconds > 0"),
    ("timeout bool", _construct(timeout=True), "timeout: must be a number of seconds > 0"),
    (
        "timeout phase -1",
        _construct(timeout=httpx.Timeout(5, read=-1)),
        "timeout: its read phase must be",
    ),
    ("view timeout str", _view(timeout="5"), "timeout: must be a number of seconds > 0"),
    ("view timeout -1", _view(timeout=-1), "timeout: must be a number of seconds > 0"),
    ("view timeout nan", _view(timeout=math.nan), "timeout: must be a number of seconds > 0"),
    ("view timeout 0", _view(timeout=0), "timeout: must be a number of seconds > 0"),
    ("http_client str", _construct(http_client="x"), "http_client: expected an httpx.AsyncClient"),
    ("transport str", _construct(transport="x"), "transport: expected an httpx.AsyncBaseTransport"),
    (
        "upload path with NUL",
        lambda cp, tmp_path: cp.upload_file("a\0b"),
        "source: 'a\\x00b': contains a NUL character",
    ),
    (
        "upload path with a lone surrogate",
        lambda cp, tmp_path: cp.upload_file("a\ud800b.mp4"),
        "contains a lone surrogate",
    ),
    (
        "upload bytes with another size",
        lambda cp, tmp_path: cp.upload_file(b"abc", filename="a.bin", size=4),
        "size: 4 given, but the bytes are 3 bytes long",
    ),
    (
        "upload path with another size",
        lambda cp, tmp_path: cp.upload_file(_good_file(tmp_path), size=99),
        "size: 99 given, but the file is 100 bytes long",
    ),
    (
        "import_url on_job not callable",
        lambda cp, tmp_path: cp.import_url("https://example.com/a.mp4", on_job=5),  # type: ignore[arg-type]  # deliberately wrong
        "on_job: must be callable",
    ),
    (
        "import_url follow_job not a str",
        lambda cp, tmp_path: cp.import_url("https://example.com/a.mp4", follow_job=7),  # type: ignore[arg-type]  # deliberately wrong
        "follow_job: expected a non-empty status_id str",
    ),
    ("import_url int", lambda cp, tmp_path: cp.import_url(123), "url: expected a str, got int"),  # type: ignore[arg-type]  # deliberately wrong
    ("import_url None", lambda cp, tmp_path: cp.import_url(None), "url: expected a str"),  # type: ignore[arg-type]  # deliberately wrong
    (
        "import_url bad IPv6",
        lambda cp, tmp_path: cp.import_url("http://[::1/x"),
        "url: cannot be parsed",
    ),
    (
        "import_url port not a number",
        lambda cp, tmp_path: cp.import_url("http://example.com:abc/x.mp4"),
        "url: cannot be parsed",
    ),
    (
        "bulk upload path with NUL: that item",
        _item_failure(lambda cp, tmp_path: cp.bulk.upload_files(["a\0b"])),
        "input: 'a\\x00b' contains a NUL character",
    ),
    (
        "bulk upload on_progress int",
        lambda cp, tmp_path: cp.bulk.upload_files([_good_file(tmp_path)], on_progress=5),  # type: ignore[arg-type]  # deliberately wrong
        "on_progress: must be callable",
    ),
    (
        "bulk upload reference_ids list",
        lambda cp, tmp_path: cp.bulk.upload_files([_good_file(tmp_path)], reference_ids=["x"]),  # type: ignore[arg-type]  # deliberately wrong
        "reference_ids: expected a mapping or a function",
    ),
    (
        "bulk upload inputs a str",
        lambda cp, tmp_path: cp.bulk.upload_files(_good_file(tmp_path)),
        "inputs: expected an iterable of items, got a str",
    ),
    (
        "bulk import unhashable URL: that item",
        _item_failure(
            lambda cp, tmp_path: cp.bulk.import_urls([["http://x/a"]], reference_ids={})  # type: ignore[list-item]  # deliberately wrong
        ),
        "input: url: expected a str, got list",
    ),
    (
        "bulk set_meta key not a str: that item",
        _item_failure(lambda cp, tmp_path: cp.bulk.set_meta([{"rid": "r1", 1: "x"}])),  # type: ignore[dict-item]  # deliberately wrong
        "input: 1 is not an argument of asset.set_meta",
    ),
    (
        "bulk set_meta unknown key: that item",
        _item_failure(lambda cp, tmp_path: cp.bulk.set_meta([{"rid": "r1", "titel": "x"}])),
        "input: 'titel' is not an argument of asset.set_meta",
    ),
    (
        "bulk set_meta not a mapping: that item",
        _item_failure(lambda cp, tmp_path: cp.bulk.set_meta(["r1"])),  # type: ignore[list-item]  # deliberately wrong
        "input: expected a mapping of asset.set_meta arguments, got str",
    ),
    (
        "bulk add_to_gallery rids a str",
        lambda cp, tmp_path: cp.bulk.add_to_gallery("f1", "r1"),
        "rids: expected an iterable of rid str, got a str",
    ),
]


@pytest.mark.parametrize(
    ("case", "problem"),
    [pytest.param(case, problem, id=label) for label, case, problem in VALIDATION_TABLE],
)
async def test_validation_table(
    cincopa_emulator: CincopaEmulator,
    cincopa_client: AsyncCincopa,
    tmp_path: Path,
    case: Case,
    problem: str,
) -> None:
    """Each bad argument: a CincopaValidationError naming it, raised before any request (for a
    bulk input: that item's error, the call itself going on), never quoting the token."""
    sent = len(cincopa_emulator.requests)
    with pytest.raises(CincopaValidationError) as caught:
        await case(cincopa_client, tmp_path)
    assert any(problem in line for line in caught.value.problems), caught.value.problems
    assert len(cincopa_emulator.requests) == sent
    for secret in ("tok\ud800en", "tok\0en", "tok\ren", "tok\nen", cincopa_client._api_token):
        assert secret not in str(caught.value)


async def test_a_bad_bulk_input_fails_only_its_item(
    cincopa_client: AsyncCincopa, tmp_path: Path
) -> None:
    """The other items of the run are uploaded."""
    result = await cincopa_client.bulk.upload_files(["a\0b", _good_file(tmp_path)])
    assert isinstance(result[0].error, CincopaValidationError)
    assert result[1].ok
    assert result[1].value.filename == "good.mp4"


async def test_an_infinite_timeout_means_no_limit(make_client: MakeClient) -> None:
    """``inf`` is sent as no limit (aiohttp's timers cannot take an infinite delay)."""
    client, recorder = make_client(timeout=math.inf)
    assert client.timeout == httpx.Timeout(None)
    assert client.with_options(timeout=math.inf).timeout == httpx.Timeout(None)
    async with client:
        await client.ping()
    assert recorder.requests[0].extensions["timeout"]["read"] is None
