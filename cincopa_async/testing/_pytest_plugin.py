"""Pytest plugin ``cincopa`` (entry point ``pytest11``): emulator fixtures for async tests.

* ``cincopa_emulator``: a fresh ``CincopaEmulator(seed=0)``, running (``async with emu``) for
  the duration of the test, so background work (imports, webhook deliveries) progresses.
* ``cincopa_client``: an ``AsyncCincopa`` on that emulator (in-process) with a full-permission
  token, closed after the test.

Both are async fixtures for the anyio pytest plugin: mark tests ``@pytest.mark.anyio``; they
run under whatever ``anyio_backend`` the test uses (asyncio or trio).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from ._emulator import CincopaEmulator

if TYPE_CHECKING:
    from cincopa_async import AsyncCincopa

__all__ = ["cincopa_client", "cincopa_emulator"]


@pytest.fixture
async def cincopa_emulator() -> AsyncIterator[CincopaEmulator]:
    """A fresh, running emulator per test."""
    async with CincopaEmulator(seed=0) as emu:
        yield emu


@pytest.fixture
async def cincopa_client(cincopa_emulator: CincopaEmulator) -> AsyncIterator[AsyncCincopa]:
    """An ``AsyncCincopa`` on ``cincopa_emulator`` with a full-permission token."""
    client = cincopa_emulator.client()
    async with client:
        yield client
