"""Keeping secrets out of everything the SDK prints, logs or raises.

The Cincopa API takes its token in the query string (``api_token=...``), so every request URL is a
secret. Two defences work together:

* pattern redaction (``redact``): the value of every secret query parameter (``api_token``,
  ``simple_user_add``, ``security_key``, and the ``hash`` that makes an upload URL
  self-authorising) is replaced by ``REDACTED`` in any text, whatever its value; this covers the
  URLs that httpx and httpcore put in their log records;
* value scrubbing (``scrub``): the secret values the SDK knows -- ``KNOWN``, the process's
  registry: the token of every client, the values of secret arguments it sent, the upload
  ``hash``es, temporary and created tokens it handed out -- are replaced wherever they appear,
  **in any encoding a server or a library may have put them in**. The text is decoded
  (``canonical_form``, up to ``_LEVELS`` times), each decoded character remembering the span of
  the text it came from, and a secret found at any level has that span replaced. Decoded:
  percent-encoding of any subset of the characters (which covers ``urlencode``'s, httpx's and
  yarl's/aiohttp's wire forms alike), twice-encoded (``%25``) too; JSON and JavaScript escapes
  (``\\uXXXX``, surrogate pairs, ``\\/``, ``\\"``); Python's ``repr`` of a ``str`` or of its
  UTF-8 ``bytes`` (``\\xd0\\xbf``, as httpcore logs header values); HTML character references
  (``&amp;``, ``&#x2F;``, ``&#47;``, any named one); ``+`` for a space; letter case; and any
  mixture of these (``&amp;#x2F;``). Not covered: what is no escape of single characters
  (base64, a hash of the secret, a secret cut in pieces).

Everything that keeps text a server sent scrubs it *before* cutting it short
(``scrub_then_truncate``): a secret cut in two by a truncation would no longer be found whole.

Every ``CincopaError`` scrubs its message and every attribute it is given (``_errors``); reply
models scrub their ``repr()``; and ``install_log_redaction()`` puts a filter on the loggers a
request goes through (the SDK's, httpx's, httpcore's, aiohttp's, asyncio's ...), which scrubs
every record's message, arguments, traceback, stack text and ``extra=`` attributes.
"""

from __future__ import annotations

import codecs
import functools
import logging
import re
import reprlib
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import httpx

__all__ = [
    "KNOWN",
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "SECRET_QUERY_PARAMS",
    "KnownSecrets",
    "canonical_form",
    "credential_values",
    "install_log_redaction",
    "redact",
    "redact_url",
    "safe_text",
    "scrub",
    "scrub_json",
    "scrub_then_truncate",
    "scrub_value",
    "secret_forms",
    "secret_parts",
    "url_secrets",
]

REDACTED = "REDACTED"
SECRET_QUERY_PARAMS: tuple[str, ...] = ("api_token", "simple_user_add", "security_key", "hash")

# The name may follow a separator or its percent-encoded form (a URL quoted inside a URL). The
# value runs to the next plain separator: a "%26" inside it may be an encoded "&" of the secret
# itself (a password), so it is redacted too, at the cost of the rest of a quoted URL. An empty
# value hides nothing and stays empty ("pass api_token= or set ..." is advice, not a secret).
_SECRET_PARAM_RE = re.compile(
    r"(?i)((?:^|[?&;\s\"'(,]|%3F|%26)(?:"
    + "|".join(SECRET_QUERY_PARAMS)
    + r")(?:=|%3D))[^&\s\"'#)<>]+"
)

#: Known values shorter than this are not scrubbed from text they were not given with: a short
#: value is no credential and would garble every message.
MIN_SECRET_LENGTH = 6

#: How far past a truncation point ``scrub_then_truncate`` looks, in characters: more than the
#: longest encoded form of any plausible secret (a 256-character secret, every character
#: percent-encoded twice as 4 UTF-8 bytes, is 5,120), so that a secret across the cut is whole.
TRUNCATION_MARGIN = 16 * 1024

#: How many times a text is decoded (``&amp;#x2F;`` needs two; ``%252F`` too).
_LEVELS = 3

#: Texts longer than this are decoded and searched in windows this long (overlapping by
#: ``TRUNCATION_MARGIN``), so that the index of a huge reply's string stays bounded.
_WINDOW = 1024 * 1024

