"""``python -m cincopa_async.testing``: run the emulator on a loopback port until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import sys

from ._emulator import CincopaEmulator
from ._faults import FaultKind
from ._server import run_forever


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cincopa_async.testing",
        description="Serve the Cincopa API emulator on a loopback port.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765, 0 = any)")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and faults")
    parser.add_argument(
        "--engine", choices=("builtin", "uvicorn"), default="builtin", help="HTTP server"
    )
    parser.add_argument(
        "--permissions", default="*", help="scopes of the printed token (default '*')"
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
    args = parser.parse_args(argv)
    emu = CincopaEmulator(seed=args.seed, record_requests=False)
    token = emu.create_token(args.permissions)
    for spec in args.fault:
        kind, _, rate = spec.partition(":")
        if kind not in FaultKind.__members__.values():
            parser.error(f"--fault: unknown kind {kind!r}")
        emu.faults.add(kind, rate=float(rate) if rate else 1.0)
    if args.latency:
        emu.faults.add("latency", seconds=args.latency)

    def ready(root: str) -> None:
        print(f"Cincopa emulator serving at {root}/v2/", flush=True)
        print(f"CINCOPA_BASE_URL={root}/v2/", flush=True)
        print(f"CINCOPA_API_TOKEN={token}", flush=True)
        print("Press Ctrl-C to stop.", flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        run_forever(emu.app, host=args.host, port=args.port, engine=args.engine, ready=ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
