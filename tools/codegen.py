"""Render the endpoint table (``cincopa_async._spec.ENDPOINTS``) into ``_generated.py``.

A development tool, not part of the package (the wheel does not ship it). Run
``python tools/codegen.py`` (or ``nox -s codegen``) after changing the table, or ``... --check``
to fail when the checked-in file is stale. The output is deterministic and already in
``ruff format`` style, so the lint step doubles as a test of the generator. Generated methods
hold no logic: a signature, a docstring, and one call into the client (``_call``,
``_paginate`` or ``_build_url``).
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

from cincopa_async._spec import ENDPOINTS, Endpoint, Param, ParamKind

__all__ = ["TARGET", "main", "render"]

TARGET = Path(__file__).resolve().parents[1] / "cincopa_async" / "_generated.py"
HEADER = '# Generated from cincopa_async/_spec.py by "python tools/codegen.py". Do not edit.\n'

_WIDTH = 96

_ANNOTATIONS = {
    ParamKind.STR: "str",
    ParamKind.INT: "int",
    ParamKind.CSV: "Sequence[str]",
    ParamKind.PIPE: "Sequence[str]",
    ParamKind.YES_NO: "bool",
    ParamKind.BOOL: "bool",
    ParamKind.JSON: "Mapping[str, Any]",
}


def annotation(param: Param) -> str:
    """The Python type of a parameter as written in the generated signature."""
    if param.kind is ParamKind.ENUM:
        base = "Literal[" + ", ".join(f'"{choice}"' for choice in param.choices) + "]"
    else:
        base = _ANNOTATIONS[param.kind]
    return base if param.required else f"{base} | None"


def return_annotation(endpoint: Endpoint) -> str:
    if endpoint.url_only:
        return "str"
    if endpoint.pages is not None:
        return f"AsyncPager[{endpoint.reply}, {endpoint.pages.item}]"
    return endpoint.reply


def _wrap(text: str, indent: str, first: str = "", hanging: str = "    ") -> list[str]:
    return textwrap.wrap(
        first + text,
        width=_WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + hanging,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _docstring(endpoint: Endpoint, extra_args: Iterable[tuple[str, str]]) -> list[str]:
    indent = " " * 8
    summary = textwrap.wrap(endpoint.summary, width=_WIDTH - 11, break_on_hyphens=False)
    lines = [f'{indent}"""{summary[0]}', *(indent + line for line in summary[1:]), ""]
    lines.append(f"{indent}`{endpoint.method} /v2/{endpoint.path}`")
    if endpoint.url_only:
        lines += [
            "",
            *_wrap(
                "Builds the URL (nothing is sent). The URL carries a token: hand it only to the"
                " browser that needs it, and prefer a temporary token (`api_token=`).",
                indent,
                hanging="",
            ),
        ]
    if endpoint.pages is not None:
        lines += [
            "",
            *_wrap(
                "Await the result for one page; iterate it with `async for` for every item of"
                " every page, starting at `page` (default 1).",
                indent,
                hanging="",
            ),
        ]
    if endpoint.inferred:
        lines += [
            "",
            *_wrap(
                "Inferred: Cincopa's reference does not document this operation's parameters"
                " and reply; they are the project's best guess.",
                indent,
                hanging="",
            ),
        ]
    args = [(p.python_name, _param_doc(p)) for p in endpoint.params] + list(extra_args)
    if args:
        lines += ["", f"{indent}Args:"]
        for name, doc in args:
            lines += _wrap(doc, indent + "    ", first=f"{name}: ")
    lines.append(f'{indent}"""')
    return [line.rstrip() for line in lines]


def _param_doc(param: Param) -> str:
    doc = param.doc.rstrip(".") or "see Cincopa's reference"
    notes = []
    if param.kind is ParamKind.CSV:
        notes.append("sent comma-separated")
    if param.kind is ParamKind.PIPE:
        notes.append("sent pipe-separated")
    if param.kind is ParamKind.YES_NO:
        notes.append("sent as yes/no")
    if param.kind is ParamKind.JSON:
        notes.append("sent as JSON text")
    if param.secret:
        notes.append("secret: redacted from URLs, logs and errors")
    if param.inferred:
        notes.append("inferred")
    return doc + (f" ({'; '.join(notes)})." if notes else ".")


