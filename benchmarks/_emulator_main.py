"""Bench-only launcher: the emulator on a loopback port, with an optional latency fault.

``--discard-uploads`` makes the upload host keep only the lengths of what it receives (bench-only
monkeypatching of ``process_upload`` and ``UploadSession.assemble``): uploads then measure the
client, not the emulator assembling a 1 GiB file in memory.

``python -m cincopa_async.testing`` has no flag for faults, so the benchmarks that need emulated
latency start this script instead (through ``_server.emulator_process(latency=...)``). It builds
a ``CincopaEmulator`` the way ``cincopa_async/testing/__main__.py`` does, adds
``faults.add("latency", seconds=...)`` (every API operation *and* the upload host), and serves it
with the same ``run_forever``, in its own process.

    python benchmarks/_emulator_main.py --port 0 --latency 0.02
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from cincopa_async.testing import CincopaEmulator, _app
from cincopa_async.testing._server import run_forever
from cincopa_async.testing._state import UploadSession


class _Blank:
    """Stands for uploaded bytes that were dropped: only their length is kept."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size


def discard_uploads() -> None:
    """Make the upload host forget uploaded bytes (keeping their lengths), so that a big upload
    measures the client rather than the emulator's assembling of the file in memory."""
    process_upload = _app.process_upload

    def forgetful(state, query, headers, body, client_ip, base):  # type: ignore[no-untyped-def]  # mirrors a private hook
        outcome = process_upload(state, query, headers, body, client_ip, base)
        session = state.upload_sessions.get(outcome.session) if outcome.session else None
        if session is not None:
            session.chunks = {start: _Blank(len(data)) for start, data in session.chunks.items()}
        return outcome

    _app.process_upload = forgetful
    UploadSession.assemble = lambda self: _Blank(self.total)  # type: ignore[assignment,method-assign,return-value]  # bench-only patch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each reply")
    parser.add_argument(
        "--discard-uploads", action="store_true", help="keep only the lengths of uploaded bytes"
    )
    args = parser.parse_args()
    if args.discard_uploads:
        discard_uploads()
    emu = CincopaEmulator(seed=args.seed, record_requests=False)
    token = emu.create_token("*")
    if args.latency > 0:
        emu.faults.add("latency", seconds=args.latency)

    def ready(root: str) -> None:
        print(f"CINCOPA_BASE_URL={root}/v2/", flush=True)
        print(f"CINCOPA_API_TOKEN={token}", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        run_forever(emu.app, host=args.host, port=args.port, ready=ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