#: Containers nested deeper than this in a payload an error keeps are replaced by ``_TOO_DEEP``:
#: a hostile reply nested 900 levels deep would make ``repr()`` of the error raise.
MAX_KEPT_DEPTH = 64
_TOO_DEEP = f"<nested deeper than {MAX_KEPT_DEPTH} levels: not kept>"

#: Strings longer than this in a payload an error keeps are cut (scrubbed first).
MAX_KEPT_STRING = 64 * 1024


# The user information of a URL (``https://user:password@host``): a credential wherever it is
# (a base URL, a proxy from the environment quoted by a transport's error).
_USERINFO_RE = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/?#@\s\"'<>]+@")


# Replacements are functions, not templates (``r"\1..."``): for a template, ``re``'s C code
# imports ``re`` by name, which fails late in the interpreter's shutdown, when log records
# (asyncio's "Task was destroyed but it is pending!") still pass through the filter below.


def _redacted_userinfo(match: re.Match[str]) -> str:
    return f"{match[1]}{REDACTED}@"


def _redacted_value(match: re.Match[str]) -> str:
    return f"{match[1]}{REDACTED}"


def redact(text: str) -> str:
    """Replace the value of every secret query parameter in ``text``, and the user information
    of every URL, by ``REDACTED``."""
    if "@" in text:
        text = _USERINFO_RE.sub(_redacted_userinfo, text)
    return _SECRET_PARAM_RE.sub(_redacted_value, text)


def redact_url(url: httpx.URL | str) -> str:
    """The URL as text, with secret query parameters redacted."""
    return redact(str(url))


# -- canonical form -------------------------------------------------------------------------------

# One escape of one or more characters. Runs of byte escapes (%XX, \xHH) are taken whole, to be
# decoded as UTF-8 (a byte that does not start a valid sequence stands for its code point).
_ESCAPE = re.compile(
    r"(?P<pct>(?:%[0-9A-Fa-f]{2})+)"
    r"|%u(?P<pu1>[dD][89abAB][0-9A-Fa-f]{2})%u(?P<pu2>[dD][c-fC-F][0-9A-Fa-f]{2})"
    r"|%u(?P<pu>[0-9A-Fa-f]{4})"
    r"|(?P<bx>(?:\\x[0-9A-Fa-f]{2})+)"
    r"|\\u(?P<u1>[dD][89abAB][0-9A-Fa-f]{2})\\u(?P<u2>[dD][c-fC-F][0-9A-Fa-f]{2})"
    r"|\\u(?P<u>[0-9A-Fa-f]{4})"
    r"|\\u\{(?P<ub>[0-9A-Fa-f]{1,6})\}"
    r"|\\U(?P<U>[0-9A-Fa-f]{8})"
    r"|\\(?P<c>[\\/\"'bfnrtv0])"
    r"|&\#(?P<dec>[0-9]{1,10});?"
    r"|&\#[xX](?P<hex>[0-9A-Fa-f]{1,8});?"
    # a named reference ends in ";", but for the few that browsers take without it
    r"|&(?P<name>[A-Za-z][A-Za-z0-9]{1,31};|amp|lt|gt|quot)"
)
_SHORT_ESCAPES = {
    "\\": "\\",
    "/": "/",
    '"': '"',
    "'": "'",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "0": "\0",
}
_HAS_ESCAPE = re.compile(r"[%\\&]")


class _Decoded:
    """One level of decoding: the text, and for each of its characters the span of the input it
    came from (``starts[i]`` to ``ends[i]``, end exclusive)."""

    __slots__ = ("ends", "starts", "text")

    def __init__(self, text: str, starts: array[int], ends: array[int]) -> None:
        self.text = text
        self.starts = starts
        self.ends = ends


def _utf8_run(data: bytes, start: int, width: int) -> Iterator[tuple[str, int, int]]:
    """The characters of a run of byte escapes ``width`` characters each, from ``start``."""
    if data.isascii():
        for at, byte in enumerate(data):
            yield chr(byte), start + at * width, start + (at + 1) * width
        return
    at = 0
    while at < len(data):
        lead = data[at]
        size = 1 if lead < 0xC2 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        piece = data[at : at + size]
        try:
            char = piece.decode("utf-8") if size > 1 else ""
        except UnicodeDecodeError:
            char = ""
        if len(char) != 1:  # not a whole UTF-8 sequence: the byte stands for its code point
            char, size = chr(lead), 1
        yield char, start + at * width, start + (at + size) * width
        at += size


