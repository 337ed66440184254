"""Where background work (imports, webhook deliveries) runs.

A ``Runner`` wraps an anyio task group living in one event loop (asyncio or trio) on one thread;
``spawn`` and ``call_soon`` may be called from any thread and never block.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from anyio.abc import TaskGroup

__all__ = ["CURRENT_RUNNER", "Runner"]


class Runner:
    def __init__(self, task_group: TaskGroup) -> None:
        self.task_group = task_group
        self.thread = threading.get_ident()
        self._threadsafe: Callable[..., Any]
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            import trio

            self._threadsafe = trio.lowlevel.current_trio_token().run_sync_soon
        else:
            self._threadsafe = loop.call_soon_threadsafe

    def call_soon(self, func: Callable[..., Any], *args: Any) -> None:
        """Run ``func(*args)`` in the runner's loop (now if already on its thread)."""
        if threading.get_ident() == self.thread:
            func(*args)
        else:
            self._threadsafe(func, *args)

    def spawn(self, func: Callable[..., Awaitable[Any]], *args: Any) -> None:
        self.call_soon(self.task_group.start_soon, func, *args)


#: Set by ``serve()`` for requests that arrive through its server, so that background work
#: triggered by them runs in the server's own loop.
CURRENT_RUNNER: ContextVar[Runner | None] = ContextVar("cincopa_emulator_runner", default=None)
