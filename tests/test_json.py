"""``_json.loads`` decodes every reply body exactly as ``json.loads`` does.

Property: for any body (arbitrary JSON with big integers, NaN and infinities, lone surrogates,
repeated keys, in UTF-8 with or without a byte order mark, UTF-16 or UTF-32, as ``bytes`` or
``bytearray``, and bytes that are not JSON at all), ``loads`` returns the same value as
``json.loads`` (same types, floats bit for bit, keys in the same order) or raises the same
exception. The only difference is documented in ``cincopa_async._json``: on Python 3.11 a
body nested up to orjson's 1,024 levels decodes where ``json.loads`` runs out of stack.
"""

from __future__ import annotations

import json
import math
import re
import struct
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cincopa_async._json import LONG_RUN, has_long_digit_run, loads

EXAMPLES = max(300, settings.default.max_examples)


def same(left: Any, right: Any) -> bool:
    """Equal values of identical types, floats bit for bit, object keys in the same order
    (iterative: the values may nest deeper than the interpreter recurses)."""
    pending = [(left, right)]
    while pending:
        one, other = pending.pop()
        if type(one) is not type(other):
            return False
        if type(one) is float:
            if struct.pack("<d", one) != struct.pack("<d", other):
                return False
        elif type(one) is dict:
            if list(one) != list(other):
                return False
            pending.extend((one[key], other[key]) for key in one)
        elif type(one) is list:
            if len(one) != len(other):
                return False
            pending.extend(zip(one, other, strict=True))
        elif one != other:
            return False
    return True


def outcome(decode: Any, body: bytes | bytearray) -> tuple[str, Any]:
    try:
        return "value", decode(body)
    except Exception as exc:  # the kind and text of the failure are compared
        return "error", (type(exc), str(exc))


def assert_decodes_as_json_loads(body: bytes | bytearray) -> None:
    ours, theirs = outcome(loads, body), outcome(json.loads, body)
    assert ours[0] == theirs[0], (body[:200], ours, theirs)
    if ours[0] == "value":
        assert same(ours[1], theirs[1]), (body[:200], ours[1], theirs[1])
    else:
        assert ours[1] == theirs[1], body[:200]


# Any code point, lone surrogates included (json.loads reads them from escapes and, in bytes,
# from their UTF-8 encoding; orjson refuses both).
TEXT = st.text(st.characters(exclude_categories=()), max_size=8) | st.sampled_from(
    ["", "\ud800", "\udfff", "a\udc00b", "\ud83d\ude00", "é", "\x00", "\u2028", "\ufeff"]
)
NUMBERS = (
    st.integers()  # beyond 64 bits too, where orjson would give a float
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**18])
    | st.floats()  # NaN, infinities and -0.0 included
)
SCALARS = st.none() | st.booleans() | NUMBERS | TEXT


def _text_of(value: Any, ascii_only: bool) -> str:
    """``value`` as JSON text; an object is a list of pairs, so that keys may repeat."""
    if isinstance(value, tuple):
        pairs = (f"{_text_of(key, ascii_only)}:{_text_of(item, ascii_only)}" for key, item in value)
        return "{" + ",".join(pairs) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text_of(item, ascii_only) for item in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)  # NaN and Infinity as json.dumps writes


VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(st.tuples(TEXT | st.sampled_from(["a", "b"]), inner), max_size=4).map(tuple)
    ),
    max_leaves=12,
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"]


@settings(max_examples=EXAMPLES)
@given(
    VALUES,
    st.booleans(),
    st.sampled_from(ENCODINGS),
    st.sampled_from([bytes, bytearray]),
    st.sampled_from(["", " ", "\n\t\r "]),
)
def test_any_json_decodes_as_json_loads_does(
    value: Any, ascii_only: bool, encoding: str, kind: type, padding: str
) -> None:
    text = padding + _text_of(value, ascii_only) + padding
    assert_decodes_as_json_loads(kind(text.encode(encoding, "surrogatepass")))


# Fragments of JSON and of what is not quite JSON, to glue at random.
FRAGMENTS = [
    *'{}[],:"\\u019-+.eE \t\n\r\x0b\x0c\x00anrtfls',
    *["true", "false", "null", "NaN", "Infinity", '"a"', "1e400", "\\ud800", "\\ud83d\\ude00"],
    *["\xe9", "\u2028", "1234567890123456789", "-9223372036854775809", "18446744073709551616"],
]
BYTE_FRAGMENTS = [f.encode() for f in FRAGMENTS] + [b"\xed\xa0\x80", b"\xff", b"\xef\xbb\xbf"]