def _method(endpoint: Endpoint, owner: str) -> list[str]:
    params = list(endpoint.params)
    params.sort(key=lambda p: not p.required)
    extra_args: list[tuple[str, str]] = []
    signature = [
        f"{p.python_name}: {annotation(p)}" + ("" if p.required else " = None") for p in params
    ]
    if endpoint.url_only:
        signature.append("api_token: str | None = None")
        extra_args.append(
            ("api_token", "a (temporary) token to put in the URL instead of the client's.")
        )
    is_async = not endpoint.url_only and endpoint.pages is None
    head = f"    {'async def' if is_async else 'def'} {endpoint.action}("
    returns = return_annotation(endpoint)
    if signature:
        lines = [head, "        self,", "        *,"]
        lines += [f"        {item}," for item in signature]
        lines.append(f"    ) -> {returns}:")
    else:
        lines = [f"{head}self) -> {returns}:"]
    lines += _docstring(endpoint, extra_args)
    if endpoint.url_only:
        call, tail, pad = f"{owner}._build_url(", ["            api_token,"], ""
        lines.append(f"        return {call}")
    else:
        verb = "_paginate" if endpoint.pages is not None else "_call"
        call = f"{'await ' if is_async else ''}{owner}.{verb}("
        tail, pad = [], "    "
        lines += ["        return cast(", f'            "{returns}",', f"            {call}"]
    lines.append(f'{pad}            "{endpoint.name}",')
    if endpoint.params:
        lines.append(f"{pad}            {{")
        lines += [f'{pad}                "{p.wire}": {p.python_name},' for p in endpoint.params]
        lines.append(f"{pad}            }},")
    else:
        lines.append(f"{pad}            {{}},")
    lines += tail
    lines.append(f"{pad}        ){',' if pad else ''}")
    if pad:
        lines.append("        )")
    return lines


def _class_name(resource: str) -> str:
    return resource.capitalize() + "Resource"


def render() -> str:
    """The full text of ``_generated.py``."""
    resources: dict[str, list[Endpoint]] = {}
    root: list[Endpoint] = []
    for endpoint in ENDPOINTS:
        if endpoint.resource:
            resources.setdefault(endpoint.resource, []).append(endpoint)
        else:
            root.append(endpoint)
    models = sorted(
        {e.reply for e in ENDPOINTS if e.reply} | {e.pages.item for e in ENDPOINTS if e.pages}
    )
    names = sorted(resources)
    out = [
        HEADER.rstrip("\n"),
        '"""Typed coroutine methods for every Cincopa operation, rendered from the endpoint table.',
        "",
        "Each method checks nothing and decides nothing: it names its operation and hands its",
        "arguments, keyed by wire name, to the client's one request path; ``cast`` only tells",
        "type checkers which reply model that path returns for the operation.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import abc",
        "from collections.abc import Mapping, Sequence",
        "from typing import TYPE_CHECKING, Any, Literal, cast",
        "",
        "if TYPE_CHECKING:  # the models load on the first call, not on import",
        "    from ._models import (",
        *(f"        {model}," for model in models),
        "    )",
        "    from ._paging import AsyncPager",
        "",
        "__all__ = [",
        *(f'    "{item}",' for item in sorted(["ClientOperations", *map(_class_name, names)])),
        "]",
    ]
    for name in names:
        out += [
            "",
            "",
            f"class {_class_name(name)}:",
            f'    """The `{name}.*` operations, as `client.{name}.<action>(...)`."""',
            "",
            '    __slots__ = ("_client",)',
            "",
            "    def __init__(self, client: ClientOperations) -> None:",
            "        self._client = client",
        ]
        for endpoint in resources[name]:
            out += ["", *_method(endpoint, "self._client")]
    out += [
        "",
        "",
        "class ClientOperations(abc.ABC):",
        '    """The resource attributes and the operations without a resource prefix."""',
        "",
        "    def __init__(self) -> None:",
        *(f"        self.{name} = {_class_name(name)}(self)" for name in names),
        "",
        "    @abc.abstractmethod",
        "    async def _call(self, name: str, arguments: Mapping[str, object]) -> Any: ...",
        "",
        "    @abc.abstractmethod",
        "    def _paginate(self, name: str, arguments: Mapping[str, object]) -> Any: ...",
        "",
        "    @abc.abstractmethod",
        "    def _build_url(",
        "        self, name: str, arguments: Mapping[str, object], api_token: str | None",
        "    ) -> str: ...",
    ]
    for endpoint in root:
        out += ["", *_method(endpoint, "self")]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write ``_generated.py``; with ``--check``, exit 1 if it is not what the table renders."""
    args = sys.argv[1:] if argv is None else argv
    text = render()
    if "--check" in args:
        if TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is stale: run `python tools/codegen.py`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
