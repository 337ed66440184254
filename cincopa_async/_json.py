"""``loads``: a reply's body decoded as ``json.loads`` decodes it, by orjson where that is the same.

Contract: for every ``bytes`` or ``bytearray`` body, ``loads(body)`` returns what
``json.loads(body)`` returns (values of the same types, floats bit for bit with ``-0.0``, object
keys in the same order, the last value of a repeated key) and raises what it raises, but for
the depth noted below. orjson (C) decodes a page of assets in about half the time of
``json.loads``, and a small reply in a fraction of its fixed cost; it decodes the body unless
orjson could give something else:

* orjson refuses some bodies ``json.loads`` accepts (``NaN`` and ``Infinity``, numbers past a
  double such as ``1e400``, lone surrogates, escaped or UTF-8 encoded, a UTF-8 byte order
  mark, UTF-16 and UTF-32 bodies): ``json.loads`` then decodes the body, or raises.
* orjson reads an integer past 64 bits as a float where ``json.loads`` makes an int: a body
  with a run of 19 digits or more (anywhere: an overcount, digits in strings count too) goes
  to ``json.loads`` without trying orjson (integers of up to 18 digits fit in 64 bits). The
  search (`has_long_digit_run`) looks at every fourth byte first: on a page of assets it costs
  about a twentieth of what orjson takes to decode it.
* Depth: orjson refuses a body nested more than 1,024 levels deep, and ``json.loads`` then
  decides. Its own limit is 1,500 levels on Python 3.12 and 10,000 on 3.13; on 3.11 it is
  the interpreter's recursion limit less the caller's stack (~980 levels from a client's
  call): there a body nested between that and 1,024 levels decodes, where ``json.loads``
  raises ``RecursionError``.

``tests/test_json.py`` checks all of it against ``json.loads`` on arbitrary JSON.
"""

import json
import re
from typing import Any, Final

import orjson

__all__ = ["loads"]

#: The shortest run of digits that may be an integer orjson does not read as ``json.loads``
#: does: ``-9223372036854775809`` has 19 digits, and every integer of 18 digits fits in 64 bits.
LONG_RUN: Final = 19
_LONG_RUN_PATTERN: Final = re.compile(rb"[0-9]{%d}" % LONG_RUN)
#: Digits to ``0``, every other byte to a space.
_DIGIT_MARKS: Final = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
#: Every ``_STRIDE``-th byte is looked at first: a run of 19 digits holds at least
#: ``19 // _STRIDE`` of them in a row, and only where those are all digits is the body searched.
_STRIDE: Final = 4
_SAMPLED_RUN: Final = b"0" * (LONG_RUN // _STRIDE)
#: Past this many places to search around, the whole body is searched at once.
_MAX_PLACES: Final = 32
_DIGITS_TO_ZERO: Final = bytes.maketrans(b"123456789", b"000000000")


def has_long_digit_run(body: bytes | bytearray) -> bool:
    """Whether ``body`` holds ``LONG_RUN`` digits in a row, at a quarter of the cost of one pass
    over the body where few places hold long runs: every ``_STRIDE``-th byte first, then a
    search around each run of ``LONG_RUN // _STRIDE`` sampled digits (``_MAX_PLACES`` at most,
    then one pass over the whole body). A run of ``LONG_RUN`` digits holds such a sampled run,
    and the search around it, from ``LONG_RUN - 1`` bytes before its first sampled digit to as
    many after its last, holds ``LONG_RUN`` digits of the run."""
    marks = body[::_STRIDE].translate(_DIGIT_MARKS)
    found = marks.find(_SAMPLED_RUN)
    places = 0
    while found != -1:
        if places == _MAX_PLACES:
            return b"0" * LONG_RUN in body.translate(_DIGITS_TO_ZERO)
        first = found * _STRIDE
        last = first + _STRIDE * (len(_SAMPLED_RUN) - 1)
        if _LONG_RUN_PATTERN.search(body, max(0, first - LONG_RUN + 1), last + LONG_RUN):
            return True
        places += 1
        found = marks.find(_SAMPLED_RUN, found + 1)
    return False


def loads(body: bytes | bytearray) -> Any:
    """``json.loads(body)``, by orjson where it decodes the same (the module's docstring)."""
    if not has_long_digit_run(body):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return json.loads(body)
