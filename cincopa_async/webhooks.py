"""Receiving Cincopa webhooks: typed events, signature checks, and a small receiver.

::

    from cincopa_async.webhooks import AssetUploadedEvent, parse_event

    event = parse_event(request_body)            # bytes, str, or an already decoded mapping
    match event:
        case AssetUploadedEvent(rid=rid, filename=name):
            ...

Events (REFERENCE.md section 8): ``asset.uploaded``, ``asset.updated``, ``asset.deleted``,
``gallery.created``, ``gallery.updated``, ``gallery.deleted`` each have a frozen attrs model;
any other event name (``gallery.synced``, ``lead.created``, a future one) comes back as an
``UnknownEvent`` with its payload in ``.raw``, never as an exception. Every event keeps the
payload exactly as received in ``.raw``. The wire quirks of the SDK's replies are accepted here
too (numbers sent as strings, comma-separated tags, ``""`` for a missing number, ISO dates,
``[]`` for an empty object), and dotted keys (``"thumbnail.value"``, ``"versions.hd.url"``) are
read as nested objects. Malformed JSON, a body that is not a JSON object, and a known event whose
fields have the wrong shape raise ``WebhookPayloadError``.

**Signatures: an assumption.** Cincopa does not document how a hook's ``security_key`` is
presented to the receiver (its own Strapi plugin checks nothing). This module assumes what the
project's emulator does: a header ``X-Cincopa-Signature: sha256=<hex HMAC-SHA256 of the raw
request body, keyed by security_key>``. ``verify_signature`` checks that scheme in constant time.
Until Cincopa documents a scheme, a receiver can only be protected reliably by a hard-to-guess
hook URL (a random path segment) and HTTPS; use the signature check when your deliveries carry
the header.

Receivers: ``WebhookReceiver`` is a dependency-free ASGI app; ``webhook_endpoint`` and
``webhook_route`` give a Starlette/FastAPI endpoint (the ``fastapi`` extra). In this order, both
answer 400 with ``Connection: close`` for a ``Content-Length`` that is not ASCII digits (``²``,
``-1``, ``1e3``: a server may pass such a header on unchecked); 413 for a body over
``max_body_size`` (default ``DEFAULT_MAX_BODY_SIZE``, 1 MiB: Cincopa's events are a few KB) --
refused on its ``Content-Length`` before reading, or as soon as that many bytes arrived; 408 with
``Connection: close`` for a body not complete ``body_timeout`` seconds after the receiver began
reading it (default ``DEFAULT_BODY_TIMEOUT``, 30 s; ``None`` for no deadline), so that a sender
dripping bytes, or sending none, cannot hold a receiver open; 401 for a missing or wrong
signature (when a ``security_key`` is set; checked before the body is parsed); 400 for a
payload that cannot be parsed (malformed, not an object, nested too deeply, a known event of
the wrong shape); 200 when the handler returned; and 500 only when the handler itself raised,
so that Cincopa delivers it again. A sender that hangs up before its body is complete gets no
reply and its partial body is never parsed: one DEBUG log line, no exception out of the app
(Starlette's ``ClientDisconnect`` included), nothing logged as an error.

Bad receiver options -- a ``handler`` that is not callable, a ``security_key`` that is not a
non-empty ``str`` (``bytes`` are refused), a ``max_body_size`` that is not an int >= 1, a
``body_timeout`` that is not a finite number > 0 (or ``None``) -- are one
``CincopaValidationError`` (``operation="webhook"``) naming each, raised when the receiver is
made rather than a failure on every request.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import inspect
import json
import logging
import math
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, MutableMapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import anyio
from attrs import field, frozen

from ._errors import CincopaError, CincopaValidationError
from ._redact import KNOWN

if TYPE_CHECKING:
    import cattrs
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_MAX_BODY_SIZE",
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "AssetChangeEvent",
    "AssetDeletedEvent",
    "AssetEvent",
    "AssetUpdatedEvent",
    "AssetUploadedEvent",
    "AssetVersionInfo",
    "GalleryCreatedEvent",
    "GalleryDeletedEvent",
    "GalleryEvent",
    "GalleryUpdatedEvent",
    "MediaBlock",
    "UnknownEvent",
    "WebhookError",
    "WebhookEvent",
    "WebhookHandler",
    "WebhookPayloadError",
    "WebhookReceiver",
    "WebhookSignatureError",
    "parse_event",
    "sign",
    "verify_signature",
    "webhook_endpoint",
    "webhook_route",
]

#: The header the emulator signs deliveries in (an assumption: Cincopa documents none).
SIGNATURE_HEADER: Final = "X-Cincopa-Signature"
#: The largest body a receiver reads, by default (bytes).
DEFAULT_MAX_BODY_SIZE: Final = 1024 * 1024
#: How long a receiver waits for a whole body, by default (seconds), once it starts reading it.
DEFAULT_BODY_TIMEOUT: Final = 30.0
_OPERATION: Final = "webhook"
_logger = logging.getLogger("cincopa_async.webhooks")


# -- errors ------------------------------------------------------------------------------------


class WebhookError(CincopaError):
    """Base of the errors of this module (``.operation`` is ``"webhook"``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, operation=_OPERATION)


