"""cincopa_async.webhooks: parsing, signatures, and deliveries from the emulator to receivers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from cincopa_async import CincopaValidationError
from cincopa_async.testing import CincopaEmulator, serve_asgi_app
from cincopa_async.testing import signature as emulator_signature
from cincopa_async.webhooks import (
    DEFAULT_BODY_TIMEOUT,
    AssetDeletedEvent,
    AssetUpdatedEvent,
    AssetUploadedEvent,
    GalleryCreatedEvent,
    GalleryDeletedEvent,
    GalleryUpdatedEvent,
    UnknownEvent,
    WebhookEvent,
    WebhookPayloadError,
    WebhookReceiver,
    parse_event,
    sign,
    verify_signature,
    webhook_endpoint,
    webhook_route,
)
from tests._waits import wait_until

KEY = "s3cr3t-hook-key"


def test_parse_documented_example_and_quirks() -> None:
    body = (
        '{"event":"asset.updated","id":"196481794","drid":"AEyCfY7ET4hA","type":"video",'
        '"caption":"Intro","filename":"intro.mp4","reference_id":"strapi",'
        '"modified":"2025-04-23T10:20:00Z","tags":"a, b,","filesize":"1024","pid":"77",'
        '"in_folders_list":["A4KANh__rQ_m"],"reason":"folders modifyItem","args":[],'
        '"thumbnail.value":"https://x/t.jpg","thumbnail.syncstatus":"synced","extra":1}'
    )
    event = parse_event(body.encode())
    assert isinstance(event, AssetUpdatedEvent)
    assert event.rid == "AEyCfY7ET4hA"
    assert event.id == "196481794"
    assert event.tags == ("a", "b")
    assert event.filesize == 1024
    assert event.pid == 77
    assert event.args == {}
    assert event.modified == datetime(2025, 4, 23, 10, 20, tzinfo=UTC)
    assert event.in_folders_list == ("A4KANh__rQ_m",)
    assert event.thumbnail is not None
    assert event.thumbnail.value == "https://x/t.jpg"
    assert event.raw["extra"] == 1  # unknown fields are kept
    assert "raw" not in repr(event)
    # str and mapping inputs give the same event
    assert parse_event(body) == event
    assert parse_event(json.loads(body)) == event


def test_parse_every_documented_event() -> None:
    uploaded = parse_event(
        {
            "event": "asset.uploaded",
            "id": 5,
            "drid": "r1",
            "pid": "5",
            "stored": 1,
            "bitrate": "",
            "width": "640",
            "duration": "00:01:02",
            "versions": {"original": {"url": "u", "filesize": "10"}},
        }
    )
    assert isinstance(uploaded, AssetUploadedEvent)
    assert (uploaded.id, uploaded.stored, uploaded.bitrate, uploaded.width) == (
        "5",
        True,
        None,
        640,
    )
    assert uploaded.versions["original"].filesize == 10
    assert isinstance(parse_event({"event": "asset.deleted", "drid": "r"}), AssetDeletedEvent)
    gallery = parse_event({"event": "gallery.created", "fid": "f", "uid": 7, "items_count": "3"})
    assert isinstance(gallery, GalleryCreatedEvent)
    assert (gallery.uid, gallery.items_count) == ("7", 3)
    assert isinstance(parse_event({"event": "gallery.updated"}), GalleryUpdatedEvent)
    assert isinstance(parse_event({"event": "gallery.deleted"}), GalleryDeletedEvent)


@pytest.mark.parametrize(
    "payload", [{"event": "lead.created", "x": 1}, {"event": "future.thing"}, {"no_event": 1}]
)
def test_unknown_events_are_never_errors(payload: dict[str, Any]) -> None:
    event = parse_event(json.dumps(payload))
    assert type(event) is UnknownEvent
    assert event.raw == payload
    assert event.event == payload.get("event", "")


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", "null"])
def test_malformed_bodies_are_typed_errors(body: bytes | str) -> None:
    with pytest.raises(WebhookPayloadError) as info:
        parse_event(body)
    assert info.value.operation == "webhook"


def test_known_event_of_wrong_shape_names_the_field() -> None:
    with pytest.raises(WebhookPayloadError) as info:
        parse_event({"event": "asset.updated", "filesize": "lots"})
    assert any("filesize" in error for error in info.value.errors)


def test_signatures_match_the_emulator_scheme() -> None:
    body = b'{"event":"asset.deleted"}'
    assert sign(body, KEY) == emulator_signature(KEY, body)
    assert verify_signature(body, sign(body, KEY), KEY)
    assert verify_signature(body, sign(body, KEY).upper().replace("SHA256", "sha256"), KEY)
    assert not verify_signature(body + b" ", sign(body, KEY), KEY)
    assert not verify_signature(body, sign(body, "other"), KEY)
    assert not verify_signature(body, None, KEY)
    assert not verify_signature(body, "md5=abc", KEY)
    assert KEY not in repr(WebhookReceiver(print, security_key=KEY))


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["asgi", "starlette"])
async def test_emulator_delivers_typed_events_end_to_end(kind: str) -> None:
    received: list[WebhookEvent] = []
    app: Any
    if kind == "asgi":
        app = WebhookReceiver(received.append, security_key=KEY)
    else:

        async def on_event(event: WebhookEvent) -> None:
            received.append(event)

        app = Starlette(routes=[webhook_route("/hooks/cincopa", on_event, security_key=KEY)])
    async with (
        CincopaEmulator(seed=1, webhook_retry_delays=(0.01,)) as emu,
        serve_asgi_app(app) as root,
        emu.client() as cp,
    ):
        hook_url = f"{root}/hooks/cincopa"
        await cp.webhook.set(hook_url=hook_url, events=["asset.*", "gallery.*"], security_key=KEY)
        created = await cp.gallery.create(name="Launch")
        asset = await cp.upload_file(b"x" * 1000, filename="clip.mp4", gallery=created.fid)
        await cp.asset.set_meta(rid=asset.rid, caption="Hello")
        await cp.asset.delete(rid=asset.rid)
        await cp.gallery.delete(fid=created.fid)
        await emu.wait_idle()
        await wait_until(lambda: len(received) >= len(emu.events))
        assert all(d.ok for d in emu.webhook_deliveries)
    kinds = {type(event) for event in received}
    assert {
        GalleryCreatedEvent,
        GalleryUpdatedEvent,
        GalleryDeletedEvent,
        AssetUploadedEvent,
        AssetUpdatedEvent,
        AssetDeletedEvent,
    } <= kinds
    uploaded = next(e for e in received if isinstance(e, AssetUploadedEvent))
    assert uploaded.rid == asset.rid
    assert uploaded.filename == "clip.mp4"
    caption = [e for e in received if isinstance(e, AssetUpdatedEvent) and e.caption == "Hello"]
    assert caption
    assert caption[0].reason == "folders modifyItem"
    assert next(e for e in received if isinstance(e, GalleryCreatedEvent)).fid == created.fid


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["asgi", "starlette"])
async def test_receiver_rejects_bad_signatures_and_bodies(kind: str) -> None:
    received: list[WebhookEvent] = []
    app: Any
    if kind == "asgi":
        app = WebhookReceiver(received.append, security_key=KEY)
    else:
        app = Starlette(routes=[webhook_route("/hook", received.append, security_key=KEY)])
    body = json.dumps({"event": "gallery.created", "fid": "f1"}).encode()
    async with serve_asgi_app(app) as root, httpx.AsyncClient(base_url=root) as http:
        missing = await http.post("/hook", content=body)
        wrong = await http.post(
            "/hook", content=body, headers={"X-Cincopa-Signature": sign(body, "nope")}
        )
        bad_json = await http.post(
            "/hook", content=b"{x", headers={"X-Cincopa-Signature": sign(b"{x", KEY)}
        )
        good = await http.post(
            "/hook", content=body, headers={"X-Cincopa-Signature": sign(body, KEY)}
        )
    assert (missing.status_code, wrong.status_code, bad_json.status_code) == (401, 401, 400)
    assert KEY not in missing.text + wrong.text + bad_json.text
    assert good.status_code == 200
    assert good.json() == {"ok": True, "event": "gallery.created"}
    assert [type(e) for e in received] == [GalleryCreatedEvent]


@pytest.mark.anyio
async def test_a_failing_handler_gets_the_delivery_again(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[WebhookEvent] = []

    def flaky(event: WebhookEvent) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("handler failed once")

    async with (
        CincopaEmulator(seed=2, webhook_retry_delays=(0.01, 0.01)) as emu,
        serve_asgi_app(WebhookReceiver(flaky)) as root,
        emu.client() as cp,
    ):
        await cp.webhook.set(hook_url=f"{root}/hook", events=["gallery.created"])
        await cp.gallery.create(name="retry me")
        await emu.wait_idle()
    assert [d.status for d in emu.webhook_deliveries] == [500, 200]
    assert [type(e) for e in calls] == [GalleryCreatedEvent, GalleryCreatedEvent]
    assert "handler failed once" in caplog.text


# -- hostile senders: malformed, deep and oversized bodies -----------------------------------

DEEP = b'{"event": "asset.updated", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def _receivers(handler: Any, **options: Any) -> dict[str, Any]:
    return {
        "asgi": WebhookReceiver(handler, **options),
        "starlette": Starlette(routes=[webhook_route("/hook", handler, **options)]),
    }


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["asgi", "starlette"])
@pytest.mark.parametrize("signed", [False, True])
async def test_deeply_nested_bodies_are_a_400_never_the_handlers_fault(
    kind: str, signed: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A body nested beyond the parser's depth: 400 (the sender's fault), the handler is not
    called and nothing is logged as a handler failure -- a 500 would be retried forever."""
    calls: list[WebhookEvent] = []
    options = {"security_key": KEY} if signed else {}
    app = _receivers(calls.append, **options)[kind]
    headers = {"X-Cincopa-Signature": sign(DEEP, KEY)} if signed else {}
    async with serve_asgi_app(app) as root, httpx.AsyncClient(base_url=root) as http:
        reply = await http.post("/hook", content=DEEP, headers=headers)
    assert reply.status_code == 400
    assert "nested too deeply" in reply.json()["error"]
    assert calls == []
    assert "handler" not in caplog.text
    with pytest.raises(WebhookPayloadError):
        parse_event(DEEP)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["asgi", "starlette"])
