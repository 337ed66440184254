"""Kill -9 in the middle of a bulk job, then resume: every file ends as exactly one asset.

The job runs for real -- ``cincopa sync`` in a subprocess, or on a Dask cluster of subprocesses
(a scheduler and two workers) -- against the emulator served on a loopback port, which this
process watches. Each process is killed with SIGKILL (no cleanup, no last commit of the
ledger) once a share of the files have been stored; the killed work's state is whatever it was.
The emulator adds a little latency to uploads and tagging, so that the kills tend to land
between an upload and its tagging (the state that could leave a duplicate or an orphan); the
assertions do not depend on where they land.

What must hold after the rerun that completes: exit 0, one asset per file (its reference is the
file's, its bytes the file's), no untagged orphan, no second copy; and a rerun after that
uploads nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cincopa_async._bulk import derived_reference
from cincopa_async.testing import CincopaEmulator
from tests._waits import HANG_GUARD
from tests.integrations._support import served_emulator


def make_tree(root: Path, unique: int = 36) -> dict[str, bytes]:
    """The files to sync, by path relative to ``root``: most unique, and the pairs that could
    be taken for each other (same name and size, other bytes; same name and bytes)."""
    files = {f"p{i % 4}/f{i:03}.bin": (b"%03d" % i) * (300 + 37 * i) for i in range(unique)}
    files["a/clip.mp4"] = b"A" * 2500
    files["b/clip.mp4"] = b"B" * 2500  # same name and size as a/clip.mp4
    files["c/same.bin"] = b"S" * 1800
    files["d/same.bin"] = b"S" * 1800  # same name and bytes as c/same.bin: another file
    for relpath, data in files.items():
        path = root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def assert_one_asset_per_file(emu: CincopaEmulator, files: dict[str, bytes]) -> None:
    assets = list(emu.state.main.assets.values())
    references = Counter(asset.reference_id for asset in assets)
    orphans = [asset.rid for asset in assets if not asset.reference_id]
    assert not orphans, f"untagged assets left: {orphans}"
    assert all(n == 1 for n in references.values()), references.most_common(3)
    by_reference = {asset.reference_id: asset for asset in assets}
    for relpath, data in files.items():
        reference = derived_reference(relpath, hashlib.sha256(data).digest())
        assert reference in by_reference, f"{relpath} is not in the account"
        assert by_reference[reference].content == data, relpath
    assert len(assets) == len(files)


def tagged(emu: CincopaEmulator) -> int:
    """Files stored and tagged so far (what the kills are timed by)."""
    with emu.state.lock:
        return sum(1 for asset in emu.state.main.assets.values() if asset.reference_id)


def stored_share(emu: CincopaEmulator, files: dict[str, bytes], share: float) -> bool:
    return tagged(emu) >= share * len(files)


def uploads(emu: CincopaEmulator) -> int:
    return sum(1 for request in emu.requests if request.path.startswith("/upload/"))


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str]) -> bool:
    """Wait until ``condition()`` holds (True) or ``process`` has exited (False)."""
    deadline = time.monotonic() + HANG_GUARD  # a guard against a hang only
    while not condition():
        if process.poll() is not None:
            return False
        if time.monotonic() > deadline:
            raise AssertionError("the job neither progressed nor ended")
        time.sleep(0.01)
    return True


def environment(base_url: str, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CINCOPA_")}
    env |= {"CINCOPA_BASE_URL": base_url, "CINCOPA_API_TOKEN": token, "PYTHONUNBUFFERED": "1"}
    return env


def start(args: list[str], env: dict[str, str], log: Path | None = None) -> subprocess.Popen[str]:
    """``python ARGS``: its output piped, or (``log``) written to that file."""
    if log is None:
        return subprocess.Popen(
            [sys.executable, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    with log.open("w") as sink:
        return subprocess.Popen(
            [sys.executable, *args], env=env, stdout=sink, stderr=subprocess.STDOUT, text=True
        )


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=HANG_GUARD)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=HANG_GUARD)
    return process.returncode, out, err


@pytest.fixture
def served() -> Iterator[tuple[CincopaEmulator, str, str]]:
    with served_emulator(seed=13) as (emu, base_url):
        emu.faults.add("latency", operations=["upload", "asset.set_meta"], seconds=0.02)
        yield emu, base_url, emu.create_token()


def sync_args(source: Path, ledger: Path, *more: str) -> list[str]:
    return [
        "-m",
        "cincopa_async.cli",
        "sync",
        str(source),
        "--ledger",
        str(ledger),
        "--json",
        "--no-progress",
        *more,
    ]


def reported(out: str) -> dict[str, dict[str, Any]]:
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {line["path"]: line for line in lines}


def test_sync_killed_twice_then_resumed_stores_each_file_once(
    served: tuple[CincopaEmulator, str, str], tmp_path: Path
) -> None:
    emu, base_url, token = served
    source = tmp_path / "library"
    files = make_tree(source)
    ledger = tmp_path / "job.sqlite"
    env = environment(base_url, token)
    for share in (1 / 3, 2 / 3):
        process = start(sync_args(source, ledger, "--concurrency", "6"), env)
        if wait_for(functools.partial(stored_share, emu, files, share), process):
            kill(process)
        else:  # it finished before the kill: the test would prove nothing
            pytest.fail(f"the sync ended before it was killed: {finish(process)}")
    assert tagged(emu) < len(files)  # the second kill left work undone

    code, out, err = finish(start(sync_args(source, ledger, "--concurrency", "6"), env))
    assert code == 0, err
    report = reported(out)
    assert set(report) == set(files)
    assert all(line["state"] in ("done", "skipped") for line in report.values()), report
    assert_one_asset_per_file(emu, files)

    before = uploads(emu)
    code, out, err = finish(start(sync_args(source, ledger), env))
    assert code == 0, err
    assert uploads(emu) == before
    assert all(line["state"] == "skipped" for line in reported(out).values()), out
    assert token not in out + err


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[str]]]]:
    """A Dask scheduler and two workers (no nannies: a killed worker stays dead), each its own
    process on 127.0.0.1: (the scheduler's address, the worker processes)."""
    from distributed import Client

    scheduler_file = tmp_path / "scheduler.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CINCOPA_", "DASK_"))}
    scheduler = start(
        [
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(scheduler_file),
        ],
        env,
        tmp_path / "scheduler.log",
    )
    processes = [scheduler]
    try:
        assert wait_for(scheduler_file.exists, scheduler), "the scheduler did not start"
        workers = [
            start(
                [
                    "-m",
                    "distributed.cli.dask_worker",
                    "--no-nanny",
                    "--nthreads",
                    "2",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                env,
                tmp_path / f"worker-{number}.log",
            )
            for number in range(2)
        ]
        processes += workers
        with Client(scheduler_file=str(scheduler_file), timeout=HANG_GUARD) as client:
            client.wait_for_workers(2, timeout=HANG_GUARD)
            address = client.scheduler.address
        yield address, workers
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait(timeout=HANG_GUARD)


def test_sync_on_dask_survives_a_worker_killed_mid_job(
    served: tuple[CincopaEmulator, str, str],
    dask_cluster: tuple[str, list[subprocess.Popen[str]]],
    tmp_path: Path,
) -> None:
    emu, base_url, token = served
    address, workers = dask_cluster
    source = tmp_path / "library"
    files = make_tree(source, unique=92)
    ledger = tmp_path / "job.sqlite"
    env = environment(base_url, token)
    driver = start(sync_args(source, ledger, "--dask", address), env)
    if wait_for(lambda: tagged(emu) >= len(files) / 3, driver):
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=HANG_GUARD)
    else:
        pytest.fail(f"the job ended before a worker was killed: {finish(driver)}")

    code, out, err = finish(driver)
    assert code == 0, err
    report = reported(out)
    assert set(report) == set(files)
    assert all(line["state"] == "done" for line in report.values()), report
    assert_one_asset_per_file(emu, files)

    before = uploads(emu)
    code, out, err = finish(start(sync_args(source, ledger, "--dask", address), env))
    assert code == 0, err
    assert uploads(emu) == before
    assert all(line["state"] == "skipped" for line in reported(out).values()), out
    assert token not in out + err
