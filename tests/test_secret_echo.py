"""A hostile server echoing secrets back, in every place and encoding it can: nothing the SDK
logs, raises or keeps shows them.

Runs on both default transports (aiohttp under asyncio, httpcore under trio) against raw sockets
on 127.0.0.1, and through an ``httpx.AsyncClient`` (whose own INFO log quotes the status line).
Secrets: the client's token (an ordinary one, and one with reserved and non-ASCII characters, as
it travels percent-encoded), a portal password, and what replies hand out: an upload URL's
``hash``, a temporary token, a created token.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, unquote_plus

import httpx
import pytest

from cincopa_async import (
    APIResponseError,
    APIStatusError,
    AsyncCincopa,
    CincopaError,
    ResponseDecodeError,
    ResponseValidationError,
)

from ._leaks import assert_no_secret, texts_of
from ._raw_server import RawRequest, http_reply, raw_server
from .conftest import TOKEN, Sleeps

pytestmark = pytest.mark.anyio

ODD_TOKEN = "7654321ialice:пароль/&x=1+y"  # reserved and non-ASCII: its wire form differs
PASSWORD = "s3cret:Пароль/&amp;"
HASH = "h4sh-0f9e8d7c6b5a4321"
TEMP = "1234567i2tempsecret00aa11"
CREATED = "1234567inewtoken99zz88"


def _wire_value(request: RawRequest, name: str) -> str:
    found = re.search(rf"[?&]{name}=([^& ]*)", request.line)
    return found.group(1) if found else ""


def _latin1(text: str) -> str:
    """``text``'s UTF-8 bytes as the latin-1 text ``http_reply`` encodes back to them."""
    return text.encode("utf-8").decode("latin-1")


def _echoes(secret: str, wire: str) -> list[str]:
    """The forms a server may send a secret back in (the wire form is what it received)."""
    return [
        wire,
        secret,
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        html.escape(secret),
        quote(secret, safe="").lower(),
    ]


def echo_everywhere(
    status: str, body: Callable[[RawRequest, list[str]], dict[str, Any]]
) -> Callable[[RawRequest, int], bytes]:
    """A script replying ``status`` whose reason phrase, headers, ``Location`` and body
    (``body(request, echoes)``) carry every secret it knows of, in several forms."""

    handed_out: list[str] = []  # a secret is known once the reply handing it out is read

    def script(request: RawRequest, number: int) -> bytes:
        wire_token = _wire_value(request, "api_token")
        token = unquote_plus(wire_token)
        wire_password = _wire_value(request, "simple_user_add")
        echoes = _echoes(token, wire_token) + handed_out
        if wire_password:
            echoes += _echoes(unquote_plus(wire_password), wire_password)
            echoes.append(PASSWORD)
        ascii_echoes = [e for e in echoes if e.isascii()]
        headers = [("Content-Type", "application/json")]
        headers += [(f"X-Echo-{i}", _latin1(echo)) for i, echo in enumerate(echoes)]
        headers.append(("Location", "/next/" + "/".join(ascii_echoes)))
        reason = "echo " + " ".join(ascii_echoes)
        reply = body(request, echoes)
        handed_out.extend(s for s in (HASH, TEMP, CREATED) if s in json.dumps(reply))
        payload = json.dumps(reply, ensure_ascii=False).encode()
        return http_reply(payload, status=f"{status} {reason}", headers=tuple(headers))

    return script


def _handing_out(request: RawRequest, echoes: list[str]) -> dict[str, Any]:
    """Replies that hand out secrets, and (for the rest) a success echoing them."""
    if "asset.get_upload_url" in request.path:
        return {"success": True, "upload_url": f"https://up.example/post?uid=1&hash={HASH}"}
    if "token.get_temp" in request.path:
        return {"success": True, "token": TEMP}
    if "token.create" in request.path:
        return {"success": True, "api_token": CREATED}
    return {"success": True, "ping": " ".join(echoes), "message": " ".join(echoes)}


def _failing(request: RawRequest, echoes: list[str]) -> dict[str, Any]:
    return {"success": False, "message": " ".join(echoes), "echoes": {e: e for e in echoes}}


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of every logger, at DEBUG (on the root logger, as an application would)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def _log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = [caplog.text]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args), record.exc_text or ""]
    return texts


ROUTES = {
    "default": {},  # aiohttp on asyncio, httpcore on trio
    "httpx client": {"transport": httpx.AsyncHTTPTransport()},  # httpx's INFO log
}


