"""What the ``cincopa`` command prints: tables and summaries, raw JSON, errors.

Everything goes through an ``Output``, which knows the API token in use and scrubs it (and every
secret query parameter) from every line it writes, stdout and stderr alike.

Credentials (the policy, stated in the README's command-line section): a command whose purpose
is to produce a credential -- ``CREDENTIAL_COMMANDS`` -- prints it in full, on stdout only: it is
that command's output. Everything else is redacted: the CLI's own token everywhere (even in
those commands' output, should a server echo it), secret query parameters in any URL, secret
arguments, the ``CREDENTIAL_KEYS`` fields of any other reply (so ``token list`` shows which
tokens exist, not their values), and all of stderr (errors, progress), whatever the command.

Printing never fails on what a reply holds: nesting deeper than ``MAX_OUTPUT_DEPTH`` levels is
a ``ResponseValidationError`` (a table cell shows a placeholder), and text the terminal cannot
encode (a lone surrogate, say) is escaped -- ``\\u`` escapes in JSON, so it stays valid JSON.
"""

from __future__ import annotations

import json
import operator
import re
import sys
from collections.abc import AsyncIterable, Mapping, Sequence
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Final

import attrs

from cincopa_async._errors import ResponseValidationError
from cincopa_async._redact import REDACTED, scrub, scrub_values, secret_parts
from cincopa_async._spec import Endpoint

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

__all__ = [
    "CREDENTIAL_COMMANDS",
    "CREDENTIAL_KEYS",
    "MAX_OUTPUT_DEPTH",
    "Output",
    "OutputTooDeepError",
    "dumps",
    "to_jsonable",
]

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

#: The operations whose output is a credential, printed in full (see the module docstring): a new
#: token, a self-authorising upload URL (its ``hash``), an invite-upload token, a widget URL
#: with a temporary token in it.
CREDENTIAL_COMMANDS: Final = frozenset(
    {
        "token.get_temp",
        "token.create",
        "asset.get_upload_url",
        "upload.get_upload_token",
        "upload.iframe",
    }
)
#: Reply fields holding a token (the models keep them out of ``repr``): ``REDACTED`` in the
#: output of every command but the ``CREDENTIAL_COMMANDS``. The models' other secret,
#: ``upload_url``, is a URL: its ``hash`` is redacted as a secret query parameter.
CREDENTIAL_KEYS: Final = frozenset({"api_token", "token"})

#: The deepest nesting printed (a container inside a container ..., the outermost is level 1).
#: Cincopa's replies nest a few levels; this stays far below the depth where ``json.dumps``
#: would exceed the interpreter's recursion limit.
MAX_OUTPUT_DEPTH: Final = 200
_TOO_DEEP_CELL: Final = "(nested too deeply to show)"

_Where = tuple[str | int, "_Where"] | None  # a path, innermost key first, as a linked list


class OutputTooDeepError(Exception):
    """A value nests deeper than ``MAX_OUTPUT_DEPTH``; ``.path`` is where (``$.x[0][0]...``)."""

    def __init__(self, path: str) -> None:
        super().__init__(f"nested more than {MAX_OUTPUT_DEPTH} levels deep @ {path}")
        self.path = path


def _path(where: _Where) -> str:
    keys: list[str | int] = []
    while where is not None:
        key, where = where
        keys.append(key)
    parts = [f"[{key}]" if isinstance(key, int) else f".{key}" for key in reversed(keys)]
    text = "$" + "".join(parts[:8])
    return text + "..." if len(parts) > 8 else text


def to_jsonable(value: Any, *, redact_keys: frozenset[str] = frozenset()) -> Any:
    """``value`` -- models, mappings, lists and tuples, datetimes, scalars -- as plain JSON data.

    Models lose ``raw``; mapping keys become ``str``; a non-empty string under a key of
    ``redact_keys`` becomes ``REDACTED``. Iterative (no recursion, whatever the depth); raises
    ``OutputTooDeepError`` for nesting deeper than ``MAX_OUTPUT_DEPTH``.
    """
    holder: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int, _Where]] = [(value, holder, 0, 1, None)]
    while stack:
        item, target, slot, depth, where = stack.pop()
        if attrs.has(type(item)):
            item = {
                f.name: getattr(item, f.name) for f in attrs.fields(type(item)) if f.name != "raw"
            }
        if isinstance(item, Mapping):
            if depth > MAX_OUTPUT_DEPTH:
                raise OutputTooDeepError(_path(where))
            node: dict[str, Any] = {}
            for raw_key, child in item.items():
                key = str(raw_key)
                if key in redact_keys and isinstance(child, str) and child:
                    node[key] = REDACTED
                else:
                    node[key] = None  # keeps the keys in order; filled in from the stack
                    stack.append((child, node, key, depth + 1, (key, where)))
            target[slot] = node
        elif isinstance(item, list | tuple):
            if depth > MAX_OUTPUT_DEPTH:
                raise OutputTooDeepError(_path(where))
            array: list[Any] = [None] * len(item)
            for index, child in enumerate(item):
                stack.append((child, array, index, depth + 1, (index, where)))
            target[slot] = array
        elif isinstance(item, datetime):
            target[slot] = item.isoformat()
        else:
            target[slot] = item
    return holder[0]


