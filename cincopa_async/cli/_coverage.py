"""The README's API-coverage table, rendered from the endpoint table.

``python -m cincopa_async.cli._coverage`` prints it; ``--write README.md`` puts it between the
``<!-- api-coverage:start -->`` and ``<!-- api-coverage:end -->`` markers (appended when absent);
``--check README.md`` exits 1 when the README's table is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from cincopa_async._spec import ENDPOINTS, Endpoint

__all__ = ["END_MARKER", "START_MARKER", "readme_with_table", "render_coverage_table"]

START_MARKER: Final = "<!-- api-coverage:start -->"
END_MARKER: Final = "<!-- api-coverage:end -->"


def _cli(endpoint: Endpoint) -> str:
    action = endpoint.action.replace("_", "-")
    return f"cincopa {endpoint.resource} {action}" if endpoint.resource else f"cincopa {action}"


def _python(endpoint: Endpoint) -> str:
    target = (
        f"cp.{endpoint.resource}.{endpoint.action}"
        if endpoint.resource
        else f"cp.{endpoint.action}"
    )
    args = [f"{param.python_name}=..." for param in endpoint.params if param.required]
    if any(not param.required for param in endpoint.params):
        args.append("...")
    call = f"{target}({', '.join(args)})"
    if endpoint.url_only:
        return f"`{call}` (builds a URL)"
    if endpoint.pages is not None:
        return f"`await {call}` / `async for`"
    return f"`await {call}`"


def _confidence(endpoint: Endpoint) -> str:
    if endpoint.inferred:
        return "inferred"
    guessed = [param.python_name for param in endpoint.params if param.inferred]
    if guessed:
        return f"documented; inferred: {', '.join(guessed)}"
    return "documented"


def render_coverage_table() -> str:
    """A Markdown table of every operation: wire name, method, Python call, CLI, confidence."""
    lines = [
        f"All {len(ENDPOINTS)} operations of the API, generated from `cincopa_async/_spec.py`"
        " (`python -m cincopa_async.cli._coverage --write README.md`).",
        "",
        "| operation | HTTP | Python | CLI | confidence |",
        "| --- | --- | --- | --- | --- |",
    ]
    for endpoint in sorted(ENDPOINTS, key=lambda e: (e.resource, e.name)):
        method = "URL only" if endpoint.url_only else endpoint.method
        lines.append(
            f"| `{endpoint.name}` | {method} | {_python(endpoint)} | `{_cli(endpoint)}` |"
            f" {_confidence(endpoint)} |"
        )
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str) -> str:
    """``readme`` with the table between the markers (markers and table appended if absent)."""
    block = f"{START_MARKER}\n{render_coverage_table()}{END_MARKER}"
    start = readme.find(START_MARKER)
    end = readme.find(END_MARKER)
    if start == -1 or end == -1 or end < start:
        return readme.rstrip("\n") + "\n\n## API coverage\n\n" + block + "\n"
    return readme[:start] + block + readme[end + len(END_MARKER) :]


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) == 2 and args[0] in ("--write", "--check"):
        path = Path(args[1])
        current = path.read_text(encoding="utf-8")
        wanted = readme_with_table(current)
        if args[0] == "--check":
            if current != wanted:
                print(f"{path}: the API-coverage table is stale; run with --write", file=sys.stderr)
                return 1
            return 0
        if current != wanted:
            path.write_text(wanted, encoding="utf-8")
        return 0
    if args:
        print("usage: python -m cincopa_async.cli._coverage [--write|--check README.md]")
        return 2
    sys.stdout.write(render_coverage_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