def _escape_value(match: re.Match[str]) -> Iterator[tuple[str, int, int]]:
    """What one escape stands for: (text, start, end) pieces of the input; plain text (an
    ampersand that is no entity) stands for itself."""
    start, end = match.span()
    kind = match.lastgroup
    if kind == "pct":
        yield from _utf8_run(bytes.fromhex(match.group(kind).replace("%", "")), start, 3)
        return
    if kind == "bx":
        yield from _utf8_run(bytes.fromhex(match.group(kind).replace("\\x", "")), start, 4)
        return
    if kind in ("pu2", "u2"):  # a surrogate pair (the last group of its alternative)
        high = int(match.group("pu1" if kind == "pu2" else "u1"), 16)
        low = int(match.group(kind), 16)
        yield chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), start, end
        return
    if kind in ("pu", "u", "ub", "U", "hex", "dec"):
        code = int(match.group(kind), 10 if kind == "dec" else 16)
        if code <= 0x10FFFF:
            yield chr(code), start, end
            return
    elif kind == "c":
        yield _SHORT_ESCAPES[match.group(kind)], start, end
        return
    elif kind == "name":
        import html.entities  # only text with an entity-like run needs it (~3 ms to import)

        name = match.group(kind)
        value = html.entities.html5.get(name)
        if value is not None:
            yield value, start, end
            return
    for at in range(start, end):  # text that only looked like an escape stands for itself
        yield match.string[at], at, at + 1


def _decode_once(text: str) -> _Decoded | None:
    """``text`` with every escape decoded once, or None when it has none."""
    decoded = [(match, list(_escape_value(match))) for match in _ESCAPE.finditer(text)]
    if all(value == text[start:end] for _, pieces in decoded for value, start, end in pieces):
        return None  # only what looked like escapes: "&page=2"
    pieces: list[str] = []
    starts: array[int] = array("q")
    ends: array[int] = array("q")
    last = 0
    for match, values in decoded:
        begin = match.start()
        if begin > last:
            pieces.append(text[last:begin])
            starts.extend(range(last, begin))
            ends.extend(range(last + 1, begin + 1))
        for value, start, end in values:
            pieces.append(value)
            for _ in value:
                starts.append(start)
                ends.append(end)
        last = match.end()
    if last < len(text):
        pieces.append(text[last:])
        starts.extend(range(last, len(text)))
        ends.extend(range(last + 1, len(text) + 1))
    return _Decoded("".join(pieces), starts, ends)


def _normalise(text: str) -> str:
    """What decoding cannot tell apart is made equal: ``+`` is a space in a form-encoded query
    (and a secret holding ``+`` may travel as one); letter case, which a server or a library
    may change (a header value lower-cased), unless lower-casing would change the length (a
    rare character such as ``İ``): positions must stay those of the text."""
    text = text.replace("+", " ")
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text


def canonical_form(text: str) -> str:
    """``text`` as ``scrub`` searches it: every escape decoded (up to ``_LEVELS`` deep)."""
    for _ in range(_LEVELS):
        if not _HAS_ESCAPE.search(text):
            break
        decoded = _decode_once(text)
        if decoded is None:
            break
        text = decoded.text
    return _normalise(text)


_GRAM = 4  # the length of the prefix by which ``_Needles`` indexes its secrets