@settings(max_examples=EXAMPLES)
@given(st.lists(st.sampled_from(BYTE_FRAGMENTS), max_size=14).map(b"".join) | st.binary())
def test_any_bytes_decode_or_fail_as_with_json_loads(body: bytes) -> None:
    assert_decodes_as_json_loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b"18446744073709551616",  # 2**64: orjson reads it as a float
        b"-9223372036854775809",  # one past the smallest 64-bit integer
        b'{"id": 123456789012345678901234567890, "n": [-99999999999999999999]}',
        b"9223372036854775808",
        b"NaN",
        b"[Infinity, -Infinity]",
        b"1e400",
        b'"\\ud800"',
        b'"\xed\xa0\x80"',  # a surrogate in UTF-8: json.loads passes it through
        b"\xef\xbb\xbf{}",
        '{"a": 1}'.encode("utf-16"),
        '{"a": 1}'.encode("utf-32-le"),
        b'{"a": 1, "b": 2, "a": 3}',
        b"-0",
        b"-0.0",
        b"-1e-400",
        b"",
        b"  ",
        b"[1,]",
        b'"\x1f"',
        b"\xff",
    ],
)
def test_bodies_orjson_reads_otherwise(body: bytes) -> None:
    assert_decodes_as_json_loads(body)
    assert_decodes_as_json_loads(bytearray(body))


DIGIT_PIECES = [b"1", b"0", b"9", b" ", b"a", b"-", b".", b"1234567890123", b"9" * 18, b"1" * 19]


@settings(max_examples=EXAMPLES)
@given(st.lists(st.sampled_from(DIGIT_PIECES), max_size=80).map(b"".join), st.integers(0, 3))
def test_the_digit_run_search_finds_exactly_the_runs_of_19_digits(body: bytes, shift: int) -> None:
    body = b"x" * shift + body  # every alignment to the sampled bytes
    expected = re.search(rb"[0-9]{19}", body) is not None
    assert has_long_digit_run(body) is expected
    assert has_long_digit_run(bytearray(body)) is expected


@pytest.mark.parametrize("places", [0, 1, 31, 32, 33, 200])
def test_the_digit_run_search_past_its_places_searches_the_whole_body(places: int) -> None:
    """Many runs just short of 19 digits: each looked at (then the whole body), none counts."""
    short = b" ".join([b"9" * (LONG_RUN - 1)] * places)
    assert not has_long_digit_run(short)
    assert has_long_digit_run(short + b" " + b"1" * LONG_RUN)
    assert has_long_digit_run(b"1" * LONG_RUN + b" " + short)


def test_an_integer_past_64_bits_stays_an_int() -> None:
    value = loads(b'{"big": 18446744073709551616, "small": -9223372036854775809}')
    assert value == {"big": 2**64, "small": -(2**63) - 1}
    assert all(type(number) is int for number in value.values())


def test_floats_keep_their_sign_and_bits() -> None:
    for text in ["-0.0", "5e-324", "2.2250738585072011e-308", "1.7976931348623157e308", "0.1"]:
        assert same(loads(text.encode()), float(text)), text
    assert math.isnan(loads(b"NaN"))


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"1" + b"]" * depth


@pytest.mark.parametrize("depth", [1, 100, 500, 800])
def test_nesting_within_every_limit_decodes_the_same(depth: int) -> None:
    assert_decodes_as_json_loads(_nested(depth))


@pytest.mark.parametrize("depth", [1025, 1100, 5000, 20_000, 100_000])
def test_nesting_past_orjson_limit_is_left_to_json_loads(depth: int) -> None:
    """Past 1,024 levels orjson refuses and json.loads decides: RecursionError or a value."""
    assert_decodes_as_json_loads(_nested(depth))


@pytest.mark.parametrize("depth", [990, 1000, 1010, 1024])
def test_nesting_up_to_orjson_limit(depth: int) -> None:
    """Python 3.12+ (json.loads reaches 1,500 levels or more): the same. 3.11 (json.loads's
    limit counts the caller's stack): the same value, or a value where json.loads runs out."""
    ours, theirs = outcome(loads, _nested(depth)), outcome(json.loads, _nested(depth))
    assert ours[0] == "value"
    if sys.version_info >= (3, 12) or theirs[0] == "value":
        assert theirs[0] == "value"
        assert same(ours[1], theirs[1])
    else:
        assert theirs[1][0] is RecursionError
