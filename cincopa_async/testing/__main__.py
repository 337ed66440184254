"""``python -m cincopa_async.testing`` (also ``cincopa emulator``): serve the emulator until Ctrl-C.

One implementation behind both names: ``cincopa emulator ARGS`` calls ``main(ARGS)`` here. It
prints the two environment variables a client needs (``CINCOPA_BASE_URL``, ``CINCOPA_API_TOKEN``)
and the loopback URL of a sample video the emulator serves itself, for trying imports
(``asset.upload_from_url``, ``cp.import_url``). A port in use is a one-line error, exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
from collections.abc import Sequence

from ._emulator import CincopaEmulator
from ._faults import FaultKind
from ._server import ListenError, run_forever

__all__ = ["EXIT_CANNOT_LISTEN", "SAMPLE_MEDIA", "main"]

#: Exit status when the port cannot be listened on (in use, or not allowed).
EXIT_CANNOT_LISTEN = 1

#: The sample files served at ``/files/<name>`` (no token needed): name -> size in bytes.
SAMPLE_MEDIA = {"sample.mp4": 256 * 1024}


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve the Cincopa API emulator on a loopback port until Ctrl-C. It prints"
        " CINCOPA_BASE_URL and CINCOPA_API_TOKEN (an emulator token, not a real one), and serves"
        " a sample video at /files/sample.mp4 to import from.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765, 0 = any)")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and faults")
    parser.add_argument(
        "--permissions",
        default="*",
        help="scopes of the printed token, '|'-separated (default '*': all)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:RATE]",
        help=f"inject a fault into every operation, repeatable ({', '.join(FaultKind)})",
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="SECONDS", help="delay added to each reply"
    )
    return parser


def main(
    argv: Sequence[str] | None = None, *, prog: str = "python -m cincopa_async.testing"
) -> int:
    """Parse ``argv``, serve until interrupted; the exit status."""
    parser = _parser(prog)
    args = parser.parse_args(argv)
    emu = CincopaEmulator(seed=args.seed, record_requests=False)
    try:
        token = emu.create_token(args.permissions)
    except ValueError as exc:
        parser.error(f"--permissions: {exc}")
    for spec in args.fault:
        kind, _, rate = spec.partition(":")
        if kind not in FaultKind.__members__.values():
            parser.error(f"--fault: unknown kind {kind!r}")
        try:
            emu.faults.add(kind, rate=float(rate) if rate else 1.0)
        except ValueError as exc:
            parser.error(f"--fault {spec}: {exc}")
    if args.latency:
        emu.faults.add("latency", seconds=args.latency)
    for name, size in SAMPLE_MEDIA.items():
        emu.add_file(name, random.Random(name).randbytes(size))

    def ready(root: str) -> None:
        print(f"Cincopa emulator serving at {root}/v2/", flush=True)
        print(f"CINCOPA_BASE_URL={root}/v2/", flush=True)
        print(f"CINCOPA_API_TOKEN={token}", flush=True)
        for name in SAMPLE_MEDIA:
            print(f"Sample media to import: {root}/files/{name}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_forever(emu.app, host=args.host, port=args.port, ready=ready)
    except ListenError as exc:  # a port in use, or not allowed: one line, no traceback
        print(f"{prog}: error: {exc.strerror}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    return 0


if __name__ == "__main__":
    sys.exit(main())
