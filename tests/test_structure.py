"""The fast converter's generated class hooks give what cattrs' own give, on any input.

``make_converter(detailed=False)`` (the request path) builds each model with a hook of its
own (``_converter._fast_structure_fn``): values the field's hook returns unchanged skip the
call, the instance is filled slot by slot. Property, for every reply model, in lenient and
strict mode, on arbitrary wire values (the quirks of the module's table, wrong JSON types,
unknown and missing keys, PHP's ``[]``): it returns what the detailed converter returns (the
same field values of the same types, ``raw`` the very input), and what cattrs' own generated
hooks without detailed validation return, or all three fail.
"""

import struct
import typing
from collections.abc import Mapping
from datetime import datetime
from typing import Any, get_args, get_origin

import attrs
import cattrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cincopa_async import _converter
from cincopa_async import _models as m
from cincopa_async._converter import _PASSTHROUGH, _builds_like_init, make_converter

EXAMPLES = max(200, settings.default.max_examples)

REPLY_MODELS = [
    model
    for name in m.__all__
    if isinstance(model := getattr(m, name), type) and issubclass(model, m.Reply)
]
ALL_MODELS = [
    model for name in m.__all__ if attrs.has(model := getattr(m, name)) and model is not m.Reply
]


def cattrs_generated(*, strict: bool) -> cattrs.Converter:
    """The fast converter as it was: cattrs' ``make_dict_structure_fn`` for every class."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_converter, "_fast_structure_fn", lambda *args, **kwargs: None)
        return make_converter(strict=strict, detailed=False)


CONVERTERS = {
    strict: (
        make_converter(strict=strict, detailed=False),
        cattrs_generated(strict=strict),
        make_converter(strict=strict, detailed=True),
    )
    for strict in (False, True)
}


def same(left: Any, right: Any) -> bool:
    """Equal values of identical types (floats bit for bit), models field by field, ``raw``
    included, mappings in the same order."""
    if type(left) is not type(right):
        return False
    if attrs.has(type(left)):
        return all(
            same(getattr(left, a.name), getattr(right, a.name)) for a in attrs.fields(type(left))
        )
    if type(left) is float:
        return struct.pack("<d", left) == struct.pack("<d", right)
    if type(left) is dict:
        return list(left) == list(right) and all(same(left[k], right[k]) for k in left)
    if type(left) in (list, tuple):
        return len(left) == len(right) and all(map(same, left, right))
    if type(left) is datetime:
        return bool(left == right) and left.utcoffset() == right.utcoffset()
    return bool(left == right)


SCALAR_WIRE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "50",
            "-3",
            "2.5",
            "1024.0",
            "abc",
            "yes",
            "No",
            " TRUE ",
            "false",
            "2025-04-23T10:15:00Z",
            "2025-04-23 10:15:00",
            "2025-04-23T10:15:00+02:00",
            "a, b,",
            " , ",
            "nan",
            "inf",
        ]
    ),
    st.sampled_from([0, 1, 2, 1024.0, 1.5, -0.0]),
)
ANY_WIRE = st.recursive(
    SCALAR_WIRE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=4,
)


def wire_of(field_type: Any) -> st.SearchStrategy[Any]:
    """Wire values for a field of ``field_type``: its quirks, its shape and anything else."""
    args = get_args(field_type)
    if attrs.has(field_type):
        return object_of(field_type) | st.just([]) | SCALAR_WIRE
    if get_origin(field_type) in (typing.Union, type(int | None)) and type(None) in args:
        return wire_of(args[0]) | st.none()
    if get_origin(field_type) is tuple:
        return st.lists(wire_of(args[0]), max_size=3) | SCALAR_WIRE
    if get_origin(field_type) in (Mapping, dict):
        items = st.dictionaries(st.text(max_size=4), wire_of(args[1]), max_size=3)
        return items | st.just([]) | st.lists(SCALAR_WIRE, max_size=2) | SCALAR_WIRE
    return SCALAR_WIRE | ANY_WIRE


def object_of(model: type) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object for ``model``: any of its wire keys, sometimes an unknown one."""
    renames = _converter._RENAMES.get(model, {})
    keys: dict[Any, st.SearchStrategy[Any]] = {
        renames.get(a.name, a.name): st.deferred(lambda t=a.type: wire_of(t))
        for a in attrs.fields(model)
    }
    if model is m.PagingInfo:
        keys["page_count"] = SCALAR_WIRE
    keys["unknown"] = ANY_WIRE
    keys["raw"] = ANY_WIRE  # an unknown key to the converter
    return st.fixed_dictionaries({}, optional=keys)


