"""Bounds of the ``cincopa`` options shared by several commands."""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_CONCURRENCY"]

#: The largest ``--concurrency`` accepted (upload, sync, demo): each unit is a worker, and every
#: request still passes the client's own limit, so a huge count would only exhaust memory
#: starting workers.
MAX_CONCURRENCY: Final = 256
