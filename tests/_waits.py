"""Waiting for something to happen, without making its speed part of the test.

Tests assert behaviour, never a rate or a deadline: these helpers wait as long as it takes, and
fail only past ``HANG_GUARD`` seconds, which no working code on the busiest machine approaches --
so that a real hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import anyio

__all__ = ["HANG_GUARD", "wait_until"]

HANG_GUARD: Final = 300.0


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], *, poll: float = 0.005
) -> None:
    """Return once ``condition()`` is true (it may be a coroutine function)."""
    with anyio.fail_after(HANG_GUARD):
        while True:
            met = condition()
            if not isinstance(met, bool):
                met = await met
            if met:
                return
            await anyio.sleep(poll)
