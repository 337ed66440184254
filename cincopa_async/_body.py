"""Reading a reply body, bounded by its *decoded* size whatever its ``Content-Encoding`` claims.

The SDK asks for ``Accept-Encoding: gzip, deflate`` and decodes replies itself rather than
through httpx's decoders, which inflate each received chunk in one step with no bound on the
output: a few kilobytes of nested gzip (``Content-Encoding: gzip, gzip``) become gigabytes in
memory before any size check can run. Here every layer inflates at most ``STEP`` bytes at a time
and hands them to the next one, so memory stays near ``limit`` (plus one step per layer) for any
body, and reading stops as soon as the decoded or the received size passes ``limit``.

Accepted codings: ``identity``, ``gzip`` (``x-gzip``) and ``deflate`` (zlib-wrapped or raw, as
servers send both), stacked up to ``MAX_LAYERS`` deep. Any other coding is refused
(``UndecodableBody``): the SDK never advertises one.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Final, Protocol, cast

from ._redact import scrub_then_truncate

__all__ = [
    "ACCEPT_ENCODING",
    "MAX_LAYERS",
    "BodyTooLarge",
    "BoundedDecoder",
    "RawReply",
    "UndecodableBody",
    "read_body",
    "stream_body",
]

ACCEPT_ENCODING: Final = "gzip, deflate"
MAX_LAYERS: Final = 4
STEP: Final = 64 * 1024  # the most one layer inflates before the next one takes it


class BodyTooLarge(Exception):
    """The reply (received or decoded) is larger than ``limit`` bytes; reading stopped there."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class UndecodableBody(Exception):
    """The reply's ``Content-Encoding`` is not one the SDK accepts, or its data is corrupt."""


class RawReply(Protocol):
    """A reply whose body is still to be read: an ``httpx.Response`` or the SDK's aiohttp
    ``Reply``. ``content`` is read only when ``is_stream_consumed`` (an httpx reply built in
    memory)."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def is_stream_consumed(self) -> bool: ...

    async def aread(self) -> bytes: ...

    def aiter_raw(self) -> AsyncIterator[bytes]: ...


def _held_content(response: RawReply) -> bytes:
    content: bytes = getattr(response, "content", b"")
    return content


class _Layer:
    """One coding to undo: a zlib stream, or ``deflate`` that picks its framing on first use."""

    __slots__ = ("coding", "inflater", "started")

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.started = False
        wbits = zlib.MAX_WBITS | 16 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self.inflater = zlib.decompressobj(wbits)

    def inflate(self, data: bytes) -> bytes:
        try:
            produced = self.inflater.decompress(data, STEP)
        except zlib.error as exc:
            if self.coding != "deflate" or self.started:
                raise UndecodableBody(f"corrupt {self.coding} data ({exc})") from None
            # "deflate" without the zlib header: the raw form some servers send
            self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self.started = True
            return self.inflate(data)
        self.started = True
        return produced


def _codings(header: str | None) -> list[str]:
    """The codings to undo, outermost (last applied) first; raises ``UndecodableBody``."""
    if not header:
        return []
    codings = [part.strip().lower() for part in header.split(",")]
    codings = [coding for coding in codings if coding and coding != "identity"]
    for coding in codings:
        if coding not in ("gzip", "x-gzip", "deflate"):
            shown = scrub_then_truncate(repr(coding), 40)  # the server's text: scrubbed first
            raise UndecodableBody(f"unsupported Content-Encoding {shown}")
    if len(codings) > MAX_LAYERS:
        raise UndecodableBody(f"{len(codings)} stacked content codings (at most {MAX_LAYERS})")
    return codings[::-1]


class BoundedDecoder:
    """Undoes the codings of ``Content-Encoding``, handing each decoded piece to ``sink``, and
    never more than ``limit`` bytes in all (nor more than ``limit`` received)."""

    __slots__ = ("_layers", "_limit", "_sink", "decoded", "received")

    def __init__(
        self, content_encoding: str | None, limit: int, sink: Callable[[bytes], object]
    ) -> None:
        self._layers = [_Layer(coding) for coding in _codings(content_encoding)]
        self._limit = limit
        self._sink = sink
        self.decoded = 0
        self.received = 0

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self._limit:
            raise BodyTooLarge(self._limit)
        self._pump(0, data)

    def finish(self) -> None:
        """Flush what the layers still hold, once every received byte was fed."""
        for level in range(len(self._layers)):
            self._pump(level, b"")

    def _pump(self, level: int, data: bytes) -> None:
        if level == len(self._layers):
            self.decoded += len(data)
            if self.decoded > self._limit:
                raise BodyTooLarge(self._limit)
            self._sink(data)
            return
        layer = self._layers[level]
        while True:
            produced = layer.inflate(data)
            data = layer.inflater.unconsumed_tail
            if produced:
                self._pump(level + 1, produced)
            # a full step may leave output inside the inflater even when no input is left
            if not data and len(produced) < STEP:
                return


async def read_body(response: RawReply, limit: int) -> bytes | bytearray:
    """The whole decoded body of ``response``; ``BodyTooLarge`` past ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before anything is read. A body
    framed by its ``Content-Length`` alone (no ``Transfer-Encoding``, no coding) is read in one
    step: the HTTP parser reads exactly that many bytes. Any other body streams through the
    bounded decoder -- a ``Content-Length`` beside ``Transfer-Encoding`` says nothing of the
    size (RFC 9112 section 6.3: the transfer coding wins, as httpcore's h11 reads it).
    """
    if response.is_stream_consumed:  # built in memory (a MockTransport's reply) and read
        content = _held_content(response)
        if len(content) > limit:
            raise BodyTooLarge(limit)
        return content
    headers = response.headers
    declared = headers.get("content-length")
    length = int(declared) if declared is not None and declared.isdigit() else None
    if length is not None and length > limit:
        raise BodyTooLarge(limit)
    if (
        length is not None
        and not headers.get("content-encoding")
        and "transfer-encoding" not in headers
    ):
        return await response.aread()  # framed by its length, which is within the limit
    body = bytearray()
    await stream_body(response, limit, body.extend)
    return body


async def stream_body(response: RawReply, limit: int, sink: Callable[[bytes], object]) -> None:
    """Hand the decoded body of ``response`` to ``sink`` piece by piece (see ``read_body``)."""
    if response.is_stream_consumed:  # built in memory (a MockTransport's reply) and read
        content = _held_content(response)
        if len(content) > limit:
            raise BodyTooLarge(limit)
        sink(content)
        return
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    decoder = BoundedDecoder(response.headers.get("content-encoding"), limit, sink)
    problem: BodyTooLarge | UndecodableBody | None = None
    stream = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with contextlib.aclosing(stream) as chunks:
        async for chunk in chunks:
            if problem is None:
                try:
                    decoder.feed(chunk)
                except (BodyTooLarge, UndecodableBody) as exc:
                    problem = exc
            else:
                decoder.received += len(chunk)
            # Past the limit of received bytes, stop at once. Otherwise, after a decoding
            # problem, the rest is read and dropped: a stream left unexhausted leaves httpx's
            # inner generators to the garbage collector, which trio reports as a warning.
            if decoder.received > limit:
                raise BodyTooLarge(limit)
    if problem is not None:
        raise problem
    decoder.finish()