class _Needles:
    """Secrets to look for in a text, as ``scrub`` looks for them (``_variants``), indexed by
    their first ``_GRAM`` characters: a short text is walked once, position by position, rather
    than searched once per secret (the registry may hold hundreds)."""

    __slots__ = ("all", "by_prefix", "short")

    def __init__(self, secrets: Iterable[str]) -> None:
        self.all = tuple(dict.fromkeys(s for s in secrets if s))
        self.short = tuple(s for s in self.all if len(s) < _GRAM)
        self.by_prefix: dict[str, list[str]] = {}
        for secret in self.all:
            if len(secret) >= _GRAM:
                self.by_prefix.setdefault(secret[:_GRAM], []).append(secret)

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of every occurrence of every secret in ``text``."""
        if len(text) > 2 * len(self.all):  # a long text: one search (in C) per secret
            found: Iterable[str] = self.all
        else:
            found = self.short
            by_prefix = self.by_prefix
            hits = [at for at in range(len(text) - _GRAM + 1) if text[at : at + _GRAM] in by_prefix]
            for at in hits:
                for secret in by_prefix[text[at : at + _GRAM]]:
                    if text.startswith(secret, at):
                        yield at, at + len(secret)
        for secret in found:
            at = text.find(secret)
            while at >= 0:
                yield at, at + len(secret)
                at = text.find(secret, at + 1)


_Search = tuple[_Needles, ...]


def _spans_in_window(text: str, needles: _Search) -> list[tuple[int, int]]:
    """The spans of ``text`` that hold one of the secrets: each is looked for in the text and
    in each level of its decoding (a level may also decode what was a secret's own characters:
    ``\\\\u001f`` is ``\\u001f`` once decoded, a control character twice)."""
    spans: list[tuple[int, int]] = []
    levels: list[_Decoded] = []
    current = text
    while True:
        searched = _normalise(current)
        for group in needles:
            for start, end in group.find(searched):  # end exclusive, in this level's text
                for level in reversed(levels):
                    start, end = level.starts[start], level.ends[end - 1]
                spans.append((start, end))
        if len(levels) == _LEVELS or not _HAS_ESCAPE.search(current):
            return spans
        decoded = _decode_once(current)
        if decoded is None:
            return spans
        levels.append(decoded)
        current = decoded.text


def _spans_of(text: str, needles: _Search) -> list[tuple[int, int]]:
    """The spans of ``text`` that hold one of the secrets, in any encoding."""
    if len(text) <= _WINDOW + 2 * TRUNCATION_MARGIN:
        return _spans_in_window(text, needles)
    # Windows overlapping by the margin on each side: a secret is whole in one of them, far
    # from where that window's decoding starts (it may start inside an escape).
    spans: list[tuple[int, int]] = []
    for begin in range(0, len(text), _WINDOW):
        low = max(0, begin - TRUNCATION_MARGIN)
        window = text[low : begin + _WINDOW + TRUNCATION_MARGIN]
        spans.extend((low + s, low + e) for s, e in _spans_in_window(window, needles))
    return spans


def _merged(spans: list[tuple[int, int]]) -> list[list[int]]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _replace_spans(text: str, spans: list[list[int]], offset: int = 0) -> str:
    """``text`` with each of ``spans`` (merged, sorted, shifted by ``offset``) replaced by one
    ``REDACTED``."""
    pieces: list[str] = []
    last = 0
    for start, end in spans:
        start, end = max(start - offset, last), min(end - offset, len(text))
        if end <= start:
            continue
        pieces += (text[last:start], REDACTED)
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _scrub_values(text: str, needles: _Search) -> str:
    if not needles or not text:
        return text
    spans = _spans_of(text, needles)
    return _replace_spans(text, _merged(spans)) if spans else text


def _scrub_many(texts: list[str], needles: _Search) -> list[str]:
    """``scrub`` of each of ``texts``, searched as one text (a secret is looked for once, not
    once per string: a reply may hold a hundred thousand strings)."""
    if needles and texts:
        joined = "\0".join(texts)  # no secret holds a NUL; spans are cut to each text anyway
        spans = _merged(_spans_of(joined, needles))
        if spans:
            scrubbed = []
            offset = 0
            first = 0  # the first span that may reach into the current text
            for text in texts:
                end = offset + len(text)
                while first < len(spans) and spans[first][1] <= offset:
                    first += 1
                last = first
                while last < len(spans) and spans[last][0] < end:
                    last += 1
                scrubbed.append(_replace_spans(text, spans[first:last], offset))
                offset = end + 1
            texts = scrubbed
    return [redact(text) for text in texts]


# -- the secrets ----------------------------------------------------------------------------------


def secret_parts(value: str) -> list[str]:
    """The secrets in the value of a secret argument: the value, and for ``user:password`` pairs
    (``simple_user_add``, comma-separated or a JSON array) each pair and each password alone,
    since a server may echo one of them."""
    parts = [value]
    for item in re.split(r"[,\[\]\"]", value):
        item = item.strip()
        if item and item != value:
            parts.append(item)
        _user, colon, password = item.partition(":")
        if colon and password:
            parts.append(password)
    return parts


#: Reply fields whose value is a credential: the models' secret fields (``_models.SECRET``: a
#: token, a self-authorising ``upload_url``; a test keeps the two lists together) and the
#: secret query parameters. An error keeping a reply scrubs their values wherever it holds them.
CREDENTIAL_FIELDS = frozenset({"api_token", "token", "upload_url", *SECRET_QUERY_PARAMS})


def credential_values(value: Any) -> list[str]:
    """The string values (of at least ``MIN_SECRET_LENGTH`` characters) of ``CREDENTIAL_FIELDS``
    keys anywhere in a JSON-like ``value`` (a decoded reply, of any shape: a scalar holds
    none): iterative, and bounded to ``MAX_KEPT_ITEMS`` containers, however the reply nests."""
    found: list[str] = []
    if not isinstance(value, dict | list | tuple):
        return found
    stack = [value]
    visited = 0
    while stack and visited < MAX_KEPT_ITEMS:
        node = stack.pop()
        visited += 1
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in items:
            if isinstance(item, dict | list | tuple):
                stack.append(item)
            elif (
                isinstance(key, str)
                and key.lower() in CREDENTIAL_FIELDS
                and isinstance(item, str)
                and len(item) >= MIN_SECRET_LENGTH
            ):
                found.append(item)
    return found


def url_secrets(url: str) -> list[str]:
    """The values of the secret query parameters of ``url`` (the ``hash`` of an upload URL)."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return []
    return [
        value
        for name, value in parse_qsl(query, keep_blank_values=True)
        if name.lower() in SECRET_QUERY_PARAMS and value
    ]