def dumps(
    value: Any,
    *,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    stream: IO[str] | None = None,
) -> str:
    """JSON text of plain JSON data (``to_jsonable``'s): characters as they are, unless
    ``stream`` (default stdout) cannot encode them -- a lone surrogate, or a non-UTF-8
    terminal -- then ``\\u`` escapes: valid JSON either way, decoding to the same strings."""
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=False, default=str)
    encoding = getattr(stream if stream is not None else sys.stdout, "encoding", None)
    try:
        text.encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(value, indent=indent, separators=separators, default=str)
    return text


def cell(value: Any, *, redact_keys: frozenset[str] = frozenset()) -> str:
    """One value as table text (nested data as compact JSON, or a placeholder when too deep)."""
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
            f"{k}={REDACTED if k in redact_keys else cell(v, redact_keys=redact_keys)}"
            for k, v in attrs.asdict(value, recurse=False).items()
            if v
        )
    if isinstance(value, Mapping | list | tuple):
        try:
            return dumps(to_jsonable(value, redact_keys=redact_keys))
        except OutputTooDeepError:
            return _TOO_DEEP_CELL
    return str(value)


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


# C0 controls but tab and newline, DEL, and C1 controls (0x9b is CSI on many terminals).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escaped_control(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04x}"


def terminal_safe(text: str) -> str:
    """``text`` with every control character a terminal might obey (an escape sequence from a
    reply: an asset's title is anyone's text) written as a ``\\u`` escape, tabs and newlines
    kept. JSON text stays valid JSON decoding to the same strings (``json`` escapes C0 itself;
    C1 and DEL in a string become their ``\\u`` escapes)."""
    return _CONTROL_RE.sub(_escaped_control, text)


