"""The secret-scrubbing mechanism itself (``cincopa_async._redact``): every encoding a server or a
library may put a secret in, scrubbing before truncation, bounded and recursion-free payload
copies, the process's registry of known secrets, and the log filter."""

from __future__ import annotations

import html
import json
import logging
import re
import sys
from urllib.parse import quote, quote_plus, urlencode

import httpx
import pytest
import yarl
from hypothesis import given
from hypothesis import strategies as st

from cincopa_async import _redact
from cincopa_async._redact import (
    KNOWN,
    REDACTED,
    KnownSecrets,
    canonical_form,
    install_log_redaction,
    safe_text,
    scrub,
    scrub_json,
    scrub_then_truncate,
    secret_forms,
    secret_parts,
)

from ._leaks import assert_no_secret

SECRETS = [
    "1234567iexampletokenabcdefghijklmn",
    "alice:пароль",  # non-ASCII, and a reserved character
    "pa55:w0rd/with&odd=chars",
    "a~b!*'()[]{}|^`+ c\\\"<>;@$",  # every kind of URL, JSON and HTML special
    "emoji😀and\ttab",  # astral (a JSON surrogate pair), a control character
]


def _encodings(secret: str) -> dict[str, str]:
    """Whole-string forms, made here by the libraries that make them."""
    quoted = quote(secret, safe="")
    return {
        "plain": secret,
        "quote": quoted,
        "quote, lower-case hex": re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quoted),
        "quote, default safe": quote(secret),
        "quote_plus": quote_plus(secret),
        "urlencode": urlencode({"t": secret})[2:],
        "httpx params": str(httpx.URL("http://x/", params={"t": secret}).query, "ascii")[2:],
        "yarl build": yarl.URL.build(path="/", query={"t": secret}).raw_query_string[2:],
        "yarl requoted": yarl.URL("http://x/?t=" + quote(secret, safe="/:@")).raw_query_string[2:],
        "yarl with_query": yarl.URL("http://x/").with_query(t=secret).raw_query_string[2:],
        "every byte percent-encoded": "".join(f"%{b:02x}" for b in secret.encode()),
        "percent-encoded twice": quote(quote(secret, safe=""), safe=""),
        "json": json.dumps(secret)[1:-1],
        "json, unicode kept": json.dumps(secret, ensure_ascii=False)[1:-1],
        "json with \\/": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "json inside json": json.dumps(json.dumps(secret)[1:-1])[1:-1],
        "html.escape": html.escape(secret),
        "html.escape twice": html.escape(html.escape(secret)),
        "html hex references": "".join(f"&#x{ord(c):X};" for c in secret),
        "html decimal references": "".join(f"&#{ord(c)};" for c in secret),
        "html named references": "".join(
            "&sol;" if c == "/" else "&colon;" if c == ":" else "&amp;" if c == "&" else c
            for c in secret
        ),
        "repr": repr(secret)[1:-1],
        "repr of the utf-8 bytes": repr(secret.encode())[2:-1],
        "unicode_escape": secret.encode("unicode_escape").decode("ascii"),
        "html-escaped json": html.escape(json.dumps(secret)[1:-1]),
        "percent-encoded json": quote(json.dumps(secret)[1:-1], safe=""),
    }


@pytest.mark.parametrize("secret", SECRETS)
def test_every_encoding_of_a_secret_is_scrubbed(secret: str) -> None:
    for name, form in _encodings(secret).items():
        scrubbed = scrub(f"<<{form}>>", [secret], known=False)
        assert scrubbed == f"<<{REDACTED}>>", (name, form, scrubbed)


@pytest.mark.parametrize("secret", SECRETS)
def test_the_sdks_example_forms_are_scrubbed(secret: str) -> None:
    for form in secret_forms(secret):
        assert scrub(f"<<{form}>>", [secret], known=False) == f"<<{REDACTED}>>", form


_CHAR_ENCODINGS = [
    # an escape's own introducer left plain among escapes is ambiguous, as no encoder leaves it
    lambda c: quote(c) if c in "\\%&" else c,
    lambda c: quote(c, safe=""),
    lambda c: re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), quote(c, safe="")),
    lambda c: "".join(f"%25{b:02X}" for b in c.encode()),
    lambda c: json.dumps(c)[1:-1],
    lambda c: "".join(f"\\u{u:04x}" for u in _utf16(c)),
    lambda c: "".join(f"\\x{b:02x}" for b in c.encode()),
    lambda c: f"&#{ord(c)};",
    lambda c: f"&#X{ord(c):x};",
    # html.escape leaves "\\" and "%" plain, the introducers of the escapes above: quoted
    lambda c: quote(c) if c in "\\%" else html.escape(c),
]


