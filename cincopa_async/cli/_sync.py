"""``cincopa sync SOURCE_DIR`` and ``cincopa ledger export LEDGER``."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

from ._exit import EXIT_INCOMPLETE, EXIT_OK
from ._limits import MAX_CONCURRENCY
from ._progress import ProgressReporter, human_bytes

if TYPE_CHECKING:
    from cincopa_async._client import AsyncCincopa
    from cincopa_async._ledger import Ledger, LedgerRecord
    from cincopa_async._sync import SyncFile

    from ._output import Output

__all__ = ["ledger_group", "sync_command"]

_CONTEXT: Final[dict[str, Any]] = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": 100,
    "token_normalize_func": lambda name: name.replace("_", "-"),
}


class _Tally:
    """What a sync did, item by item; prints each item (``--json``: a JSON line) as it lands."""

    def __init__(self, out: Output, json_mode: bool) -> None:
        self.out = out
        self.json_mode = json_mode
        self.uploaded = self.skipped = self.failed = 0
        self.bytes = 0

    def item(self, file: SyncFile, record: LedgerRecord, *, skipped: bool) -> None:
        if record.state == "done":
            if skipped:
                self.skipped += 1
            else:
                self.uploaded += 1
            self.bytes += record.size or 0
        else:
            self.failed += 1
        if self.json_mode:
            self.out.line(
                json.dumps(
                    {
                        "path": file.key,
                        "state": "skipped" if skipped else record.state,
                        "rid": record.rid,
                        "reference_id": record.reference,
                        "size": record.size,
                        "error": f"{record.error_class}: {record.error_message}"
                        if record.state == "failed"
                        else None,
                    },
                    ensure_ascii=False,
                )
            )
        elif record.state == "failed":
            self.out.note(f"failed: {file.key}: {record.error_class}: {record.error_message}")

    def summary(self, seconds: float) -> str:
        done = self.uploaded + self.skipped
        return (
            f"synced {done} of {done + self.failed} file(s): {self.uploaded} uploaded,"
            f" {self.skipped} already there, {self.failed} failed; {human_bytes(self.bytes)}"
            f" in {seconds:.1f} s"
        )


@click.command("sync", context_settings=_CONTEXT)
@click.argument(
    "source_dir", type=click.Path(exists=True, file_okay=False, dir_okay=True, path_type=Path)
)
@click.option("--gallery", metavar="FID", help="add every uploaded asset to this gallery")
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="the job's ledger (SQLite); default: $XDG_STATE_HOME/cincopa/sync/<job>.sqlite",
)
@click.option(
    "--dask",
    "dask_address",
    metavar="ADDRESS",
    help="run on this Dask cluster (tcp://host:port; the 'dask' extra)",
)
@click.option(
    "--concurrency", type=click.IntRange(1, MAX_CONCURRENCY), default=8, show_default=True
)
@click.option("--json", "json_mode", is_flag=True, help="one JSON line per file on stdout")
@click.option(
    "--new-job",
    is_flag=True,
    help="a first run: nothing of it is in the account yet, so files are not looked up"
    " (by default a new ledger looks every file up: it may be a lost ledger's rerun)",
)
@click.option(
    "--progress/--no-progress",
    "progress",
    default=None,
    help="live progress bar (default: when stderr is a terminal; else plain lines)",
)
@click.pass_context
def sync_command(
    ctx: click.Context,
    source_dir: Path,
    gallery: str | None,
    ledger_path: Path | None,
    dask_address: str | None,
    concurrency: int,
    json_mode: bool,
    new_job: bool,
    progress: bool | None,
) -> None:
    """Upload every file under SOURCE_DIR that is not in the account yet; resumable.

    Each file's reference_id is derived from its path relative to SOURCE_DIR and its content:
    an unchanged file is skipped, a changed one is uploaded as a new asset (the old version
    stays). Every outcome is recorded in the ledger, so a rerun after a crash resumes where it
    stopped. Exit code 0 only when every file is in the account; 20 when some failed.
    """
    from cincopa_async._errors import CincopaError
    from cincopa_async._ledger import Ledger
    from cincopa_async._sync import default_ledger_path

    from ._app import _settings, fail, run

    settings = _settings(ctx)
    out = settings.output(json_mode)
    try:
        client = settings.client()
    except CincopaError as error:
        fail(out, error)
    account = (settings.token or "").partition("i")[0]
    path = ledger_path or default_ledger_path(source_dir, client.base_url, account)
    tally = _Tally(out, json_mode)
    started = time.monotonic()

    async def main() -> None:
        async with _opened(Ledger(path), "--ledger") as ledger:
            if dask_address:
                await _on_dask(dask_address, settings, source_dir, ledger, gallery, tally, progress)
            else:
                async with client as cp:
                    await _here(
                        cp, source_dir, ledger, gallery, concurrency, tally, progress, new_job
                    )

    run(out, main)
    summary = tally.summary(time.monotonic() - started)
    if json_mode:  # stdout is the JSON lines alone
        out.note(summary)
    else:
        out.line(summary)
    sys.exit(EXIT_INCOMPLETE if tally.failed else EXIT_OK)


@contextlib.asynccontextmanager
async def _opened(ledger: Ledger, option: str) -> AsyncIterator[Ledger]:
    """``ledger``, open; a file that cannot be one is a usage error naming ``option``."""
    from cincopa_async import CincopaValidationError

    try:
        await ledger.__aenter__()
    except CincopaValidationError as exc:
        raise click.BadParameter(
            "; ".join(problem.removeprefix("ledger: ") for problem in exc.problems),
            param_hint=f"'{option}'",
        ) from None
    try:
        yield ledger
    finally:
        await ledger.aclose()


async def _here(
    cp: AsyncCincopa,
    source_dir: Path,
    ledger: Ledger,
    gallery: str | None,
    concurrency: int,
    tally: _Tally,
    live: bool | None,
    new_job: bool = False,
) -> None:
    from cincopa_async._bulk import BulkSuccess, ledger_owner
    from cincopa_async._ledger import LedgerRecord
    from cincopa_async._sync import register, sync_directory, walk

    await ledger.bind(ledger_owner(cp.base_url, cp._api_token))  # before anything is written
    with ProgressReporter(tally.out, "sync", live=live) as report:
        count, size = await register(ledger, walk(source_dir, skip=ledger.path))
        report.start(count, size)
        run = sync_directory(
            cp,
            source_dir,
            ledger,
            gallery=gallery,
            concurrency=concurrency,
            on_progress=report,
            totals=(count, size),
            new_job=new_job,
        )
        async with run as outcomes:
            async for item in outcomes:
                if isinstance(item, BulkSuccess):
                    record = LedgerRecord(
                        item.input.key,
                        "done",
                        reference=item.value.reference_id,
                        rid=item.value.rid,
                        size=item.value.filesize,
                    )
                else:
                    record = LedgerRecord(
                        item.input.key,
                        "failed",
                        error_class=type(item.error).__name__,
                        error_message=str(item.error),
                    )
                tally.item(item.input, record, skipped=item.ok and item.reused)


async def _on_dask(
    address: str,
    settings: Any,
    source_dir: Path,
    ledger: Ledger,
    gallery: str | None,
    tally: _Tally,
    live: bool | None,
) -> None:
    try:
        from cincopa_async.dask import sync_on_dask, token_travels_safely
    except ImportError as exc:
        raise click.UsageError(
            f"--dask needs the 'dask' extra (pip install 'cincopa-async[dask]'): {exc}"
        ) from None
    from cincopa_async import CincopaValidationError
    from cincopa_async._bulk import ledger_owner
    from cincopa_async._client import resolve_base_url
    from cincopa_async._sync import register, walk
    from cincopa_async.dask import _is_token_in_the_clear

    token = settings.token
    if token:  # the driver knows the account even when the workers read it from their own
        await ledger.bind(ledger_owner(resolve_base_url(settings.base_url), token))
    if not token_travels_safely(address):
        token = None
        tally.out.note(
            f"sync: the token is not sent to {address} (not tls://, not this machine: it would"
            " travel in the clear); each worker reads CINCOPA_API_TOKEN from its environment"
        )
    with ProgressReporter(tally.out, "sync", live=live) as report:
        count, size = await register(ledger, walk(source_dir, skip=ledger.path))
        report.start(count, size)

        async def run(api_token: str | None) -> None:
            await sync_on_dask(
                address,
                source_dir,
                ledger,
                api_token=api_token,
                base_url=settings.base_url,
                timeout=settings.timeout,
                max_retries=settings.max_retries,
                gallery=gallery,
                on_outcome=lambda outcome: tally.item(
                    outcome.file, outcome.record, skipped=outcome.skipped
                ),
                on_progress=report,
            )

        try:
            await run(token)
        except CincopaValidationError as refused:
            # Reached over loopback, the scheduler listens off this machine: sync_on_dask
            # refused the token before sending anything; the workers read their own.
            if token is None or not _is_token_in_the_clear(refused):
                raise
            tally.out.note(
                f"sync: the token is not sent to {address} (its scheduler listens off this"
                " machine, without TLS: it would reach the workers in the clear); each worker"
                " reads CINCOPA_API_TOKEN from its environment"
            )
            await run(None)


@click.group("ledger", context_settings=_CONTEXT)
def ledger_group() -> None:
    """Read the ledger of a bulk job (cincopa sync, or cp.bulk.*(ledger=...))."""


@ledger_group.command("export")
@click.argument("ledger_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "format_",
    type=click.Choice(["csv", "jsonl"]),
    default="csv",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="a file to write (default: stdout)",
)
def ledger_export(ledger_path: Path, format_: str, output: Path | None) -> None:
    """Write every item of LEDGER (key, state, rid, error, attempts, times) as CSV or JSONL."""
    import sqlite3

    from cincopa_async import CincopaValidationError
    from cincopa_async._ledger import Ledger

    ledger: Ledger = Ledger(ledger_path)
    with contextlib.ExitStack() as stack:
        destination = sys.stdout
        if output is not None:
            try:
                destination = stack.enter_context(open(output, "w", encoding="utf-8", newline=""))
            except OSError as exc:
                raise click.FileError(os.fspath(output), hint=exc.strerror or str(exc)) from None
        try:
            count = ledger.export(destination, format=format_)  # type: ignore[arg-type]  # a click Choice of the two
        except CincopaValidationError as exc:
            raise click.BadParameter(
                "; ".join(problem.removeprefix("ledger: ") for problem in exc.problems),
                param_hint="'LEDGER_PATH'",
            ) from None
        except sqlite3.Error as exc:  # damaged past its header: found while reading
            raise click.BadParameter(
                f"{os.fspath(ledger_path)!r} cannot be read as a ledger: {exc}",
                param_hint="'LEDGER_PATH'",
            ) from None
    if output is not None:
        click.echo(f"{count} item(s) written to {os.fspath(output)}", err=True)
