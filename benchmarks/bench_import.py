"""Import cost: ``from cincopa_async import AsyncCincopa`` against ``import httpx``.

Each statement runs in a fresh interpreter, several times, interleaved; the median wall time of
the import itself is compared (goal: at most 1.3x httpx). The models and the cattrs converter
load on the first reply rather than on import, so that deferred cost is measured and printed too.

    python benchmarks/bench_import.py [--runs 11]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

TIMED = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"
STATEMENTS = {
    "import httpx": "import httpx",
    "from cincopa_async import AsyncCincopa": "from cincopa_async import AsyncCincopa",
    "deferred: models + converter (first reply)": (
        "import cincopa_async._client as c; t = __import__('time').perf_counter();"
        " c._load_converters(); c._load_model('AssetList'); t0 = t"
    ),
}


def seconds(stmt: str) -> float:
    if stmt.startswith("import cincopa_async._client"):
        code = stmt + "; import time; print(time.perf_counter() - t0)"
    else:
        code = TIMED.format(stmt=stmt)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(args.runs):
        for name, stmt in STATEMENTS.items():
            times[name].append(seconds(stmt))
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    base = medians["import httpx"]
    print(f"import cost, median of {args.runs} fresh interpreters")
    for name, value in medians.items():
        print(f"  {name:<44} {value:7.1f} ms   {value / base:5.2f}x httpx")
    print("  goal: the import itself <= 1.3x httpx")


if __name__ == "__main__":
    main()
