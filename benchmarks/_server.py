"""Start the emulator in a separate process on a loopback port, for client benchmarks.

A separate process keeps the server's CPU out of the client's measurements (``process_time``)
and off the client's GIL. ``latency=`` (seconds) starts the bench-only launcher
``_emulator_main.py`` instead, which adds a latency fault to every request (API and upload host)
and can also (``discard_uploads=True``) make the upload host keep only the lengths of uploaded
bytes, which ``python -m cincopa_async.testing`` cannot.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

_LAUNCHER = Path(__file__).with_name("_emulator_main.py")


@contextlib.contextmanager
def emulator_process(
    *extra: str, latency: float = 0.0, discard_uploads: bool = False
) -> Iterator[tuple[str, str]]:
    """Yield (base_url, token) of ``python -m cincopa_async.testing --port 0`` while it runs."""
    if latency > 0 or discard_uploads:
        command = [sys.executable, str(_LAUNCHER), "--port", "0", "--latency", str(latency)]
        if discard_uploads:
            command.append("--discard-uploads")
    else:
        command = [sys.executable, "-m", "cincopa_async.testing", "--port", "0"]
    with server_process([*command, *extra]) as started:
        yield started


@contextlib.contextmanager
def server_process(command: list[str]) -> Iterator[tuple[str, str]]:
    """Run ``command`` (a server that prints ``CINCOPA_BASE_URL=...`` and
    ``CINCOPA_API_TOKEN=...`` once it listens) and yield those two values while it runs."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        values: dict[str, str] = {}
        for line in process.stdout:
            key, _, value = line.strip().partition("=")
            if key in ("CINCOPA_BASE_URL", "CINCOPA_API_TOKEN"):
                values[key] = value
            if len(values) == 2:
                break
        else:
            raise RuntimeError(f"the server did not start: {command[1:]}")
        yield values["CINCOPA_BASE_URL"], values["CINCOPA_API_TOKEN"]
    finally:
        process.terminate()
        process.wait(timeout=10)