class KnownSecrets:
    """The secret values the SDK knows, for every text it did not get together with them
    (log records, errors): thread-safe, shared by every client of the process.

    ``hold`` keeps a value for as long as something uses it (each client holds its token until
    it is garbage-collected; ``release`` then moves it among the recent ones); ``remember``
    keeps one among the ``limit`` most recent values handed out or sent (upload ``hash``es,
    temporary and created tokens, portal passwords, webhook keys). Values shorter than
    ``MIN_SECRET_LENGTH`` are ignored.

    ``release`` runs in finalizers, which a garbage collection may start on any thread at any
    allocation, this class's own under its lock included: it takes no lock, it queues the
    value (``list.append`` is atomic) for the next call that holds the lock.
    """

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._released: list[str] = []
        self._snapshot: _Needles | None = _Needles(())

    def hold(self, secret: str) -> None:
        if len(secret) >= MIN_SECRET_LENGTH:
            with self._lock:
                self._settle()
                self._held[secret] = self._held.get(secret, 0) + 1
                self._snapshot = None

    def release(self, secret: str) -> None:
        if len(secret) >= MIN_SECRET_LENGTH:
            self._released.append(secret)

    def remember(self, *secrets: str) -> None:
        with self._lock:
            self._settle()
            for secret in secrets:
                self._remember(secret)

    def _settle(self) -> None:
        """Apply the queued releases (under the lock)."""
        while self._released:
            secret = self._released.pop()
            count = self._held.pop(secret, 0) - 1
            if count > 0:
                self._held[secret] = count
            self._remember(secret)  # a released token stays among the recent ones a while
            self._snapshot = None

    def _remember(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            return
        if secret in self._recent:
            self._recent.move_to_end(secret)
            return
        self._recent[secret] = None
        if len(self._recent) > self._limit:
            self._recent.popitem(last=False)
        self._snapshot = None

    def needles(self) -> _Needles:
        """Every known value, as ``scrub`` looks for it (``_variants``), indexed."""
        snapshot = self._snapshot
        if snapshot is None or self._released:
            with self._lock:
                self._settle()
                snapshot = self._snapshot
                if snapshot is None:
                    keys = {**self._held, **self._recent}
                    variants = (variant for key in keys for variant in _variants(key))
                    snapshot = self._snapshot = _Needles(variants)
                    _scrub_known.cache_clear()  # its results are this snapshot's
        return snapshot

    def __contains__(self, secret: object) -> bool:
        self.needles()  # the queued releases applied
        return isinstance(secret, str) and (secret in self._held or secret in self._recent)

    def __repr__(self) -> str:
        return f"<KnownSecrets: {len(self.needles().all)} values>"  # never the values


KNOWN = KnownSecrets()


def _variants(secret: str) -> tuple[str, ...]:
    """What ``scrub`` looks for of ``secret``: itself, and its canonical form when it holds
    what looks like escapes (a password with ``%41`` in it)."""
    plain = _normalise(secret)
    canonical = canonical_form(secret)
    return (plain,) if canonical == plain else (plain, canonical)


def _secrets(secrets: Iterable[str], known: bool) -> _Search:
    given = _Needles(variant for secret in secrets if secret for variant in _variants(secret))
    chosen = (given,) if given.all else ()
    return (*chosen, KNOWN.needles()) if known else chosen


# -- scrubbing ------------------------------------------------------------------------------------


def scrub(text: str, secrets: Iterable[str] = (), *, known: bool = True) -> str:
    """``text`` with every secret value replaced by ``REDACTED``, in any encoding (see the module
    docstring), then ``redact``-ed: ``secrets`` (whatever their length) and, unless ``known`` is
    False, every value of ``KNOWN``."""
    if known and not secrets and len(text) <= _CACHED_LENGTH:
        return _scrub_known(text, KNOWN.needles())  # an error's fields, a log record's text
    return redact(_scrub_values(text, _secrets(secrets, known)))


_CACHED_LENGTH = 2048


@functools.lru_cache(maxsize=512)
def _scrub_known(text: str, needles: _Needles) -> str:
    """``scrub`` of a short text against one snapshot of ``KNOWN``: the same URL, operation or
    message is scrubbed once, however many errors and records repeat it."""
    return redact(_scrub_values(text, (needles,)))


def scrub_values(text: str, secrets: Iterable[str], *, known: bool = False) -> str:
    """Like ``scrub``, without the pattern redaction: for a URL that must keep a (temporary)
    token while the values of ``secrets`` go."""
    return _scrub_values(text, _secrets(secrets, known))


def scrub_then_truncate(
    text: str | bytes | bytearray,
    limit: int,
    secrets: Iterable[str] = (),
    *,
    known: bool = True,
) -> str:
    """The first ``limit`` characters of ``text`` (bytes are decoded as UTF-8), scrubbed
    **before** the cut, so that a secret across it is still found whole.

    Only ``limit + TRUNCATION_MARGIN`` characters are looked at, however long ``text`` is; when
    ``text`` is longer, the last ``TRUNCATION_MARGIN`` characters of that window are dropped
    after scrubbing, since a secret cut by the window's end lies there. Use this (never
    ``text[:n]`` and then ``scrub``) wherever text a server sent is kept short.
    """
    return _truncated(text, limit, _secrets(secrets, known))


def _truncated(text: str | bytes | bytearray, limit: int, needles: _Search) -> str:
    window_length = limit + TRUNCATION_MARGIN
    if isinstance(text, bytes | bytearray):
        head = bytes(text[: window_length * 4])  # a UTF-8 character is at most 4 bytes
        decoded = head.decode("utf-8", "replace")
        cut = len(text) > len(head) or len(decoded) > window_length
        window = decoded[:window_length]
    else:
        window = text[:window_length]
        cut = len(text) > window_length
    scrubbed = redact(_scrub_values(window, needles))
    if cut:
        scrubbed = scrubbed[: max(0, len(scrubbed) - TRUNCATION_MARGIN)]
    return scrubbed[:limit]


_REPR = reprlib.Repr()
_REPR.maxlevel = 6
_REPR.maxstring = _REPR.maxother = 2000
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 50


def safe_text(value: Any, limit: int, secrets: Iterable[str] = ()) -> str:
    """``value`` as text for a message: a string as it is, anything else as a bounded ``repr``
    (never a ``RecursionError``, however deep a reply nests), scrubbed, then cut to ``limit``."""
    if not isinstance(value, str):
        try:
            value = _REPR.repr(value)
        except Exception:  # a RecursionError, a broken __repr__
            value = f"<a {type(value).__name__}>"
    return scrub_then_truncate(value, limit, secrets)


def scrub_json(
    value: Any,
    secrets: Iterable[str] = (),
    *,
    known: bool = True,
    max_depth: int = MAX_KEPT_DEPTH,
) -> Any:
    """A copy of a JSON-like value (a decoded reply) for an error to keep, bounded and scrubbed:
    every string (keys too) scrubbed, then cut to ``MAX_KEPT_STRING`` characters; containers
    deeper than ``max_depth`` replaced by a note, and past ``MAX_KEPT_ITEMS`` values or
    ``MAX_KEPT_TEXT`` characters of strings, the rest left out (with a note). Iterative: no
    ``RecursionError`` at any depth. A top-level tuple stays a tuple; nested containers become
    dicts and lists.
    """
    chosen = _secrets(secrets, known)
    if not isinstance(value, dict | list | tuple):
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("utf-8", "replace")
        if isinstance(value, str):
            return _truncated(value, MAX_KEPT_STRING, chosen)
        return value
    windows: list[str] = []  # every string, cut to a window (scrub_then_truncate's)
    cuts: list[bool] = []

    def collect(text: str) -> str:
        windows.append(text[: MAX_KEPT_STRING + TRUNCATION_MARGIN])
        cuts.append(len(text) > MAX_KEPT_STRING + TRUNCATION_MARGIN)
        return text

    _copy_tree(value, collect, max_depth)  # first pass: the strings, in the walk's order
    scrubbed = iter(_scrub_many(windows, chosen))
    cut = iter(cuts)

    def replace(text: str) -> str:
        clean = next(scrubbed)
        if next(cut):
            clean = clean[: max(0, len(clean) - TRUNCATION_MARGIN)]
        return clean[:MAX_KEPT_STRING]

    return _copy_tree(value, replace, max_depth)  # second pass, the same walk: the copy


MAX_KEPT_ITEMS = 10_000
MAX_KEPT_TEXT = 1024 * 1024
_NOT_KEPT = "<not kept: the reply is larger than an error keeps>"


def _copy_tree(value: Any, text: Callable[[str], str], max_depth: int) -> Any:
    """A copy of the JSON-like ``value`` with ``text`` applied to each string, in a fixed order,
    within the bounds of ``scrub_json``."""
    items = 0
    characters = 0

    def leaf(item: Any) -> Any:
        nonlocal characters
        if isinstance(item, bytes | bytearray):
            item = bytes(item).decode("utf-8", "replace")
        if isinstance(item, str):
            characters += min(len(item), MAX_KEPT_STRING)
            return text(item) if characters <= MAX_KEPT_TEXT else _NOT_KEPT
        return item

    root: dict[Any, Any] | list[Any] = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any, int]] = [(value, root, 1)]
    while stack:
        source, target, depth = stack.pop()
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in pairs:
            items += 1
            if items > MAX_KEPT_ITEMS or characters > MAX_KEPT_TEXT:
                if isinstance(target, dict):
                    target[_NOT_KEPT] = None
                else:
                    target.append(_NOT_KEPT)
                break
            child: Any
            if isinstance(item, dict | list | tuple):
                if depth >= max_depth:
                    child = _TOO_DEEP
                else:
                    child = {} if isinstance(item, dict) else []
                    stack.append((item, child, depth + 1))
            else:
                child = leaf(item)
            if isinstance(target, dict):
                target[leaf(key)] = child
            else:
                target.append(child)
    return tuple(root) if isinstance(value, tuple) else root