REPLIES = st.sampled_from(REPLY_MODELS).flatmap(
    lambda model: st.tuples(st.just(model), object_of(model) | ANY_WIRE)
)


def outcome(converter: cattrs.Converter, payload: Any, model: type) -> tuple[bool, Any]:
    try:
        return True, converter.structure(payload, model)
    except Exception as exc:  # only whether it failed is compared
        return False, exc


@settings(max_examples=EXAMPLES)
@given(REPLIES, st.booleans())
def test_the_fast_hooks_give_what_cattrs_hooks_give(reply: tuple[type, Any], strict: bool) -> None:
    model, payload = reply
    fast, generated, detailed = CONVERTERS[strict]
    ours = outcome(fast, payload, model)
    for reference in (generated, detailed):
        theirs = outcome(reference, payload, model)
        assert ours[0] == theirs[0], (payload, ours[1], theirs[1])
        if ours[0]:
            assert same(ours[1], theirs[1]), (payload, ours[1], theirs[1])
            assert ours[1].raw is payload


DATES = st.sampled_from(
    ["2025-04-23T10:15:00Z", "2025-04-23 10:15:00", "2025-04-23T10:15:00.5+02:00", "2025-04-23"]
)
NUMERIC_TEXT = st.integers(min_value=-(10**20), max_value=10**20).map(str) | st.sampled_from(
    ["2.5", "1024.0", "-0", "1e3"]
)
VALID_SCALARS: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(max_size=6) | st.integers(),
    int: st.integers(min_value=-(2**70), max_value=2**70) | NUMERIC_TEXT | st.just(1024.0),
    float: st.floats(allow_nan=False) | st.integers() | NUMERIC_TEXT,
    bool: st.booleans() | st.sampled_from(["yes", "no", "True", "0", "1", 0, 1]),
    datetime: DATES,
    typing.Any: ANY_WIRE,
}


def valid_of(field_type: Any) -> st.SearchStrategy[Any]:
    """Wire values the lenient converter takes for ``field_type``, most of them (ids sent as
    numbers and ``1024.0`` for an int only in lenient mode)."""
    args = get_args(field_type)
    if attrs.has(field_type):
        return valid_object_of(field_type) | st.just([])
    if get_origin(field_type) in (typing.Union, type(int | None)) and type(None) in args:
        return valid_of(args[0]) | st.none() | st.just("")
    if get_origin(field_type) is tuple:
        if args[0] is str:
            return st.lists(st.text(max_size=4), max_size=3) | st.just("a, b,")
        return st.lists(valid_of(args[0]), max_size=3)
    if get_origin(field_type) in (Mapping, dict):
        return st.dictionaries(st.text(max_size=4), valid_of(args[1]), max_size=3) | st.just([])
    return VALID_SCALARS[field_type]


def valid_object_of(model: type) -> st.SearchStrategy[dict[str, Any]]:
    renames = _converter._RENAMES.get(model, {})
    keys: dict[Any, st.SearchStrategy[Any]] = {
        renames.get(a.name, a.name): st.deferred(lambda t=a.type: valid_of(t))
        for a in attrs.fields(model)
        if a.name != "raw"
    }
    required = {key: keys.pop(key) for key in ("rid", "fid") if key in keys}
    if model is m.PagingInfo:
        keys["page_count"] = valid_of(int)
    return st.fixed_dictionaries(required, optional=keys)


