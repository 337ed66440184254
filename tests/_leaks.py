"""Hunting secrets in everything a user can reach: errors, their chains, tracebacks, log records.

``texts_of(error)`` walks the whole object graph hanging off an exception -- its ``__cause__``
and ``__context__`` chains, ``args``, ``__notes__``, attributes, and whatever those hold
(containers, plain objects, an ``httpx.Request`` kept on an httpx error...) -- and returns the
``str``/``repr`` of each, plus the exception formatted as a traceback and as a
``logger.exception`` record would print it. Frames (and so their local variables) are left out:
every frame of a call holds the client, which holds its token.
"""

from __future__ import annotations

import html
import json
import logging
import re
import traceback
import types
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import yarl

from cincopa_async import AsyncCincopa, CincopaError

from ._raw_server import RawRequest, http_reply, raw_server

__all__ = ["all_logs", "assert_no_secret", "error_of_reply", "texts_of"]

_OPAQUE = (
    types.FrameType,
    types.TracebackType,
    types.ModuleType,
    types.CodeType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    type,
)
_ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None))


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def all_logs(
    names: tuple[str, ...] = ("httpx", "httpcore", "cincopa_async"),
) -> Iterator[_Records]:
    """Every record of the named loggers (``""`` is the root), at DEBUG, formatted."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def _children(value: Any) -> Iterable[Any]:
    if isinstance(value, BaseException):
        yield from value.args
        yield value.__cause__
        yield value.__context__
        yield from getattr(value, "__notes__", ())
    if isinstance(value, dict):
        yield from value.keys()
        yield from value.values()
    elif isinstance(value, list | tuple | set | frozenset):
        yield from value
    if hasattr(value, "__dict__") and not isinstance(value, _OPAQUE):
        yield from vars(value).values()
    for klass in type(value).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if isinstance(slot, str) and hasattr(value, slot):
                yield getattr(value, slot)


def texts_of(error: BaseException, *, depth: int = 12) -> list[str]:
    """The text of everything reachable from ``error`` (see the module docstring)."""
    out = ["".join(traceback.format_exception(error))]
    record = logging.LogRecord("user", logging.ERROR, __file__, 0, "failed", None, None)
    record.exc_info = (type(error), error, error.__traceback__)
    out.append(logging.Formatter().format(record))
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(error, 0)]
    while stack:
        value, level = stack.pop()
        if value is None or id(value) in seen or level > depth or isinstance(value, _OPAQUE):
            continue
        seen.add(id(value))
        for render in (repr, str):
            try:
                out.append(render(value))
            except Exception as exc:  # a broken __repr__ is a finding of its own
                out.append(f"<{render.__name__} failed: {exc!r}>")
        if not isinstance(value, _ATOMS):
            stack.extend((child, level + 1) for child in _children(value))
    return out


def secret_forms(secrets: Iterable[str]) -> set[str]:
    """Each secret in the forms it can take in a URL, JSON, HTML, a Python repr or a log line
    (written here again, not taken from the SDK, so that a gap in the SDK's decoding is found
    rather than shared): plain; percent-encoded by ``quote`` (upper- and lower-case hex),
    ``quote_plus``, httpx and yarl (aiohttp); JSON-escaped, with ``\\/`` too; HTML-escaped, as
    character references; ``repr`` of the text and of its UTF-8 bytes."""
    forms: set[str] = set()
    for secret in secrets:
        quoted = quote(secret, safe="")
        forms.update(
            (
                secret,
                quoted,
                re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quoted),
                quote(secret),
                quote_plus(secret),
                json.dumps(secret)[1:-1],
                json.dumps(secret)[1:-1].replace("/", "\\/"),
                json.dumps(secret, ensure_ascii=False)[1:-1].replace("/", "\\/"),
                html.escape(secret),
                "".join(f"&#x{ord(char):X};" for char in secret),
                "".join(f"&#{ord(char)};" for char in secret),
                repr(secret)[1:-1],
                repr(secret.encode())[2:-1],
                str(httpx.URL("http://x/", params={"t": secret}).query, "ascii")[2:],
                yarl.URL.build(path="/", query={"t": secret}).raw_query_string[2:],
                yarl.URL("http://x/?t=" + secret).raw_query_string[2:],
            )
        )
    return {form for form in forms if form}


def assert_no_secret(texts: Iterable[str], secrets: Iterable[str]) -> None:
    """No text contains any secret, in any of the forms it can take in a URL or JSON."""
    joined = "\n".join(texts)
    for form in secret_forms(secrets):
        assert form not in joined, f"secret {form[:6]}... found in: {_around(joined, form)}"


def _around(text: str, needle: str) -> str:
    at = text.index(needle)
    return text[max(0, at - 120) : at + len(needle) + 40]


async def error_of_reply(
    reply: Any, status: str, token: str, call: Callable[[AsyncCincopa], Awaitable[object]]
) -> CincopaError:
    """The error ``call`` raises on a client with no retries (token ``token``) when a raw
    server answers every request with ``reply`` as JSON and the status line's ``status``."""

    def script(request: RawRequest, number: int) -> bytes:
        return http_reply(json.dumps(reply).encode(), status=status)

    with raw_server(script) as server:
        async with AsyncCincopa(token, base_url=server.base_url, max_retries=0) as cp:
            with pytest.raises(CincopaError) as caught:
                await call(cp)
    return caught.value
