"""Regression tests of an adversarial review of the bulk engine and its ledger (rev-bulk).

Against the in-process emulator: what is stored (``emu.state.main.assets``), what was sent
(``emu.requests``) and what the ledger says afterwards. No test measures or waits for time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from cincopa_async import AsyncCincopa, Ledger
from cincopa_async.testing import CincopaEmulator

from .conftest import Sleeps

pytestmark = pytest.mark.anyio


@pytest.fixture
async def emu() -> AsyncIterator[CincopaEmulator]:
    async with CincopaEmulator(seed=47) as emulator:
        yield emulator


def client(emu: CincopaEmulator, **options: Any) -> AsyncCincopa:
    cp = emu.client(**options)
    cp._shared.sleep = Sleeps()
    return cp


def operations(emu: CincopaEmulator, since: int = 0) -> Counter[str]:
    return Counter(r.operation for r in emu.requests[since:])


# -- a resumed delete: the item the ledger says was started may have been deleted already ------


async def test_resumed_delete_of_a_started_item_already_applied_is_confirmed_not_failed(
    emu: CincopaEmulator, tmp_path: Path
) -> None:
    """A run killed after its ``asset.delete`` was applied, before the outcome was committed,
    leaves the item ``started``. The rerun must confirm (``asset.list``) before sending the
    delete again: the asset is gone, so the item is done -- not a failure of a second delete
    answered "not found"."""
    path = tmp_path / "delete.sqlite"
    async with client(emu) as cp:
        asset = await cp.upload_file(b"bye" * 300, filename="a.mp4")
        async with Ledger(path) as ledger:
            await ledger.start([asset.rid])  # what the killed run committed
        await cp.asset.delete(rid=asset.rid)  # ... and what it sent before it died
        since = len(emu.requests)
        result = await cp.bulk.delete([asset.rid], ledger=path)
    assert result.ok, repr(result[0].error)
    assert operations(emu, since)["asset.delete"] == 0
    async with Ledger(path) as ledger:
        record = await ledger.get(asset.rid)
    assert record is not None
    assert record.state == "done"