async def test_the_signature_is_checked_before_the_body_is_parsed(kind: str) -> None:
    """Unsigned garbage is a 401, not a 400: nothing of an unauthenticated body is parsed."""
    app = _receivers(lambda event: None, security_key=KEY)[kind]
    async with serve_asgi_app(app) as root, httpx.AsyncClient(base_url=root) as http:
        deep = await http.post("/hook", content=DEEP)
        garbage = await http.post("/hook", content=b"\xff\xfe{")
    assert (deep.status_code, garbage.status_code) == (401, 401)


class _Counting:
    """Wraps an ASGI app, counting the body bytes it takes in through ``receive``, and the
    body messages it asked for once it already had more than ``limit`` bytes (first request
    only)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.received = 0
        self.read_past_limit = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.received:
            await self.app(scope, receive, send)
            return

        async def counted() -> Any:
            if self.received > self.limit:
                self.read_past_limit += 1
            message = await receive()
            self.received += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["asgi", "starlette"])
async def test_a_body_over_the_limit_is_413_and_not_read_past_it(kind: str) -> None:
    """Streamed (chunked, no length) past the limit: 413 once the limit is passed; the
    receiver asks for no body message after the one that crossed the limit."""
    calls: list[WebhookEvent] = []
    limit = 64 * 1024
    app = _Counting(_receivers(calls.append, max_body_size=limit)[kind], limit)
    chunk = b" " * 16 * 1024

    async def body() -> Any:
        for _ in range(1024):  # 16 MiB if the receiver read it all
            yield chunk

    # the server (uvicorn) hands the app the body as it arrives, as production servers do
    async with (
        serve_asgi_app(app) as root,
        httpx.AsyncClient(base_url=root) as http,
    ):
        reply = await http.post("/hook", content=body())
        small = await http.post("/hook", content=json.dumps({"event": "gallery.created"}))
    assert reply.status_code == 413
    assert limit < app.received < 16 * 1024 * 1024
    assert app.read_past_limit == 0, app.received
    assert small.status_code == 200  # the limit leaves honest bodies alone
    assert len(calls) == 1


@pytest.mark.parametrize("kind", ["asgi", "starlette"])
def test_a_declared_oversized_body_is_refused_before_reading(kind: str) -> None:
    """Content-Length of 512 MiB and not one body byte sent: the 413 comes anyway."""
    import socket

    from ._support import portal_context

    app = _receivers(lambda event: None)[kind]
    with portal_context(serve_asgi_app(app)) as root:
        port = int(root.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port)) as raw:
            raw.settimeout(60)  # a hang guard only: a receiver waiting for the body never answers
            raw.sendall(
                b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 536870912\r\n\r\n"
            )
            reply = raw.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")


def test_max_body_size_must_be_a_positive_int() -> None:
    for bad in (0, -1, 1.5, True, "10"):
        with pytest.raises(CincopaValidationError, match="max_body_size"):
            WebhookReceiver(lambda event: None, max_body_size=bad)  # type: ignore[arg-type]  # wrong on purpose


# -- hostile senders: bodies that never finish, hang-ups, bad framing; bad options ------------


def _raw_exchange(root: str, request: bytes) -> bytes:
    """Send ``request`` on a fresh socket, send nothing more, and read until the server closes
    the connection (the hang guard only stops a receiver that never answers)."""
    import socket

    from tests._waits import HANG_GUARD

    port = int(root.rsplit(":", 1)[1])
    received = b""
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.settimeout(HANG_GUARD)
        raw.sendall(request)
        while chunk := raw.recv(65536):
            received += chunk
    return received


@pytest.mark.parametrize("kind", ["asgi", "starlette"])
def test_a_body_that_stops_arriving_is_a_408_and_the_connection_closed(kind: str) -> None:
    """Headers, a few body bytes, then nothing: the receiver answers 408 once its body deadline
    passes, reads nothing more and closes the connection -- a sender dripping bytes (or
    sending none) cannot hold it open. The handler is never called."""
    from ._support import serve_with_lifespan

    calls: list[WebhookEvent] = []
    app = _receivers(calls.append, body_timeout=0.5)[kind]
    with serve_with_lifespan(app) as root:
        reply = _raw_exchange(
            root,
            b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"event": "gallery.created"',
        )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), reply
    assert b"connection: close" in head.lower()
    assert json.loads(body) == {"ok": False, "error": "the body did not arrive within 0.5 s"}
    assert calls == []


def _http_scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/hook",
        "raw_path": b"/hook",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
    }


async def _call_asgi(
    app: Any, headers: list[tuple[bytes, bytes]], messages: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Call ``app`` as a server would (without a server's own checks of the headers): it reads
    ``messages``, then ``http.disconnect`` forever; the messages it sent come back."""
    sent: list[dict[str, Any]] = []
    pending = list(messages)

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(_http_scope(headers), receive, send)
    return sent


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["asgi", "starlette"])
async def test_a_sender_hanging_up_mid_body_is_dropped_quietly(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Half a body (itself valid JSON) then a hang-up: no exception out of the app (a server
    would log "Exception in ASGI application"), no error logged, no reply for the ASGI app,
    and the partial body never reaches the handler."""
    import logging

    calls: list[WebhookEvent] = []
    app = _receivers(calls.append)[kind]
    partial = b'{"event": "gallery.created"}'
    with caplog.at_level(logging.DEBUG, logger="cincopa_async.webhooks"):
        sent = await _call_asgi(
            app,
            [(b"content-length", b"100")],
            [{"type": "http.request", "body": partial, "more_body": True}],
        )
    assert calls == []
    assert [r.levelname for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "hung up" in caplog.text
    if kind == "asgi":
        assert sent == []


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["asgi", "starlette"])
@pytest.mark.parametrize("declared", [b"\xb2", b"\xb9\xb9", b"\xd9\xa3", b"1e3", b"-1", b"+2"])
async def test_a_content_length_that_is_not_ascii_digits_is_a_400(
    kind: str, declared: bytes
) -> None:
    """``Content-Length: ²`` (or ``-1``, ``1e3`` ...), passed on by a server that does not
    check it: a 400 that closes the connection, not an exception (``int("²")`` raises)."""
    calls: list[WebhookEvent] = []
    app = _receivers(calls.append)[kind]
    sent = await _call_asgi(
        app,
        [(b"content-length", declared)],
        [{"type": "http.request", "body": b'{"event": "x"}', "more_body": False}],
    )
    start, body = sent[0], sent[1]
    assert start["status"] == 400
    assert (b"connection", b"close") in [(k.lower(), v) for k, v in start["headers"]]
    assert json.loads(body["body"])["error"] == "the Content-Length header is not a number"
    assert calls == []


@pytest.mark.anyio
async def test_a_content_length_of_ascii_digits_is_still_read() -> None:
    calls: list[WebhookEvent] = []
    for declared in (b"14", b" 14 ", b"000014"):
        sent = await _call_asgi(
            WebhookReceiver(calls.append),
            [(b"content-length", declared)],
            [{"type": "http.request", "body": b'{"event": "x"}', "more_body": False}],
        )
        assert sent[0]["status"] == 200
    assert len(calls) == 3


BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    ({"handler": "not callable"}, "handler"),
    ({"handler": None}, "handler"),
    ({"security_key": b"bytes-key"}, "security_key"),
    ({"security_key": 123}, "security_key"),
    ({"security_key": ""}, "security_key"),
    ({"security_key": "lone \ud800 surrogate"}, "security_key"),
    ({"max_body_size": 0}, "max_body_size"),
    ({"max_body_size": -1}, "max_body_size"),
    ({"max_body_size": 1.5}, "max_body_size"),
    ({"max_body_size": True}, "max_body_size"),
    ({"max_body_size": "10"}, "max_body_size"),
    ({"body_timeout": 0}, "body_timeout"),
    ({"body_timeout": -1.0}, "body_timeout"),
    ({"body_timeout": float("nan")}, "body_timeout"),
    ({"body_timeout": float("inf")}, "body_timeout"),
    ({"body_timeout": "5"}, "body_timeout"),
    ({"body_timeout": True}, "body_timeout"),
]


def _make_receiver(maker: str, handler: Any, **options: Any) -> Any:
    if maker == "WebhookReceiver":
        return WebhookReceiver(handler, **options)
    if maker == "webhook_endpoint":
        return webhook_endpoint(handler, **options)
    return webhook_route("/hook", handler, **options)


@pytest.mark.parametrize("maker", ["WebhookReceiver", "webhook_endpoint", "webhook_route"])
@pytest.mark.parametrize(("options", "field"), BAD_OPTIONS)
def test_bad_receiver_options_are_a_validation_error_at_construction(
    maker: str, options: dict[str, Any], field: str
) -> None:
    """Caught when the receiver is made, typed, naming the option -- not a 500 on every
    request afterwards (a bytes security_key used to be accepted, then failed each check)."""
    options = dict(options)  # shared by the parametrized cases
    handler = options.pop("handler", lambda event: None)
    with pytest.raises(CincopaValidationError) as caught:
        _make_receiver(maker, handler, **options)
    assert caught.value.operation == "webhook"
    assert [problem.split(":")[0] for problem in caught.value.problems] == [field]


def test_every_bad_receiver_option_is_listed_at_once() -> None:
    with pytest.raises(CincopaValidationError) as caught:
        WebhookReceiver(
            "x",  # type: ignore[arg-type]  # wrong on purpose
            security_key=b"k",  # type: ignore[arg-type]  # wrong on purpose
            max_body_size=0,
            body_timeout=-1,
        )
    fields = [problem.split(":")[0] for problem in caught.value.problems]
    assert fields == ["handler", "security_key", "max_body_size", "body_timeout"]
    good = WebhookReceiver(print, security_key="k3y", max_body_size=10, body_timeout=None)
    assert (good.max_body_size, good.body_timeout, good.security_key) == (10, None, "k3y")
    assert WebhookReceiver(print).body_timeout == DEFAULT_BODY_TIMEOUT
