"""Checking and encoding call arguments, against the endpoint table, before anything is sent.

``encode_arguments`` looks at every argument of a call, collects *every* problem (a missing or
empty required value, a wrong type, a value outside an enum, text that is not valid UTF-8, an
argument that cannot be turned into JSON) and raises one ``CincopaValidationError`` listing them
all; otherwise it returns the query parameters in their wire form (see ``_spec``). Values of secret
parameters are never quoted in a problem, and are added to ``_redact.KNOWN`` (each password of a
``simple_user_add`` list too), so that no log record or error shows them, whatever a server
echoes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

from ._errors import CincopaValidationError
from ._redact import KNOWN, scrub_then_truncate, secret_parts
from ._spec import Endpoint, Param, ParamKind

__all__ = ["encode_arguments", "is_count", "is_seconds"]


def is_count(value: object, minimum: int) -> bool:
    """An int (not a bool) of at least ``minimum``: for counts, sizes and limits."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def is_seconds(value: object) -> bool:
    """A number of seconds > 0 (``inf`` allowed: no limit)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


class _Problem(Exception):
    """One argument's problem; collected by ``encode_arguments``."""


def _shown(value: object, param: Param) -> str:
    if param.secret:
        return "the given value"
    try:
        text = repr(value)
    except Exception:  # a huge int, a structure nested too deeply, a broken __repr__
        return f"a {_type_name(value)}"
    # scrubbed before it is cut: a token given to the wrong parameter is not shown in part
    return text if len(text) <= 60 else f"{scrub_then_truncate(text, 57)}..."


def _type_name(value: object) -> str:
    return type(value).__name__


def _text(value: object, param: Param) -> str:
    if not isinstance(value, str):
        raise _Problem(f"expected str, got {_type_name(value)} {_shown(value, param)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Problem("is not valid UTF-8 text (it contains a lone surrogate)") from None
    return value


def _integer(value: object, param: Param) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Problem(f"expected int, got {_type_name(value)} {_shown(value, param)}")
    try:
        return str(value)
    except ValueError:  # more digits than int->str conversion allows (sys.set_int_max_str_digits)
        raise _Problem(f"is an int of about {value.bit_length() * 0.30103:,.0f} digits") from None


def _joined(separator: str) -> Callable[[object, Param], str]:
    def encode(value: object, param: Param) -> str:
        if isinstance(value, str):
            return _text(value, param)
        if not isinstance(value, Sequence) or isinstance(value, bytes | bytearray):
            raise _Problem(
                f"expected a sequence of str, got {_type_name(value)} {_shown(value, param)}"
            )
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise _Problem(f"item {index} is {_type_name(item)}, expected str")
            if not item:
                raise _Problem(f"item {index} is empty")
            if separator in item:
                raise _Problem(f"item {index} contains the separator {separator!r}")
            items.append(_text(item, param))
        return separator.join(items)

    return encode


def _choice(value: object, param: Param) -> str:
    if value not in param.choices:
        allowed = ", ".join(repr(choice) for choice in param.choices)
        raise _Problem(f"must be one of {allowed}, got {_shown(value, param)}")
    return str(value)


def _flag(true: str, false: str) -> Callable[[object, Param], str]:
    def encode(value: object, param: Param) -> str:
        if not isinstance(value, bool):
            raise _Problem(f"expected bool, got {_type_name(value)} {_shown(value, param)}")
        return true if value else false

    return encode


def _true_or_absent(value: object, param: Param) -> str | None:
    """``true`` for True; None (the parameter is left out) for False. Cincopa's own code sends
    such flags only as ``true`` or not at all (REAL-CLIENTS.md S5: ``...&disable_mobile_app=true
    &disable-undo=true...[&disable_href=true]``); how the live side reads ``false`` -- as off,
    or by its presence as on -- is unknown, so the SDK never sends it."""
    if not isinstance(value, bool):
        raise _Problem(f"expected bool, got {_type_name(value)} {_shown(value, param)}")
    return "true" if value else None


def _json(value: object, param: Param) -> str:
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except ValueError:
            raise _Problem("is a str that is not valid JSON") from None
        except RecursionError:
            raise _Problem("is JSON nested too deeply to decode") from None
        if not isinstance(decoded, dict):
            raise _Problem("must encode a JSON object")
        return _text(value, param)
    if not isinstance(value, Mapping):
        raise _Problem(f"expected a mapping, got {_type_name(value)} {_shown(value, param)}")
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise _Problem("is nested too deeply to encode as JSON") from None
    except (TypeError, ValueError) as exc:  # ValueError: NaN, a circular reference, a huge int
        raise _Problem(f"cannot be encoded as JSON: {exc}") from None
    return _text(text, param)  # a lone surrogate in a key or value


_ENCODERS: Mapping[ParamKind, Callable[[object, Param], str | None]] = {
    ParamKind.STR: _text,
    ParamKind.INT: _integer,
    ParamKind.CSV: _joined(","),
    ParamKind.PIPE: _joined("|"),
    ParamKind.ENUM: _choice,
    ParamKind.YES_NO: _flag("yes", "no"),
    ParamKind.BOOL: _true_or_absent,
    ParamKind.JSON: _json,
}


def encode_arguments(
    endpoint: Endpoint, arguments: Mapping[str, object], *, url: str | None = None
) -> dict[str, str]:
    """The wire query of a call; ``arguments`` maps wire names to values, ``None`` = omitted.

    Raises ``CincopaValidationError`` listing every problem (and an unknown argument name).
    """
    query: dict[str, str] = {}
    problems: list[str] = []
    known = 0
    for param in endpoint.params:
        value = arguments.get(param.wire)
        if value is None:
            if param.required:
                problems.append(f"{param.python_name}: is required")
            continue
        known += 1
        try:
            encoded = _ENCODERS[param.kind](value, param)
        except _Problem as problem:
            problems.append(f"{param.python_name}: {problem}")
            continue
        except Exception as exc:  # e.g. a value whose __eq__ or __iter__ raises
            problems.append(f"{param.python_name}: cannot be encoded ({type(exc).__name__})")
            continue
        if encoded is None:  # a flag that is sent only when set
            continue
        if param.required and not encoded.strip():
            problems.append(f"{param.python_name}: must not be empty")
            continue
        if param.secret:  # scrubbed from every log record and error from now on
            KNOWN.remember(*secret_parts(encoded))
        query[param.wire] = encoded
    if known != sum(value is not None for value in arguments.values()):
        wires = {param.wire for param in endpoint.params}
        problems.extend(
            f"{name}: is not a parameter of {endpoint.name}"
            for name in arguments
            if name not in wires
        )
    if problems:
        raise CincopaValidationError(problems, operation=endpoint.name, url=url)
    return query
