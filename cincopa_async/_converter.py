"""The one cattrs converter that turns Cincopa's JSON replies into `cincopa_async._models`.

Every wire quirk lives here, as a hook on one converter; the models stay plain data.

=================================  ==========================================================
on the wire                        becomes
=================================  ==========================================================
``"50"``, ``"2.5"``, ``77``        ``50`` / ``2.5`` / ``77.0`` for ``int`` / ``float`` fields
``""`` or ``null``                 ``None`` for optional fields (numbers, flags, dates,
                                   ``message``)
``"a, b,"`` or ``["a", "b"]``      ``("a", "b")`` for ``tuple[str, ...]`` (tags, events)
``page_count``                     ``PagingInfo.pages_count`` (``gallery.list`` spells it so;
                                   ``pages_count`` wins if both arrive)
``"2025-04-23T10:15:00Z"``         an aware ``datetime``; naive values are taken as UTC;
                                   ``"2025-04-23 10:15:00"`` works too
``"yes"/"no"/"true"/"false"/       ``True`` / ``False`` (words in any case)
"1"/"0"/1/0``
``[]`` where an object is          PHP's empty object: ``{}`` for a mapping, ``None`` for an
expected                           optional nested object, the all-defaults object otherwise
``""`` or ``null`` where an        lenient only: the same as ``[]`` (and ``()`` for an array),
object or array is expected        so that one asset's ``"thumbnail": ""`` fails no page
``live_streams``                   ``LiveStreamList.streams`` (wire key inferred)
the whole reply object             ``Reply.raw`` of the top-level model
=================================  ==========================================================

Two modes:

* lenient (``strict=False``, the SDK's default): unknown keys are ignored (they stay
  reachable through ``raw``); numbers sent for text (ids) become text; integral floats such
  as ``1024.0`` become ints; ``null`` for a text, list or mapping field reads as ``""``,
  ``()`` or ``{}``, and ``null`` or ``""`` for a nested object as ``None`` (optional) or the
  all-defaults object.
* strict (``strict=True``, used on the golden replies in CI): an unknown key at any level
  is an error, and so is every value of the wrong JSON type beyond the quirks in the table.

In both modes a JSON object or array never turns into text, and a non-numeric string never
turns into a number. With ``detailed=True`` errors carry notes, so
``cattrs.transform_error(exc)`` names the path, e.g. ``... @ $.items[3].filesize``.

With ``detailed=False`` (the request path, which asks the detailed converter for the paths
only when it fails) each model is built by a hook generated here, `_fast_structure_fn`, in
place of cattrs' ``make_dict_structure_fn``: the same field hooks on the same keys, the same
results, a failure on the same inputs (``tests/test_structure.py``), in fewer calls per object.
"""

