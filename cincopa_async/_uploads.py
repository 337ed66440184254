"""Uploads: files to Cincopa's upload host, and imports from a URL.

``upload_file`` follows REFERENCE.md section 7 and, where they are more precise, Cincopa's own
uploaders (REAL-CLIENTS.md S4 ``cpUploadAPI``, S7 the recorder):

1. ``asset.get_upload_url`` gives a self-authorising URL on the upload host (asked with
   ``fid=`` for a gallery; should the URL still say ``addtofid=0``, the SDK names the gallery
   there, as S7 does: ``into_gallery``);
2. the file goes as raw-byte POSTs framed as ``cpUploadAPI`` frames them (S4), header for header:
   ``Content-Type: multipart/form-data`` (no boundary: the body is the raw bytes, not a form),
   ``X-FILE-NAME: encodeURIComponent(name)``, ``Content-Range: bytes <start>-<end exclusive>/
   <total>`` on every POST, a one-shot upload included (``bytes 0-N/N``), and ``unique-id``, a
   ``Date.now()``-style millisecond count kept for the whole file (one more than the last one
   issued when two uploads of this process start in the same millisecond). A file up to
   ``chunk_size`` is one POST; a larger one goes in chunks **one at a time, in order, each sent
   only after the host acknowledged the one before**, as S4 and S7 both do. Each chunk is
   retried on its own.
3. the host answers in plain-text lines, and a POST counts only when the host says the bytes
   were stored (``parse_host_reply``): an intermediate chunk's reply is ``... ok`` lines ending
   ``chunk done.`` (S7 requires ``done``); the reply that completes the file adds
   ``new resource id <id> <rid>`` followed by ``done.``. ``out of assets quota`` (known to S7) is
   ``QuotaExceededError``, any line with ``error`` (S4's test) ``APIResponseError``, and any other
   reply ``ResponseDecodeError``, each carrying the host's text with the token and the upload
   URL's ``hash`` redacted;
4. metadata (caption, reference_id, tags ...) is applied with ``asset.set_meta``, and the asset
   is read back with ``asset.list(rid=...)``.

**Where the SDK still differs from S4, and why:**

* ``chunk_size`` defaults to 8 MiB, not S4's 50,000 KiB: the host takes small chunks too (S7
  sends 100 KiB), and smaller chunks make a retry cheaper and progress finer.
* ``chunk_concurrency > 1`` (opt-in; the default is 1) sends up to that many chunks at once, the
  last one still alone after all the others. It relies only on Cincopa's "Upload content in
  chunks" guide saying chunks may arrive in any order; no Cincopa client does it.
* Retries follow the SDK's retry policy (``max_retries``, default 2, per chunk), where S4
  re-posts a chunk up to 10 times after network errors.
* Header names travel as S4 writes them (``X-FILE-NAME``) on the SDK's own routes; through an
  ``httpx.AsyncClient`` over the SDK's aiohttp transport they go in lower case
  (``x-file-name``): HTTP field names are case-insensitive (RFC 9110 section 5.1), and
  browsers speaking HTTP/2 send them lower-case too. The SDK adds its usual headers
  (``User-Agent``, ``Accept-Encoding``), as a browser adds its own.
* ``unique-id`` has S4's form, but where S4's ``Date.now()`` may repeat, the SDK's never does
  within one process; two processes starting an upload of the same file name in the same
  millisecond could still share one (each upload has its own upload URL, by which the emulator
  at least keeps sessions apart; whether the live host does is unknown).
* The reply check is stricter than S4's (which takes any reply without ``error`` as success)
  and as strict as S7's ``done`` test, plus the line grammar above (assumed: REFERENCE.md 7.1
  step 4 quotes every line the host is known to send). ``_DONE_LINES``/``_STATUS_LINE`` hold it,
  to change in one place if the live host says more.

Files are read with positional reads in a worker thread, one 1 MiB block at a time, so the event
loop never waits on the disk and memory stays near ``BLOCK_SIZE * chunk_concurrency`` for file
and bytes sources (a stream's chunk is held whole until acknowledged, since a retry must send it
again). Progress reports bytes the host has acknowledged, never bytes merely queued.

**Unknown outcomes.** The protocol has no idempotency key. When the POST that completes a file
fails in a way that may have reached the host (a dropped connection, a timeout, a 5xx, a reply
that cannot be read), the SDK looks for the asset before posting again, and takes it only if it
provably holds this file's bytes (``find_stored_asset``: same name and size, no reference_id yet,
uploaded since the attempt began, and its original's SHA-256 equal to the file's). That lookup
uses ``asset.list(search=<file name>)`` -- assumed to match file names, as it does in the
emulator; Cincopa documents ``search`` only as free text.

**Resume.** With ``state_file=``, the upload URL, ``unique-id`` and the acknowledged chunks are
saved (JSON, mode 0600: the URL is self-authorising) after every acknowledged chunk. Calling
``upload_file`` again with the same source and state file, in this process or another, posts only
the missing chunks. The file is removed when the upload completes.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import re
import stat
import threading
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Mapping,
    Sequence,
)
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple
from urllib.parse import quote

import anyio
import httpx
from anyio.lowlevel import RunVar

from ._body import ACCEPT_ENCODING, BodyTooLarge, stream_body
from ._encode import encode_arguments, is_count, is_seconds
from ._errors import (
    APIConnectionError,
    APIResponseError,
    APIStatusError,
    CincopaError,
    CincopaValidationError,
    ClosedClientError,
    ImportOutcomeUnknownError,
    QuotaExceededError,
    RateLimitError,
    ResponseDecodeError,
    ResponseValidationError,
    UploadOutcomeUnknownError,
    UploadSourceError,
)
from ._redact import KNOWN, redact, redact_url, safe_text, scrub, scrub_json, scrub_then_truncate
from ._retry import is_transient

if TYPE_CHECKING:
    import hashlib

    from ._aiohttp import Outgoing
    from ._client import AsyncCincopa, Reply
    from ._locks import ImportClaim
    from ._models import Asset, ImportStatus

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ImportOutcomeUnknownError",
    "UploadProgress",
    "UploadSource",
    "UploadState",
    "import_url",
    "upload_file",
]

DEFAULT_CHUNK_SIZE: Final = 8 * 1024 * 1024
BLOCK_SIZE: Final = 1024 * 1024  # a chunk's body is read and sent in blocks of this size
FILE_THREADS: Final = 2
_FILE_LIMITER: RunVar[anyio.CapacityLimiter] = RunVar("cincopa_async_file_threads")


def file_threads() -> anyio.CapacityLimiter:
    """The worker threads the SDK touches files in: few, so disk reads never crowd the event loop.

    anyio's default pool allows 40 threads; 32 uploads reading at once in as many threads held
    the loop for hundreds of milliseconds (benchmarks/bench_loop_stall.py), and each new thread
    holds the loop while it starts. Every file operation of an upload (stat, open, read, close,
    the resume state) goes through this limiter. One per event loop.
    """
    try:
        return _FILE_LIMITER.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(FILE_THREADS)
        _FILE_LIMITER.set(limiter)
        return limiter


UPLOAD_OPERATION: Final = "upload"

# The upload host's reply lines (REFERENCE.md 7.1 step 4; REAL-CLIENTS.md S4, S7), compared
# stripped and in lower case, except the resource line, whose rid keeps its case.
_RESOURCE_LINE = re.compile(r"(?i:new resource id) (\d+) (\S+)")
_DONE_LINES = frozenset({"chunk done.", "chunk done", "done.", "done"})
_STATUS_LINE = re.compile(r"[a-z][a-z ]* ok")  # "authentication ok", "file stored ok", ...
_QUOTA_TEXT = "out of assets quota"  # S7: `resp.indexOf('out of assets quota') > -1`
_HOST_TEXT_LIMIT = 2000  # characters of the host's text an error keeps (scrubbed first)
_STATUS_TEXT_LIMIT = 500  # characters of an import status's words kept in an error
# The most of a host reply that is read: its known replies are a few short lines (REFERENCE.md
# 7.1 step 4), a proxy's error page a few KB. Past it, reading stops and the reply is refused,
# so that a hostile host's reply costs at most this (decoded, lowered and split), not the JSON cap.
HOST_REPLY_LIMIT: Final = 64 * 1024

# import status words (REFERENCE.md 7.3: only "inprogress" is evidenced; the rest is assumed)
_IMPORT_IN_PROGRESS = frozenset(
    {"inprogress", "in_progress", "in-progress", "in progress", "pending", "queued", "processing"}
)
_IMPORT_FAILED = frozenset({"failed", "error", "aborted", "canceled", "cancelled"})

UploadSource = str | os.PathLike[str] | bytes | AsyncIterable[bytes]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CLOCK_SKEW: Final = timedelta(minutes=10)  # how far the server's clock may be from ours
MAX_PROOFS: Final = 3  # look-alike assets whose bytes are checked before giving up
# Inferred: no Cincopa client sends one, and "bytes 0-0/0" is no valid range.
EMPTY_FILE: Final = "source: is empty (0 bytes); the upload host takes no empty file"


def sha256(data: bytes = b"") -> hashlib._Hash:
    import hashlib  # on first use: keeps ``import cincopa_async`` light

    return hashlib.sha256(data)


async def file_sha256(path: Path) -> bytes:
    """The SHA-256 of a file, read in a worker thread (``file_threads``)."""

    def digest() -> bytes:
        hasher = sha256()
        with path.open("rb") as handle:
            while block := handle.read(BLOCK_SIZE):
                hasher.update(block)
        return hasher.digest()

    return await anyio.to_thread.run_sync(digest, limiter=file_threads())


MAX_FILENAME: Final = 1024  # characters; the SDK's own bound (a look-up's URL must stay short)


def check_filename(filename: str) -> str | None:
    """The problem with a file name for ``X-File-Name``, or None.

    Names are sent without leading or trailing whitespace (``upload_name``): the emulator's
    upload host strips it, and assumed the live one does too -- so that the name a look-up
    searches for is the name the asset got.
    """
    if not filename.strip():
        return "filename: must not be empty"
    if len(filename) > MAX_FILENAME:
        return f"filename: longer than {MAX_FILENAME} characters ({len(filename):,})"
    try:
        filename.encode("utf-8")
    except UnicodeEncodeError:
        return (
            "filename: is not valid UTF-8 text (a lone surrogate, as a path with undecodable"
            " bytes gives); pass filename= explicitly"
        )
    return None


def upload_name(filename: str) -> str:
    """The name a file is uploaded (and then looked for) under."""
    return filename.strip()


def check_metadata(
    *,
    caption: object = None,
    description: object = None,
    reference_id: object = None,
    tags: object = None,
) -> None:
    """Validate what ``finish_asset`` will send to ``asset.set_meta``, before anything is sent.

    An upload or import whose metadata turned out invalid only after the file was stored would
    leave an untagged asset behind.
    """
    from ._spec import ENDPOINTS_BY_NAME

    arguments = {
        "rid": "placeholder",
        "caption": caption,
        "description": description,
        "reference_id": reference_id,
        "tags": tags,
    }
    encode_arguments(ENDPOINTS_BY_NAME["asset.set_meta"], arguments)


def check_upload_options(
    chunk_size: object,
    chunk_concurrency: object = 1,
    on_progress: object = None,
    state_file: object = None,
) -> None:
    problems = []
    if not is_count(chunk_size, 1):
        problems.append(f"chunk_size: must be an int >= 1, got {chunk_size!r:.40}")
    if not is_count(chunk_concurrency, 1):
        problems.append(f"chunk_concurrency: must be an int >= 1, got {chunk_concurrency!r:.40}")
    if on_progress is not None and not callable(on_progress):
        problems.append("on_progress: must be callable")
    if state_file is not None and not isinstance(state_file, str | os.PathLike):
        problems.append(f"state_file: expected a path, got {type(state_file).__name__}")
    if problems:
        raise CincopaValidationError(problems, operation=UPLOAD_OPERATION)


class UploadProgress(NamedTuple):
    """Bytes of one file that the upload host has acknowledged so far."""

    filename: str
    bytes_done: int
    bytes_total: int


ProgressCallback = Callable[[UploadProgress], object]


class UploadState(NamedTuple):
    """What a chunked upload needs to resume: small, JSON-serialisable, saved by ``state_file``.

    ``upload_url`` is self-authorising (it carries a ``hash``): keep the state private.
    """

    upload_url: str
    filename: str
    size: int
    chunk_size: int
    unique_id: str
    source: str
    source_mtime_ns: int
    done: tuple[int, ...] = ()

    def __repr__(self) -> str:
        return (
            f"UploadState(filename={self.filename!r}, size={self.size},"
            f" chunks_done={len(self.done)})"
        )

    def to_json(self) -> str:
        return json.dumps(self._asdict())

    @classmethod
    def from_json(cls, text: str) -> UploadState:
        data = json.loads(text)
        data["done"] = tuple(data.get("done", ()))
        return cls(**data)


class _Source:
    """A file to upload: its name, its size, and a way to read any byte range of it."""

    def __init__(
        self,
        filename: str,
        size: int,
        path: Path | None = None,
        data: bytes | None = None,
        stream: AsyncIterable[bytes] | None = None,
    ) -> None:
        self.filename = upload_name(filename)
        self.size = size
        self.path = path
        self.mtime_ns = 0  # a path's, when it was opened: to tell it changed while uploading
        self.data = data
        self.stream = stream
        self._fd: int | None = None
        self._iterator: AsyncIterator[bytes] | None = None
        self._pending = b""
        self._stream_offset = 0
        self._stream_hash = sha256() if stream is not None else None
        self._prefetched: bytes | None = None  # a stream's first chunk, read before sending
        self._digest: bytes | None = None

    async def sha256(self) -> bytes:
        """The SHA-256 of the whole file (of a stream: once it was read to its end)."""
        if self._digest is None:
            if self.data is not None:
                self._digest = sha256(self.data).digest()
            elif self.path is not None:
                self._digest = await file_sha256(self.path)
            else:
                assert self._stream_hash is not None
                if self._stream_offset != self.size:
                    raise RuntimeError("a stream's digest is known once it was read whole")
                self._digest = self._stream_hash.digest()
        return self._digest

    async def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``. Streams are read in order, each range exactly once."""
        if self.data is not None:
            return self.data[start:end]
        if self.path is not None:
            try:
                if self._fd is None:
                    self._fd = await anyio.to_thread.run_sync(
                        os.open, self.path, os.O_RDONLY, limiter=file_threads()
                    )
                data = await anyio.to_thread.run_sync(
                    os.pread, self._fd, end - start, start, limiter=file_threads()
                )
            except OSError as exc:
                raise _source_error(self.path, exc) from exc
            if len(data) != end - start:
                raise UploadSourceError(
                    f"{UPLOAD_OPERATION}: {str(self.path)!r} changed size while uploading",
                    operation=UPLOAD_OPERATION,
                )
            return data
        return await self._read_stream(start, end)

    async def prefetch(self, end: int) -> None:
        """Read a stream's bytes ``[0, end)`` now, before anything is sent, and hold them for
        the first ``read``: a stream that yields something other than bytes there, or -- when
        ``end`` is its size -- is not exactly ``size`` bytes long, is then a
        ``CincopaValidationError`` before ``asset.get_upload_url``. (Later chunks are read as
        they are sent; a problem found there is an ``UploadSourceError``, raised before that
        chunk, and before the POST completing the file.)"""
        if self.stream is not None and self._stream_offset == 0:
            self._prefetched = await self._read_stream(0, end)

    async def _read_stream(self, start: int, end: int) -> bytes:
        """The stream's next ``end - start`` bytes; at its declared end, the stream must end
        too (see ``_stream_problem``)."""
        assert self.stream is not None
        if self._prefetched is not None and (start, end) == (0, len(self._prefetched)):
            data, self._prefetched = self._prefetched, None
            return data
        if start != self._stream_offset:
            raise RuntimeError("stream sources are read in order")
        buffer = bytearray(self._pending)
        if self._iterator is None:
            self._iterator = aiter(self.stream)
        iterator = self._iterator
        while len(buffer) < end - start:
            try:
                piece = await anext(iterator)
            except StopAsyncIteration:
                raise self._stream_problem(
                    f"ended at {start + len(buffer):,} of the {self.size:,} bytes declared"
                    " as its size"
                ) from None
            buffer += self._bytes_of(piece, start + len(buffer))
        if end == self.size:  # nothing may follow: bytes past `size` would be dropped
            while len(buffer) == end - start:
                try:
                    piece = await anext(iterator)
                except StopAsyncIteration:
                    break
                buffer += self._bytes_of(piece, start + len(buffer))
            if len(buffer) > end - start:
                raise self._stream_problem(
                    f"is longer than the {self.size:,} bytes declared as its size"
                )
        self._pending = bytes(buffer[end - start :])
        self._stream_offset = end
        data = bytes(buffer[: end - start])
        assert self._stream_hash is not None
        self._stream_hash.update(data)
        return data

    def _bytes_of(self, piece: object, offset: int) -> bytes | bytearray | memoryview:
        """A piece the stream yielded, if it is bytes (``bytearray`` and ``memoryview`` too)."""
        if isinstance(piece, bytes | bytearray | memoryview):
            return piece
        raise self._stream_problem(
            f"yielded a {type(piece).__name__} at byte {offset:,}, not bytes"
        )

    def _stream_problem(self, problem: str) -> CincopaError:
        """A stream that is not the bytes it was declared to be: ``CincopaValidationError``
        while nothing of it was sent (its first chunk, read by ``prefetch``), else
        ``UploadSourceError``. Either way the file is not completed: nothing is stored."""
        text = f"source: the stream {problem}"
        if self._stream_offset == 0:
            return CincopaValidationError([text], operation=UPLOAD_OPERATION)
        return UploadSourceError(
            f"{UPLOAD_OPERATION}: {text}; the upload was not completed, nothing was stored",
            operation=UPLOAD_OPERATION,
        )

    async def blocks(self, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``[start, end)`` in blocks of ``BLOCK_SIZE``: a chunk never sits whole in memory.

        Only file and bytes sources: a stream's chunk is read whole once (``read``) and kept
        until it is acknowledged, since a retry must send it again.
        """
        for offset in range(start, end, BLOCK_SIZE):
            yield await self.read(offset, min(offset + BLOCK_SIZE, end))

    async def aclose(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            await anyio.to_thread.run_sync(os.close, fd, limiter=file_threads())
        closer = getattr(self._iterator or self.stream, "aclose", None)
        if closer is not None:
            await closer()

    def fingerprint(self) -> tuple[str, int]:
        if self.path is None:
            return ("", 0)
        return (str(self.path.resolve()), self.path.stat().st_mtime_ns)

    async def check_unchanged(self) -> None:
        """``UploadSourceError`` when the file's size or modification time is not what it was
        when it was opened (it changed while it was being uploaded)."""
        if self.path is None:
            return
        try:
            info = await anyio.to_thread.run_sync(self.path.stat, limiter=file_threads())
        except OSError as exc:
            raise _source_error(self.path, exc) from exc
        if (info.st_size, info.st_mtime_ns) != (self.size, self.mtime_ns):
            raise UploadSourceError(
                f"{UPLOAD_OPERATION}: {str(self.path)!r} changed while it was being uploaded",
                operation=UPLOAD_OPERATION,
            )


def path_problem(path: Path) -> str | None:
    """What makes ``path`` impossible to open whatever the file system holds, or None: a NUL
    character (no OS takes one), or a lone surrogate outside the range of ``surrogateescape``
    (the form undecodable file name bytes take, which the OS does take back)."""
    text = os.fspath(path)
    if "\0" in text:
        return "contains a NUL character"
    try:
        os.fsencode(text)
    except UnicodeError:
        return "is not valid text for a file name (it contains a lone surrogate)"
    return None


def os_problem(exc: OSError | ValueError) -> str:
    """An OS error as a short reason (no path: the caller names it)."""
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)


def _source_error(path: Path, exc: OSError) -> UploadSourceError:
    return UploadSourceError(
        f"{UPLOAD_OPERATION}: {str(path)!r} could not be read:"
        f" {exc.strerror or type(exc).__name__}",
        operation=UPLOAD_OPERATION,
    )


async def _open_source(source: UploadSource, filename: str | None, size: int | None) -> _Source:
    problems = []
    if filename is not None and not isinstance(filename, str):
        problems.append(f"filename: expected str, got {type(filename).__name__}")
        filename = None
    if size is not None and not is_count(size, 0):
        problems.append(f"size: expected an int >= 0, got {size!r:.40}")
        size = None
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not filename:
            problems.append("filename: is required when the source is bytes")
        result = _Source(filename or "", len(data), data=data)
    elif isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            if (problem := path_problem(path)) is not None:
                raise ValueError(problem)
            info = await anyio.to_thread.run_sync(path.stat, limiter=file_threads())
        except (OSError, ValueError) as exc:
            problems.append(f"source: {str(path)!r}: {os_problem(exc)}")
            result = _Source(filename or path.name, 0, path=path)
        else:
            if not stat.S_ISREG(info.st_mode):
                problems.append(f"source: {str(path)!r} is not a regular file")
            result = _Source(filename or path.name, info.st_size, path=path)
            result.mtime_ns = info.st_mtime_ns
    elif isinstance(source, AsyncIterable):
        if not filename:
            problems.append("filename: is required when the source is a stream")
        if size is None:
            problems.append("size: is required when the source is a stream")
        result = _Source(filename or "", size or 0, stream=source)
    else:
        problems.append(
            f"source: expected a path, bytes or an async byte stream, got {type(source).__name__}"
        )
        result = _Source("", 0)
    if result.filename and (problem := check_filename(result.filename)):
        problems.append(problem)
    elif filename is not None and not filename.strip():
        problems.append("filename: must not be empty")
    if size is not None and result.stream is None and not problems and size != result.size:
        # not ignored: a size that is not the source's says the caller expects another file
        what = "the file is" if result.path is not None else "the bytes are"
        problems.append(f"size: {size:,} given, but {what} {result.size:,} bytes long")
    if not problems and result.size == 0:
        problems.append(EMPTY_FILE)
    if problems:
        raise CincopaValidationError(problems, operation=UPLOAD_OPERATION)
    return result


def parse_host_reply(text: str, url: str, secrets: Sequence[str] = ()) -> tuple[str, str] | None:
    """What the upload host's reply says: ``(id, rid)`` when it completed the file, None when it
    stored an intermediate chunk; any other reply raises (see the module docstring, step 3).
    ``text`` is what ``_HostReply`` read: at most ``HOST_REPLY_LIMIT`` bytes.

    ``url`` (already redacted) goes on the error; ``secrets`` (the token, the upload URL's
    ``hash``) are scrubbed from the host's text wherever it appears in the error.

    Raises:
        QuotaExceededError: the reply says ``out of assets quota``.
        APIResponseError: a line of the reply mentions ``error``.
        ResponseDecodeError: the reply is not one the host is known to send (an HTML error
            page, a truncated reply, a reply without ``done`` ...), or is longer than
            ``HOST_REPLY_LIMIT``: only that much is ever split into lines and looked at.
    """

    def host_text() -> str:
        # scrubbed whole, then cut: a cut first could leave half a secret standing (and a cut
        # wider than the excerpt can shift one in as longer secrets before it shrink)
        return scrub_then_truncate(text, _HOST_TEXT_LIMIT, secrets)

    if len(text) > HOST_REPLY_LIMIT:
        raise host_reply_too_long(host_text(), url)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lowered = [line.lower() for line in lines]

    def line_with(word: str) -> str:
        found = next((line for line in lines if word in line.lower()), text.strip())
        return scrub_then_truncate(found, 500, secrets)  # no half secret left by the cut

    if any(_QUOTA_TEXT in line for line in lowered):
        raise QuotaExceededError(
            f"the account is out of assets quota (the upload host said {line_with(_QUOTA_TEXT)!r})",
            operation=UPLOAD_OPERATION,
            url=url,
            payload={"reply": host_text()},
        )
    if any("error" in line for line in lowered):
        raise APIResponseError(
            line_with("error"),
            operation=UPLOAD_OPERATION,
            url=url,
            payload={"reply": host_text()},
        )
    resource = next(
        (index for index, line in enumerate(lines) if _RESOURCE_LINE.fullmatch(line)), None
    )
    done = [index for index, line in enumerate(lowered) if line in _DONE_LINES]
    known = all(
        line in _DONE_LINES or _STATUS_LINE.fullmatch(line) or index == resource
        for index, line in enumerate(lowered)
    )
    if known and done:
        if resource is None:
            return None
        if done[-1] > resource:
            match = _RESOURCE_LINE.fullmatch(lines[resource])
            assert match is not None
            return match.group(1), match.group(2)
    excerpt = host_text()
    raise ResponseDecodeError(
        f"{UPLOAD_OPERATION}: the upload host's reply is not one it is known to send (it must end"
        f" 'chunk done.', or 'new resource id <id> <rid>' then 'done.'): {excerpt[:200]!r}"
        f" ({url})",
        operation=UPLOAD_OPERATION,
        url=url,
        body_excerpt=excerpt,
    )


def host_reply_too_long(excerpt: str, url: str) -> ResponseDecodeError:
    """The error for a host reply past ``HOST_REPLY_LIMIT`` (``excerpt``: its start, scrubbed)."""
    return ResponseDecodeError(
        f"{UPLOAD_OPERATION}: the upload host's reply is longer than {HOST_REPLY_LIMIT:,} bytes"
        f" (its replies are a few short lines); reading stopped there: {excerpt[:200]!r}"
        f" ({url})",
        operation=UPLOAD_OPERATION,
        url=url,
        body_excerpt=excerpt,
    )


class _HostReply:
    """Reads an upload host's reply up to ``HOST_REPLY_LIMIT`` decoded bytes: ``cut`` says
    there was more (a declared length over it reads nothing)."""

    __slots__ = ("cut",)

    def __init__(self) -> None:
        self.cut = False

    async def read(self, response: Reply) -> bytes:
        body = bytearray()
        try:
            await stream_body(response, HOST_REPLY_LIMIT, body.extend)
        except BodyTooLarge:
            self.cut = True
        return bytes(body)


_unique_id_lock = threading.Lock()
_last_unique_id = 0


def new_unique_id() -> str:
    """A ``unique-id`` as ``cpUploadAPI`` makes it (S4: ``Date.now()``, milliseconds since the
    epoch), but never one this process already issued: one more than the last when two uploads
    start in the same millisecond."""
    global _last_unique_id
    with _unique_id_lock:
        _last_unique_id = max(time.time_ns() // 1_000_000, _last_unique_id + 1)
        return str(_last_unique_id)


def server_url_problem(url: object, *, secret: bool) -> str | None:
    """What keeps a URL a server gave from being requested, or None.

    It must be a str httpx can parse, ``http(s)`` with a host; one that carries a secret
    (``secret``: the upload URL, self-authorising by its ``hash``) must be ``https://`` unless
    its host is a loopback one (an emulator), as ``base_url`` must. Cincopa's upload URLs are
    ``https://mediaupload.cincopa.com/...`` (REFERENCE.md 7.1); refusing plain http for them is
    the SDK's own rule.
    """
    from ._client import is_loopback_host

    if not isinstance(url, str) or not url.strip():
        return f"is not a URL (a {type(url).__name__}{'' if url else ', empty'})"
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:  # a bad port, host, character ...
        return f"is not a valid URL ({redact(str(exc))[:200]})"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "is not an http(s) URL with a host"
    if secret and parsed.scheme == "http" and not is_loopback_host(parsed.host):
        return "is plain http:// to a host that is not loopback, and it carries a secret"
    return None


def bad_server_url(
    client: AsyncCincopa, url: object, problem: str, operation: str, field: str
) -> ResponseValidationError:
    """The error for a URL a server gave that cannot be requested (see ``server_url_problem``);
    the URL is shown redacted, and scrubbed of the token."""
    shown = scrub(str(url), [client._api_token])[:300] if isinstance(url, str) else ""
    return ResponseValidationError(
        f"{operation}: {field} {problem}: {shown!r}",
        operation=operation,
        url=shown or None,
        errors=[f"{problem} @ {field}"],
    )


def checked_server_url(
    client: AsyncCincopa, url: object, operation: str, field: str, *, secret: bool
) -> str:
    """``url`` if it can be requested, else ``bad_server_url``'s ``ResponseValidationError``."""
    problem = server_url_problem(url, secret=secret)
    if problem is not None:
        raise bad_server_url(client, url, problem, operation, field)
    assert isinstance(url, str)
    return url


def build_request(
    build: Callable[[], Outgoing | httpx.Request],
    client: AsyncCincopa,
    url: str,
    operation: str,
    field: str,
) -> Outgoing | httpx.Request:
    """``build()``, a request to a URL a server gave; a URL that still cannot be built (a
    route's parser stricter than the check) is ``bad_server_url``'s error, not httpx's."""
    try:
        return build()
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, TypeError) as exc:
        problem = f"cannot be requested ({type(exc).__name__})"
    raise bad_server_url(client, url, problem, operation, field)


