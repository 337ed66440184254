"""Import cost and import -> first reply, in a venv with only the runtime dependencies.

A development venv holds click, rich, pytest ... and httpx imports some of them when they are
there, so the figures come from a venv made for the purpose (``--venv``, created when missing,
with ``pip install <this repository>``: the SDK and its runtime dependencies, nothing else).

Each statement runs in a fresh interpreter of that venv, ``--runs`` times, interleaved; the
clock runs inside the child, from before the first import to the end of the statement, so the
interpreter's own start-up (the same for all) is left out. Statements:

* ``import httpx``, ``import aiohttp``, ``from cincopa_async import AsyncCincopa``;
* import -> first reply, on asyncio, against the raw ping server of ``_raw_ping_server.py`` in
  its own process: plain httpx (``import httpx`` + ``AsyncClient()`` + ``get`` + ``.json()``),
  raw aiohttp (``ClientSession()`` + ``get`` + ``read`` + ``json.loads``), and the SDK
  (``AsyncCincopa(...)`` + ``await cp.ping()``: its models and cattrs load with that reply).

Medians (min-max); ratios against httpx are medians of per-run ratios (same run, same noise).

    python benchmarks/bench_import.py [--runs 15] [--venv /tmp/cincopa-runtime-venv]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _raw_ping_server import raw_ping_process

ROOT = Path(__file__).resolve().parents[1]
_OUTSIDE = tempfile.gettempdir()

TIMED = "import time; t0 = time.perf_counter()\n{body}\nprint(time.perf_counter() - t0)"
IMPORTS = {
    "import httpx": "import httpx",
    "import aiohttp": "import aiohttp",
    "from cincopa_async import AsyncCincopa": "from cincopa_async import AsyncCincopa",
}
FIRST_REPLY = {
    "first reply: plain httpx": """
import asyncio, httpx
async def main():
    async with httpx.AsyncClient() as http:
        (await http.get(URL + "ping.json", params={"api_token": TOKEN})).json()
asyncio.run(main())""",
    "first reply: raw aiohttp": """
import asyncio, json, aiohttp
async def main():
    async with aiohttp.ClientSession() as session:
        async with session.get(URL + "ping.json", params={"api_token": TOKEN}) as response:
            json.loads(await response.read())
asyncio.run(main())""",
    "first reply: SDK (await cp.ping())": """
import asyncio
from cincopa_async import AsyncCincopa
async def main():
    async with AsyncCincopa(TOKEN, base_url=URL) as cp:
        await cp.ping()
asyncio.run(main())""",
}


def ensure_venv(venv: Path) -> Path:
    """The venv, created with the runtime dependencies when missing; the SDK itself is
    installed again every time (not editable), so that it is this working tree's, with any
    runtime dependency it has gained since the venv was made."""
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, str(ROOT)], check=True)  # the dependencies it lacks
    subprocess.run([*pip, "--no-deps", "--force-reinstall", str(ROOT)], check=True)
    return python


def seconds(python: Path, body: str, url: str, token: str) -> float:
    """Seconds ``body`` takes in a fresh interpreter of ``python``, run outside the working
    tree (``-c`` puts the working directory first on ``sys.path``: the installed SDK, not this
    checkout, must be the one imported)."""
    code = TIMED.format(body=f"URL, TOKEN = {url!r}, {token!r}\n{body}")
    out = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True, cwd=_OUTSIDE
    )
    return float(out.stdout.strip().splitlines()[-1])


def _range(values: list[float], fmt: str) -> str:
    low, mid, high = (format(v, fmt) for v in (min(values), statistics.median(values), max(values)))
    return f"{mid} ({low}-{high})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--venv",
        type=Path,
        default=Path(tempfile.gettempdir()) / "cincopa-runtime-venv",
        help="a venv with only the runtime dependencies (created when missing)",
    )
    args = parser.parse_args()
    python = ensure_venv(args.venv)
    installed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True
    ).stdout.split()
    statements = {**IMPORTS, **FIRST_REPLY}
    times: dict[str, list[float]] = {name: [] for name in statements}
    with raw_ping_process() as (url, token):
        seconds(python, FIRST_REPLY["first reply: SDK (await cp.ping())"], url, token)  # .pyc
        for _ in range(args.runs):
            for name, body in statements.items():
                times[name].append(seconds(python, body, url, token) * 1000)
    print(f"in {args.venv} ({len(installed)} packages: {' '.join(installed)})")
    print(f"median (min-max) of {args.runs} fresh interpreters, ms; ratio: median per-run ratio")

    def show(name: str, base: str) -> None:
        ratios = [t / b for t, b in zip(times[name], times[base], strict=True)]
        print(f"  {name:<40} {_range(times[name], '.1f'):<24} {_range(ratios, '.2f')}x {base}")

    for name in IMPORTS:
        show(name, "import httpx")
    for name in FIRST_REPLY:
        show(name, "first reply: plain httpx")
    print("  goals: the import <= 1.3x import httpx; import -> first reply <= 1.3x plain httpx")


if __name__ == "__main__":
    main()
