"""An adversarial review of the secret-keeping promise at the edges users touch outside the core
client (webhook receivers, the Dask plugin, the CLI): each test here failed on the code before
its fix."""

from __future__ import annotations

import gc
import json
import logging

import httpx
import pytest
from fastapi import FastAPI, WebSocket

from cincopa_async.fastapi import Cincopa  # at module level: FastAPI resolves annotations here

from ._leaks import error_of_reply
from ._raw_server import RawRequest, Script, http_reply, raw_server

WEBHOOK_KEY = "whsec-Review-Key-0123456789"
EVENT_BODY = b'{"event":"asset.uploaded","rid":"abc123"}'


def _starlette_receiver(handler: object, key: str) -> object:
    from starlette.applications import Starlette

    from cincopa_async.webhooks import webhook_route

    return Starlette(routes=[webhook_route("/hooks", handler, security_key=key)])  # type: ignore[arg-type]  # a handler of any shape, as a user's


@pytest.mark.anyio
async def test_webhook_route_keeps_its_security_key_out_of_the_handler_failure_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``WebhookReceiver`` scrubs its ``security_key`` from every log record while it lives; the
    Starlette ``webhook_route``/``webhook_endpoint`` did not, so a handler failure quoting the
    key was logged (with its traceback) verbatim."""
    from cincopa_async.webhooks import sign

    def handler(event: object) -> None:
        raise RuntimeError(f"cannot check the delivery against {WEBHOOK_KEY}")

    app = _starlette_receiver(handler, WEBHOOK_KEY)
    caplog.set_level(logging.DEBUG, logger="cincopa_async.webhooks")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # a Starlette app
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        reply = await client.post(
            "/hooks",
            content=EVENT_BODY,
            headers={"X-Cincopa-Signature": sign(EVENT_BODY, WEBHOOK_KEY)},
        )
    assert reply.status_code == 500
    failures = [r for r in caplog.records if r.name == "cincopa_async.webhooks"]
    assert failures, "the handler's failure is logged"
    logged = caplog.text + "".join(logging.Formatter().format(r) for r in failures)
    assert "the handler" in logged or "failed" in logged
    assert WEBHOOK_KEY not in logged
    del app
    gc.collect()


def test_a_missing_token_error_says_how_to_pass_one_unmangled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first error a user without a token meets said "pass api_token=REDACTED": the
    redaction of secret query parameters replaced the *empty* value after ``api_token=`` in
    the SDK's own advice, as if a token had been given and hidden."""
    from cincopa_async import AsyncCincopa, CincopaValidationError
    from cincopa_async._redact import redact

    monkeypatch.delenv("CINCOPA_API_TOKEN", raising=False)
    with pytest.raises(CincopaValidationError) as caught:
        AsyncCincopa()
    assert "pass api_token= or set CINCOPA_API_TOKEN" in str(caught.value)
    assert "REDACTED" not in str(caught.value)
    # an empty value has nothing to hide; a value is still redacted, however short
    assert redact("?api_token=&page=2") == "?api_token=&page=2"
    assert redact("?api_token=x&page=2") == "?api_token=REDACTED&page=2"
    assert redact("hash= security_key=k") == "hash= security_key=REDACTED"


@pytest.mark.parametrize(
    "base_url",
    [
        "https://user:1234567iplugintokenabcdef@api.cincopa.com/v2/",
        "https://api.cincopa.com/v2/?api_token=1234567iplugintokenabcdef",
    ],
)
def test_the_dask_plugin_repr_never_quotes_a_secret_in_its_base_url(base_url: str) -> None:
    """``CincopaPlugin`` is made on the driver, before any client checks its options, and Dask
    prints plugins by ``repr``: a base URL carrying credentials (or the token pasted as a query
    string) was shown whole."""
    pytest.importorskip("distributed")
    from cincopa_async.dask import CincopaPlugin

    plugin = CincopaPlugin(None, base_url=base_url)
    assert "1234567iplugintokenabcdef" not in repr(plugin)
    assert "api.cincopa.com" in repr(plugin)
    assert "1234567iplugintokenabcdef" not in str(plugin)


