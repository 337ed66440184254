"""``import cincopa_async`` against ``import httpx``: cumulative import time, fresh processes.

Runs ``python -X importtime -c "import X"`` several times for each (interleaved) and compares
the median cumulative microseconds of the top-level module. Goal: at most 1.3x httpx.

    python benchmarks/bench_import.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys


def import_time_us(module: str) -> int:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    for line in result.stderr.splitlines():
        fields = [field.strip() for field in line.removeprefix("import time:").split("|")]
        if len(fields) == 3 and fields[2] == module:
            return int(fields[1])
    raise RuntimeError(f"no import time line for {module}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    times: dict[str, list[int]] = {"httpx": [], "cincopa_async": []}
    for _ in range(args.runs):
        for module in times:
            times[module].append(import_time_us(module))
    httpx_ms = statistics.median(times["httpx"]) / 1000
    ours_ms = statistics.median(times["cincopa_async"]) / 1000
    print(f"cumulative import time, median of {args.runs} fresh processes")
    print(f"  import httpx          {httpx_ms:7.1f} ms")
    print(
        f"  import cincopa_async  {ours_ms:7.1f} ms   {ours_ms / httpx_ms:.2f}x httpx (goal <= 1.3x)"
    )


if __name__ == "__main__":
    main()
