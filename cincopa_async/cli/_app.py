"""The ``cincopa`` click application, its operation commands generated from the endpoint table."""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final, NoReturn, TypeVar

import anyio
import click

from cincopa_async._client import (
    BASE_URL_ENV_VAR,
    DEFAULT_BASE_URL,
    TOKEN_ENV_VAR,
    AsyncCincopa,
)
from cincopa_async._errors import CincopaError, CincopaValidationError
from cincopa_async._paging import MAX_PAGES
from cincopa_async._redact import redact
from cincopa_async._spec import ENDPOINTS, Endpoint, Param, ParamKind
from cincopa_async._uploads import DEFAULT_CHUNK_SIZE

from ._exit import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, exit_code_for, exit_code_table
from ._limits import MAX_CONCURRENCY
from ._output import CREDENTIAL_COMMANDS, Output
from ._sync import ledger_group, sync_command

__all__ = ["BASE_URL_ENV_VAR", "cli", "command_name", "option_name"]

T = TypeVar("T")

_CONTEXT: Final[dict[str, Any]] = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": 100,
    # ``set_meta`` and ``--items_per_page`` work as well as ``set-meta`` and ``--items-per-page``.
    "token_normalize_func": lambda name: name.replace("_", "-"),
}
_EPILOG: Final = (
    "\b\nThe token comes from --token or CINCOPA_API_TOKEN and is never printed.\n"
    "Exit codes (one per error class of cincopa_async._errors):\n" + exit_code_table()
)


class Settings:
    """The root options, shared by every command through the click context."""

    def __init__(
        self,
        token: str | None,
        base_url: str,
        json_mode: bool,
        timeout: float,
        max_retries: int,
    ) -> None:
        self.token = token
        self.base_url = base_url
        self.json_mode = json_mode
        self.timeout = timeout
        self.max_retries = max_retries

    def __repr__(self) -> str:
        return f"<Settings base_url={redact(self.base_url)!r}>"  # the token stays out

    def output(self, json_mode: bool = False, *, credential: bool = False) -> Output:
        return Output(
            secrets=(self.token or "",),
            json_mode=self.json_mode or json_mode,
            credential=credential,
        )

    def client(self) -> AsyncCincopa:
        if not self.token or not self.token.strip():
            raise CincopaValidationError(
                [f"api token: is required (pass --token or set {TOKEN_ENV_VAR})"],
                operation="cincopa",
            )
        try:
            self.token.encode("ascii")
        except UnicodeEncodeError:  # undecodable bytes, or letters no token has
            raise CincopaValidationError(
                ["api token: must be ASCII text (it holds other characters or undecodable bytes)"],
                operation="cincopa",
            ) from None
        return AsyncCincopa(
            self.token,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )


