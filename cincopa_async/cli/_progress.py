"""Bulk progress on stderr: a live rich bar on a terminal, plain lines otherwise.

The reporter is the ``on_progress`` callback of ``cp.bulk.*``; it only ever shows counts, byte
totals, rate and ETA (never a URL or a token).
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cincopa_async._bulk import BulkProgress

from ._output import Output

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["ProgressReporter", "human_bytes"]


def human_bytes(count: float) -> str:
    """A byte count in binary units: ``512 B``, ``256.0 KiB``, ``1.5 MiB``, ``2.0 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


class ProgressReporter:
    """``with ProgressReporter(out, "upload", live=...) as report: bulk(on_progress=report)``.

    ``live=None`` picks the bar when stderr is a terminal.
    """

    def __init__(self, out: Output, label: str, *, live: bool | None = None) -> None:
        self.out = out
        self.label = label
        self.live = out.stderr.is_terminal if live is None else live
        self.started = time.monotonic()
        self.last: BulkProgress | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._lines_at = 0  # items_done of the last plain line printed

    def __enter__(self) -> ProgressReporter:
        self.started = time.monotonic()
        if self.live:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[files]}"),
                DownloadColumn(binary_units=True),
                _speed_column()(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=self.out.stderr,
                transient=False,
                refresh_per_second=10,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=None, files="0/? files")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, items: int, size: int) -> None:
        """Show the totals before the first item finishes."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=size or None, files=f"0/{items} files")

    def __call__(self, update: BulkProgress) -> Any:
        self.last = update
        total = "?" if update.items_total is None else update.items_total
        files = f"{update.items_done}/{total} files"
        if update.items_failed:
            files += f" ({update.items_failed} failed)"
        if self._progress is not None and self._task is not None:
            self._progress.update(
                self._task,
                total=update.bytes_total or None,
                completed=update.bytes_done,
                files=files,
            )
            return None
        if update.items_done == self._lines_at:  # plain lines: one per finished file, not chunk
            return None
        self._lines_at = update.items_done
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = update.bytes_done / elapsed
        remaining = update.bytes_total - update.bytes_done
        eta = f"{remaining / rate:.1f}s" if rate > 0 and remaining > 0 else "0.0s"
        percent = 100 * update.bytes_done // update.bytes_total if update.bytes_total else 100
        self.out.note(
            f"{self.label}: {files}, {human_bytes(update.bytes_done)}"
            f"/{human_bytes(update.bytes_total)} ({percent}%), {human_bytes(rate)}/s, ETA {eta}"
        )
        return None


def _speed_column() -> type[Any]:
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class BinarySpeedColumn(ProgressColumn):
        """Bytes per second in binary units (rich's TransferSpeedColumn has only SI ones)."""

        def render(self, task: Task) -> Text:
            speed = task.finished_speed or task.speed
            if speed is None:
                return Text("?", style="progress.data.speed")
            return Text(f"{human_bytes(speed)}/s", style="progress.data.speed")

    return BinarySpeedColumn