import linecache
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MemberDescriptorType
from typing import Any, Final, NoReturn, TypeAlias, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.errors import (
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, mapping_structure_factory, override

from ._models import SECRET, LiveStreamList, PagingInfo, Reply
from ._redact import scrub_then_truncate

__all__ = [
    "CONVERTER",
    "make_converter",
    "problems_of",
    "secret_keys",
    "summary_of",
    "transform_error",
]

#: Problems the detailed converter keeps per array or mapping; the rest are only counted
#: (``_Omitted``), so that a reply of a million bad items does not make a million exceptions.
MAX_ITEM_ERRORS = 20

Hook: TypeAlias = Callable[[Any, Any], Any]

#: Wire keys that differ from the model's field name, per class.
_RENAMES: Mapping[type, Mapping[str, str]] = {
    LiveStreamList: {"streams": "live_streams"},
}

_FLAGS: Mapping[str, bool] = {
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
}

_JSON_KINDS: Mapping[type, str] = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


class _Omitted(Exception):
    """Stands for the problems of an array or a mapping past ``MAX_ITEM_ERRORS``."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def _format_exception(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, _Omitted):
        return f"{exc.count} more invalid items, not listed"
    return cattrs.v.format_exception(exc, type_)


def transform_error(exc: BaseException, path: str) -> list[str]:
    """``cattrs.transform_error`` for the detailed converter's errors: every problem as
    ``<what> @ <path>``, the problems past ``MAX_ITEM_ERRORS`` of an item list as one line."""
    return cattrs.transform_error(exc, path=path, format_exception=_format_exception)


#: Problems an error keeps (``problems_of``), each cut to ``MAX_PROBLEM_LENGTH`` characters.
MAX_PROBLEMS = 20
MAX_PROBLEM_LENGTH = 300


def problems_of(exc: BaseException, path: str) -> list[str]:
    """What an error keeps of the detailed converter's ``exc``: the first ``MAX_PROBLEMS``
    problems (``transform_error``), each scrubbed of every known secret (a path quotes mapping
    keys, a message may quote a value) before it is cut short, and ``and N more``."""
    try:
        problems = transform_error(exc, path=path)
    except RecursionError:  # pragma: no cover - a reply nested beyond what cattrs walks
        problems = [f"nested too deeply to check @ {path}"]
    kept = [scrub_then_truncate(p, MAX_PROBLEM_LENGTH) for p in problems[:MAX_PROBLEMS]]
    if len(problems) > MAX_PROBLEMS:
        kept.append(f"and {len(problems) - MAX_PROBLEMS} more")
    return kept


def summary_of(problems: list[str], shown: int = 5) -> str:
    """The first ``shown`` problems for a message, and how many there are in all."""
    text = "; ".join(problems[:shown])
    return text if len(problems) <= shown else f"{text}; ... (see .errors)"


def secret_keys(model: type) -> frozenset[str]:
    """The wire keys of the fields marked ``SECRET`` in ``model`` and in the models it nests
    (through tuples, mappings and optional fields)."""
    keys: set[str] = set()
    seen: set[type] = set()
    pending = [model]
    while pending:
        cls = pending.pop()
        if cls in seen or not attrs.has(cls):
            continue
        seen.add(cls)
        renames = _RENAMES.get(cls, {})
        for attribute in attrs.fields(cls):
            if attribute.metadata.get(SECRET):
                keys.add(renames.get(attribute.name, attribute.name))
            pending.extend(arg for arg in get_args(attribute.type) if isinstance(arg, type))
            if isinstance(attribute.type, type):
                pending.append(attribute.type)
    return frozenset(keys)


def _kind(value: Any) -> str:
    """Name the JSON type of `value` for an error message."""
    return _JSON_KINDS.get(type(value), type(value).__name__)


def _wrong(expected: str, value: Any) -> TypeError:
    return TypeError(f"expected {expected}, got {_kind(value)}")


# Scalars ------------------------------------------------------------------------------------
# Each hook is one plain function (no wrappers): these run for every field of every asset.


def _int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is str:
        return int(value)  # ValueError for "abc" and ""
    raise _wrong("an integer", value)


def _opt_int(value: Any, _: Any) -> int | None:
    if type(value) is int:
        return value
    if type(value) is str:
        return int(value) if value else None
    if value is None:
        return None
    raise _wrong("an integer", value)


def _integral(value: Any) -> int:
    """Lenient fallback: ``1024.0`` or ``"1024.0"`` is 1024; ``1024.5`` is an error."""
    number = float(value) if type(value) is str else value
    if type(number) is float and number.is_integer():
        return int(number)
    raise ValueError(f"expected an integer, got {value!r}")


def _int_lenient(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is str:
        try:
            return int(value)
        except ValueError:
            return _integral(value)
    if type(value) is float:
        return _integral(value)
    raise _wrong("an integer", value)


def _opt_int_lenient(value: Any, _: Any) -> int | None:
    if type(value) is int:
        return value
    if type(value) is str:
        if not value:
            return None
        try:
            return int(value)
        except ValueError:
            return _integral(value)
    if value is None:
        return None
    if type(value) is float:
        return _integral(value)
    raise _wrong("an integer", value)


def _float(value: Any, _: Any) -> float:
    if type(value) is float:
        return value
    if type(value) is int or type(value) is str:
        return float(value)  # ValueError for "abc" and ""
    raise _wrong("a number", value)


def _opt_float(value: Any, _: Any) -> float | None:
    if type(value) is float:
        return value
    if type(value) is int:
        return float(value)
    if type(value) is str:
        return float(value) if value else None
    if value is None:
        return None
    raise _wrong("a number", value)


def _bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    if type(value) is str:
        flag = _FLAGS.get(value.strip().lower())
        if flag is not None:
            return flag
        raise ValueError(f"expected a yes/no flag, got {value!r}")
    if type(value) is int and (value == 0 or value == 1):
        return value == 1
    raise _wrong("a boolean", value)


def _opt_bool(value: Any, _: Any) -> bool | None:
    if value is None or value == "":
        return None
    return _bool(value, bool)


def _as_utc(parsed: datetime, text: str) -> datetime:
    """A naive date is UTC. Parsing again with an offset is ~5x faster than ``.replace()``."""
    aware = datetime.fromisoformat(text + "+00:00")
    return aware if aware.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _datetime(value: Any, _: Any) -> datetime:
    if type(value) is str:
        parsed = datetime.fromisoformat(value)  # ValueError on garbage and ""
        return parsed if parsed.tzinfo is not None else _as_utc(parsed, value)
    raise _wrong("an ISO 8601 date string", value)


def _opt_datetime(value: Any, _: Any) -> datetime | None:
    if type(value) is str:
        if not value:
            return None
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is not None else _as_utc(parsed, value)
    if value is None:
        return None
    raise _wrong("an ISO 8601 date string", value)


def _str(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    raise _wrong("a string", value)


def _str_lenient(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    if type(value) is int or type(value) is float:
        return str(value)  # ids sometimes arrive as numbers
    if value is None:
        return ""
    raise _wrong("a string", value)


def _opt_str(value: Any, _: Any) -> str | None:
    if type(value) is str:
        return value or None
    if value is None:
        return None
    raise _wrong("a string", value)


def _opt_str_lenient(value: Any, _: Any) -> str | None:
    if type(value) is str:
        return value or None
    if value is None:
        return None
    if type(value) is int or type(value) is float:
        return str(value)
    raise _wrong("a string", value)


def _csv(value: Any, _: Any) -> tuple[str, ...]:
    if type(value) is str:
        return tuple(filter(None, map(str.strip, value.split(","))))
    if type(value) is list:
        if all(type(item) is str for item in value):
            return tuple(value)
        raise _wrong("an array of strings", value)
    raise _wrong("a comma-separated string or an array", value)


def _csv_lenient(value: Any, _: Any) -> tuple[str, ...]:
    if type(value) is str:
        return tuple(filter(None, map(str.strip, value.split(","))))
    if type(value) is list:
        return tuple(_str_lenient(item, str) for item in value)
    if value is None:
        return ()
    raise _wrong("a comma-separated string or an array", value)


# The fast converter's class hooks ------------------------------------------------------

#: The type of the values each scalar hook returns unchanged. Where a field's hook is one of
#: these, the fast converter's generated code (`_fast_structure_fn`) passes a value of that
#: type through without calling the hook; every other value goes to the hook.
_PASSTHROUGH: Mapping[Hook, type] = {
    _str: str,
    _str_lenient: str,
    _int: int,
    _int_lenient: int,
    _opt_int: int,
    _opt_int_lenient: int,
    _float: float,
    _opt_float: float,
    _bool: bool,
    _opt_bool: bool,
}


#: What the generated code gets for a key the input lacks (no JSON value is this object).
_MISSING: Final = object()


def _builds_like_init(cls: type) -> bool:
    """Whether storing each field in its slot builds what ``cls(**fields)`` builds: ``cls`` is
    a slotted attrs class whose ``__init__`` (attrs' own) only stores its arguments and fills
    defaults, with no validator, converter, alias, ``init=False`` field, pre- or post-init hook,
    cached hash, factory taking ``self`` or ``__new__`` of its own. Every model is such a
    class."""
    code = getattr(vars(cls).get("__init__"), "__code__", None)
    if code is None or not code.co_filename.startswith("<attrs generated"):
        return False
    if any("__new__" in vars(base) for base in cls.__mro__ if base is not object):
        return False
    if any(
        hasattr(cls, name)
        for name in ("__attrs_pre_init__", "__attrs_post_init__", "_attrs_cached_hash")
    ):
        return False
    return all(
        a.init
        and a.validator is None
        and a.converter is None
        and a.alias == a.name
        and isinstance(getattr(cls, a.name, None), MemberDescriptorType)
        and not (isinstance(a.default, attrs.Factory) and a.default.takes_self)  # type: ignore[arg-type] # attrs.Factory is a class at run time
        for a in attrs.fields(cls)
    )


def _fast_structure_fn(
    cls: type,
    conv: cattrs.Converter,
    *,
    forbid_extra_keys: bool,
    renames: Mapping[str, str],
    omit: frozenset[str] = frozenset(),
) -> Hook | None:
    """The fast converter's hook for the attrs class ``cls`` (a dict in, an instance out), or
    None where `_builds_like_init` does not hold.

    It does what cattrs' ``make_dict_structure_fn`` generates without detailed validation (the
    same field hooks from ``conv``, the same wire keys, defaults and unknown-key check, so the
    same result, and an exception on the same inputs), in fewer calls per object: a value the
    field's hook would return unchanged (`_PASSTHROUGH`) is not passed to it, and the instance
    is built by storing each field in its slot, without the keyword dict and ``__init__`` call.
    Fields in ``omit`` get their default (``Reply.raw``, set by the caller).
    """
    if any(isinstance(a.type, str) for a in attrs.fields(cls)):
        attrs.resolve_types(cls)  # as cattrs does: postponed annotations
    if not _builds_like_init(cls):
        return None
    globs: dict[str, Any] = {"__cl": cls, "__new": object.__new__, "__missing": _MISSING}
    lines = [f"def structure_{cls.__name__}(o, _=None):"]
    allowed = set()
    body = ["  i = __new(__cl)"]
    for index, a in enumerate(attrs.fields(cls)):
        key = renames.get(a.name, a.name)
        store = f"__s{index}"
        globs[store] = getattr(cls, a.name).__set__
        default = a.default
        if isinstance(default, attrs.Factory):  # type: ignore[arg-type] # a class at run time
            globs[f"__d{index}"] = default.factory
            missing = f"{store}(i, __d{index}())"
        else:
            globs[f"__d{index}"] = default
            missing = f"{store}(i, __d{index})"
        if a.name in omit:
            body.append(f"  {missing}")
            continue
        allowed.add(key)
        hook = conv.get_structure_hook(a.type)
        globs[f"__h{index}"] = hook
        globs[f"__t{index}"] = a.type
        value = f"__h{index}(v, __t{index})"
        if (passthrough := _PASSTHROUGH.get(hook)) is not None:
            globs[f"__p{index}"] = passthrough
            value = f"v if type(v) is __p{index} else {value}"
        if default is attrs.NOTHING:
            body += [f"  v = o[{key!r}]", f"  {store}(i, {value})"]
        else:  # one look-up (``in`` then ``o[key]`` are two, and slower than ``get``)
            body += [
                f"  v = o.get({key!r}, __missing)",
                "  if v is __missing:",
                f"    {missing}",
                "  else:",
                f"    {store}(i, {value})",
            ]
    if forbid_extra_keys:
        globs["__allowed"] = frozenset(allowed)
        globs["__extra"] = ForbiddenExtraKeysError
        lines += [
            "  if not o.keys() <= __allowed:",
            "    raise __extra('', __cl, set(o) - __allowed)",
        ]
    lines += [*body, "  return i"]
    filename = f"<cincopa_async fast structure {cls.__module__}.{cls.__qualname__}>"
    source = "\n".join(lines)
    linecache.cache[filename] = (len(source), None, [line + "\n" for line in lines], filename)
    exec(compile(source, filename, "exec"), globs)  # noqa: S102 - code built above from the model's fields
    hook_fn: Hook = globs[f"structure_{cls.__name__}"]
    return hook_fn


# Factories -----------------------------------------------------------------------------


def _reject(value: Any) -> NoReturn:
    """Fail for a container item that should have been a JSON object."""
    raise _wrong("an object", value)


def _item_check(fast: Hook | None, conv: cattrs.Converter, elem: Any) -> Hook:
    """The hook of one item of an array or a mapping, for the detailed converter's item by item
    pass: ``fast`` (a plain attrs class's generated hook) behind a check for an object."""
    if fast is None:
        return conv.get_structure_hook(elem)

    def check(item: Any, type_: Any) -> Any:
        return fast(item, type_) if type(item) is dict else _reject(item)

    return check


def _is_blank(value: Any) -> bool:
    """null or ``""``: what a lenient converter reads as "absent" where an object, an array or
    a mapping is expected (as it does for text, numbers, flags and dates)."""
    return value is None or (type(value) is str and not value)


def _is_homogeneous_tuple(type_: Any) -> bool:
    args = get_args(type_)
    return get_origin(type_) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_mapping(type_: Any) -> bool:
    return get_origin(type_) in (Mapping, dict)


def _is_optional_attrs(type_: Any) -> bool:
    args = get_args(type_)
    return len(args) == 2 and args[1] is type(None) and attrs.has(args[0])


def make_converter(*, strict: bool = False, detailed: bool = True) -> cattrs.Converter:
    """Build a converter for Cincopa replies.

    Args:
        strict: Reject unknown keys at every level and values of the wrong JSON type
            (for the golden replies in CI). The default is lenient, for production.
        detailed: Use cattrs' detailed validation, so that ``cattrs.transform_error``
            can name the path of every problem.
    """
    lenient = not strict
    conv = cattrs.Converter(forbid_extra_keys=strict, detailed_validation=detailed)

    # Scalars first: a generated hook captures the hooks registered when it is built.
    conv.register_structure_hook(str, _str_lenient if lenient else _str)
    conv.register_structure_hook(int, _int_lenient if lenient else _int)
    conv.register_structure_hook(float, _float)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(datetime, _datetime)
    conv.register_structure_hook(str | None, _opt_str_lenient if lenient else _opt_str)
    conv.register_structure_hook(int | None, _opt_int_lenient if lenient else _opt_int)
    conv.register_structure_hook(float | None, _opt_float)
    conv.register_structure_hook(bool | None, _opt_bool)
    conv.register_structure_hook(datetime | None, _opt_datetime)

    # Generated hooks of plain attrs classes, which expect a dict. Containers of such classes
    # call them directly after an inline ``type(...) is dict`` check: one call less per item.
    plain: dict[type, Hook] = {}

    def plain_hook(cls: Any) -> Hook | None:
        if not attrs.has(cls):
            return None
        conv.get_structure_hook(cls)  # runs attrs_factory, which fills `plain`
        return plain.get(cls)

    def attrs_factory(cls: type) -> Hook:
        """attrs classes: generated hooks, plus renames, ``raw`` and ``page_count``."""
        # `Any`: mypy cannot tell these keyword overrides from the `_cattrs_*` flags.
        overrides: dict[str, Any] = {
            name: override(rename=key) for name, key in _RENAMES.get(cls, {}).items()
        }
        is_reply = issubclass(cls, Reply)
        if is_reply:
            overrides["raw"] = override(omit=True)  # filled from the whole input below
        fast = None
        if not detailed:
            fast = _fast_structure_fn(
                cls,
                conv,
                forbid_extra_keys=strict,
                renames=_RENAMES.get(cls, {}),
                omit=frozenset({"raw"} if is_reply else ()),
            )
        generated: Hook = fast or make_dict_structure_fn(
            cls,
            conv,
            _cattrs_forbid_extra_keys=strict,
            _cattrs_detailed_validation=detailed,
            **overrides,
        )

        if is_reply:

            def structure_reply(value: Any, type_: Any) -> Any:
                if type(value) is not dict:
                    raise _wrong("an object", value)
                reply = generated(value, type_)
                # Set on the new, not yet shared, instance: what attrs' own __init__ does for
                # frozen classes, at a fraction of the cost of attrs.evolve (a second copy).
                object.__setattr__(reply, "raw", value)
                return reply

            return structure_reply

        if cls is PagingInfo:

            def structure_paging(value: Any, type_: Any) -> Any:
                if type(value) is dict:
                    if "page_count" in value:
                        value = dict(value)
                        pages = value.pop("page_count")
                        value.setdefault("pages_count", pages)
                    return generated(value, type_)
                if (type(value) is list and not value) or (lenient and _is_blank(value)):
                    return generated({}, type_)
                raise _wrong("an object", value)

            return structure_paging

        plain[cls] = generated

        def structure_object(value: Any, type_: Any) -> Any:
            if type(value) is dict:
                return generated(value, type_)
            if (type(value) is list and not value) or (lenient and _is_blank(value)):
                return generated({}, type_)
            raise _wrong("an object", value)

        return structure_object

    def optional_attrs_factory(type_: Any) -> Hook:
        """``Model | None``: ``null`` and PHP's empty ``[]`` read as ``None``."""
        cls = get_args(type_)[0]
        inner = conv.get_structure_hook(cls)
        fast = plain.get(cls)

        def structure_optional(value: Any, _: Any) -> Any:
            if type(value) is dict and fast is not None:
                return fast(value, cls)
            if value is None or (type(value) is list and not value):
                return None
            if lenient and _is_blank(value):
                return None
            return inner(value, cls)

        return structure_optional

    def tuple_factory(type_: Any) -> Hook:
        """Homogeneous tuples: a JSON array only (a string is not a list of characters)."""
        elem = get_args(type_)[0]
        fast = plain_hook(elem)
        inner = homogenous_tuple_structure_factory(type_, conv)

        def structure_tuple(value: Any, _: Any) -> Any:
            if type(value) is not list:
                if lenient and _is_blank(value):
                    return ()
                raise _wrong("an array", value)
            if fast is None and not detailed:
                return inner(value, type_)
            if fast is not None:
                try:
                    return tuple([fast(i, elem) if type(i) is dict else _reject(i) for i in value])
                except Exception:
                    if not detailed:
                        raise
            # Detailed: item by item, to report the problems with their index.
            check = _item_check(fast, conv, elem)
            items = []
            errors: list[Exception] = []
            omitted = 0
            for index, item in enumerate(value):
                try:
                    items.append(check(item, elem))
                except Exception as exc:
                    if len(errors) >= MAX_ITEM_ERRORS:
                        omitted += 1
                        continue
                    note = IterableValidationNote(
                        f"Structuring {type_} @ index {index}", index, elem
                    )
                    exc.__notes__ = [*getattr(exc, "__notes__", []), note]
                    errors.append(exc)
            if errors:
                if omitted:
                    errors.append(_Omitted(omitted))
                raise IterableValidationError(f"While structuring {type_!r}", errors, type_)
            return tuple(items)

        return structure_tuple

    def mapping_factory(type_: Any) -> Hook:
        """``Mapping[str, V]``: a JSON object, or PHP's ``[]`` for an empty one."""
        value_type = get_args(type_)[1]
        fast = plain_hook(value_type)
        inner = mapping_structure_factory(type_, conv, dict, detailed_validation=detailed)

        def structure_mapping(value: Any, _: Any) -> Any:
            if type(value) is not dict:
                if (type(value) is list and not value) or (lenient and _is_blank(value)):
                    return {}
                raise _wrong("an object", value)
            if value_type is Any:
                return dict(value)  # JSON keys are always strings
            if fast is None and not detailed:
                return inner(value, type_)
            if fast is not None:
                try:  # a loop, not a comprehension: no function call of its own
                    structured = {}
                    for key, item in value.items():
                        structured[key] = (
                            fast(item, value_type) if type(item) is dict else _reject(item)
                        )
                    return structured
                except Exception:
                    if not detailed:
                        raise
            # Detailed: item by item, to report the problems with their key.
            check = _item_check(fast, conv, value_type)
            items = {}
            errors: list[Exception] = []
            omitted = 0
            for key, item in value.items():
                try:
                    items[key] = check(item, value_type)
                except Exception as exc:
                    if len(errors) >= MAX_ITEM_ERRORS:
                        omitted += 1
                        continue
                    note = IterableValidationNote(
                        f"Structuring mapping value @ key {key!r}", key, value_type
                    )
                    exc.__notes__ = [*getattr(exc, "__notes__", []), note]
                    errors.append(exc)
            if errors:
                if omitted:
                    errors.append(_Omitted(omitted))
                raise IterableValidationError(f"While structuring {type_!r}", errors, dict)
            return items

        return structure_mapping

    conv.register_structure_hook_factory(_is_mapping, mapping_factory)
    conv.register_structure_hook_factory(_is_homogeneous_tuple, tuple_factory)
    conv.register_structure_hook_factory(attrs.has, attrs_factory)
    conv.register_structure_hook_factory(_is_optional_attrs, optional_attrs_factory)
    # Registered last so it wins over the generic tuple factory (last registration wins).
    conv.register_structure_hook_func(
        lambda t: t == tuple[str, ...], _csv_lenient if lenient else _csv
    )
    return conv


#: The SDK's converter: lenient, with detailed validation.
CONVERTER = make_converter()