def test_the_cli_settings_repr_never_quotes_a_secret_in_its_base_url() -> None:
    from cincopa_async.cli._app import Settings

    settings = Settings(
        "1234567iclitokenabcdef",
        "https://user:1234567ipassword@api.cincopa.com/v2/?api_token=1234567iclitokenabcdef",
        False,
        60.0,
        2,
    )
    assert "1234567iclitokenabcdef" not in repr(settings)
    assert "1234567ipassword" not in repr(settings)


@pytest.mark.anyio
async def test_a_webhook_event_name_cannot_forge_or_flood_the_receivers_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The event name of an unknown event is the sender's text (no signature is needed without
    a ``security_key``): logged raw when the handler failed, a newline in it forged a log line
    of its own, and its length (up to the 1 MiB body) went into the record whole."""
    from cincopa_async.webhooks import WebhookReceiver

    def handler(event: object) -> None:
        raise RuntimeError("the handler failed")

    forged = "gallery.synced\n2026-12-02 12:00:00 CRITICAL root: forged line" + "x" * 100_000
    body = json.dumps({"event": forged}).encode()
    caplog.set_level(logging.DEBUG, logger="cincopa_async.webhooks")
    transport = httpx.ASGITransport(app=WebhookReceiver(handler))
    async with httpx.AsyncClient(transport=transport, base_url="http://receiver") as client:
        reply = await client.post("/hooks", content=body)
    assert reply.status_code == 500
    (record,) = [r for r in caplog.records if r.name == "cincopa_async.webhooks"]
    message = record.getMessage()
    assert "gallery.synced" in message
    assert "\n" not in message
    assert len(message) < 1000


@pytest.mark.anyio
async def test_the_fastapi_dependency_serves_websocket_endpoints_too() -> None:
    """``Cincopa`` took a ``Request``, which FastAPI gives HTTP endpoints only: a WebSocket
    endpoint depending on it failed with ``TypeError: get_cincopa() missing 1 required
    positional argument``. It is the same shared client in both, closed with the app."""
    from cincopa_async.fastapi import STATE_KEY, cincopa_lifespan

    app = FastAPI(
        lifespan=cincopa_lifespan(
            api_token="1234567iwebsockettokenabcdef", base_url="http://127.0.0.1:9/v2/"
        )
    )
    seen: list[object] = []

    @app.websocket("/live")
    async def live(websocket: WebSocket, cp: Cincopa) -> None:
        seen.append(cp)
        await websocket.accept()
        await websocket.send_text("closed" if cp.is_closed else "open")
        await websocket.close()

    @app.get("/plain")
    async def plain(cp: Cincopa) -> str:
        seen.append(cp)
        return "ok"

    sent: list[dict[str, object]] = []
    incoming = iter([{"type": "websocket.connect"}])

    async def receive() -> dict[str, object]:
        return next(incoming, {"type": "websocket.disconnect", "code": 1000})

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async with app.router.lifespan_context(app):
        shared = getattr(app.state, STATE_KEY)
        scope = {"type": "websocket", "path": "/live", "headers": [], "query_string": b""}
        await app({**scope, "app": app, "scheme": "ws", "subprotocols": []}, receive, send)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            assert (await client.get("/plain")).json() == "ok"
    assert [m["type"] for m in sent] == ["websocket.accept", "websocket.send", "websocket.close"]
    assert sent[1]["text"] == "open"
    assert seen == [shared, shared]
    assert shared.is_closed


@pytest.mark.parametrize("source", ["argument", "environment"])
def test_a_token_too_short_to_be_kept_out_of_logs_is_refused(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry that scrubs secrets from log records ignores values shorter than
    ``MIN_SECRET_LENGTH`` (a short value would garble every message); a client's token that
    short was accepted, and a server echoing it (a response header, as httpcore's DEBUG log
    shows them) put it in a log record verbatim. No real API token is that short: it is
    refused when the client is made, before anything is sent, and never quoted."""
    from cincopa_async import AsyncCincopa, CincopaValidationError
    from cincopa_async._redact import MIN_SECRET_LENGTH

    short = "abcd1"
    assert len(short) < MIN_SECRET_LENGTH
    monkeypatch.delenv("CINCOPA_API_TOKEN", raising=False)
    if source == "environment":
        monkeypatch.setenv("CINCOPA_API_TOKEN", short)
    with pytest.raises(CincopaValidationError) as caught:
        AsyncCincopa(short if source == "argument" else None)
    (problem,) = caught.value.problems
    assert "too short" in problem
    assert short not in str(caught.value)
    # the shortest token the registry keeps out of logs is accepted
    AsyncCincopa("1" * MIN_SECRET_LENGTH)