def scrub_value(value: Any) -> Any:
    """What an error keeps of ``value``: strings, bytes and JSON-like containers through
    ``scrub_json``; an attrs instance (a reply model) with each field so scrubbed; anything
    else as it is."""
    if isinstance(value, str):
        return scrub(value) if len(value) <= MAX_KEPT_STRING else scrub_json(value)
    if isinstance(value, bytes | bytearray | dict | list | tuple):
        scrubbed = scrub_json(value)
        if isinstance(value, bytes | bytearray) and isinstance(scrubbed, str):
            return scrubbed.encode("utf-8")
        return scrubbed
    if hasattr(type(value), "__attrs_attrs__"):  # attrs.has, without importing attrs first
        import attrs  # loaded already: value is an attrs instance

        changes = {}
        for field in attrs.fields(type(value)):
            if not field.init:
                continue
            current = getattr(value, field.name)
            scrubbed = scrub_value(current)
            if scrubbed is not current and scrubbed != current:
                changes[field.alias or field.name] = scrubbed
        return attrs.evolve(value, **changes) if changes else value
    return value


def secret_forms(secret: str) -> list[str]:
    """Some whole-string forms of ``secret`` that ``scrub`` finds (for tests and docs; ``scrub``
    does not enumerate forms, it decodes the text): plain, percent-encoded (``quote``,
    ``quote_plus``), JSON with ``\\/``, HTML-escaped, Python ``repr`` of the str and of its
    bytes."""
    import html
    import json

    return [
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        "".join(f"&#x{ord(char):x};" for char in secret),
        repr(secret)[1:-1],
        repr(secret.encode("utf-8"))[2:-1],
        codecs.decode(codecs.encode(secret, "unicode_escape"), "ascii"),
    ]