def _url_secrets(client: AsyncCincopa, upload_url: str) -> tuple[str, ...]:
    """The values to scrub from the host's text: the api_token and the upload URL's ``hash``."""
    try:
        signature = httpx.URL(upload_url).params.get("hash") or ""
    except httpx.InvalidURL:
        signature = ""
    # a hash too short to be a real one would scrub unrelated text: only the token then
    secrets = tuple(s for s in (client._api_token, signature if len(signature) >= 8 else "") if s)
    KNOWN.remember(*secrets)  # an upload URL the caller gave: scrubbed from logs and errors too
    return secrets


class _Uploader:
    """One file's upload: the POSTs, their retries, progress, resume state."""

    def __init__(
        self,
        client: AsyncCincopa,
        source: _Source,
        upload_url: str,
        *,
        chunk_size: int,
        chunk_concurrency: int,
        on_progress: ProgressCallback | None,
        state_file: Path | None,
        state: UploadState | None,
    ) -> None:
        self.client = client
        self.source = source
        self.upload_url = upload_url
        self.chunk_size = chunk_size
        self.chunk_concurrency = chunk_concurrency
        self.on_progress = on_progress
        self.state_file = state_file
        self.unique_id = state.unique_id if state else new_unique_id()
        self.done: set[int] = set(state.done) if state else set()
        self.bytes_done = sum(self._chunk_length(index) for index in self.done)
        self.safe_url = redact_url(upload_url)
        self.secrets = _url_secrets(client, upload_url)
        self._state_lock = anyio.Lock()

    def _chunk_length(self, index: int) -> int:
        start, end = self._chunk_range(index)
        return end - start

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(
                UploadProgress(
                    filename=self.source.filename,
                    bytes_done=self.bytes_done,
                    bytes_total=self.source.size,
                )
            )

    async def run(self) -> str:
        """Upload every missing byte; return the new asset's rid."""
        size = self.source.size
        if size <= self.chunk_size:
            first = await self._held(0)
            return await self._complete(lambda: self._request(0, first))
        count = -(-size // self.chunk_size)
        missing = [index for index in range(count - 1) if index not in self.done]
        await self._save_state()
        # A stream can only be read in order: its chunks go one at a time.
        concurrency = 1 if self.source.stream is not None else self.chunk_concurrency
        if concurrency == 1:  # as Cincopa's uploaders send them: each after the last's reply
            for index in missing:
                await self._post_chunk(index)
        else:  # opt-in: relies on the docs' "chunks may arrive in any order"
            limiter = anyio.CapacityLimiter(concurrency)
            turn = iter(missing)

            async def post_next() -> None:
                async with limiter:
                    await self._post_chunk(next(turn))

            async with anyio.create_task_group() as tg:
                for _ in missing:
                    tg.start_soon(post_next)
        last = count - 1
        data = await self._held(last)
        return await self._complete(lambda: self._request(last, data))

    async def _post_chunk(self, index: int) -> None:
        """Post chunk ``index`` (not the last) until the host acknowledges it, then record it."""
        data = await self._held(index)
        result = await self.client._with_retries(
            UPLOAD_OPERATION, True, lambda: self._post(self._request(index, data))
        )
        if result is not None:  # the host completed the file before its last chunk
            raise APIResponseError(
                "the upload host completed the file before its last chunk",
                operation=UPLOAD_OPERATION,
                url=self.safe_url,
                payload={},
            )
        self.done.add(index)
        self.bytes_done += self._chunk_length(index)
        await self._save_state()  # saved before reported: a callback may cancel
        self._report()

    async def _held(self, index: int) -> bytes | None:
        """A stream's chunk, read once and held for retries; None: read it again per attempt."""
        if self.source.stream is None:
            return None
        return await self.source.read(*self._chunk_range(index))

    def _chunk_range(self, index: int) -> tuple[int, int]:
        start = index * self.chunk_size
        return start, min(start + self.chunk_size, self.source.size)

    async def _complete(self, build: Callable[[], Outgoing | httpx.Request]) -> str:
        """Post the request that completes the file, finding the asset on an unknown outcome.

        After a failure that may have stored the file, the POST is sent again only when no asset
        can be it: one that provably holds the bytes is taken; one that can be neither proven
        nor ruled out makes an ``UploadOutcomeUnknownError`` (sending again could store twice).
        """
        retries = 0
        while True:
            failure: CincopaError | None = None
            request = build()  # outside the try: a request that cannot be built was not sent
            try:
                rid = await self._post(request)
            except CincopaError as error:
                failure = error
            if failure is not None:
                if may_have_been_applied(failure):
                    found = await self._look_for_stored()
                    if found.asset is not None:
                        rid = found.asset.rid
                        break
                    if found.undecided:
                        raise self._undecided(found) from failure
                delay = self.client._retry.delay_before_retry(True, failure, retries)
                if delay is None:
                    raise failure
                retries += 1
                await self.client._wait_unless_closed(delay)
                continue
            if rid is None:  # an intermediate reply: the host already had this file complete
                found = await self._look_for_stored()
                if found.asset is None:
                    if found.undecided:
                        raise self._undecided(found)
                    raise APIResponseError(
                        "the upload host acknowledged the last chunk without creating an asset",
                        operation=UPLOAD_OPERATION,
                        url=self.safe_url,
                        payload={},
                    )
                rid = found.asset.rid
            break
        self.bytes_done = self.source.size
        self._report()
        if self.state_file is not None:
            state_file = self.state_file
            await anyio.to_thread.run_sync(
                partial(state_file.unlink, missing_ok=True), limiter=file_threads()
            )
        return rid

    async def _look_for_stored(self) -> Lookalikes:
        source = self.source
        return await look_for_stored(self.client, source.filename, source.size, source.sha256)

    def _undecided(self, found: Lookalikes) -> UploadOutcomeUnknownError:
        return UploadOutcomeUnknownError(
            f"{UPLOAD_OPERATION}: the POST completing {self.source.filename!r} may have stored"
            f" it, and {found.undecided} untagged look-alike(s) could be neither proven nor"
            " ruled out (an original not downloadable yet?); not sent again",
            operation=UPLOAD_OPERATION,
            url=self.safe_url,
        )

    def _request(self, index: int, held: bytes | None) -> Outgoing | httpx.Request:
        """``_chunk_request``, a URL that cannot be built a ``ResponseValidationError``."""
        return build_request(
            partial(self._chunk_request, index, held),
            self.client,
            self.upload_url,
            UPLOAD_OPERATION,
            "the upload URL",
        )

    def _chunk_request(self, index: int, held: bytes | None) -> Outgoing | httpx.Request:
        """One chunk's POST, its body streamed in blocks (built anew for every attempt).

        The headers are S4's, in S4's order (see the module docstring); ``Content-Length`` is
        what a browser adds to such a request by itself.
        """
        start, end = self._chunk_range(index)
        body: AsyncIterator[bytes] = (
            self.source.blocks(start, end) if held is None else _slices(held)
        )
        return self.client._outgoing(
            "POST",
            self.upload_url,
            {
                "Content-Type": "multipart/form-data",
                "X-FILE-NAME": encode_uri_component(self.source.filename),
                "Content-Range": f"bytes {start}-{end}/{self.source.size}",
                "unique-id": self.unique_id,
                "Content-Length": str(end - start),
            },
            body,
            encoded=False,
        )

    async def _post(self, request: Outgoing | httpx.Request) -> str | None:
        """Send one POST; the rid when it completed the file, None for a stored chunk."""
        reply = _HostReply()
        response, body = await self.client._exchange(UPLOAD_OPERATION, request, reply.read)
        if not 200 <= response.status_code <= 599:
            raise self.client._invalid_status(UPLOAD_OPERATION, request, response)
        text = body.decode("utf-8", "replace")  # at most HOST_REPLY_LIMIT bytes
        if response.status_code >= 300:
            if _QUOTA_TEXT in text.lower():  # however the host frames it, the cause is the same
                parse_host_reply(text, self.safe_url, self.secrets)  # raises QuotaExceededError
            host_text = scrub_then_truncate(text, _HOST_TEXT_LIMIT, self.secrets).encode()
            raise self.client._status_error(UPLOAD_OPERATION, request, response, None, host_text)
        if reply.cut:
            raise host_reply_too_long(
                scrub_then_truncate(text, _HOST_TEXT_LIMIT, self.secrets), self.safe_url
            )
        result = parse_host_reply(text, self.safe_url, self.secrets)
        return None if result is None else result[1]

    async def _save_state(self) -> None:
        if self.state_file is None:
            return
        async with self._state_lock:  # one writer at a time, each writing the latest state
            await self._write_state(self.state_file)

    async def _write_state(self, path: Path) -> None:
        fingerprint = self.source.fingerprint()
        state = UploadState(
            upload_url=self.upload_url,
            filename=self.source.filename,
            size=self.source.size,
            chunk_size=self.chunk_size,
            unique_id=self.unique_id,
            source=fingerprint[0],
            source_mtime_ns=fingerprint[1],
            done=tuple(sorted(self.done)),
        )

        def write() -> None:
            temporary = path.with_name(path.name + ".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(state.to_json())
            os.replace(temporary, path)

        await anyio.to_thread.run_sync(write, limiter=file_threads())


def encode_uri_component(text: str) -> str:
    """JavaScript's ``encodeURIComponent``: UTF-8, every byte percent-encoded except
    ``A-Z a-z 0-9 - _ . ! ~ * ' ( )`` (S4 sends ``X-FILE-NAME`` so)."""
    return quote(text, safe="!*'()")


async def _slices(data: bytes) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for offset in range(0, len(data), BLOCK_SIZE):
        yield bytes(view[offset : offset + BLOCK_SIZE])


def may_have_been_applied(error: CincopaError) -> bool:
    """Could the failed request have changed something on the server (an unknown outcome)?

    Yes after a dropped connection or a timeout once the request was sent, a 5xx, or a garbled
    reply (the server answered, so it acted). No when the request never left (a refused
    connection), on a 429 (the server refused to act) or another HTTP error status.
    """
    if isinstance(error, RateLimitError):
        return False
    if isinstance(error, APIConnectionError):
        return error.request_sent
    if isinstance(error, APIStatusError):
        return error.status_code >= 500
    return isinstance(error, ResponseDecodeError | ResponseValidationError)


MAX_LOOKUP_PAGES: Final = 20  # of 100 assets each: look-alikes past that are not ruled out
# A proof download of unknown size stops here (the SDK's own bound: Cincopa documents no limit
# of its file sizes); a look-alike that big is left undecided, not read for ever.
MAX_PROOF_BYTES: Final = 64 * 1024**3
OTHER_BYTES: Final = b"other"  # what a "digest" of bytes of another length compares as


class Lookalikes(NamedTuple):
    """What a look for a stored copy of a file found: the asset proven to hold its bytes, if
    any, and how many candidates could be neither proven nor ruled out (an original not yet
    downloadable, a download that failed, too many look-alikes to check them all)."""

    asset: Asset | None
    undecided: int


def search_term(name: str) -> str:
    """What ``asset.list(search=...)`` is given to find assets named ``name``: the name, or --
    when it holds a ``=`` and would read as a field filter (``tag=x.mp4``) -- the explicit
    ``filename=<name>`` filter (the emulator's form; inferred of the live API)."""
    return f"filename={name}" if "=" in name else name


async def untagged_named(
    client: AsyncCincopa, name: str, size: int | None = None
) -> tuple[list[Asset], bool]:
    """The untagged assets named ``name`` (of ``size`` bytes, when given), newest first, from
    every page of the search up to ``MAX_LOOKUP_PAGES``; and whether more pages were left."""
    found: list[Asset] = []
    more = False
    read = 0
    pages = client.asset.list(search=search_term(name), items_per_page=100).pages()
    async with contextlib.aclosing(pages):
        async for page in pages:
            read += 1
            found.extend(
                asset
                for asset in page.items
                if upload_name(asset.filename) == name
                and not asset.reference_id
                and (size is None or asset.filesize in (None, size))
            )
            if read >= MAX_LOOKUP_PAGES:
                more = bool(page.items) and read < page.items_data.pages_count
                break
    found.sort(key=lambda a: a.uploaded or _EPOCH, reverse=True)
    return found, more


async def look_for_stored(
    client: AsyncCincopa,
    filename: str,
    size: int,
    digest: Callable[[], Awaitable[bytes]],
) -> Lookalikes:
    """An asset that provably holds this file's bytes and has no reference_id yet.

    What an upload leaves behind when the file was stored but the reply, or the step tagging it
    (``asset.set_meta``), was lost. Candidates share the file's name and size (every page of the
    search, up to ``MAX_LOOKUP_PAGES``; newest first); a look-alike is never enough (another
    file of the same name and size may be uploading at the same moment), so each candidate's
    ``original`` is downloaded and its SHA-256 compared with ``digest()`` (computed only when
    there is a candidate), up to ``MAX_PROOFS`` of them. An untagged asset this client's
    ``upload_file`` returned to its caller (``HandedOut``) is never a candidate. Assumed
    (unverified on the live API): the search matches file names, and
    ``versions.original.url`` serves the bytes as uploaded.
    """
    candidates, more = await untagged_named(client, upload_name(filename), size)
    handed_out = client._shared.handed_out
    candidates = [asset for asset in candidates if asset.rid not in handed_out]
    if not candidates:
        return Lookalikes(None, 1 if more else 0)
    expected = await digest()
    undecided = max(0, len(candidates) - MAX_PROOFS) + (1 if more else 0)
    for asset in candidates[:MAX_PROOFS]:
        found = await _original_digest(client, asset, size)
        if found == expected:
            return Lookalikes(asset, 0)
        if found is None:
            undecided += 1
    return Lookalikes(None, undecided)


async def _original_digest(client: AsyncCincopa, asset: Asset, size: int) -> bytes | None:
    """The SHA-256 of the asset's ``original`` as downloaded; ``OTHER_BYTES`` when it is not
    ``size`` bytes long (and the asset does not claim to be); None when it cannot be had (no
    URL, an error status, a failed read, a download whose length contradicts the asset's)."""
    version = asset.versions.get("original")
    if version is None or not version.url:
        return None
    try:
        downloaded = await download_digest(
            client,
            version.url,
            size,
            operation="asset.list",
            field=f"asset.list.items[rid={asset.rid}].versions['original'].url",
        )
    except CincopaError:
        return None
    if downloaded is None:
        return None
    if downloaded[0] == OTHER_BYTES and asset.filesize == size:
        # The asset says it is this long and the URL served another length: not its bytes
        # (a placeholder while it is processed, say), so nothing is proven either way.
        return None
    return downloaded[0]


async def download_digest(
    client: AsyncCincopa,
    url: str,
    size: int | None = None,
    *,
    operation: str = UPLOAD_OPERATION,
    field: str = "the URL to download",
    max_size: int | None = None,
) -> tuple[bytes, int] | None:
    """``(SHA-256, size)`` of what ``url`` serves, or None when it cannot be had; with ``size``
    given, ``(OTHER_BYTES, n)`` when it is not that long. No token is sent: the URL is used as
    given; a failure that retries do not cure is raised (a ``CincopaError``).

    Read in ranges of ``DEFAULT_CHUNK_SIZE``, each a request of its own (retried on its own),
    so no attempt outlives its deadline; a server that ignores ``Range`` sends the whole file in
    one reply, which is hashed as it streams in. Memory stays at one network read.

    The download never goes past the size the caller can use, whatever the server says: past
    ``size`` when given, else past ``max_size`` (else ``MAX_PROOF_BYTES``), it is
    ``(OTHER_BYTES, n)`` -- a ``Content-Range`` total of 10**18 is not read range after range.
    A 206 must carry the range asked for (clipped to its total); any other proves nothing.
    """
    checked_server_url(client, url, operation, field, secret=False)
    hasher, offset = sha256(), 0
    bound = max_size if max_size is not None else MAX_PROOF_BYTES
    while True:
        block = _RangeDigest(hasher, offset, size, bound)
        fetch = partial(block.fetch, client, url, operation, field)
        await client._with_retries(UPLOAD_OPERATION, True, fetch)
        if block.other_length:
            return OTHER_BYTES, block.size or 0
        if block.outcome is None:
            return None
        hasher, offset, size = block.outcome, block.end, block.size
        if size is not None and offset >= size:
            return hasher.digest(), size


class _RangeDigest:
    """One range of a download, hashed into a copy of the running hash (kept on success)."""

    __slots__ = ("_base", "bound", "end", "other_length", "outcome", "size", "start")

    def __init__(self, base: hashlib._Hash, start: int, size: int | None, bound: int) -> None:
        self._base = base
        self.start, self.size = start, size
        self.bound = size if size is not None else bound  # the longest file of any use
        self.end = (
            start + DEFAULT_CHUNK_SIZE if size is None else min(start + DEFAULT_CHUNK_SIZE, size)
        )
        self.outcome: hashlib._Hash | None = None
        self.other_length = False  # the file is known not to be ``size`` bytes long

    async def fetch(self, client: AsyncCincopa, url: str, operation: str, field: str) -> None:
        headers = {"Accept-Encoding": ACCEPT_ENCODING}
        if self.size != 0:  # an empty file has no byte range to ask for
            headers["Range"] = f"bytes={self.start}-{self.end - 1}"
        request = build_request(
            partial(client._outgoing, "GET", url, headers, encoded=False),
            client,
            url,
            operation,
            field,
        )
        response, _ = await client._exchange(UPLOAD_OPERATION, request, self._read)
        status = response.status_code
        if not 200 <= status <= 599:  # no HTTP status: nothing was proven (see _read)
            raise client._invalid_status(UPLOAD_OPERATION, request, response)
        if status in (408, 429) or status >= 500:
            raise client._status_error(UPLOAD_OPERATION, request, response, None, b"")

    async def _read(self, response: Reply) -> bytes:
        self.outcome, self.other_length = None, False
        hasher = self._base.copy()
        status = response.status_code
        span = _content_range(response) if status == 206 else None
        if span is not None and (
            span[2] != self.size if self.size is not None else span[2] > self.bound
        ):
            self.other_length = True  # the server says how long the file is: not this one
            self.size = span[2]
            with contextlib.suppress(BodyTooLarge):
                await stream_body(response, 64 * 1024, lambda piece: None)
            return b""
        if span is not None and span[0] == self.start < span[1] == min(self.end, span[2]):
            self.end, self.size = span[1], span[2]
            expected: int = span[1] - span[0]
        elif status == 200:  # Range ignored: the whole file, from its first byte
            hasher = sha256() if self.start else hasher
            self.start, expected = 0, self.bound
        else:  # not the bytes asked for: read a little of it, prove nothing
            with contextlib.suppress(BodyTooLarge):
                await stream_body(response, 64 * 1024, lambda piece: None)
            return b""
        received = 0

        def take(piece: bytes) -> None:
            nonlocal received
            received += len(piece)
            hasher.update(piece)

        try:
            await stream_body(response, expected, take)
        except BodyTooLarge:  # longer than the asset's size (or of any use): not this file
            self.other_length = True
            return b""
        if status == 200 and self.size is None:  # its length is what arrived
            self.outcome = hasher
            self.end = self.size = received
        elif received == expected:
            self.outcome = hasher
            if status == 200:
                self.end = received
        elif status == 200:  # the whole file, shorter than the asset's size: not this file
            self.other_length = True
        return b""


def _content_range(response: Reply) -> tuple[int, int, int] | None:
    """``(start, end exclusive, total)`` of a ``Content-Range: bytes s-e/t`` reply header."""
    match = re.fullmatch(
        r"\s*bytes\s+(\d+)-(\d+)/(\d+)\s*", response.headers.get("content-range", "")
    )
    if match is None:
        return None
    start, last, total = (int(group) for group in match.groups())
    return start, last + 1, total


async def _store(
    client: AsyncCincopa,
    opened: _Source,
    gallery: str | None,
    chunk_size: int,
    chunk_concurrency: int,
    on_progress: ProgressCallback | None,
    state_path: Path | None,
) -> str:
    """Post the file; the rid of the asset stored (checked unchanged, else deleted)."""
    state = None
    if state_path is not None:  # no thread hop without a state file
        state = await anyio.to_thread.run_sync(
            _load_state, state_path, opened, chunk_size, limiter=file_threads()
        )
    while True:
        if state is not None:
            upload_url = state.upload_url  # checked by _load_state
        else:
            given = (await client.asset.get_upload_url(fid=gallery)).upload_url
            upload_url = checked_server_url(
                client,
                given,
                "asset.get_upload_url",
                "asset.get_upload_url.upload_url",
                secret=True,
            )
            if gallery is not None:
                upload_url = into_gallery(upload_url, gallery)
        uploader = _Uploader(
            client,
            opened,
            upload_url,
            chunk_size=chunk_size,
            chunk_concurrency=chunk_concurrency,
            on_progress=on_progress,
            state_file=state_path,
            state=state,
        )
        try:
            rid = await uploader.run()
        except APIResponseError as error:
            if state is None or isinstance(error, QuotaExceededError):
                raise
            # The saved session was refused (its upload URL expired, say): start over once,
            # on a new upload URL; chunks already sent to the old one are of no use now.
            state = None
            if state_path is not None:
                await anyio.to_thread.run_sync(
                    partial(state_path.unlink, missing_ok=True), limiter=file_threads()
                )
            continue
        break
    try:
        await opened.check_unchanged()
    except UploadSourceError:
        with anyio.CancelScope(shield=True), contextlib.suppress(CincopaError):
            await client.asset.delete(rid=rid)  # bytes of neither version: not to be kept
        raise
    return rid


#: An upload URL's ``addtofid`` naming no gallery: ``0`` (S7 rewrites ``addtofid=0``), ``*``
#: (S5 rewrites ``&addtofid=*``) or empty.
_NO_GALLERY = re.compile(r"(?<=[?&])addtofid=(?:0|\*|%2A|)(?=&|#|$)", re.IGNORECASE)


def into_gallery(upload_url: str, gallery: str) -> str:
    """``upload_url`` with its no-gallery ``addtofid`` placeholder set to ``gallery``, as
    Cincopa's recorder does (REAL-CLIENTS.md S7: ``upload_url.replace("addtofid=0",
    "addtofid=" + fid)``); otherwise exactly as given. ``asset.get_upload_url`` is asked for
    the gallery too (``fid``, documented, sent by no Cincopa client): whether the live API
    honours it is unverified, and a URL that already names a gallery is left alone. Only the
    query is read (a fragment is never sent), and every placeholder in it is set: a server
    reading a repeated parameter reads its last (PHP), a browser its first."""
    address, hash_mark, fragment = upload_url.partition("#")
    named = f"addtofid={quote(gallery, safe='')}"
    return _NO_GALLERY.sub(lambda _: named, address) + hash_mark + fragment


def check_gallery(gallery: object) -> None:
    if gallery is not None and (not isinstance(gallery, str) or not gallery.strip()):
        raise CincopaValidationError(
            [f"gallery: expected a non-empty fid str, got {gallery!r:.40}"],
            operation=UPLOAD_OPERATION,
        )


def _load_state(state_file: Path | None, source: _Source, chunk_size: int) -> UploadState | None:
    if state_file is None or not state_file.exists():
        return None
    try:
        state = UploadState.from_json(state_file.read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError):
        return None
    fingerprint = source.fingerprint()
    if (
        server_url_problem(state.upload_url, secret=True) is not None  # edited, or corrupt
        or state.filename != source.filename
        or state.size != source.size
        or state.chunk_size != chunk_size
        or (state.source, state.source_mtime_ns) != fingerprint
    ):
        return None
    return state


async def upload_file(
    client: AsyncCincopa,
    source: UploadSource,
    *,
    filename: str | None = None,
    size: int | None = None,
    gallery: str | None = None,
    caption: str | None = None,
    description: str | None = None,
    reference_id: str | None = None,
    tags: Sequence[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    chunk_concurrency: int = 1,
    on_progress: ProgressCallback | None = None,
    state_file: str | os.PathLike[str] | None = None,
    read_back: bool = True,
    expected_fingerprint: tuple[int, int] | None = None,
) -> Asset:
    """Upload one file and return its asset (see the module docstring).

    Every argument is checked before anything is sent (``CincopaValidationError``), the
    metadata included: it is applied only once the file is stored.

    Args:
        source: a file path, ``bytes`` (needs ``filename``) or an async byte stream (needs
            ``filename`` and ``size``, exactly its length).
        size: the source's length in bytes; for a path or bytes, optional, but when given it
            must be their length.
        gallery: fid of the gallery the asset is added to.
        caption, description, reference_id, tags: metadata applied after the upload.
        chunk_size: a file larger than this goes in chunks of this many bytes.
        chunk_concurrency: chunks in flight at once. 1 (the default) sends them in order, each
            after the host acknowledged the one before, as every Cincopa uploader does. More is
            an explicit opt-in that relies only on Cincopa's docs saying chunks may arrive in
            any order (no Cincopa client sends them so); the last chunk still goes alone, after
            all the others. Stream sources always go one at a time.
        on_progress: called with ``UploadProgress`` after each acknowledged chunk.
        state_file: where to keep what a resume needs (path sources only).
        read_back: read the stored asset back (``asset.list``) for the full record. Without
            it, one request less: the ``Asset`` holds what the SDK knows (rid, filename,
            filesize and the metadata it applied).
        expected_fingerprint: the file's ``(size, st_mtime_ns)`` when its content was read
            before (to derive a reference from it): an upload of a file changed since fails.

    A path that changes while it is being uploaded (its size or modification time) fails with
    ``UploadSourceError``, and the copy stored from it, if any, is deleted rather than tagged.
    Uploads of look-alike files (the same name and size) in one client run one at a time, so
    that a look-up after a lost reply cannot take another's fresh asset for its own.

    Raises:
        QuotaExceededError: the account is out of assets quota.
        APIResponseError: the upload host reported an error.
        ResponseDecodeError: the upload host's reply is not one it is known to send.
        UploadOutcomeUnknownError: the completing POST may have stored the file and a
            look-alike could be neither proven nor ruled out; it was not sent again.
        UploadSourceError: the file could not be read, or changed while uploading; or a
            stream turned out not to be ``size`` bytes of ``bytes`` in a chunk after its first
            (the file is not completed: nothing is stored).
        CincopaValidationError: bad arguments -- a stream's first chunk (all of it, when it
            is one POST) included: yielding something other than bytes, or, for a one-POST
            upload, ending before ``size`` or going on past it. Raised before anything is sent.
    """
    check_upload_options(chunk_size, chunk_concurrency, on_progress, state_file)
    check_metadata(caption=caption, description=description, reference_id=reference_id, tags=tags)
    check_gallery(gallery)
    opened = await _open_source(source, filename, size)
    if state_file is not None and opened.path is None:
        await opened.aclose()
        raise CincopaValidationError(
            ["state_file: resuming needs a file path source (bytes and streams cannot resume)"],
            operation=UPLOAD_OPERATION,
        )
    state_path = Path(state_file) if state_file is not None else None
    try:
        await opened.prefetch(min(chunk_size, opened.size))
        if (
            expected_fingerprint is not None
            and opened.path is not None
            and (opened.size, opened.mtime_ns) != expected_fingerprint
        ):
            raise UploadSourceError(
                f"{UPLOAD_OPERATION}: {str(opened.path)!r} changed after it was read",
                operation=UPLOAD_OPERATION,
            )
        key = ("file", opened.filename, opened.size)
        async with client._shared.locks.hold(key):
            rid = await _store(
                client, opened, gallery, chunk_size, chunk_concurrency, on_progress, state_path
            )
            if reference_id is None:  # the caller's asset: no look-up takes it for an orphan
                client._shared.handed_out.add(rid)
    finally:
        await opened.aclose()
    return await finish_asset(
        client,
        rid,
        caption=caption,
        description=description,
        reference_id=reference_id,
        tags=tags,
        fallback={"rid": rid, "filename": opened.filename, "filesize": opened.size},
        read_back=read_back,
    )


async def finish_asset(
    client: AsyncCincopa,
    rid: str,
    *,
    caption: str | None = None,
    description: str | None = None,
    reference_id: str | None = None,
    tags: Sequence[str] | None = None,
    fallback: Asset | Mapping[str, object],
    read_back: bool = True,
) -> Asset:
    """Apply the metadata (if any) and read the asset back (``fallback`` if it is not listed).

    Without ``read_back``, no ``asset.list`` is sent: the result is ``fallback`` with the
    metadata just applied (what the SDK knows; ``uploaded``, ``versions`` ... stay as they were).
    """
    if any(value is not None for value in (caption, description, reference_id, tags)):
        await client.asset.set_meta(
            rid=rid, caption=caption, description=description, reference_id=reference_id, tags=tags
        )
    if read_back:
        page = await client.asset.list(rid=rid)
        found = next((asset for asset in page.items if asset.rid == rid), None)
        if found is not None:
            return found
    import attrs

    from ._models import Asset

    known = fallback if isinstance(fallback, Asset) else Asset(**fallback)  # type: ignore[arg-type]  # the keys are Asset fields
    return attrs.evolve(
        known,
        caption=known.caption if caption is None else caption,
        description=known.description if description is None else description,
        reference_id=known.reference_id if reference_id is None else reference_id,
        tags=known.tags if tags is None else _tag_tuple(tags),
    )


def _tag_tuple(tags: Sequence[str]) -> tuple[str, ...]:
    """Tags as the model holds them (a plain str is sent as it is: a comma list)."""
    return tuple(tags.split(",")) if isinstance(tags, str) else tuple(tags)


async def import_url(
    client: AsyncCincopa,
    url: str,
    *,
    gallery: str | None = None,
    caption: str | None = None,
    description: str | None = None,
    reference_id: str | None = None,
    tags: Sequence[str] | None = None,
    timeout: float = 600.0,  # noqa: ASYNC109 - the job's deadline, which also aborts it
    poll_interval: float = 1.0,
    max_poll_interval: float = 10.0,
    on_job: Callable[[str], object] | None = None,
    follow_job: str | None = None,
) -> Asset:
    """Import a file from a URL (``asset.upload_from_url``) and wait until it is an asset.

    Polls ``asset.upload_from_url_get_status`` with a growing interval and reads each status
    (only ``inprogress`` is documented; the other words are assumed, see ``_IMPORT_*``):

    * an in-progress word (``inprogress``, ``pending``, ``queued`` ...): poll again;
    * a failure word (``failed``, ``error``, ``aborted``, ``canceled``): ``APIResponseError``,
      even with a ``resid`` (an import attaching to an asset may name it from the start);
    * any other status with a non-empty ``resid`` is done, whatever the word (``done``, or the
      ``ready`` a third-party schema guesses): the asset is ``resid``;
    * any other status without a ``resid``: ``ResponseValidationError`` naming the status. The
      job is left running, not aborted -- it may have succeeded -- and the error message
      carries its ``status_id`` to poll it further.

    A poll that fails for a while (the connection, 5xx, 429, a garbled reply) is polled again;
    only a timeout (``timeout`` seconds still in progress: ``APITimeoutError``) or a
    cancellation aborts the server's job (``upload_from_url_abort``) -- unless it turns out to
    have finished meanwhile, when its asset is returned. A job that cannot be followed (a poll
    refused for good) is left running and raised about.

    ``on_job`` is called with the job's ``status_id`` once it is known (to note it durably:
    an awaitable it returns is awaited before the job is followed, so that a process killed
    while it polls has the job on record);
    ``follow_job`` is the ``status_id`` of an earlier call's job for the same import, followed
    first: done, its asset is returned; failed or unknown, a new import starts.

    **A lost reply.** When the reply to ``asset.upload_from_url`` is lost after the request may
    have reached Cincopa (a dropped connection, a timeout, a 5xx, a garbled reply), an import
    may be running, and starting another could import the file twice. The SDK waits for that
    import's asset instead: for up to ``timeout`` seconds of polling it looks (``asset.list``)
    for an asset named like the URL's last path segment (assumed: the name Cincopa gives an
    imported file), without a reference_id, uploaded since the call began, and not claimed by
    another import of the same name in this client, and adopts it only if it provably holds the
    URL's bytes: the SDK downloads the URL itself (no token sent) and compares SHA-256 digests
    with the asset's ``original``. If no such asset appears -- or the SDK cannot fetch the URL
    to prove it -- ``ImportOutcomeUnknownError``; nothing is started again. The client then
    remembers the import as unsettled: a later call for the same reference (or URL) in this
    client first follows that job, or waits for its asset, before starting a new one.
    """
    check_metadata(caption=caption, description=description, reference_id=reference_id, tags=tags)
    check_gallery(gallery)
    check_import_options(
        timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
    )
    problems = [problem] if (problem := check_url(url)) is not None else []
    if on_job is not None and not callable(on_job):  # called once the job started: too late
        problems.append("on_job: must be callable")
    given_job: object = follow_job  # typed as a str, checked as whatever was passed
    if given_job is not None and (not isinstance(given_job, str) or not given_job.strip()):
        problems.append(f"follow_job: expected a non-empty status_id str, got {follow_job!r:.40}")
    if problems:
        raise CincopaValidationError(problems, operation="asset.upload_from_url")
    polling = _Polling(timeout, poll_interval, max_poll_interval)
    imports = client._shared.imports
    settle = reference_id or url
    name = import_filename(url)
    with imports.track(name) as claim:
        rid: str | None = None
        earlier = follow_job or imports.unsettled.get(settle)
        if earlier is not None or settle in imports.unsettled:
            rid = await _settle_earlier(client, url, name, claim, earlier, polling)
            imports.unsettled.pop(settle, None)
        if rid is None:
            rid = await _import_once(client, url, gallery, name, claim, polling, settle, on_job)
        claim.resolve(rid)
        return await finish_asset(
            client,
            rid,
            caption=caption,
            description=description,
            reference_id=reference_id,
            tags=tags,
            fallback={"rid": rid},
        )


def check_import_options(**seconds: object) -> None:
    """``CincopaValidationError`` unless each of ``seconds`` is a number of seconds > 0."""
    problems = [
        f"{name}: must be a number of seconds > 0"
        for name, value in seconds.items()
        if not is_seconds(value)
    ]
    if problems:
        raise CincopaValidationError(problems, operation="asset.upload_from_url")


def check_url(url: object) -> str | None:
    """The problem with a URL to import, or None: an http(s) URL with a host, UTF-8 text
    without whitespace or control characters."""
    from urllib.parse import urlsplit

    if not isinstance(url, str):
        return f"url: expected a str, got {type(url).__name__}"
    if not url.strip():
        return "url: must not be empty"
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        return "url: is not valid UTF-8 text (it contains a lone surrogate)"
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return "url: contains whitespace or a control character (percent-encode it)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsed on access: "http://host:abc/" fails only here
        httpx.URL(url)  # what the SDK itself requests it with (a proof after a lost reply)
    except (ValueError, httpx.InvalidURL) as exc:
        return f"url: cannot be parsed ({redact(str(exc))[:200]})"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "url: must be an http(s) URL with a host"
    return None


class _Polling(NamedTuple):
    timeout: float
    interval: float
    max_interval: float


async def _import_once(
    client: AsyncCincopa,
    url: str,
    gallery: str | None,
    name: str,
    claim: ImportClaim,
    polling: _Polling,
    settle: str,
    on_job: Callable[[str], object] | None,
) -> str:
    """Start the import and follow its job (or, its reply lost, look for its asset)."""
    unsettled = client._shared.imports.unsettled
    since = datetime.now(UTC) - CLOCK_SKEW
    lost: CincopaError | None = None
    try:
        job = await client.asset.upload_from_url(input=url, fid=gallery)
    except CincopaError as error:
        if not may_have_been_applied(error):
            raise
        lost = error
    except BaseException:  # cancelled while the request was out: it may have started a job
        unsettled[settle] = None
        raise
    if lost is not None:
        claim.reconciling = True
        found = await _find_imported(
            client, url, name, since, claim, polling.timeout, polling.interval
        )
        if found is None:
            unsettled[settle] = None
            raise ImportOutcomeUnknownError(
                f"asset.upload_from_url: the reply was lost ({type(lost).__name__}) and no"
                f" asset named {name!r} appeared within {polling.timeout:g} s of polling; the"
                " import was not started again",
                operation="asset.upload_from_url",
                url=lost.url,
            ) from lost
        return found
    if on_job is not None:
        noted = on_job(job.status_id)
        if inspect.isawaitable(noted):  # noting it durably: done before the job is followed
            with anyio.CancelScope(shield=True):  # a cancellation then aborts the job, below
                await noted
    try:
        return await _await_import(client, job.status_id, polling, settle)
    except _Unsettled as unknown:
        unsettled[settle] = job.status_id
        raise unknown.error from None


async def _settle_earlier(
    client: AsyncCincopa,
    url: str,
    name: str,
    claim: ImportClaim,
    status_id: str | None,
    polling: _Polling,
) -> str | None:
    """An earlier import of the same item whose outcome stayed unknown: the rid of its asset,
    or None when it provably made none (failed, aborted, unknown to the server, or -- its job
    unknown -- no asset of it appeared within the wait)."""
    if status_id is None:
        claim.reconciling = True
        since = _EPOCH  # its start is unknown: any untagged asset of its bytes is its own
        return await _find_imported(
            client, url, name, since, claim, polling.timeout, polling.interval
        )
    try:
        return await _await_import(client, status_id, polling)
    except _Unsettled as unknown:
        raise unknown.error from None
    except APIResponseError:  # it failed, was aborted, or the server does not know it
        return None


def import_filename(url: str) -> str:
    """The name an imported file gets: the URL path's last segment (inferred)."""
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2]) or "download"


async def _find_imported(
    client: AsyncCincopa,
    url: str,
    name: str,
    since: datetime,
    claim: ImportClaim,
    budget: float,
    interval: float,
) -> str | None:
    """The rid of the asset of a lost-reply import (see ``import_url``), or None."""
    source = _UrlContent(client, url)
    waited = 0.0
    while True:
        try:
            found = await _look_for_import(client, name, since, claim, source)
        except CincopaError as error:  # a look-up that failed is no answer: look again
            if not is_transient(error):
                raise
            found = None
        if found is not None:
            return found.rid
        if waited >= budget:
            return None
        await client._wait_unless_closed(interval)
        waited += interval
        interval = min(interval * 1.5, 10.0)


async def _look_for_import(
    client: AsyncCincopa, name: str, since: datetime, claim: ImportClaim, source: _UrlContent
) -> Asset | None:
    found, _ = await untagged_named(client, name)
    taken = claim.claimed_by_others()
    candidates = [
        asset
        for asset in found
        if asset.rid not in taken and (asset.uploaded is None or asset.uploaded >= since)
    ]
    if not candidates or claim.others_unresolved():
        return None
    return await source.holder(candidates)


class _UrlContent:
    """What an import's URL serves, downloaded by the SDK (no token) when first needed, to
    prove which asset holds it."""

    __slots__ = ("_client", "_digest", "_longer_than", "url")

    def __init__(self, client: AsyncCincopa, url: str) -> None:
        self._client = client
        self.url = url
        self._digest: tuple[bytes, int] | None = None
        self._longer_than = -1  # a download stopped past this size: no candidate's so far

    async def holder(self, candidates: Sequence[Asset]) -> Asset | None:
        """The newest of ``candidates`` whose ``original`` has exactly the URL's bytes.

        The URL is downloaded no further than the largest size a candidate states (its
        ``filesize``, or its original's); past it, none can hold the bytes.
        """
        if not candidates:
            return None
        sizes = [asset.filesize or _original_size(asset) for asset in candidates]
        largest = None if None in sizes else max(size or 0 for size in sizes)
        if self._digest is None:  # a failed download is tried again on the next call
            if largest is not None and largest <= self._longer_than:
                return None  # known longer than any of these
            found = None
            with contextlib.suppress(CincopaError):
                found = await download_digest(
                    self._client,
                    self.url,
                    operation="asset.upload_from_url",
                    field="url",
                    max_size=largest,
                )
            if found is None:
                return None
            if found[0] == OTHER_BYTES:
                self._longer_than = max(self._longer_than, largest or MAX_PROOF_BYTES)
                return None
            self._digest = found
        digest, size = self._digest
        newest = sorted(candidates, key=lambda a: a.uploaded or _EPOCH, reverse=True)
        for asset in newest[:MAX_PROOFS]:
            if asset.filesize in (None, size) and (
                await _original_digest(self._client, asset, size) == digest
            ):
                return asset
        return None


def _original_size(asset: Asset) -> int | None:
    version = asset.versions.get("original")
    return None if version is None else version.filesize


async def find_imported_orphan(client: AsyncCincopa, url: str) -> Asset | None:
    """An untagged asset that provably holds what ``url`` serves: what an earlier import of it
    left when tagging it failed (or its job outlived its caller).

    Candidates carry the URL's file name, no reference_id, and are not claimed by an import of
    this client in flight; only when there is one is ``url`` itself downloaded (by the SDK, with
    no token) and hashed, and a candidate adopted only if its ``original`` has those bytes.
    Imports of the same name that this client has in flight are waited for first (one may be
    storing those very bytes from a mirror of the URL, an asset that is its own); a candidate
    stored after one that began meanwhile is not adopted either, and the look repeated.
    """
    name = import_filename(url)
    imports = client._shared.imports
    while True:
        await imports.settled(name)
        candidates, _ = await untagged_named(client, name)
        taken = imports.claimed(name)
        found = await _UrlContent(client, url).holder([a for a in candidates if a.rid not in taken])
        busy = imports.busy_since(name)
        if (
            found is None
            or busy is None
            or found.uploaded is None
            or found.uploaded < busy - CLOCK_SKEW
        ):
            return found


async def _await_import(
    client: AsyncCincopa, status_id: str, polling: _Polling, settle: str | None = None
) -> str:
    """Poll an import job until it is done: the rid of its asset (see ``_poll_import``).

    Leaving while the job is in progress aborts it; if the abort fails, the job may run on,
    and ``settle`` (the import's reference or URL) is noted as unsettled with the job, for a
    later import of it in this client to follow. On a timeout the abort's answer is checked:
    a job that finished meanwhile (its abort refused, its status done) is not lost -- its asset
    is returned, not left behind untagged for a rerun to import again. A job that ended in
    failure, or in a status that cannot be classified, is not aborted: it is not in progress
    (and the latter may have succeeded). One that cannot be followed is ``_Unsettled``.
    """
    from ._errors import APITimeoutError

    try:
        with anyio.fail_after(polling.timeout):
            return await _poll_import(client, status_id, polling.interval, polling.max_interval)
    except _ImportEnded as ended:
        raise ended.error from None
    except TimeoutError:
        timed_out = APITimeoutError(
            f"asset.upload_from_url: the import did not finish within {polling.timeout} s",
            operation="asset.upload_from_url",
            url=None,
        )
    except BaseException:  # cancelled: abort, without waiting for anything else
        aborted = False
        # a client closed meanwhile sends nothing: its error must not replace the cancellation
        with (
            anyio.move_on_after(10, shield=True),
            contextlib.suppress(CincopaError, ClosedClientError),
        ):
            await client.asset.upload_from_url_abort(status_id=status_id)
            aborted = True
        if not aborted and settle is not None:
            client._shared.imports.unsettled[settle] = status_id
        raise
    with anyio.move_on_after(30, shield=True):
        aborted, rid = await _abort_or_adopt(client, status_id)
        if rid is not None:
            return rid
        if aborted:
            raise timed_out
    raise _Unsettled(timed_out)  # neither aborted nor done: it may finish yet


class _ImportEnded(Exception):
    """The job is no longer in progress, but did not give an asset: nothing to abort."""

    def __init__(self, error: CincopaError) -> None:
        self.error = error


class _Unsettled(Exception):
    """The job may still be running, and cannot be followed or stopped now."""

    def __init__(self, error: CincopaError) -> None:
        self.error = error


def _import_outcome(status: ImportStatus, status_id: str) -> str | None:
    """What a job's status says (only ``inprogress`` is documented; the rest is assumed, see
    ``_IMPORT_*``): None while in progress (an in-progress word: ``inprogress``, ``pending``,
    ``queued`` ...); the rid once done -- any other status with a non-empty ``resid``, whatever
    the word (``done``, or the ``ready`` a third-party schema guesses); ``_ImportEnded`` with
    ``APIResponseError`` for a failure word (``failed``, ``error``, ``aborted``, ``canceled``),
    even with a ``resid`` (an import attaching to an asset may name it from the start), and with
    ``ResponseValidationError`` naming the status for any other status without a ``resid``.
    """
    word = status.status.strip().lower()
    if word in _IMPORT_IN_PROGRESS:
        return None
    if word in _IMPORT_FAILED:  # the server's words: scrubbed before they are cut short
        detail = safe_text(status.debug or status.more or "no detail", _STATUS_TEXT_LIMIT)
        raise _ImportEnded(
            APIResponseError(
                f"import {word}: {detail}",
                operation="asset.upload_from_url",
                url=None,
                payload=scrub_json(status.raw),
            )
        )
    if status.resid:
        return status.resid
    shown = safe_text(repr(status.status), _STATUS_TEXT_LIMIT)
    problem = f"status {shown} is neither in progress nor a failure, and no resid names an asset"
    raise _ImportEnded(
        ResponseValidationError(
            f"asset.upload_from_url_get_status: {problem}; the import"
            f" (status_id={safe_text(status_id, _STATUS_TEXT_LIMIT)}) was left running, not"
            " aborted",
            operation="asset.upload_from_url_get_status",
            url=None,
            errors=[f"{problem} @ $.status"],
        )
    )


async def _poll_import(
    client: AsyncCincopa, status_id: str, interval: float, max_poll_interval: float
) -> str:
    """Poll until the job is done; a poll that fails for a while is polled again (a job is not
    given up on for a dropped reply), one refused for good is ``_Unsettled``."""
    while True:
        try:
            status = await client.asset.upload_from_url_get_status(status_id=status_id)
        except CincopaError as error:
            if not is_transient(error):
                raise _Unsettled(error) from None
        else:
            rid = _import_outcome(status, status_id)
            if rid is not None:
                return rid
        await client._wait_unless_closed(interval)
        interval = min(interval * 1.5, max_poll_interval)


async def _abort_or_adopt(client: AsyncCincopa, status_id: str) -> tuple[bool, str | None]:
    """Abort the job: ``(True, None)``; if it cannot be aborted because it is done,
    ``(False, the rid of its asset)``; if neither can be told, ``(False, None)``."""
    try:
        await client.asset.upload_from_url_abort(status_id=status_id)
        return True, None  # aborted: no asset will appear
    except CincopaError:
        pass  # refused (the job ended?) or unreachable: look at its status
    try:
        status = await client.asset.upload_from_url_get_status(status_id=status_id)
        return False, _import_outcome(status, status_id)
    except _ImportEnded:
        return True, None  # it ended without an asset
    except CincopaError:
        return False, None
