"""What the ``cincopa`` command prints: tables and summaries, raw JSON, errors.

Everything goes through an ``Output``, which knows the API token in use and scrubs it (and every
secret query parameter) from every line it writes, stdout and stderr alike.
"""

from __future__ import annotations

import json
import operator
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import attrs

from cincopa_async._redact import scrub, scrub_values, secret_parts
from cincopa_async._spec import Endpoint

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["Output"]

#: The columns shown for a list of items, per item model; other models show their first fields.
_COLUMNS: Final[Mapping[str, tuple[str, ...]]] = {
    "Asset": ("rid", "type", "filename", "caption", "filesize", "tags", "reference_id"),
    "Gallery": ("fid", "name", "tags", "modified"),
    "Portal": ("subdomain", "url", "template", "allow_public"),
    "Webhook": ("hook_url", "events", "type"),
    "LiveStream": ("id", "name", "status"),
    "SubAccount": ("uid", "account_name"),
    "TokenInfo": ("api_token", "permissions"),
}
_HIDDEN: Final = frozenset({"raw", "success", "runtime"})


def cell(value: Any) -> str:
    """One value as table text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
        return ", ".join(value)
    if attrs.has(type(value)):
        return ", ".join(
            f"{k}={cell(v)}" for k, v in attrs.asdict(value, recurse=False).items() if v
        )
    if isinstance(value, Mapping):
        return json.dumps(to_jsonable(value), ensure_ascii=False)
    return str(value)


def to_jsonable(value: Any) -> Any:
    if attrs.has(type(value)):
        return {
            f.name: to_jsonable(getattr(value, f.name))
            for f in attrs.fields(type(value))
            if f.name != "raw"
        }
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _item_list(reply: Any, endpoint: Endpoint | None) -> tuple[str, Sequence[Any]] | None:
    """The list of items of a reply (the paged items, or its first list of models)."""
    if endpoint is not None and endpoint.pages is not None:
        return endpoint.pages.items, operator.attrgetter(endpoint.pages.items)(reply)
    for f in attrs.fields(type(reply)):
        value = getattr(reply, f.name)
        if isinstance(value, tuple) and value and attrs.has(type(value[0])):
            return f.name, value
    return None


def _raw_items(reply: Any, path: str) -> list[Any]:
    """The items of a page as received: ``path`` (``folder.items``) walked in ``reply.raw``."""
    value: Any = reply.raw
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    if isinstance(value, list):
        return value
    return [to_jsonable(item) for item in operator.attrgetter(path)(reply)]


class Output:
    """Writes results and errors; scrubs ``secrets`` from all of it."""

    def __init__(self, *, secrets: Sequence[str] = (), json_mode: bool = False) -> None:
        # Very short values (a mistyped "x") are no secret and would garble every message.
        self.secrets = tuple(s for s in secrets if len(s) >= 4)
        self.json_mode = json_mode
        self._stdout: Console | None = None
        self._stderr: Console | None = None

    def add_secret(self, secret: str) -> None:
        """Scrub ``secret`` too (a secret argument), and each password of a
        ``user:password`` list on its own."""
        self.secrets += tuple(part for part in secret_parts(secret) if len(part) >= 4)

    def scrub(self, text: str) -> str:
        """``text`` without the secrets of this command, in any encoding, nor secret query
        parameters. Only this command's secrets: a token the command was asked for (a new or
        temporary one) is what it prints."""
        return scrub(text, self.secrets, known=False)

    @property
    def stdout(self) -> Console:
        if self._stdout is None:
            self._stdout = _console(stderr=False)
        return self._stdout

    @property
    def stderr(self) -> Console:
        if self._stderr is None:
            self._stderr = _console(stderr=True)
        return self._stderr

    # -- plain text ----------------------------------------------------------------------------

    def line(self, text: str = "", *, redact: bool = True) -> None:
        """A plain line on stdout (no markup); ``redact=False`` scrubs only the known secrets."""
        text = self.scrub(text) if redact else scrub_values(text, self.secrets)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def note(self, text: str) -> None:
        """A plain line on stderr (progress without a terminal, notices)."""
        sys.stderr.write(self.scrub(text) + "\n")
        sys.stderr.flush()

    def json(self, value: Any) -> None:
        self.line(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False, default=str))

    def error(self, title: str, message: str, hint: str = "") -> None:
        from rich.text import Text

        text = Text()
        text.append(f"error: {title}", style="bold red")
        text.append(f": {self.scrub(message)}")
        if hint:
            text.append(f"\n{self.scrub(hint)}", style="dim")
        self.stderr.print(text, soft_wrap=True)

    # -- replies -------------------------------------------------------------------------------

    def reply(self, reply: Any, endpoint: Endpoint | None = None) -> None:
        """A reply model: raw JSON with ``--json``, else a table and a summary."""
        if self.json_mode:
            self.json(reply.raw if hasattr(reply, "raw") else reply)
            return
        self.render(reply, endpoint)

    def pages(self, replies: Sequence[Any], endpoint: Endpoint) -> None:
        """Every page of a paged operation (``--all``): JSON Lines with ``--json``, one item's
        JSON object (as the server sent it) per line, so that it streams into ``jq``."""
        assert endpoint.pages is not None
        if self.json_mode:
            for reply in replies:
                for item in _raw_items(reply, endpoint.pages.items):
                    self.line(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
            return
        items = [
            item for reply in replies for item in operator.attrgetter(endpoint.pages.items)(reply)
        ]
        self.stdout.print(self.table(endpoint.pages.item, items))
        self.line(f"{len(items)} item(s) on {len(replies)} page(s)")

    def render(self, reply: Any, endpoint: Endpoint | None) -> None:
        if not attrs.has(type(reply)):
            self.line(cell(reply))
            return
        listed = _item_list(reply, endpoint)
        shown = {listed[0].partition(".")[0]} if listed is not None else set()
        if endpoint is not None and endpoint.pages is not None:
            shown.add(endpoint.pages.info.partition(".")[0])
        summary = self.summary(reply, skip=shown)
        if summary is not None:
            self.stdout.print(summary)
        if listed is not None:
            _, items = listed
            model = endpoint.pages.item if endpoint and endpoint.pages else ""
            self.stdout.print(self.table(model or type(items[0]).__name__, items))
            if endpoint is not None and endpoint.pages is not None:
                info_path = endpoint.pages.info
                info = operator.attrgetter(info_path)(reply)
                self.line(
                    f"page {info.page} of {info.pages_count or '?'}: {len(items)} shown,"
                    f" {info.items_count} in all"
                )
        if summary is None and listed is None:
            self.line("ok")

    def summary(self, reply: Any, *, skip: set[str]) -> Table | None:
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        rows = 0
        for f in attrs.fields(type(reply)):
            if f.name in _HIDDEN or f.name in skip:
                continue
            value = getattr(reply, f.name)
            if value in (None, "", (), {}) or (
                isinstance(value, tuple) and value and attrs.has(type(value[0]))
            ):
                continue
            table.add_row(f.name, self.scrub(cell(value)))
            rows += 1
        return table if rows else None

    def table(self, model: str, items: Sequence[Any]) -> Table:
        from rich.table import Table

        table = Table(show_lines=False, header_style="bold")
        if not items:
            table.add_column("(no items)")
            return table
        columns = _COLUMNS.get(model) or tuple(f.name for f in attrs.fields(type(items[0])))[:6]
        for column in columns:
            table.add_column(column, overflow="fold")
        for item in items:
            table.add_row(*(self.scrub(cell(getattr(item, column, ""))) for column in columns))
        return table


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=max(console.width, 120))
    return console