DASK_TOKEN = "1234567idasktokenabcdefghij"


@pytest.mark.parametrize(
    ("address", "safe"),
    [
        ("tls://scheduler.example:8786", True),
        ("tcp://127.0.0.1:8786", True),
        ("tcp://[::1]:8786", True),
        ("localhost:8786", True),
        ("inproc://10.0.0.5/123/1", True),
        ("tcp://192.0.2.1:8786", False),
        ("scheduler:8786", False),  # Dask's default scheme is tcp
        ("ws://192.0.2.1:8786", False),
    ],
)
def test_which_scheduler_addresses_may_carry_the_token(address: str, safe: bool) -> None:
    pytest.importorskip("distributed")
    from cincopa_async.dask import token_travels_safely

    assert token_travels_safely(address) is safe


@pytest.mark.anyio
async def test_sync_on_dask_never_ships_the_token_in_the_clear_off_this_machine(
    tmp_path: pytest.TempPathFactory,
) -> None:
    """The token travels pickled inside the worker plugin, to the scheduler (which keeps it)
    and on to every worker: over ``tcp://`` to another machine that is the token in the clear
    on the network, which the SDK refuses for its own requests (plain ``http://`` only on
    loopback). It is refused before anything is sent; without a token the workers read theirs
    from their environment."""
    pytest.importorskip("distributed")
    import dask

    from cincopa_async import CincopaValidationError, Ledger
    from cincopa_async.dask import sync_on_dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):  # on the unfixed code
        async with Ledger(str(tmp_path) + "/ledger.sqlite") as ledger:
            with pytest.raises(CincopaValidationError) as caught:
                await sync_on_dask("tcp://192.0.2.1:8786", tmp_path, ledger, api_token=DASK_TOKEN)
    (problem,) = caught.value.problems
    assert "tls://" in problem
    assert "CINCOPA_API_TOKEN" in problem
    assert DASK_TOKEN not in str(caught.value)


