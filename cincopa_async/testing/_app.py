"""The emulator's ASGI application (hand-written: no framework, no per-request regex compiling).

Routes:

* ``GET|POST /v2/<operation>.json`` (and ``/v2/upload.iframe``): the API. Parameters come from
  the query string and, for ``application/x-www-form-urlencoded`` bodies, the form (the query
  wins on conflict; a repeated parameter keeps its last value -- assumed).
* ``POST /upload/post.jpg``: the upload host (see ``_upload_host``).
* ``GET /files/<name>``: files registered with ``emu.add_file()`` (no token needed), handy as a
  loopback source for ``asset.upload_from_url``.
* ``GET /media/<rid>/<version>/<name>``: the bytes of an uploaded asset (``original``) or of an
  attachment; other versions are 404 (assumed: renditions are never generated).

Reply conventions (REFERENCE.md 3, 10): every JSON body carries ``success`` and ``runtime``
(milliseconds of emulator time); handled failures (missing required parameter, unknown id, bad
enum or integer) are HTTP 200 ``{"success": false, "message"}``; a missing, unknown or expired
token, a token without the needed scope or violating a temporary-token restriction is HTTP 403
with the same body (self-generated "v3" temporary tokens: see ``_v3tokens``). An unknown
operation is HTTP 404 and a method other than GET/POST HTTP 405 (both assumed), with the same
body. ``callback=<name>`` wraps any JSON body as ``name({...})``
(``application/javascript``); an invalid callback name is a ``success: false`` (assumed).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio

from ._faults import FaultKind, FaultPlan, Faults
from ._handlers import HANDLERS, ApiFailure, AuthFailure, Ctx, canonical_rid
from ._ops import OPERATIONS, Operation, grants
from ._state import EmulatorState, Outbox
from ._upload_host import process_upload
from ._v3tokens import resolve_v3_token

__all__ = ["ConnectionDropped", "EmulatorApp", "RecordedRequest"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

REDACTED = "<redacted>"
_SECRET_PARAMS = frozenset({"api_token", "simple_user_add", "security_key"})
_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-api-token"})
_CALLBACK = re.compile(r"^[A-Za-z_$][\w$.]{0,127}$")
_JSON = b"application/json; charset=utf-8"
_TEXT = b"text/plain; charset=utf-8"
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class ConnectionDropped(Exception):
    """Raised by the app to ask the transport/server to drop the connection without a reply."""

    def __init__(self, after: bool) -> None:
        super().__init__("connection dropped (after the change)" if after else "connection dropped")
        self.after = after


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as seen by the emulator; secrets (``api_token``, ``simple_user_add``,
    ``security_key``, auth headers) are replaced by ``"<redacted>"``.

    ``status`` is ``None`` when the connection was dropped; ``fault`` names the injected fault;
    ``chunk`` is ``(start, end_exclusive, total)`` for a ranged upload-host POST (``total``
    None for a streaming chunk, which names none: REAL-CLIENTS.md S7).
    """

    method: str
    path: str
    operation: str | None
    params: dict[str, str]
    headers: dict[str, str]
    status: int | None
    fault: str | None = None
    chunk: tuple[int, int, int | None] | None = None
    at: float = field(default=0.0, compare=False)


def _redact_params(params: dict[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k in _SECRET_PARAMS else v) for k, v in params.items()}


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k in _SECRET_HEADERS else v) for k, v in headers.items()}


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)
        elif message["type"] == "http.disconnect":
            return b"".join(chunks)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _stall(receive: Receive, seconds: float) -> bool:
    """Wait up to ``seconds`` or until the client goes away (then True)."""
    with anyio.move_on_after(seconds):
        while (await receive())["type"] != "http.disconnect":
            pass
        return True
    return False