@settings(max_examples=EXAMPLES)
@given(
    st.sampled_from(REPLY_MODELS).flatmap(
        lambda model: st.tuples(st.just(model), valid_object_of(model))
    ),
    st.booleans(),
)
def test_valid_replies_structure_the_same_in_every_converter(
    reply: tuple[type, Any], strict: bool
) -> None:
    """Replies of the right shape (the quirks, PHP's ``[]``), as the request path sees them."""
    model, payload = reply
    fast, generated, detailed = CONVERTERS[strict]
    ours = outcome(fast, payload, model)
    for reference in (generated, detailed):
        theirs = outcome(reference, payload, model)
        assert ours[0] == theirs[0], (payload, ours[1], theirs[1])
        if ours[0]:
            assert same(ours[1], theirs[1]), (payload, ours[1], theirs[1])
            assert ours[1].raw is payload


@settings(max_examples=EXAMPLES)
@given(
    st.text(max_size=8)
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.booleans()
)
def test_a_passthrough_value_is_what_its_hook_returns(value: Any) -> None:
    """The generated code skips a field's hook for a value of the hook's passthrough type:
    for such a value every hook of ``_PASSTHROUGH`` returns the value itself."""
    for hook, passthrough in _PASSTHROUGH.items():
        if type(value) is passthrough:
            assert hook(value, passthrough) is value, hook


def test_every_model_is_built_by_the_fast_hooks() -> None:
    """The fast path applies to every model: none falls back to cattrs' own hook."""
    for model in ALL_MODELS:
        assert _builds_like_init(model), model
    fast = make_converter(detailed=False)
    for model in [m.Asset, m.AssetVersion, m.Thumbnail, m.PagingInfo, m.Ping]:
        hook = fast.get_structure_hook(model)
        inner = [cell.cell_contents for cell in hook.__closure__ or ()]
        assert any(
            getattr(fn, "__code__", None) is not None
            and fn.__code__.co_filename.startswith("<cincopa_async fast structure")
            for fn in inner
        ), model


def _class_with(**options: Any) -> type:
    @attrs.frozen(kw_only=True, **options)
    class Model:
        name: str = ""
        size: int | None = None

    return Model


def test_classes_an_instance_cannot_be_filled_slot_by_slot_keep_cattrs_hooks() -> None:
    """A validator, a converter, a post-init hook, an alias, a cached hash, a ``__new__``, no
    slots: the generated code would skip what ``__init__`` (or ``__new__``) does, so such a
    class keeps cattrs' hook (and still gets everything they do)."""
    plain = _class_with()
    assert _builds_like_init(plain)

    @attrs.frozen(kw_only=True)
    class Validated:
        size: int = attrs.field(default=0, validator=attrs.validators.ge(0))

    @attrs.frozen(kw_only=True)
    class Converted:
        size: int = attrs.field(default=0, converter=abs)

    @attrs.frozen(kw_only=True)
    class PostInit:
        size: int = 0

        def __attrs_post_init__(self) -> None:
            raise ValueError("checked")

    @attrs.frozen(kw_only=True)
    class Aliased:
        size: int = attrs.field(default=0, alias="bytes")

    @attrs.frozen(kw_only=True)
    class Defaulted:
        size: int = attrs.field(default=attrs.Factory(lambda self: 1, takes_self=True))

    @attrs.frozen(kw_only=True)
    class Counted:
        size: int = 0

        def __new__(cls, **fields: Any) -> "Counted":
            made.append(fields)
            return super().__new__(cls)

    made: list[dict[str, Any]] = []
    classes = [Validated, Converted, PostInit, Aliased, Defaulted, Counted]
    classes += [_class_with(cache_hash=True), _class_with(slots=False)]
    for cls in classes:
        assert not _builds_like_init(cls), cls
    fast = make_converter(detailed=False)
    with pytest.raises(ValueError, match="must be >= 0"):
        fast.structure({"size": "-1"}, Validated)
    assert fast.structure({"size": "-3"}, Converted).size == 3
    with pytest.raises(ValueError, match="checked"):
        fast.structure({}, PostInit)
    assert fast.structure({"size": 5}, plain) == plain(size=5)
    assert fast.structure({"size": 5}, Counted) == Counted(size=5)
    assert made == [{"size": 5}, {"size": 5}]