@pytest.fixture(params=sorted(ROUTES))
def route(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _client(token: str, base_url: str, route: str) -> AsyncCincopa:
    options: dict[str, Any] = {"transport": httpx.AsyncHTTPTransport()} if ROUTES[route] else {}
    return AsyncCincopa(token, base_url=base_url, max_retries=0, **options)


@pytest.mark.parametrize("token", [TOKEN, ODD_TOKEN])
@pytest.mark.parametrize("status", ["200", "302", "500"])
async def test_echoed_secrets_reach_no_log_record_and_no_error(
    anyio_backend: str,
    debug_logs: pytest.LogCaptureFixture,
    route: str,
    token: str,
    status: str,
) -> None:
    """S1, S5, S6: the reason phrase, every header (Location included) and the body echo the
    token, the password, a handed-out hash, temporary and created token -- plain, in their wire
    form, JSON-escaped with ``\\/``, HTML-escaped, lower-case percent-encoded. httpx's INFO log
    and httpcore's DEBUG logs quote them; no record shows any."""
    texts: list[str] = []
    body = _handing_out if status == "200" else _failing
    with raw_server(echo_everywhere(status, body)) as server:
        async with _client(token, server.base_url, route) as cp:
            if status == "200":
                texts.append(repr(await cp.asset.get_upload_url()))
                texts.append(repr(await cp.token.get_temp()))
                texts.append(repr(await cp.token.create(name="n", permissions=["asset.read"])))
            errors = []
            for call in (cp.ping, lambda: cp.portal.set(subdomain="x", simple_user_add=PASSWORD)):
                try:
                    texts.append(repr(await call()))
                except CincopaError as error:
                    errors.append(error)
                    texts += texts_of(error)
                    logging.getLogger("cincopa_async").exception("failed", exc_info=error)
    assert len(errors) == (0 if status == "200" else 2)
    logs = _log_texts(debug_logs)
    if route == "httpx client":
        assert "HTTP Request: GET" in debug_logs.text  # the record the filter must scrub
    elif anyio_backend == "trio":
        assert "receive_response_headers.complete" in debug_logs.text  # httpcore's
    secrets = [token, PASSWORD, "Пароль", "alice:пароль"]
    if status == "200":  # handed out by the replies above
        secrets += [HASH, TEMP, CREATED]
    assert_no_secret(texts + logs, secrets)


async def test_a_secret_as_a_mapping_key_is_not_in_the_field_path(anyio_backend: str) -> None:
    """S2: ``versions: {"<TOKEN>": ...}`` -- the path ``$.items[0].versions['<TOKEN>']`` and the
    problems are scrubbed, whatever form the key takes."""
    keys = [TOKEN, quote(TOKEN), json.dumps(TOKEN)[1:-1] + "'\\", "x" * 5000 + TOKEN]
    reply = {"success": True, "items": [{"rid": "r1", "versions": dict.fromkeys(keys, 5)}]}

    def script(request: RawRequest, number: int) -> bytes:
        return http_reply(json.dumps(reply).encode())

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            with pytest.raises(ResponseValidationError) as caught:
                await cp.asset.list()
    error = caught.value
    assert any("versions[" in problem for problem in error.errors)
    assert all(len(problem) <= 300 for problem in error.errors)
    assert_no_secret(texts_of(error), [TOKEN])


def test_extra_fields_and_paths_of_the_strict_converter_are_scrubbed() -> None:
    """S2 (strict mode): cattrs' ``extra fields found (<TOKEN>)`` and paths through
    ``ResponseValidationError``, for a secret the SDK knows."""
    from cincopa_async._converter import make_converter, transform_error
    from cincopa_async._models import AssetList
    from cincopa_async._redact import KNOWN

    KNOWN.hold(TOKEN)
    try:
        try:
            make_converter(strict=True).structure(
                {"items": [{"rid": "r", TOKEN: 1, "versions": {TOKEN: 2}}]}, AssetList
            )
        except Exception as exc:
            errors = transform_error(exc, path="asset.list")
        assert any("extra fields" in e for e in errors)
        assert any(TOKEN in e for e in errors)
        error = ResponseValidationError("; ".join(errors), operation="x", url=None, errors=errors)
        assert_no_secret(texts_of(error), [TOKEN])
    finally:
        KNOWN.release(TOKEN)


def _import_handler(status: dict[str, Any]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        operation = request.url.path.rsplit("/", 1)[-1].removesuffix(".json")
        if operation == "asset.upload_from_url":
            return httpx.Response(200, json={"success": True, "status_id": "job-1"})
        if operation == "asset.upload_from_url_get_status":
            return httpx.Response(200, json={"success": True, **status})
        return httpx.Response(200, json={"success": True})

    return handler


@pytest.mark.parametrize(
    "status",
    [
        {"status": "failed", "debug": "fetch failed with api_token={t} for {q}", "more": "x"},
        {"status": "error", "debug": "", "more": "\\/{j} " + "x" * 3000 + "{t}"},
        {"status": "weird {t} {q}", "resid": ""},
    ],
)
async def test_an_import_status_echoing_the_token_is_scrubbed(
    anyio_backend: str, status: dict[str, str]
) -> None:
    """S3: ``debug``/``more``/``status`` of ``asset.upload_from_url_get_status`` go into the
    error's message and payload scrubbed, and cut short."""
    forms = {"t": TOKEN, "q": quote(TOKEN, safe=""), "j": json.dumps(TOKEN)[1:-1]}
    filled = {key: value.format(**forms) for key, value in status.items()}
    transport = httpx.MockTransport(_import_handler(filled))
    async with AsyncCincopa(TOKEN, transport=transport) as cp:
        cp._shared.sleep = Sleeps()
        with pytest.raises((APIResponseError, ResponseValidationError)) as caught:
            await cp.import_url("https://example.com/a.mp4")
    error = caught.value
    assert len(str(error)) < 2000
    assert_no_secret(texts_of(error), [TOKEN])


def _fragments(secret: str, size: int = 10) -> list[str]:
    return [secret[at : at + size] for at in range(len(secret) - size + 1)]


@pytest.mark.parametrize(
    ("reply_status", "offset"),
    [
        ("200 OK", 80),  # ResponseDecodeError's message quotes 80 characters ...
        ("200 OK", 190),  # ... its body_excerpt 200
        ("200 OK", 200),
        ("500 Internal Server Error", 990),  # APIStatusError's body 1,000
        ("500 Internal Server Error", 1000),
    ],
)
async def test_a_secret_cut_by_a_truncation_leaves_no_fragment(
    anyio_backend: str, reply_status: str, offset: int
) -> None:
    """S4: a non-JSON body with the token across the point where the error cuts its excerpt
    (80 and 200 characters for a 200, 1000 for an error status): no piece of it is kept."""
    body = ("x" * (offset - len(TOKEN) // 2) + TOKEN + "y" * 2000).encode()

    def script(request: RawRequest, number: int) -> bytes:
        return http_reply(body, status=reply_status, headers=(("Content-Type", "text/html"),))

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            with pytest.raises((ResponseDecodeError, APIStatusError)) as caught:
                await cp.ping()
    texts = texts_of(caught.value)
    for fragment in _fragments(TOKEN):
        assert fragment not in "\n".join(texts), fragment


async def test_an_upload_host_error_cut_short_leaves_no_fragment_of_the_hash(
    anyio_backend: str,
) -> None:
    """S4, on the upload host: its error text is scrubbed before it is cut short."""
    upload_hash = "UPLOADHASH0123456789abcdef"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("asset.get_upload_url.json"):
            url = f"https://up.example/post.jpg?uid=1&hash={upload_hash}"
            return httpx.Response(200, json={"success": True, "upload_url": url})
        if request.url.host == "up.example":
            text = "e" * (1000 - 10) + upload_hash + "f" * 500
            return httpx.Response(400, text=text)
        return httpx.Response(200, json={"success": True})

    async with AsyncCincopa(TOKEN, transport=httpx.MockTransport(handler), max_retries=0) as cp:
        with pytest.raises(APIStatusError) as caught:
            await cp.upload_file(b"data", filename="a.bin")
    joined = "\n".join(texts_of(caught.value))
    for fragment in _fragments(upload_hash) + _fragments(TOKEN):
        assert fragment not in joined, fragment


@pytest.mark.parametrize("reply_status", ["200 OK", "500 Internal Server Error"])
async def test_a_deeply_nested_reply_is_a_typed_error(
    anyio_backend: str, reply_status: str
) -> None:
    """U1: replies nested 700 to 1,030 deep (among them those just shallow enough to decode,
    but not to walk again recursively, and those on either side of orjson's 1,024 levels and
    of json.loads's limit), then far deeper, as an error body, as a
    ``success: false`` message and as its payload: each a typed error naming the operation,
    its text and what it keeps bounded, the token buried at the bottom not in it."""
    depths = [*range(700, 1031), 5000, 100_000]
    typed = (APIStatusError, APIResponseError, ResponseDecodeError)

    def script(request: RawRequest, number: int) -> bytes:
        depth = depths[number]
        nested = "[" * depth + json.dumps(f"secret {TOKEN}") + "]" * depth
        if depth > 1030:  # not decodable at all
            return http_reply(nested.encode(), status=reply_status)
        # written out by hand: json.dumps itself cannot go that deep
        body = f'{{"success": false, "message": {nested}, "payload": {nested}}}'
        return http_reply(body.encode(), status=reply_status)

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            for depth in depths:
                with pytest.raises(typed) as caught:
                    await cp.ping()
                error = caught.value
                assert error.operation == "ping", depth
                assert str(error).startswith("ping: "), depth
                assert len(repr(error)) < 5000, depth
                repr(vars(error))  # what it keeps is bounded in depth too
                assert_no_secret(texts_of(error), [TOKEN])
    assert len(server.requests) == len(depths)


async def test_validation_errors_are_capped(anyio_backend: str) -> None:
    """M3: a reply with 40,000 bad values (within the decoder's value budgets, which refuse a
    larger one before decoding) keeps 20 problems and a count, not 40,000."""
    bad = {
        "success": True,
        "items": [{"rid": "r", "filesize": f"big {TOKEN}"}] * 20_000,
        "tag_cloud": {f"t{i}": "nan" for i in range(20_000)},
    }

    def script(request: RawRequest, number: int) -> bytes:
        return http_reply(json.dumps(bad).encode())

    with raw_server(script) as server:
        async with AsyncCincopa(TOKEN, base_url=server.base_url, max_retries=0) as cp:
            with pytest.raises(ResponseValidationError) as caught:
                await cp.asset.list()
    error = caught.value
    assert len(error.errors) <= 21
    assert any("more" in problem for problem in error.errors)
    assert len(str(error)) < 3000
    assert_no_secret(texts_of(error), [TOKEN])


def test_reprs_of_public_objects_holding_secrets() -> None:
    """Everything public that holds a token or key keeps it out of its repr."""
    from cincopa_async import UploadState
    from cincopa_async._redact import KNOWN
    from cincopa_async.cli._app import Settings
    from cincopa_async.cli._output import Output
    from cincopa_async.webhooks import WebhookReceiver

    client = AsyncCincopa(TOKEN)
    objects: list[Any] = [
        client,
        client.with_options(max_retries=0),
        client.bulk,
        client.asset.list(),
        UploadState(
            upload_url=f"https://up.example/p?hash={HASH}",
            filename="a",
            size=1,
            chunk_size=1,
            unique_id="1",
            source="bytes",
            source_mtime_ns=None,
            done=(),
        ),
        Settings(TOKEN, "https://x/v2/", False, 1.0, 0),
        Output(secrets=[TOKEN]),
        WebhookReceiver(lambda event: None, security_key=PASSWORD),
        KNOWN,
    ]
    for value in objects:
        assert_no_secret([repr(value), str(value)], [TOKEN, HASH, PASSWORD])


def test_a_webhook_payload_error_keeps_no_secret_and_is_capped() -> None:
    """The same classes on the webhook receiver's side: a body that is not JSON is not kept in
    the error's chain (json's exception holds the whole body); a payload echoing the receiver's
    key as a mapping key has it scrubbed from the paths; 5,000 bad versions give 20 problems."""
    from cincopa_async.webhooks import WebhookPayloadError, WebhookReceiver, parse_event

    receiver = WebhookReceiver(lambda event: None, security_key=PASSWORD)  # held while it lives
    with pytest.raises(WebhookPayloadError) as not_json:
        parse_event(f"{{not json {PASSWORD}".encode())
    bad_versions = {f"v{i}": "not an object" for i in range(5000)} | {PASSWORD: 1}
    with pytest.raises(WebhookPayloadError) as bad_shape:
        parse_event({"event": "asset.uploaded", "versions": bad_versions})
    assert not_json.value.__context__ is None
    assert bad_shape.value.__context__ is None
    assert len(bad_shape.value.errors) <= 21
    assert any("more" in problem for problem in bad_shape.value.errors)
    assert_no_secret(texts_of(not_json.value) + texts_of(bad_shape.value), [PASSWORD])
    del receiver