class WebhookPayloadError(WebhookError, ValueError):
    """The body is not JSON, not a JSON object, or a known event of the wrong shape."""

    def __init__(self, message: str, *, errors: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.errors = errors


class WebhookSignatureError(WebhookError):
    """The signature header is missing or does not match the body (assumed scheme)."""


# -- models ------------------------------------------------------------------------------------


@frozen(kw_only=True)
class MediaBlock:
    """A ``thumbnail`` / ``content`` / ``storyboard`` block: ``value`` is a URL or a mapping."""

    syncstatus: str = ""
    type: str = ""
    value: Any = None


@frozen(kw_only=True)
class AssetVersionInfo:
    """One rendition listed under ``versions`` of ``asset.uploaded``."""

    url: str = ""
    filesize: int | None = None


@frozen(kw_only=True)
class WebhookEvent:
    """Base of every event: the ``event`` name and the payload as received (``raw``)."""

    event: str = ""
    raw: Mapping[str, Any] = field(factory=dict, repr=False, eq=False)


@frozen(kw_only=True)
class UnknownEvent(WebhookEvent):
    """An event this module has no model for; everything is in ``raw``."""


@frozen(kw_only=True)
class AssetEvent(WebhookEvent):
    """Fields common to the ``asset.*`` events. ``drid`` is the asset's rid (also ``.rid``)."""

    id: str = ""
    drid: str = ""
    pid: int | None = None
    caption: str = ""
    filename: str = ""
    uploaded_by: str = ""
    email: str = ""
    modified: datetime | None = None
    thumbnail: MediaBlock | None = None
    content: MediaBlock | None = None

    @property
    def rid(self) -> str:
        """The asset's rid (the payload's ``drid``)."""
        return self.drid


@frozen(kw_only=True)
class AssetUploadedEvent(AssetEvent):
    """``asset.uploaded``: a file finished uploading (or importing)."""

    oid: str = ""
    stored: bool | None = None
    bitrate: int | None = None
    duration: str = ""
    width: int | None = None
    height: int | None = None
    originaldate: datetime | None = None
    versions: Mapping[str, AssetVersionInfo] = field(factory=dict)


@frozen(kw_only=True)
class AssetChangeEvent(AssetEvent):
    """Fields of ``asset.updated`` and ``asset.deleted`` (the full asset record)."""

    duid: str = ""
    type: str = ""
    description: str = ""
    long_description: str = ""
    filesize: int | None = None
    tags: tuple[str, ...] = ()
    reference_id: str = ""
    related_link_text: str = ""
    related_link_url: str = ""
    uploaded: datetime | None = None
    storage: str = ""
    in_folders_list: tuple[str, ...] = ()
    plan_name: str = ""
    accid: str = ""
    reason: str = ""
    args: Mapping[str, Any] = field(factory=dict)
    timeline: Mapping[str, Any] = field(factory=dict)
    storyboard: MediaBlock | None = None


@frozen(kw_only=True)
class AssetUpdatedEvent(AssetChangeEvent):
    """``asset.updated``: metadata, gallery membership or an attachment changed."""


@frozen(kw_only=True)
class AssetDeletedEvent(AssetChangeEvent):
    """``asset.deleted``: the asset was removed from the library."""


@frozen(kw_only=True)
class GalleryEvent(WebhookEvent):
    """Fields of the ``gallery.*`` events."""

    fid: str = ""
    name: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    items_count: int | None = None
    sync_status: str = ""
    sync_type: str = ""
    uid: str = ""
    duid: str = ""
    email: str = ""
    modified: datetime | None = None
    reason: str = ""


@frozen(kw_only=True)
class GalleryCreatedEvent(GalleryEvent):
    """``gallery.created``."""


@frozen(kw_only=True)
class GalleryUpdatedEvent(GalleryEvent):
    """``gallery.updated`` (``reason`` names the internal trigger, e.g. ``folders addItem``)."""


@frozen(kw_only=True)
class GalleryDeletedEvent(GalleryEvent):
    """``gallery.deleted``."""


#: Event name -> model; any other name parses as ``UnknownEvent``.
EVENT_TYPES: Final[Mapping[str, type[WebhookEvent]]] = {
    "asset.uploaded": AssetUploadedEvent,
    "asset.updated": AssetUpdatedEvent,
    "asset.deleted": AssetDeletedEvent,
    "gallery.created": GalleryCreatedEvent,
    "gallery.updated": GalleryUpdatedEvent,
    "gallery.deleted": GalleryDeletedEvent,
}

_NESTED: Final = frozenset({"thumbnail", "content", "storyboard", "versions"})


# -- parsing -----------------------------------------------------------------------------------

_CONVERTER: list[cattrs.Converter] = []


def _converter() -> cattrs.Converter:
    if _CONVERTER:
        return _CONVERTER[0]
    import attrs
    from cattrs.gen import make_dict_structure_fn, override

    from ._converter import make_converter

    conv = make_converter(strict=False, detailed=True)

    def is_event(cls: Any) -> bool:
        return isinstance(cls, type) and issubclass(cls, WebhookEvent) and attrs.has(cls)

    def event_factory(cls: type[WebhookEvent]) -> Callable[[Any, Any], Any]:
        # ``raw`` is the whole payload, set after structuring; never read from a payload key.
        generated = make_dict_structure_fn(
            cls, conv, _cattrs_detailed_validation=True, raw=override(omit=True)
        )

        def structure(value: Any, type_: Any) -> Any:
            return generated(value, type_)

        return structure

    conv.register_structure_hook_factory(is_event, event_factory)
    _CONVERTER.append(conv)
    return conv


def _unflatten(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``{"thumbnail.value": x}`` -> ``{"thumbnail": {"value": x}}`` for the nested blocks."""
    result: dict[str, Any] = {}
    dotted: list[tuple[list[str], Any]] = []
    for key, value in payload.items():
        head, dot, _ = key.partition(".")
        if dot and head in _NESTED:
            dotted.append((key.split("."), value))
        else:
            result[key] = value
    for parts, value in dotted:
        target = result
        for part in parts[:-1]:
            node = target.get(part)
            if not isinstance(node, dict):
                if node not in (None, [], ""):
                    break  # a nested value was sent too: it wins
                node = target[part] = {}
            target = node
        else:
            target.setdefault(parts[-1], value)
    return result


def parse_event(body: bytes | bytearray | str | Mapping[str, Any]) -> WebhookEvent:
    """The typed event of a webhook body (see the module docstring).

    Raises ``WebhookPayloadError`` for malformed JSON, a body that is not a JSON object, or a
    known event whose fields cannot be read; unknown events are ``UnknownEvent``.
    """
    if isinstance(body, Mapping):
        payload: Any = body
    else:
        # Errors are raised outside the handlers: json's exception holds the whole body.
        problem = ""
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            problem = f"the body is not valid JSON ({exc})"  # positions, not the body
        except RecursionError:
            problem = "the body is JSON nested too deeply"
        if problem:
            raise WebhookPayloadError(f"webhook: {problem}")
    if not isinstance(payload, Mapping):
        raise WebhookPayloadError(
            f"webhook: the body must be a JSON object, got {type(payload).__name__}"
        )
    name = payload.get("event")
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        return UnknownEvent(event=name if isinstance(name, str) else "", raw=payload)
    from ._converter import problems_of, summary_of

    errors: list[str] = []
    try:
        event: WebhookEvent = _converter().structure(_unflatten(payload), cls)
    except Exception as exc:
        errors = problems_of(exc, path="$") or ["cannot be read @ $"]  # scrubbed, cut short
    if errors:  # raised outside the handler: cattrs' exceptions quote the payload's values
        raise WebhookPayloadError(
            f"webhook: the {name} payload does not have the expected shape: {summary_of(errors)}",
            errors=tuple(errors),
        )
    object.__setattr__(event, "raw", payload)  # a fresh instance, not shared yet
    return event


# -- signatures --------------------------------------------------------------------------------


def sign(body: bytes, security_key: str) -> str:
    """The ``X-Cincopa-Signature`` value of ``body``: ``sha256=<hex>`` (assumed scheme)."""
    digest = hmac.new(security_key.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(body: bytes, header: str | None, security_key: str) -> bool:
    """True when ``header`` is the assumed signature of ``body`` (constant-time compare)."""
    if not header or not security_key:
        return False
    scheme, _, value = header.strip().partition("=")
    if scheme.lower() != "sha256" or not value:
        return False
    expected = sign(body, security_key).partition("=")[2]
    return hmac.compare_digest(expected.encode(), value.strip().lower().encode())


# -- receivers ---------------------------------------------------------------------------------

WebhookHandler = Callable[[WebhookEvent], Awaitable[object] | object]
"""What a receiver calls with each event: a function or a coroutine function."""


class _TooLarge(Exception):
    """The body is larger than the receiver's ``max_body_size``."""


class _BadLength(Exception):
    """The ``Content-Length`` header is not a decimal number of ASCII digits."""


class _HungUp(Exception):
    """The sender closed the connection before its body was complete."""


class _Reply(NamedTuple):
    """What a receiver answers: the HTTP status, the JSON reply, and whether to close the
    connection afterwards: when the body cannot be framed, or stopped arriving. (A 413 leaves
    that to the server: closing while a sender still streams its body resets the connection,
    and the sender may never read the 413.)"""

    status: int
    body: dict[str, Any]
    close: bool = False


def _declared_length(header: str | None) -> int | None:
    """The ``Content-Length`` as an int (``None`` when absent), or ``_BadLength``.

    Only ASCII digits, with optional surrounding blanks, are a length: ``int()`` alone would
    take ``"²"``-like digits (raising), ``"+2"``, ``"-1"`` or ``"1_0"``.
    """
    if header is None:
        return None
    digits = header.strip(" \t")
    if not digits or not all("0" <= char <= "9" for char in digits):
        raise _BadLength
    return int(digits)


async def _read_limited(
    chunks: AsyncGenerator[bytes, None], declared: int | None, limit: int
) -> bytes:
    """The whole body, or ``_TooLarge`` -- on the declared length before reading anything, or
    as soon as more than ``limit`` bytes arrived. ``chunks`` raises ``_HungUp`` when the
    sender hangs up mid-body."""
    async with contextlib.aclosing(chunks):
        if declared is not None and declared > limit:
            raise _TooLarge
        body = bytearray()
        async for chunk in chunks:
            body += chunk
            if len(body) > limit:
                raise _TooLarge
    return bytes(body)


async def _receive(
    chunks: AsyncGenerator[bytes, None],
    headers: Mapping[str, str],
    handler: WebhookHandler,
    security_key: str | None,
    max_body_size: int,
    body_timeout: float | None,
) -> _Reply | None:
    """The shared logic of the receivers: the reply, or ``None`` when the sender hung up
    before its body was complete (nothing to answer); see the module docstring.

    ``headers`` are keyed in lower case. Only the handler's own failure is a 500.
    """
    try:
        declared = _declared_length(headers.get("content-length"))
    except _BadLength:
        return _Reply(
            400, {"ok": False, "error": "the Content-Length header is not a number"}, True
        )
    try:
        with anyio.move_on_after(body_timeout) as deadline:
            body = await _read_limited(chunks, declared, max_body_size)
    except _TooLarge:
        error = f"the body is larger than {max_body_size} bytes"
        return _Reply(413, {"ok": False, "error": error})
    except _HungUp:
        _logger.debug("a webhook sender hung up before its body was complete; dropped")
        return None
    if deadline.cancelled_caught:
        _logger.info("a webhook sender did not send its body within %g s: 408", body_timeout)
        error = f"the body did not arrive within {body_timeout:g} s"
        return _Reply(408, {"ok": False, "error": error}, True)
    signature = headers.get(SIGNATURE_HEADER.lower())
    if security_key is not None and not verify_signature(body, signature, security_key):
        reason = "missing" if not signature else "invalid"
        return _Reply(401, {"ok": False, "error": f"{reason} {SIGNATURE_HEADER} header"})
    try:
        event = parse_event(body)
    except WebhookPayloadError as exc:
        return _Reply(400, {"ok": False, "error": str(exc)})
    try:
        result = handler(event)
        if inspect.isawaitable(result):
            await result
    except Exception:  # the handler failed: 500, so that Cincopa delivers it again
        _logger.exception(
            "webhook handler %r failed on a %s event", handler, _event_name_for_log(event.event)
        )
        return _Reply(500, {"ok": False, "error": "the handler failed"})
    return _Reply(200, {"ok": True, "event": event.event})


#: How much of an event's name a log line quotes: an unknown event's name is the sender's text.
_LOGGED_NAME_LENGTH: Final = 100


def _event_name_for_log(name: str) -> str:
    """``name`` quoted for a log line (``repr``: a newline in it cannot start a forged line of
    its own), cut to ``_LOGGED_NAME_LENGTH`` characters."""
    if len(name) <= _LOGGED_NAME_LENGTH:
        return repr(name)
    return f"{name[:_LOGGED_NAME_LENGTH]!r}... ({len(name)} characters)"


def _check_options(
    handler: object, security_key: object, max_body_size: object, body_timeout: object
) -> None:
    """``CincopaValidationError`` listing every bad receiver option (never a key's value)."""
    problems: list[str] = []
    if not callable(handler):
        problems.append(f"handler: must be callable, got {type(handler).__name__}")
    if security_key is not None:
        if not isinstance(security_key, str):
            problems.append(
                f"security_key: must be a str or None, got {type(security_key).__name__}"
            )
        elif not security_key:
            problems.append("security_key: must not be empty")
        else:
            try:
                security_key.encode()
            except UnicodeEncodeError:
                problems.append("security_key: must be encodable as UTF-8")
    if not isinstance(max_body_size, int) or isinstance(max_body_size, bool) or max_body_size < 1:
        problems.append("max_body_size: must be an int >= 1")
    if body_timeout is not None and (
        not isinstance(body_timeout, int | float)
        or isinstance(body_timeout, bool)
        or not math.isfinite(body_timeout)
        or body_timeout <= 0
    ):
        problems.append("body_timeout: must be a finite number of seconds > 0, or None")
    if problems:
        raise CincopaValidationError(problems, operation=_OPERATION)


def _hold_key(receiver: object, security_key: str | None) -> None:
    """Scrub ``security_key`` from every log record and error while ``receiver`` (a
    ``WebhookReceiver``, or a ``webhook_endpoint`` function) lives: a handler's failure that
    quotes it is logged by this module."""
    if security_key:
        KNOWN.hold(security_key)
        weakref.finalize(receiver, KNOWN.release, security_key)


class WebhookReceiver:
    """A minimal ASGI app receiving webhooks on any path (POST only), without dependencies.

    ``handler`` gets each parsed event; with ``security_key`` the signature is required; bodies
    over ``max_body_size`` bytes are refused (413), and a body not complete ``body_timeout``
    seconds after the receiver started reading it is a 408 (``None``: no deadline). When the
    handler raises, the error is logged (logger ``cincopa_async.webhooks``) and the reply is
    500, so that the sender retries. Bad options are a ``CincopaValidationError`` here, listing
    each of them. Serve it with any ASGI server, or mount it in a framework that accepts ASGI
    apps.
    """

    def __init__(
        self,
        handler: WebhookHandler,
        *,
        security_key: str | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        _check_options(handler, security_key, max_body_size, body_timeout)
        self.handler = handler
        self.security_key = security_key
        self.max_body_size = max_body_size
        self.body_timeout = body_timeout
        _hold_key(self, security_key)

    def __repr__(self) -> str:  # the key stays out of it
        signed = " signed" if self.security_key is not None else ""
        return f"<WebhookReceiver{signed} handler={self.handler!r}>"

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _send_json(send, _Reply(405, {"ok": False, "error": "POST only"}))
            return
        headers = {
            key.decode("latin-1").lower(): value.decode("latin-1")
            for key, value in scope.get("headers", ())
        }

        async def chunks() -> AsyncGenerator[bytes, None]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _HungUp
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        reply = await _receive(
            chunks(),
            headers,
            self.handler,
            self.security_key,
            self.max_body_size,
            self.body_timeout,
        )
        if reply is not None:
            await _send_json(send, reply)


async def _send_json(
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]], reply: _Reply
) -> None:
    body = json.dumps(reply.body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if reply.close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def webhook_endpoint(
    handler: WebhookHandler,
    *,
    security_key: str | None = None,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette/FastAPI endpoint function receiving webhooks (the ``fastapi`` extra).

    ``app.add_route("/hooks/cincopa", webhook_endpoint(on_event, security_key=KEY),
    methods=["POST"])``. The options are those of ``WebhookReceiver``, checked here. A sender
    hanging up mid-body (Starlette's ``ClientDisconnect``) is dropped with a DEBUG log line: no
    500, no error logged.
    """
    from starlette.requests import ClientDisconnect
    from starlette.responses import JSONResponse, Response

    _check_options(handler, security_key, max_body_size, body_timeout)

    async def endpoint(request: Request) -> Response:
        async def chunks() -> AsyncGenerator[bytes, None]:
            stream = request.stream()
            async with contextlib.aclosing(stream):
                try:
                    async for chunk in stream:
                        yield chunk
                except ClientDisconnect:
                    raise _HungUp from None

        headers = {key.lower(): value for key, value in request.headers.items()}
        reply = await _receive(
            chunks(), headers, handler, security_key, max_body_size, body_timeout
        )
        if reply is None:  # nobody is listening: an empty reply Starlette can send (or drop)
            return Response(status_code=400, headers={"connection": "close"})
        close = {"connection": "close"} if reply.close else None
        return JSONResponse(reply.body, status_code=reply.status, headers=close)

    _hold_key(endpoint, security_key)
    return endpoint


def webhook_route(
    path: str,
    handler: WebhookHandler,
    *,
    security_key: str | None = None,
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    name: str | None = None,
) -> Route:
    """A Starlette ``Route`` (POST) receiving webhooks at ``path`` (options: ``WebhookReceiver``).

    ``Starlette(routes=[webhook_route("/hooks/cincopa", on_event)])``, or for FastAPI
    ``app.router.routes.append(webhook_route(...))``.
    """
    from starlette.routing import Route

    endpoint = webhook_endpoint(
        handler, security_key=security_key, max_body_size=max_body_size, body_timeout=body_timeout
    )
    return Route(path, endpoint, methods=["POST"], name=name or "cincopa_webhook")