class EmulatorApp:
    """The ASGI callable (``emu.app``)."""

    def __init__(
        self,
        state: EmulatorState,
        faults: Faults,
        log: list[RecordedRequest],
        dispatch: Callable[[Outbox], None],
    ) -> None:
        self.state = state
        self.faults = faults
        self.log = log
        self.record_requests = True
        self.dispatch = dispatch

    def __repr__(self) -> str:
        return "<EmulatorApp>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith("/v2/"):
                await self._api(scope, receive, send, path[4:])
            elif path.startswith("/upload/"):
                await self._upload(scope, receive, send)
            elif path.startswith("/files/"):
                await self._file(scope, send, unquote(path[7:]))
            elif path.startswith("/media/"):
                await self._media(scope, send, path[7:])
            else:
                await _send(send, 404, b"not found\n", _TEXT)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    # -- API ------------------------------------------------------------------------------------

    async def _api(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        query: bytes = scope["query_string"]
        params = dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)) if query else {}
        raw_headers = scope["headers"]
        if method == "POST":
            body = await _read_body(receive)
            if body:
                for key, value in raw_headers:
                    if key == b"content-type":
                        if value.split(b";")[0].strip().lower() == (
                            b"application/x-www-form-urlencoded"
                        ):
                            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                            form.update(params)
                            params = form
                        break
        if name.endswith(".json"):
            name = name[:-5]
        elif name != "upload.iframe":
            name = ""
        op = OPERATIONS.get(name)
        callback = params.get("callback")
        if op is None:
            await self._reply(scope, send, name or None, params, 404, "unknown method", callback)
            return
        if method not in ("GET", "POST"):
            await self._reply(scope, send, name, params, 405, "method not allowed", callback)
            return
        plan = self.faults.plan(name) if self.faults else None
        if plan is not None:
            if plan.latency:
                await anyio.sleep(plan.latency)
            if await self._pre_fault(scope, receive, send, name, params, plan):
                return
        status, reply, outbox = self._handle(op, params, scope)
        if outbox:
            self.dispatch(outbox)
        fault = None if plan is None else plan.kind
        if fault is FaultKind.DROP_AFTER:
            self._record(scope, name, params, None, fault)
            raise ConnectionDropped(after=True)
        if status == 200 and "__html__" in reply:
            self._record(scope, name, params, 200, fault)
            await _send(send, 200, reply["__html__"].encode(), b"text/html; charset=utf-8")
            return
        payload: dict[str, Any] = {
            "success": status == 200 and "message" not in reply,
            "runtime": round((time.perf_counter() - started) * 1000, 3),
        }
        payload.update(reply)
        if status == 200 and reply.get("success") is False:
            payload["success"] = False
        body = _dumps(payload).encode()
        body, content_type = self._wrap(body, callback)
        if fault is not None:
            body, content_type = _corrupt(fault, body, content_type)
        self._record(scope, name, params, status, fault)
        await _send(send, status, body, content_type)

    def _wrap(self, body: bytes, callback: str | None) -> tuple[bytes, bytes]:
        if not callback:
            return body, _JSON
        if not _CALLBACK.match(callback):
            return b'{"success":false,"runtime":0,"message":"invalid callback name"}', _JSON
        return callback.encode() + b"(" + body + b")", b"application/javascript; charset=utf-8"

    async def _reply(
        self,
        scope: Scope,
        send: Send,
        name: str | None,
        params: dict[str, str],
        status: int,
        message: str,
        callback: str | None,
        fault: FaultKind | None = None,
        extra: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        body = _dumps({"success": False, "runtime": 0, "message": message}).encode()
        body, content_type = self._wrap(body, callback)
        self._record(scope, name, params, status, fault)
        await _send(send, status, body, content_type, extra)

    async def _pre_fault(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        name: str,
        params: dict[str, str],
        plan: FaultPlan,
    ) -> bool:
        """Apply a fault that happens before the request is handled; True when it replied."""
        fault = plan.fault
        if fault is None:
            return False
        kind = fault.kind
        callback = params.get("callback")
        if kind is FaultKind.SERVER_ERROR:
            status = fault.pick_status()
            await self._reply(scope, send, name, params, status, "server error", callback, kind)
            return True
        if kind is FaultKind.RATE_LIMIT:
            extra = [(b"retry-after", _retry_after(fault.retry_after))]
            await self._reply(
                scope, send, name, params, 429, "rate limit exceeded", callback, kind, extra
            )
            return True
        if kind is FaultKind.DROP_BEFORE:
            self._record(scope, name, params, None, kind)
            raise ConnectionDropped(after=False)
        if kind is FaultKind.STALL:
            try:
                gone = await _stall(receive, fault.seconds)
            except BaseException:  # cancelled: the in-process client timed out
                self._record(scope, name, params, None, kind)
                raise
            if gone:  # the client hung up: nothing is applied, nothing is sent
                self._record(scope, name, params, None, kind)
                return True
        return False

    def _handle(
        self, op: Operation, params: dict[str, str], scope: Scope
    ) -> tuple[int, dict[str, Any], Outbox]:
        state = self.state
        client = scope.get("client")
        client_ip = client[0] if client else "127.0.0.1"
        with state.lock:
            try:
                token_value = params.get("api_token")
                if not token_value:
                    raise AuthFailure("missing api_token")
                token = state.tokens.get(token_value)
                if token is None:
                    token = resolve_v3_token(state, token_value)
                if token is None:
                    raise AuthFailure("invalid api_token")
                if token.temp:
                    if token.expires is not None and state.now() >= token.expires:
                        raise AuthFailure("api_token expired")
                    if token.sourceip is not None and client_ip != token.sourceip:
                        raise AuthFailure("api_token not valid from this ip")
                    if token.fid is not None and params.get("fid", token.fid) != token.fid:
                        raise AuthFailure("api_token is restricted to another gallery")
                    if token.rid is not None and "rid" in params:
                        owner = state.accounts[token.uid]  # either rid may be a numeric id (S5)
                        if canonical_rid(owner, params["rid"]) != canonical_rid(owner, token.rid):
                            raise AuthFailure("api_token is restricted to another asset")
                if op.scope is not None and not grants(token.permissions, op.scope):
                    raise AuthFailure(f"api_token lacks permission {op.scope}")
                for required in op.required:
                    if not params.get(required):
                        raise ApiFailure(f"missing required parameter: {required}")
                for key, allowed in op.enums.items():
                    value = params.get(key)
                    if value is not None and value not in allowed:
                        raise ApiFailure(
                            f"invalid value for {key}: must be one of {'|'.join(sorted(allowed))}"
                        )
                for key in op.integers:
                    value = params.get(key)
                    if value and not (value.isascii() and value.lstrip("-").isdigit()):
                        raise ApiFailure(f"invalid value for {key}: not an integer")
                account = state.accounts[token.uid]
                ctx = Ctx(state, account, token, params, _base(scope), client_ip)
                reply = HANDLERS[op.name](ctx)
            except AuthFailure as exc:
                state.drain()
                return 403, {"message": exc.message}, []
            except ApiFailure as exc:
                state.drain()
                return 200, {"success": False, "message": exc.message}, []
            return 200, reply, state.drain()

    def _record(
        self,
        scope: Scope,
        name: str | None,
        params: dict[str, str],
        status: int | None,
        fault: FaultKind | None,
        chunk: tuple[int, int, int | None] | None = None,
    ) -> None:
        if not self.record_requests:
            return
        self.log.append(
            RecordedRequest(
                method=scope["method"],
                path=scope["path"],
                operation=name,
                params=_redact_params(params),
                headers=_redact_headers(_headers(scope)),
                status=status,
                fault=None if fault is None else fault.value,
                chunk=chunk,
                at=self.state.now(),
            )
        )

    # -- upload host ----------------------------------------------------------------------------

    async def _upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope["query_string"].decode("latin-1")
        params = dict(parse_qsl(query, keep_blank_values=True))
        if scope["method"] != "POST":
            self._record(scope, "upload", params, 405, None)
            await _send(send, 405, b"error: use POST\n", _TEXT)
            return
        body = await _read_body(receive)
        headers = _headers(scope)
        plan = self.faults.plan("upload") if self.faults else None
        fault = None if plan is None else plan.kind
        if plan is not None:
            if plan.latency:
                await anyio.sleep(plan.latency)
            assert plan.fault is not None or fault is None
            if plan.fault is not None:
                if fault is FaultKind.UPLOAD_CHUNK_FAILURE or fault is FaultKind.SERVER_ERROR:
                    status = plan.fault.pick_status()
                    self._record(scope, "upload", params, status, fault, _chunk_of(headers))
                    await _send(send, status, b"error: chunk upload failed\n", _TEXT)
                    return
                if fault is FaultKind.RATE_LIMIT:
                    self._record(scope, "upload", params, 429, fault, _chunk_of(headers))
                    extra = [(b"retry-after", _retry_after(plan.fault.retry_after))]
                    await _send(send, 429, b"error: rate limit exceeded\n", _TEXT, extra)
                    return
                if fault is FaultKind.DROP_BEFORE:
                    self._record(scope, "upload", params, None, fault, _chunk_of(headers))
                    raise ConnectionDropped(after=False)
                if fault is FaultKind.STALL:
                    try:
                        gone = await _stall(receive, plan.fault.seconds)
                    except BaseException:
                        self._record(scope, "upload", params, None, fault, _chunk_of(headers))
                        raise
                    if gone:
                        self._record(scope, "upload", params, None, fault, _chunk_of(headers))
                        return
        client = scope.get("client")
        with self.state.lock:
            outcome = process_upload(
                self.state, params, headers, body, client[0] if client else "", _base(scope)
            )
            outbox = self.state.drain()
        if outbox:
            self.dispatch(outbox)
        chunk = outcome.chunk or _chunk_of(headers)
        if fault is FaultKind.DROP_AFTER:
            self._record(scope, "upload", params, None, fault, chunk)
            raise ConnectionDropped(after=True)
        text = outcome.text.encode()
        content_type = _TEXT
        if fault is not None:
            text, content_type = _corrupt(fault, text, content_type)
        self._record(scope, "upload", params, outcome.status, fault, chunk)
        await _send(send, outcome.status, text, content_type)

    # -- static ---------------------------------------------------------------------------------

    async def _file(self, scope: Scope, send: Send, name: str) -> None:
        entry = self.state.files.get(name)
        if entry is None or scope["method"] not in ("GET", "HEAD"):
            await _send(send, 404, b"not found\n", _TEXT)
            return
        data, content_type = entry
        await _send(send, 200, data, content_type.encode())

    async def _media(self, scope: Scope, send: Send, rest: str) -> None:
        rid, _, rest = rest.partition("/")
        version = rest.partition("/")[0]
        data: bytes | None = None
        with self.state.lock:
            for account in self.state.accounts.values():
                asset = account.assets.get(rid)
                if asset is None:
                    continue
                if version == "original":
                    data = asset.content
                elif version in asset.attachments:
                    data = asset.attachments[version].content
                break
        if data is None:
            await _send(send, 404, b"not found\n", _TEXT)
            return
        await _send(send, 200, data, b"application/octet-stream")


def _base(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"host":
            return f"{scope['scheme']}://{value.decode('latin-1')}"
    server = scope.get("server")
    if server:
        host, port = server
        return f"{scope['scheme']}://{host}" + (f":{port}" if port else "")
    return f"{scope['scheme']}://localhost"


def _retry_after(seconds: float | str) -> bytes:
    if isinstance(seconds, str):
        return seconds.encode("latin-1")
    return str(int(seconds) if float(seconds).is_integer() else seconds).encode()


def _chunk_of(headers: dict[str, str]) -> tuple[int, int, int | None] | None:
    value = headers.get("content-range", "")
    try:
        spec = value.strip().partition(" ")[2]
        span, slash, total = spec.partition("/")
        start, _, end = span.partition("-")
        return int(start), int(end), int(total) if slash else None
    except ValueError:
        return None


def _corrupt(kind: FaultKind, body: bytes, content_type: bytes) -> tuple[bytes, bytes]:
    if kind is FaultKind.MALFORMED_BODY:
        return b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"text/html"
    if kind is FaultKind.TRUNCATED_BODY:
        return body[: max(1, len(body) // 2)], content_type
    if kind is FaultKind.WRONG_SHAPE:
        return b'["unexpected", {"success": "maybe"}]', _JSON
    return body, content_type
