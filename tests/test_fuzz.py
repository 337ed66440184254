"""Hostile input, fuzzed with hypothesis: every generated method, every parameter kind.

Property, per operation: an argument set the table says is invalid raises
``CincopaValidationError`` and sends nothing; a valid one is sent, and the emulator receives
exactly the wire text the table prescribes (unicode, control characters, CR/LF and huge strings
included). ``nox -s fuzz`` runs the same tests with many more examples
(``HYPOTHESIS_PROFILE=fuzz``; the profiles are in ``tests/conftest.py``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cincopa_async import CincopaError, CincopaValidationError
from cincopa_async._spec import ENDPOINTS, Endpoint, Param, ParamKind
from cincopa_async.testing import CincopaEmulator

# Text as hostile as it gets: any code point but lone surrogates (those are the invalid case),
# CR/LF and other controls included, sometimes very long.
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40) | st.text(
    alphabet="\r\n\t\x00 &=?#%+;,|é中🙂", min_size=1, max_size=20
)
HUGE = st.integers(min_value=1000, max_value=4000).map(lambda n: "x\r\n" * n)
ITEM = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
NOT_JSON = st.sampled_from([object(), {1, 2}, float("nan"), b"bytes"])


def wire_of_text(value: str) -> str:
    return value


def valid(param: Param) -> st.SearchStrategy[tuple[Any, str | None]]:
    """(python value, the wire text it must arrive as; None: it must not be sent)."""
    match param.kind:
        case ParamKind.STR:
            text = (TEXT | HUGE).filter(lambda s: bool(s.strip()) or not param.required)
            return text.map(lambda s: (s, s))
        case ParamKind.INT:
            return st.integers(min_value=-(2**63), max_value=2**63).map(lambda n: (n, str(n)))
        case ParamKind.CSV | ParamKind.PIPE:
            sep = "," if param.kind is ParamKind.CSV else "|"
            items = st.lists(ITEM.filter(lambda s, sep=sep: sep not in s), min_size=1, max_size=4)
            return items.map(lambda xs, sep=sep: (xs, sep.join(xs)))
        case ParamKind.ENUM:
            return st.sampled_from(param.choices).map(lambda c: (c, c))
        case ParamKind.YES_NO:
            return st.booleans().map(lambda b: (b, "yes" if b else "no"))
        case ParamKind.BOOL:
            # False is left out (see _spec's BOOL): None stands for "not on the wire"
            return st.booleans().map(lambda b: (b, "true" if b else None))
        case ParamKind.JSON:
            mapping = st.dictionaries(st.text(max_size=8), JSON_VALUE, max_size=4)
            return mapping.map(
                lambda m: (m, json.dumps(m, separators=(",", ":"), ensure_ascii=False))
            )
    raise AssertionError(param.kind)  # pragma: no cover


def invalid(param: Param) -> st.SearchStrategy[Any]:
    common = st.sampled_from([1.5, b"x", object(), ["nested", ["list"]]])
    match param.kind:
        case ParamKind.STR:
            bad = st.just("bad \ud800 surrogate") | st.integers() | common
            return bad | st.just("   ") if param.required else bad
        case ParamKind.INT:
            return st.sampled_from(["7", True, 7.0, None.__class__]) | common
        case ParamKind.CSV | ParamKind.PIPE:
            sep = "," if param.kind is ParamKind.CSV else "|"
            return st.sampled_from([["ok", ""], [f"a{sep}b"], [1, 2], b"raw"])
        case ParamKind.ENUM:
            return st.text(max_size=5).filter(lambda s: s not in param.choices)
        case ParamKind.YES_NO | ParamKind.BOOL:
            return st.sampled_from(["yes", "true", 1, 0, "no"])
        case ParamKind.JSON:
            return NOT_JSON.map(lambda v: {"k": v}) | st.sampled_from(["[1]", "{bad", 3])
    raise AssertionError(param.kind)  # pragma: no cover


@st.composite
def arguments(draw: st.DrawFn, endpoint: Endpoint) -> tuple[dict[str, Any], dict[str, str], bool]:
    """Keyword arguments, the wire params expected, and whether the set is valid."""
    kwargs: dict[str, Any] = {}
    expected: dict[str, str] = {}
    ok = True
    for param in endpoint.params:
        choice = draw(
            st.sampled_from(
                ["valid", "omit", "invalid"]
                if not param.required
                else ["valid", "valid", "omit", "invalid"]
            )
        )
        if choice == "omit":
            if param.required:  # passed as None: the SDK's check, not Python's, must refuse it
                kwargs[param.python_name] = None
                ok = False
        elif choice == "valid":
            value, wire = draw(valid(param))
            kwargs[param.python_name] = value
            if wire is not None:
                expected[param.wire] = wire
        else:
            kwargs[param.python_name] = draw(invalid(param))
            ok = False
    return kwargs, expected, ok


EMULATOR = CincopaEmulator(seed=99, record_requests=True)
TOKEN = EMULATOR.create_token()
CALLS = [e for e in ENDPOINTS if not e.url_only]


async def call(endpoint: Endpoint, kwargs: dict[str, Any]) -> int:
    """Call the method; return how many requests reached the emulator."""
    before = len(EMULATOR.requests)
    async with EMULATOR.client(api_token=TOKEN, max_retries=0) as cp:
        owner = getattr(cp, endpoint.resource) if endpoint.resource else cp
        method = getattr(owner, endpoint.action)
        try:
            result = method(**kwargs)
            await result
        except CincopaValidationError:
            raise
        except CincopaError:
            pass  # the emulator may refuse (unknown ids, rules): only what it received matters
    return len(EMULATOR.requests) - before


@pytest.mark.parametrize("endpoint", CALLS, ids=lambda e: e.name)
def test_fuzzed_arguments(endpoint: Endpoint) -> None:
    """Invalid: CincopaValidationError, nothing sent. Valid: sent exactly as the table says."""

    @given(arguments(endpoint))
    def check(case: tuple[dict[str, Any], dict[str, str], bool]) -> None:
        kwargs, expected, ok = case
        if not ok:
            with pytest.raises(CincopaValidationError):
                anyio.run(call, endpoint, kwargs)
            return
        before = len(EMULATOR.requests)
        try:
            sent = anyio.run(call, endpoint, kwargs)
        except CincopaValidationError as error:  # valid values, but together too long a URL
            refused = str(error)
            assert len(EMULATOR.requests) == before
            assert "character URL" in refused
            return
        assert sent == 1
        received = EMULATOR.requests[before].params
        for wire, text in expected.items():
            if wire in ("simple_user_add", "security_key"):
                continue  # the emulator's log redacts these
            assert received.get(wire) == text, (wire, text[:80], received.get(wire, "")[:80])
        assert set(received) - {"api_token"} == set(expected)

    check()


@given(name=TEXT.filter(lambda s: bool(s.strip())))
def test_fuzzed_upload_file_names(name: str) -> None:
    """Any file name (CR/LF, unicode, quotes ...) travels intact but for whitespace at its edges,
    injecting no header."""

    async def upload() -> None:
        async with EMULATOR.client(api_token=TOKEN) as cp:
            await cp.upload_file(b"payload", filename=name)

    before = len(EMULATOR.requests)
    anyio.run(upload)
    [post] = [r for r in EMULATOR.requests[before:] if r.path.startswith("/upload/")]
    assert unquote(post.headers["x-file-name"]) == name.strip()  # edges: see check_filename
    assert set(post.headers) <= {
        "host",
        "user-agent",
        "accept",
        "accept-encoding",
        "connection",
        "content-length",
        "content-type",
        "x-file-name",
        "content-range",
        "unique-id",
    }