def _utf16(char: str) -> list[int]:
    data = char.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


@given(
    secret=st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=6),
    choices=st.lists(st.integers(0, len(_CHAR_ENCODINGS) - 1), min_size=1),
)
def test_any_mixture_of_encodings_is_scrubbed(secret: str, choices: list[int]) -> None:
    """Each character of the secret in an encoding of its own (what no encoder does, but a
    hostile server may): still found whole."""
    form = "".join(
        _CHAR_ENCODINGS[choices[i % len(choices)]](char) for i, char in enumerate(secret)
    )
    scrubbed = scrub(f"\x01{form}\x01", [secret], known=False)
    assert canonical_form(secret) not in canonical_form(scrubbed)
    assert REDACTED in scrubbed


def test_scrubbing_leaves_other_text_alone() -> None:
    text = "a &amp; b %41 \\u0041 &lt;x&gt; 1+1 &subdomain=x \\n"
    assert scrub(text, ["zzzzzzzz"], known=False) == text


@pytest.mark.parametrize("limit", [1, 7, 13, 20, 33, 200, 1000])
@pytest.mark.parametrize("encoded", [False, True])
def test_a_secret_across_the_truncation_point_is_scrubbed_first(limit: int, encoded: bool) -> None:
    """S4: cutting first would leave half a secret no longer found whole."""
    secret = SECRETS[0]
    form = quote(secret, safe="").replace("i", "%69") if encoded else secret
    for start in range(max(0, limit - len(form) - 2), limit + 2):
        text = "x" * start + form + "y" * 50
        for value in (text, text.encode()):
            kept = scrub_then_truncate(value, limit, [secret], known=False)
            assert len(kept) <= limit
            for piece in (secret[:8], secret[8:16], secret[-8:], form[:12], form[-12:]):
                assert piece not in kept, (start, kept)


def test_truncation_looks_only_at_a_bounded_window() -> None:
    secret = SECRETS[0]
    text = "y" * 10_000_000 + secret
    assert scrub_then_truncate(text, 100, [secret], known=False) == "y" * 100
    cut = _redact.TRUNCATION_MARGIN + 100 - 5  # a secret cut by the window's end
    kept = scrub_then_truncate("z" * cut + secret + "z" * 100_000, 10**6, [secret], known=False)
    assert secret[:5] not in kept


def test_a_huge_text_is_scrubbed_in_windows() -> None:
    secret = SECRETS[1]
    text = ("%41" * 700_000 + quote(secret) + "&amp;" * 100_000) * 2
    scrubbed = scrub(text, [secret], known=False)
    assert scrubbed.count(REDACTED) == 2
    assert canonical_form(secret) not in canonical_form(scrubbed)


def test_scrub_json_is_iterative_bounded_and_scrubs_keys() -> None:
    """U1: no RecursionError however deep; M3-like bounds on what an error keeps."""
    secret = SECRETS[0]
    deep: object = {"k": secret}
    for _ in range(sys.getrecursionlimit() * 5):
        deep = [deep]
    kept = scrub_json({"a": deep, secret: [secret] * 3, "b": (secret,)}, [secret], known=False)
    assert secret not in json.dumps(kept)
    repr(kept)  # bounded depth: repr() does not recurse out
    assert kept[REDACTED] == [REDACTED] * 3
    many = scrub_json({"items": list(range(10**6))}, known=False)
    assert len(many["items"]) <= _redact.MAX_KEPT_ITEMS + 1
    long = scrub_json(["x" * (10 * _redact.MAX_KEPT_STRING) + secret], [secret], known=False)
    assert len(long[0]) == _redact.MAX_KEPT_STRING
    assert scrub_json(("a", secret), [secret], known=False) == ("a", REDACTED)


def test_safe_text_never_raises_recursion_error() -> None:
    deep: object = "x"
    for _ in range(sys.getrecursionlimit() * 3):
        deep = {"m": deep}
    assert len(safe_text(deep, 100)) <= 100


def test_secret_parts_split_user_password_lists() -> None:
    assert set(secret_parts("alice:pw1-long,bob:pw2-long")) >= {
        "alice:pw1-long,bob:pw2-long",
        "alice:pw1-long",
        "pw1-long",
        "pw2-long",
    }
    assert "pw3-long" in secret_parts('["carol:pw3-long"]')