def test_cincopa_sync_on_an_insecure_cluster_leaves_the_token_to_the_workers(
    tmp_path: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``cincopa sync --dask tcp://host:8786`` always shipped the CLI's token in the plugin; to
    a cluster it cannot reach over TLS it now sends none (the workers read
    ``CINCOPA_API_TOKEN``), and says so on stderr."""
    pytest.importorskip("distributed")
    import cincopa_async.dask
    from cincopa_async.cli import _app

    given: list[str | None] = []

    async def fake_sync_on_dask(*args: object, api_token: str | None, **options: object) -> None:
        given.append(api_token)

    monkeypatch.setattr(cincopa_async.dask, "sync_on_dask", fake_sync_on_dask)
    monkeypatch.setenv("CINCOPA_API_TOKEN", DASK_TOKEN)
    monkeypatch.setenv("CINCOPA_BASE_URL", "http://127.0.0.1:9/v2/")
    source = tmp_path / "library"  # type: ignore[operator]  # a Path at run time
    source.mkdir()
    for address, shipped in (("tcp://192.0.2.1:8786", None), ("tls://192.0.2.1:8786", DASK_TOKEN)):
        ledger = tmp_path / f"{len(given)}.sqlite"  # type: ignore[operator]  # a Path at run time
        with pytest.raises(SystemExit):
            _app.main(["sync", str(source), "--dask", address, "--ledger", str(ledger)])
        assert given[-1] == shipped
        err = capsys.readouterr().err
        assert ("CINCOPA_API_TOKEN" in err) is (shipped is None)
        assert DASK_TOKEN not in err


def test_a_client_refuses_to_be_pickled_with_its_token() -> None:
    """``pickle``/``cloudpickle`` of an ``AsyncCincopa`` -- or of a bound method of it, as a
    Dask task closing over ``cp`` ships it -- held the token in the clear (and made a client
    sharing nothing that works). It is a ``TypeError`` naming the way to go, never quoting the
    token."""
    import copy
    import pickle

    from cincopa_async import AsyncCincopa

    token = "1234567ipickletokenabcdefgh"
    client = AsyncCincopa(token)
    for value in (client, client.with_options(max_retries=0), client.asset.list):
        with pytest.raises(TypeError, match="CincopaPlugin") as caught:
            pickle.dumps(value)
        assert token not in str(caught.value)
    with pytest.raises(TypeError):
        copy.deepcopy(client)
    cloudpickle = pytest.importorskip("cloudpickle")
    with pytest.raises(TypeError, match="CincopaPlugin"):
        cloudpickle.dumps(client)


# Escape sequences a terminal obeys: OSC (window title; OSC 52 writes the clipboard), CSI
# (clear the screen, colours) in its 7-bit and its 8-bit (C1) form, BEL, backspace, CR.
TERMINAL_ATTACK = "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\x1b[31mred\x9b31m\r\x08\x7f"
_CONTROLS = ("\x1b", "\x07", "\x08", "\r", "\x7f", "\x9b")


def _hostile_titles(request: RawRequest, number: int) -> bytes:
    item = {"rid": "r1", "title": "t" + TERMINAL_ATTACK, "caption": TERMINAL_ATTACK}
    page = {"page": 1, "pages_count": 1, "items_count": 1}
    return http_reply(json.dumps({"success": True, "items_data": page, "items": [item]}).encode())


def _hostile_message(request: RawRequest, number: int) -> bytes:
    reply = {"success": False, "message": "refused" + TERMINAL_ATTACK}
    return http_reply(json.dumps(reply).encode())


@pytest.mark.parametrize(
    "args",
    [
        ["asset", "list"],
        ["asset", "list", "--all"],
        ["--json", "asset", "list"],
        ["--json", "asset", "list", "--all"],
    ],
)
@pytest.mark.parametrize("script", [_hostile_titles, _hostile_message])
def test_the_cli_never_writes_a_servers_control_characters_to_the_terminal(
    args: list[str],
    script: Script,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Asset titles and captions are anyone's text (an upload token lets the public set them),
    and a server's message is the server's: printed as they came, their escape sequences
    reached the terminal -- a screen cleared, a window title set, the clipboard written (OSC
    52). Control characters are printed as ``\\u`` escapes (so ``--json`` stays JSON and
    decodes to the same strings), newlines and tabs as they are."""
    from cincopa_async.cli import _app

    with raw_server(script) as server:
        monkeypatch.setenv("CINCOPA_API_TOKEN", "1234567iterminaltokenabcdef")
        monkeypatch.setenv("CINCOPA_BASE_URL", server.base_url)
        with pytest.raises(SystemExit):
            _app.main(args)
    captured = capsys.readouterr()
    for stream in (captured.out, captured.err):
        assert not [char for char in _CONTROLS if char in stream], stream
    shown = captured.out if script is _hostile_titles else captured.err
    assert "\\u001b]52;c;ZWNobyBwd25lZA==" in shown
    if "--json" in args and script is _hostile_titles:
        first = json.loads(captured.out.splitlines()[0] if "--all" in args else captured.out)
        item = first if "--all" in args else first["items"][0]
        assert item["caption"] == TERMINAL_ATTACK


OTHER_TOKEN = "7654321iANOTHERtokenOFtheACCOUNT"


@pytest.mark.anyio
@pytest.mark.parametrize("status", ["200 OK", "403 Forbidden", "500 Oops"])
async def test_an_error_keeps_no_credential_field_of_the_reply_it_came_with(status: str) -> None:
    """A reply's credential fields (``api_token``, ``token``, ...) are hidden from the models
    and registered as secrets when a reply is read; a *failed* reply carrying one (a token of
    the account, not the request's) was kept by its error verbatim -- in ``.payload`` or
    ``.body``, and in the message when the server's text quoted it."""
    reply = {
        "success": False,
        "message": f"token {OTHER_TOKEN} was revoked",
        "tokens": [{"api_token": OTHER_TOKEN, "permissions": "asset.read"}],
        "temp": {"token": OTHER_TOKEN + "x"},
    }

    error = await error_of_reply(
        reply, status, "1234567ierrortokenabcdefgh", lambda cp: cp.token.list()
    )
    texts = [str(error), repr(error), repr(vars(error))]
    assert "was revoked" in str(error)
    for text in texts:
        assert OTHER_TOKEN not in text