def run(out: Output, main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main`` on an event loop; a ``CincopaError`` becomes a message and its exit code,
    and so, as a last resort, does any other exception (exit code 1): never a traceback."""
    try:
        return anyio.run(main)
    except CincopaError as error:
        fail(out, error)
    except KeyboardInterrupt:
        out.note("interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:  # stdout was closed early (| head): stop without a traceback
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    except click.ClickException:
        raise  # a usage error found while running: click prints it
    except Exception as error:  # a defect: one line naming it, not a traceback
        while isinstance(error, ExceptionGroup) and len(error.exceptions) == 1:
            error = error.exceptions[0]  # one failure out of a task group: report that one
        if isinstance(error, CincopaError):
            fail(out, error)
        internal_error(out, error)


def internal_error(out: Output, error: BaseException) -> NoReturn:
    """An exception nothing expected: one scrubbed line, exit code 1."""
    out.error(
        "internal error",
        f"{type(error).__name__}: {error}",
        "(unexpected: please report it as a bug in cincopa; exit code 1)",
    )
    sys.exit(1)


def fail(out: Output, error: BaseException) -> NoReturn:
    code = exit_code_for(error)
    operation = getattr(error, "operation", "")
    hint = f"({type(error).__name__}, exit code {code})"
    out.error(operation or type(error).__name__, _message(error), hint)
    sys.exit(code)


def _message(error: BaseException) -> str:
    text = str(error)
    operation = getattr(error, "operation", "")
    if operation and text.startswith(f"{operation}: "):
        text = text[len(operation) + 2 :]
    return text


# -- generated operation commands --------------------------------------------------------------


def command_name(endpoint: Endpoint) -> str:
    """``set-meta`` for ``asset.set_meta``."""
    return endpoint.action.replace("_", "-")


def option_name(param: Param) -> str:
    """``--items-per-page`` for ``items_per_page``; flags are ``--x/--no-x``."""
    name = "--" + param.wire.replace("_", "-")
    if param.kind in (ParamKind.YES_NO, ParamKind.BOOL):
        return f"{name}/--no-{param.wire.replace('_', '-')}"
    return name


def cli_usage(endpoint: Endpoint) -> str:
    """The shell form of an operation: ``cincopa asset list``, ``cincopa ping``."""
    if not endpoint.resource:
        return f"cincopa {endpoint.action}"
    return f"cincopa {endpoint.resource} {command_name(endpoint)}"


def _option(param: Param) -> click.Option:
    doc = param.doc + (" (inferred)" if param.inferred else "")
    decls = [option_name(param), param.python_name]
    kind = param.kind
    if kind in (ParamKind.CSV, ParamKind.PIPE):
        sep = "," if kind is ParamKind.CSV else "|"
        return click.Option(
            decls,
            multiple=True,
            required=param.required,
            metavar=f"A{sep}B",
            help=f"{doc}; repeat the option or separate values with {sep!r}",
        )
    if kind is ParamKind.ENUM:
        return click.Option(
            decls, type=click.Choice(param.choices), required=param.required, help=doc
        )
    if kind in (ParamKind.YES_NO, ParamKind.BOOL):
        return click.Option(decls, default=None, required=param.required, help=doc)
    if kind is ParamKind.INT:
        return click.Option(decls, type=int, required=param.required, help=doc)
    if kind is ParamKind.JSON:
        return click.Option(decls, metavar="JSON", required=param.required, help=f"{doc} (JSON)")
    secret = " (secret: never printed)" if param.secret else ""
    return click.Option(decls, metavar="TEXT", required=param.required, help=doc + secret)


def _argument_value(param: Param, value: Any) -> Any:
    if value is None:
        return None
    if param.kind in (ParamKind.CSV, ParamKind.PIPE):
        if not value:
            return None
        sep = "," if param.kind is ParamKind.CSV else "|"
        return [piece.strip() for item in value for piece in item.split(sep) if piece.strip()]
    return value


def _operation_command(endpoint: Endpoint) -> click.Command:
    params: list[click.Parameter] = [_option(param) for param in endpoint.params]
    params.append(
        click.Option(["--json", "json_mode"], is_flag=True, help="print the reply's raw JSON")
    )
    if endpoint.pages is not None:
        params.append(
            click.Option(
                ["--all", "all_pages"],
                is_flag=True,
                help="fetch every page, in order, printing each as it arrives (with --json:"
                " JSON Lines, one item per line)",
            )
        )
        params.append(
            click.Option(
                ["--max-pages"],
                type=click.IntRange(min=1),
                default=MAX_PAGES,
                show_default=True,
                help="with --all: stop with an error after this many pages (a server whose"
                " pages never end)",
            )
        )
    if endpoint.url_only:
        params.append(
            click.Option(
                ["--temp-ttl"],
                type=int,
                default=600,
                show_default=True,
                help="lifetime of the temporary token put in the URL (token.get_temp)",
            )
        )
    by_python = {param.python_name: param for param in endpoint.params}

    @click.pass_context
    def callback(ctx: click.Context, /, **values: Any) -> None:
        settings = _settings(ctx)
        credential = endpoint.name in CREDENTIAL_COMMANDS
        out = settings.output(values.pop("json_mode", False), credential=credential)
        all_pages = values.pop("all_pages", False)
        max_pages = values.pop("max_pages", MAX_PAGES)
        temp_ttl = values.pop("temp_ttl", None)
        arguments = {
            name: _argument_value(by_python[name], value)
            for name, value in values.items()
            if value is not None and value != ()
        }
        for name, value in arguments.items():  # secret arguments are never printed either
            if by_python[name].secret and isinstance(value, str):
                out.add_secret(value)
        run(
            out,
            lambda: _invoke(settings, out, endpoint, arguments, (all_pages, max_pages), temp_ttl),
        )

    inferred = " (inferred)" if endpoint.inferred else ""
    path = f"/v2/{endpoint.path}"
    help_text = f"{endpoint.summary}{inferred}\n\n{endpoint.method} {path}" + (
        " (a URL to open in a browser; nothing is sent)" if endpoint.url_only else ""
    )
    return click.Command(
        command_name(endpoint),
        params=params,
        callback=callback,
        help=help_text,
        short_help=_short(endpoint.summary) + inferred,
        context_settings=_CONTEXT,
    )


def _short(summary: str) -> str:
    first = re.split(r"(?<!e\.g)(?<!i\.e)\. ", summary)[0].rstrip(".")
    return first if len(first) <= 70 else first[:67] + "..."


async def _invoke(
    settings: Settings,
    out: Output,
    endpoint: Endpoint,
    arguments: dict[str, Any],
    paging: tuple[bool, int],
    temp_ttl: int | None,
) -> None:
    all_pages, max_pages = paging
    async with settings.client() as cp:
        target: Any = getattr(cp, endpoint.resource) if endpoint.resource else cp
        method = getattr(target, endpoint.action)
        if endpoint.url_only:
            # The URL carries a token: a temporary one, never the token given to the CLI.
            temp = await cp.token.get_temp(ttl=temp_ttl)
            out.result(method(**arguments, api_token=temp.token))
            return
        result = method(**arguments)
        if endpoint.pages is not None and all_pages:
            await out.pages(result.pages(max_pages=max_pages), endpoint)
            return
        out.reply(await result, endpoint)


class _ResourceGroup(click.Group):
    """A resource's commands (``cincopa asset ...``), listed in endpoint-table order."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


class _UploadGroup(_ResourceGroup):
    """``cincopa upload PATHS...`` uploads files; ``cincopa upload iframe`` etc. are operations."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            normalized = args[0].replace("_", "-")
            if normalized not in self.commands:
                args = ["files", *args]
        return super().parse_args(ctx, args)


def _resource_groups() -> list[click.Command]:
    groups: dict[str, click.Group] = {}
    commands: list[click.Command] = []
    for endpoint in ENDPOINTS:
        command = _operation_command(endpoint)
        if not endpoint.resource:
            commands.append(command)
            continue
        group = groups.get(endpoint.resource)
        if group is None:
            cls = _UploadGroup if endpoint.resource == "upload" else _ResourceGroup
            group = groups[endpoint.resource] = cls(
                endpoint.resource,
                help=f"The {endpoint.resource}.* operations of the Cincopa API.",
                context_settings=_CONTEXT,
            )
            commands.append(group)
        group.add_command(command)
    groups[
        "upload"
    ].help = "Upload files (cincopa upload PATHS... --gallery FID), or the upload.* operations."
    groups["upload"].add_command(_upload_files_command())
    return commands


# -- upload, emulator, demo --------------------------------------------------------------------


def _expand(paths: Sequence[str]) -> list[str]:
    files: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(str(child) for child in sorted(path.iterdir()) if child.is_file())
        else:
            files.append(str(path))
    return files


def _upload_files_command() -> click.Command:
    @click.command(
        "files",
        context_settings=_CONTEXT,
        short_help="Upload files concurrently (also: cincopa upload PATHS...).",
    )
    @click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))
    @click.option("--gallery", metavar="FID", help="gallery to add the uploaded assets to")
    @click.option(
        "--concurrency",
        type=click.IntRange(1, MAX_CONCURRENCY),
        default=4,
        show_default=True,
        help="files uploaded at once",
    )
    @click.option(
        "--chunk-size",
        type=click.IntRange(min=1024),
        default=DEFAULT_CHUNK_SIZE,
        show_default=True,
        help="bytes per chunk for files larger than this",
    )
    @click.option("--tag", "tags", multiple=True, help="tag every uploaded asset (repeatable)")
    @click.option(
        "--progress/--no-progress",
        "progress",
        default=None,
        help="live progress bar (default: when stderr is a terminal; else plain lines)",
    )
    @click.option("--json", "json_mode", is_flag=True, help="print the results as JSON")
    @click.pass_context
    def files(
        ctx: click.Context,
        paths: tuple[str, ...],
        gallery: str | None,
        concurrency: int,
        chunk_size: int,
        tags: tuple[str, ...],
        progress: bool | None,
        json_mode: bool,
    ) -> None:
        """Upload files (or every file of a directory) with cp.bulk.upload_files.

        Files already in the library (same content) are not uploaded again. Progress (files,
        bytes, rate, ETA) goes to stderr: a live bar on a terminal, plain lines otherwise.
        """
        settings = _settings(ctx)
        out = settings.output(json_mode)
        inputs = _expand(paths)

        async def main() -> Any:
            async with settings.client() as cp:
                return await upload_files(
                    cp,
                    out,
                    inputs,
                    gallery=gallery,
                    concurrency=concurrency,
                    chunk_size=chunk_size,
                    tags=list(tags) or None,
                    live=progress,
                )

        result = run(out, main)
        if result.failed:
            fail(out, result.failed[0].error)

    return files


async def upload_files(
    cp: AsyncCincopa,
    out: Output,
    inputs: Sequence[str],
    *,
    gallery: str | None,
    concurrency: int,
    chunk_size: int,
    tags: list[str] | None = None,
    live: bool | None = None,
    label: str = "upload",
    show_rids: bool = True,
) -> Any:
    """Bulk-upload ``inputs`` with a progress display; prints the per-file results.

    Without ``--json``: a ``RID  FILE`` line on stdout per stored file (unless ``show_rids`` is
    off), each failure on stderr, and a summary line.
    """
    from ._progress import ProgressReporter, human_bytes

    sizes = await anyio.to_thread.run_sync(lambda: [os.path.getsize(path) for path in inputs])
    with ProgressReporter(out, label, live=live) as report:
        report.start(len(inputs), sum(sizes))
        result = await cp.bulk.upload_files(
            inputs,
            gallery=gallery,
            concurrency=concurrency,
            chunk_size=chunk_size,
            tags=tags,
            on_progress=report,
        )
    rows = [
        {
            "file": str(item.input),
            "rid": item.value.rid if item.ok else None,
            "error": None if item.ok else f"{type(item.error).__name__}: {item.error}",
        }
        for item in result
    ]
    if out.json_mode:
        out.json(rows)
        return result
    failed = [row for row in rows if row["error"]]
    for row in rows if show_rids else ():  # the rids are what a user needs next
        if not row["error"]:
            out.line(f"{row['rid']}  {row['file']}")
    for row in failed:
        out.note(f"failed: {row['file']}: {row['error']}")
    total = report.last.bytes_total if report.last else 0
    out.line(
        f"uploaded {len(rows) - len(failed)} of {len(rows)} file(s), {human_bytes(total)}"
        + (f", {len(failed)} failed" if failed else "")
    )
    return result


@click.command(
    "emulator",
    context_settings={**_CONTEXT, "ignore_unknown_options": True},
    add_help_option=False,  # --help is the emulator's own: one implementation, two names
    short_help="Serve the API emulator on a loopback port (python -m cincopa_async.testing).",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def emulator_command(args: tuple[str, ...]) -> None:
    """Serve the Cincopa API emulator on a loopback port until Ctrl-C.

    The same program as python -m cincopa_async.testing, with the same options (cincopa
    emulator --help lists them: --port, --fault, --latency, --permissions, ...). It prints the
    CINCOPA_BASE_URL and a CINCOPA_API_TOKEN (of the emulator, not a real one).
    """
    from cincopa_async.testing.__main__ import main as emulator_main

    sys.exit(emulator_main(list(args), prog="cincopa emulator"))


@click.command("demo", context_settings=_CONTEXT)
@click.option("--files", "count", type=click.IntRange(1, 500), default=24, show_default=True)
@click.option(
    "--concurrency", type=click.IntRange(1, MAX_CONCURRENCY), default=6, show_default=True
)
@click.option(
    "--progress/--no-progress",
    "progress",
    default=None,
    help="live progress bar (default: when stderr is a terminal)",
)
def demo_command(count: int, concurrency: int, progress: bool | None) -> None:
    """Run the main job against an emulator on a loopback port: no token, no network.

    Starts the emulator on a loopback port, creates a gallery, bulk-uploads generated media
    (some in chunks), imports one from a URL, sets metadata, pages through the library, receives
    a webhook, and prints a summary with timings.
    """
    from ._demo import demo

    out = Output()
    run(out, lambda: demo(out, files=count, concurrency=concurrency, live=progress))


# -- the root ----------------------------------------------------------------------------------


@click.group(context_settings=_CONTEXT, epilog=_EPILOG)
@click.option(
    "--token",
    envvar=TOKEN_ENV_VAR,
    metavar="TOKEN",
    show_envvar=True,
    help="Cincopa API token (never printed; prefer the environment variable, since command"
    " lines are visible to other local users).",
)
@click.option(
    "--base-url",
    envvar=BASE_URL_ENV_VAR,
    default=DEFAULT_BASE_URL,
    show_default=True,
    show_envvar=True,
    callback=lambda ctx, param, value: _url_option(value),
    help="API root, e.g. an emulator's http://127.0.0.1:8765/v2/.",
)
@click.option("--json", "json_mode", is_flag=True, help="print raw JSON replies (for scripts)")
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    callback=lambda ctx, param, value: _seconds_option(value),
    help="seconds per request (a finite number > 0)",
)
@click.option(
    "--max-retries",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="retries after a retryable failure",
)
@click.version_option(package_name="cincopa-async", prog_name="cincopa")
@click.pass_context
def cli(
    ctx: click.Context,
    token: str | None,
    base_url: str,
    json_mode: bool,
    timeout: float,
    max_retries: int,
) -> None:
    """The Cincopa REST API v2 from the shell: every operation is a command.

    \b
    cincopa ping
    cincopa asset list --items-per-page 50 --all
    cincopa gallery create --name "Launch videos"
    cincopa portal rename --from old --to new
    cincopa upload clips/*.mp4 --gallery FID --concurrency 8
    cincopa sync media/ --gallery FID (resumable; --dask tcp://host:8786 for a cluster)
    cincopa demo                      (an emulator on loopback: no token, no network)
    """
    ctx.obj = Settings(token, base_url, json_mode, timeout, max_retries)


for _command in (*_resource_groups(), emulator_command, demo_command, sync_command, ledger_group):
    cli.add_command(_command)
del _command


def _url_option(value: str) -> str:
    """``--base-url``: a URL httpx can parse (whether the SDK accepts it is checked later)."""
    import httpx

    try:
        httpx.URL(value)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise click.BadParameter(f"not a URL ({redact(str(exc))})") from None
    return value


def _seconds_option(value: float) -> float:
    if not (math.isfinite(value) and value > 0):
        raise click.BadParameter(f"must be a finite number of seconds > 0, not {value!r}")
    return value


def main(argv: Sequence[str] | None = None) -> None:
    """The ``cincopa`` console script.

    Text the terminal cannot encode (a lone surrogate in a reply, say) is written escaped
    (``\\udc80``) rather than failing; an exception that escapes every command is one line
    on stderr and exit code 1, never a traceback.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            with contextlib.suppress(ValueError):  # closed
                stream.reconfigure(errors="backslashreplace")
    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        cli.main(args=args, prog_name="cincopa")
    except Exception as error:
        internal_error(Output(secrets=_token_guesses(args)), error)


def _token_guesses(args: Sequence[str]) -> list[str]:
    """The tokens this run may have been given (scrubbed from a last-resort error message)."""
    tokens = [os.environ.get(TOKEN_ENV_VAR, "")]
    for index, arg in enumerate(args):
        if arg == "--token" and index + 1 < len(args):
            tokens.append(args[index + 1])
        elif arg.startswith("--token="):
            tokens.append(arg.partition("=")[2])
    return tokens


def _settings(ctx: click.Context) -> Settings:
    """The root command's settings (always set by the root callback before a subcommand runs)."""
    settings = ctx.find_object(Settings)
    if settings is None:  # pragma: no cover - click runs the root callback first
        raise click.UsageError("internal error: the root options were not parsed")
    return settings