# -- log records ----------------------------------------------------------------------------------


class _RedactingFilter(logging.Filter):
    """Rewrites a record so that no secret (a query parameter's value, a value of ``KNOWN``)
    survives in its message, its arguments, its traceback, its stack text or an attribute
    given as ``extra=`` (which formats and JSON formatters print: aiohttp's access log puts
    the request line there).

    A record whose arguments hold a secret gets its message formatted (and scrubbed) and no
    arguments, so that a handler reading ``record.args`` finds nothing either; one whose
    traceback held a secret keeps only the scrubbed text (``exc_text``), not the exception.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub ``record``; one that cannot be scrubbed keeps no text of its own (fails
        closed: its message says so, its arguments, traceback and stack are dropped, and each
        extra attribute says it was withheld)."""
        try:
            self._scrub(record)
        except Exception as exc:
            record.msg = (
                f"<a log record the SDK could not scrub of secrets ({type(exc).__name__}):"
                " its text is withheld>"
            )
            record.args = record.exc_info = record.exc_text = record.stack_info = None
            for key in _extras_of(record):
                setattr(record, key, _WITHHELD)
        return True

    @staticmethod
    def _scrub(record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: logging reports them raw
            message = f"{record.msg!s} (arguments: {_safe_repr(record.args)})"
            record.msg, record.args = scrub(message), None
        else:
            scrubbed = scrub(message)
            if scrubbed != message or (record.args and _holds_secret(_safe_repr(record.args))):
                record.msg, record.args = scrubbed, None
        if record.exc_info and record.exc_info[0] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            scrubbed = scrub(text)
            if scrubbed != text:
                record.exc_info = None  # the exception objects hold the secret: drop them
            record.exc_text = scrubbed  # formatters reuse it rather than format exc_info again
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        for key in _extras_of(record):  # ``extra=``: formats (%(key)s) and JSON formatters
            value = getattr(record, key)
            if isinstance(value, _PLAIN) or not (
                _holds_secret(_safe_repr(value))
                or (not isinstance(value, str) and _holds_secret(_safe_str(value)))
            ):
                continue  # kept as it is
            scrubbed = scrub_value(value)  # text, bytes, JSON-like containers, reply models
            if scrubbed is value:  # any other object: its text
                scrubbed = scrub(_safe_str(value))
            setattr(record, key, scrubbed)


#: The attributes every record has (``taskName`` on Python >= 3.12 too), and those formatters
#: add: the others were given as ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}
_PLAIN = (int, float, bool, type(None))  # values no secret can be in
_WITHHELD = "<withheld: the record could not be scrubbed of secrets>"


def _extras_of(record: logging.LogRecord) -> list[str]:
    return [key for key in vars(record) if key not in _RECORD_ATTRIBUTES]


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<a {type(value).__name__}>"


def _safe_str(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<a {type(value).__name__}>"


def _holds_secret(text: str) -> bool:
    return scrub(text) != text


_FILTER = _RedactingFilter("cincopa_async")

# Filters on a logger see only the records logged on that very logger, not those of its
# children, so each logger that may carry a URL, a header or an exception's text is named, and
# ``install_log_redaction`` also takes every logger already made under these prefixes.
_LOGGERS = (
    "cincopa_async",
    "cincopa_async.webhooks",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.connection_pool",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "hpack",
    "hpack.hpack",
    "hpack.table",
    "h2",
    "h2.connection",
    "aiohttp",
    "aiohttp.client",
    "aiohttp.internal",
    "asyncio",
    "anyio",
    "anyio.streams.tls",
    "trio",
    "trio.async_generator_errors",
    "concurrent.futures",
    "py.warnings",
)
_PREFIXES = ("cincopa_async", "httpx", "httpcore", "hpack", "h2", "h11", "aiohttp", "anyio", "trio")


def install_log_redaction() -> None:
    """Attach the redacting filter to every logger a request goes through (idempotent); called
    at import and again once a client chose its route (the transports are imported then)."""
    names = set(_LOGGERS)
    names.update(
        name
        for name in list(logging.Logger.manager.loggerDict)
        if name.split(".", 1)[0] in _PREFIXES
    )
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