class Output:
    """Writes results and errors; scrubs ``secrets`` from all of it, and writes every control
    character as an escape (``terminal_safe``).

    ``credential``: this command's output is a credential (``CREDENTIAL_COMMANDS``): its results
    are printed without redaction but for ``secrets`` (see the module docstring).
    """

    def __init__(
        self, *, secrets: Sequence[str] = (), json_mode: bool = False, credential: bool = False
    ) -> None:
        # Very short values (a mistyped "x") are no secret and would garble every message.
        self.secrets = tuple(s for s in secrets if len(s) >= 4)
        self.json_mode = json_mode
        self.credential = credential
        self._stdout: Console | None = None
        self._stderr: Console | None = None

    def add_secret(self, secret: str) -> None:
        """Scrub ``secret`` too (a secret argument), and each password of a
        ``user:password`` list on its own."""
        self.secrets += tuple(part for part in secret_parts(secret) if len(part) >= 4)

    @property
    def redact_keys(self) -> frozenset[str]:
        """The reply fields shown as ``REDACTED`` in this command's results."""
        return frozenset() if self.credential else CREDENTIAL_KEYS

    def scrub(self, text: str) -> str:
        """``text`` without the secrets of this command, in any encoding, nor secret query
        parameters (stderr, and the results of every command but the credential ones). Only
        this command's secrets: a token the command was asked for (a new or temporary one) is
        what it prints."""
        return scrub(self._without_untextual(text), self._textual(), known=False)

    def _result(self, text: str) -> str:
        """A result as printed: scrubbed, or for a credential command only of ``secrets``."""
        if not self.credential:
            return self.scrub(text)
        return self._only_secrets(text)

    def _only_secrets(self, text: str) -> str:
        """``text`` without the values of ``secrets`` (any encoding), patterns left alone."""
        return scrub_values(self._without_untextual(text), self._textual())

    def _textual(self) -> list[str]:
        return [secret for secret in self.secrets if _is_text(secret)]

    def _without_untextual(self, text: str) -> str:
        """A secret that cannot be sent (nor percent-encoded): its plain form still goes."""
        for secret in self.secrets:
            if not _is_text(secret):
                text = text.replace(secret, REDACTED)
        return text

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
        text = self.scrub(text) if redact else self._only_secrets(text)
        sys.stdout.write(terminal_safe(text) + "\n")
        sys.stdout.flush()

    def result(self, text: str) -> None:
        """A result line on stdout, redacted as this command's results are."""
        self.line(self._result(text), redact=False)

    def note(self, text: str) -> None:
        """A plain line on stderr (progress without a terminal, notices)."""
        sys.stderr.write(terminal_safe(self.scrub(text)) + "\n")
        sys.stderr.flush()

    def json(self, value: Any, *, operation: str = "cincopa") -> None:
        """``value`` as indented JSON, a result (``ResponseValidationError`` if too deep)."""
        self.result(dumps(self._jsonable(value, operation), indent=2))

    def _jsonable(self, value: Any, operation: str) -> Any:
        try:
            return to_jsonable(value, redact_keys=self.redact_keys)
        except OutputTooDeepError as too_deep:
            raise ResponseValidationError(
                f"{operation}: the reply is {too_deep}; not printed (the operation itself"
                " completed)",
                operation=operation,
                url=None,
                errors=[str(too_deep)],
            ) from None

    def error(self, title: str, message: str, hint: str = "") -> None:
        from rich.text import Text

        text = Text()
        text.append(terminal_safe(f"error: {self.scrub(title)}"), style="bold red")
        text.append(terminal_safe(f": {self.scrub(message)}"))
        if hint:
            text.append(terminal_safe(f"\n{self.scrub(hint)}"), style="dim")
        self.stderr.print(text, soft_wrap=True)

    # -- replies -------------------------------------------------------------------------------

    def reply(self, reply: Any, endpoint: Endpoint | None = None) -> None:
        """A reply model: raw JSON with ``--json``, else a table and a summary."""
        if self.json_mode:
            operation = endpoint.name if endpoint is not None else "cincopa"
            self.json(reply.raw if hasattr(reply, "raw") else reply, operation=operation)
            return
        self.render(reply, endpoint)

    async def pages(self, replies: AsyncIterable[Any], endpoint: Endpoint) -> None:
        """Every page of a paged operation (``--all``), printed as each page arrives and not
        kept: with ``--json`` JSON Lines, one item's JSON object (as the server sent it) per
        line, so that it streams into ``jq``; else a table per page, then a count."""
        assert endpoint.pages is not None
        layout = endpoint.pages
        items_seen = pages_seen = 0
        async for reply in replies:
            pages_seen += 1
            if self.json_mode:
                raw = _raw_items(reply, layout.items)
                items_seen += len(raw)
                for item in raw:
                    data = self._jsonable(item, endpoint.name)
                    self.result(dumps(data, separators=(",", ":")))
                continue
            items = operator.attrgetter(layout.items)(reply)
            items_seen += len(items)
            if items:
                self.stdout.print(self.table(layout.item, items))
        if not self.json_mode:
            if not items_seen:
                self.stdout.print(self.table(layout.item, ()))
            self.line(f"{items_seen} item(s) on {pages_seen} page(s)")

    def render(self, reply: Any, endpoint: Endpoint | None) -> None:
        if not attrs.has(type(reply)):
            self.result(cell(reply, redact_keys=self.redact_keys))
            return
        listed = _item_list(reply, endpoint)
        shown = {listed[0].partition(".")[0]} if listed is not None else set()
        if endpoint is not None and endpoint.pages is not None:
            shown.add(endpoint.pages.info.partition(".")[0])
        summarized = self.summary(reply, skip=shown)
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
        if not summarized and listed is None:
            self.line("ok")

    def _cell(self, name: str, value: Any) -> str:
        if name in self.redact_keys and isinstance(value, str) and value:
            return REDACTED
        return terminal_safe(self._result(cell(value, redact_keys=self.redact_keys)))

    def summary(self, reply: Any, *, skip: set[str]) -> bool:
        """Print the reply's own fields (those not in ``skip``); False when none has a value.

        A two-column table; for a credential command plain ``name  value`` lines instead, so
        that a long URL or token is never folded or cropped (it is meant to be copied).
        """
        from rich.table import Table

        rows = []
        for f in attrs.fields(type(reply)):
            if f.name in _HIDDEN or f.name in skip:
                continue
            value = getattr(reply, f.name)
            if value in (None, "", (), {}) or (
                isinstance(value, tuple) and value and attrs.has(type(value[0]))
            ):
                continue
            rows.append((f.name, self._cell(f.name, value)))
        if not rows:
            return False
        if self.credential:
            width = max(len(name) for name, _ in rows)
            for name, text in rows:
                self.line(f"{name:<{width}}  {text}", redact=False)
            return True
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for name, text in rows:
            table.add_row(name, _plain(text))
        self.stdout.print(table)
        return True

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
            table.add_row(
                *(_plain(self._cell(column, getattr(item, column, ""))) for column in columns)
            )
        return table


def _plain(text: str) -> Text:
    """A table cell: the text as it is. A ``str`` cell is rich markup -- ``[/b]`` in an asset's
    title (anyone's text) is a ``MarkupError``, ``[link=...]`` a terminal hyperlink."""
    from rich.text import Text

    return Text(text)


def _is_text(value: str) -> bool:
    """Whether ``value`` encodes as UTF-8 (not so with lone surrogates, from undecodable bytes)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=max(console.width, 120))
    return console
