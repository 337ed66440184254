"""Regression tests of an adversarial review of the day's fixes (rev-today2): the ledger's run
lock and owner, the bulk engine, the client's refusals, encodings, Dask's token rule, the CLI.

Against the in-process emulator where a request is involved. No test measures or waits for time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cincopa_async import CincopaValidationError, Ledger

pytestmark = pytest.mark.anyio


# -- the run lock: one file, however its path is spelled ----------------------------------------


async def test_a_ledger_opened_through_a_symlink_shares_the_run_lock_of_its_target(
    tmp_path: Path,
) -> None:
    """SQLite opens a linked ledger at its target: a run through ``link.sqlite`` and one
    through ``real.sqlite`` work on one file, so the second must be refused. The lock sat
    beside the path as spelled (``link.sqlite-run.lock``), and both ran."""
    real = tmp_path / "real.sqlite"
    link = tmp_path / "link.sqlite"
    link.symlink_to(real)
    async with Ledger(real) as first, Ledger(link) as second:
        await first.begin_run()
        with pytest.raises(CincopaValidationError, match="another run"):
            await second.begin_run()
        await first.end_run()
        await second.begin_run()  # free again: taken through the link
        with pytest.raises(CincopaValidationError, match="another run"):
            await first.begin_run()
        await second.end_run()


async def test_a_sync_through_a_linked_ledger_in_its_source_does_not_list_the_run_lock(
    tmp_path: Path,
) -> None:
    """A ledger given as a symlink inside the synced directory (to a file outside): the walk
    leaves out the ledger's side files, the run lock included -- it was made beside the link,
    under another name than the walk skips, and was uploaded as one of the files."""
    from cincopa_async._sync import walk

    source = tmp_path / "source"
    source.mkdir()
    (source / "clip.mp4").write_bytes(b"x" * 100)
    real = tmp_path / "kept" / "real.sqlite"
    link = source / "job.sqlite"
    real.parent.mkdir()
    link.symlink_to(real)
    async with Ledger(link) as ledger:
        await ledger.begin_run()
        try:
            names = sorted(os.path.relpath(f.path, source) for f in walk(source, skip=link))
        finally:
            await ledger.end_run()
    assert names == ["clip.mp4"]