def test_known_secrets_hold_release_and_forget_the_oldest() -> None:
    known = KnownSecrets(limit=3)
    known.hold("held-token-1")
    known.hold("held-token-1")
    known.release("held-token-1")
    assert "held-token-1" in known
    for index in range(5):
        known.remember(f"recent-{index}")
    assert "held-token-1" in known  # held: never forgotten
    assert "recent-0" not in known
    assert "recent-4" in known
    known.release("held-token-1")  # released: one of the recent ones now
    assert "held-token-1" in known
    known.remember("short")  # too short to scrub everywhere
    assert "short" not in known
    assert "token" not in repr(known)


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    record = logging.LogRecord("httpcore.http11", logging.DEBUG, __file__, 1, msg, args, None)
    if exc is not None:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    return record


def test_the_log_filter_scrubs_known_values_from_message_args_and_traceback() -> None:
    """S1: values, not just name=value patterns, in every part of a record."""
    secret = "hostile-echo-3f9a1c77e2"
    KNOWN.remember(secret)
    install_log_redaction()
    filter_ = _redact._FILTER
    records = [
        _record(f"reason {secret}"),
        _record("reason %s", secret),
        _record("header %r", [(b"X-Echo", secret.encode())]),
        _record("truncated %.4s", secret),  # the message hides it; the args still hold it
        _record("%s %s", "too", "many", "args"),  # a record logging cannot format
        _record("failed", exc=ValueError(f"quoted {quote(secret)}")),
    ]
    formatter = logging.Formatter("%(message)s")
    for record in records:
        assert filter_.filter(record)
        texts = [record.getMessage(), repr(record.args), formatter.format(record)]
        assert_no_secret(texts, [secret])
    assert records[-1].exc_info is None
    assert "ValueError" in (records[-1].exc_text or "")


def test_the_filter_is_on_every_logger_a_request_goes_through() -> None:
    import httpcore  # noqa: F401 - its loggers exist once it is imported

    install_log_redaction()
    for name in ("httpx", "httpcore.http11", "httpcore.connection", "httpcore.socks", "asyncio"):
        assert _redact._FILTER in logging.getLogger(name).filters, name


def test_the_log_filter_scrubs_late_in_the_interpreters_shutdown() -> None:
    """Late in shutdown ``re`` is gone from ``sys.modules`` and nothing can be imported; asyncio
    still logs then ("Task was destroyed but it is pending!"). A template replacement
    (``r"\\1..."``) makes ``re``'s C code import ``re``: the filter raised ImportError, the
    record was lost and Python printed "Exception ignored" instead."""
    secret = "late-shutdown-token-9c1e"
    record = _record(f"GET https://api.cincopa.com/v2/ping.json?api_token={secret} failed")
    record.name = "asyncio"
    saved_path, saved_re = sys.meta_path, sys.modules.pop("re")
    sys.meta_path = None  # type: ignore[assignment]  # as the interpreter leaves it
    try:
        kept = _redact._FILTER.filter(record)
        message = record.getMessage()
    finally:
        sys.meta_path, sys.modules["re"] = saved_path, saved_re
    assert kept
    assert message == "GET https://api.cincopa.com/v2/ping.json?api_token=REDACTED failed"


def test_a_record_the_filter_cannot_scrub_is_withheld_not_passed_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fail closed: a scrub that raises leaves a record saying so, with none of its text."""
    secret = "unscrubbable-secret-77d2"

    def broken(text: str) -> str:
        raise MemoryError

    monkeypatch.setattr(_redact, "scrub", broken)
    record = _record("token %s", secret, exc=ValueError(secret))
    record.stack_info = f"stack with {secret}"
    assert _redact._FILTER.filter(record)
    formatted = logging.Formatter("%(message)s").format(record)
    assert "could not scrub" in formatted
    assert "MemoryError" in formatted
    assert_no_secret([formatted, repr(record.args), repr(record.exc_info)], [secret])


def test_credential_values_of_a_reply_of_any_shape() -> None:
    """A decoded reply may be any JSON value (an error body that is a string, a number, null):
    only containers hold credential fields, and a scalar is no error of the scan."""
    from cincopa_async._redact import credential_values

    token = "7654321icredentialvaluetoken"
    for scalar in ("api_token=" + token, 5, 1.5, None, True):
        assert credential_values(scalar) == []
    assert credential_values([{"token": token}, {"api_token": "short"}]) == [token]
