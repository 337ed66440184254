"""``cincopa sync`` and ``cincopa ledger export``, run for real in subprocesses against the
emulator on loopback (a fresh one per test: these tests count assets)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from cincopa_async._bulk import derived_reference
from cincopa_async.testing import CincopaEmulator
from tests._waits import HANG_GUARD
from tests.integrations._support import served_emulator


class Served(NamedTuple):
    emu: CincopaEmulator
    base_url: str
    token: str


class Run(NamedTuple):
    code: int
    out: str
    err: str

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


@pytest.fixture
def served() -> Iterator[Served]:
    with served_emulator(seed=17) as (emu, base_url):
        yield Served(emu, base_url, emu.create_token())


@pytest.fixture
def state_home(tmp_path: Path) -> Path:
    return tmp_path / "state"


def cincopa(served: Served, state_home: Path, *args: str, cwd: Path | None = None) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CINCOPA_")}
    env |= {
        "CINCOPA_BASE_URL": served.base_url,
        "CINCOPA_API_TOKEN": served.token,
        "XDG_STATE_HOME": str(state_home),
    }
    done = subprocess.run(
        [sys.executable, "-m", "cincopa_async.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
        cwd=cwd,
    )
    assert served.token not in done.stdout + done.stderr
    return Run(done.returncode, done.stdout, done.stderr)


def library(root: Path) -> dict[str, bytes]:
    files = {
        "intro.mp4": b"intro" * 300,
        "2024/clip.mp4": b"A" * 2000,
        "2025/clip.mp4": b"B" * 2000,  # the same name and size as 2024/clip.mp4
        "2025/deep/notes.txt": b"notes",
    }
    for relpath, data in files.items():
        (root / relpath).parent.mkdir(parents=True, exist_ok=True)
        (root / relpath).write_bytes(data)
    return files


def reference(relpath: str, data: bytes) -> str:
    return derived_reference(relpath, hashlib.sha256(data).digest())


def test_sync_uploads_each_file_once_then_skips_them_for_free(
    served: Served, state_home: Path, tmp_path: Path
) -> None:
    files = library(tmp_path / "lib")
    first = cincopa(served, state_home, "sync", str(tmp_path / "lib"), "--json")
    assert first.code == 0, first.err
    lines = {line["path"]: line for line in first.lines()}
    assert set(lines) == set(files)
    assert {line["state"] for line in lines.values()} == {"done"}
    assets = {a.reference_id: a for a in served.emu.state.main.assets.values()}
    assert len(assets) == len(files)
    for relpath, data in files.items():
        asset = assets[reference(relpath, data)]
        assert asset.content == data
        assert lines[relpath]["rid"] == asset.rid
        assert lines[relpath]["size"] == len(data)
    assert "synced 4 of 4 file(s): 4 uploaded" in first.err
    # the default ledger, under $XDG_STATE_HOME
    assert list((state_home / "cincopa" / "sync").glob("*.sqlite"))

    before = len(served.emu.requests)
    again = cincopa(served, state_home, "sync", str(tmp_path / "lib"), "--json")
    assert again.code == 0, again.err
    assert {line["state"] for line in again.lines()} == {"skipped"}
    assert len(served.emu.requests) == before  # a no-op rerun sends nothing
    assert "0 uploaded, 4 already there" in again.err


def test_the_default_ledger_inside_the_source_is_never_synced_and_a_linked_path_is_the_same_job(
    served: Served, tmp_path: Path
) -> None:
    lib = tmp_path / "lib"
    files = library(lib)
    state_home = lib / ".local" / "state"  # $XDG_STATE_HOME inside SOURCE_DIR, which is "."
    first = cincopa(served, state_home, "sync", ".", "--json", cwd=lib)
    assert first.code == 0, first.err
    assert {line["path"] for line in first.lines()} == set(files)
    assert list((state_home / "cincopa" / "sync").glob("*.sqlite"))

    (tmp_path / "alias").symlink_to(lib)
    before = len(served.emu.requests)
    again = cincopa(served, state_home, "sync", str(tmp_path / "alias"), "--json")
    assert again.code == 0, again.err
    assert {line["path"]: line["state"] for line in again.lines()} == dict.fromkeys(
        files, "skipped"
    )
    assert len(served.emu.requests) == before
    assert len(served.emu.state.main.assets) == len(files)


def test_a_changed_file_is_a_new_asset_and_the_old_version_stays(
    served: Served, state_home: Path, tmp_path: Path
) -> None:
    files = library(tmp_path / "lib")
    assert cincopa(served, state_home, "sync", str(tmp_path / "lib")).code == 0
    changed = b"a new cut of the intro" * 50
    (tmp_path / "lib" / "intro.mp4").write_bytes(changed)
    run = cincopa(served, state_home, "sync", str(tmp_path / "lib"), "--json")
    assert run.code == 0, run.err
    states = {line["path"]: line["state"] for line in run.lines()}
    assert states.pop("intro.mp4") == "done"
    assert set(states.values()) == {"skipped"}
    references = {a.reference_id: a.content for a in served.emu.state.main.assets.values()}
    assert references[reference("intro.mp4", changed)] == changed
    assert references[reference("intro.mp4", files["intro.mp4"])] == files["intro.mp4"]
    assert len(references) == len(files) + 1


def test_failed_files_exit_20_each_reported_and_a_rerun_completes(
    served: Served, state_home: Path, tmp_path: Path
) -> None:
    files = library(tmp_path / "lib")
    ledger = tmp_path / "job.sqlite"
    served.emu.faults.add("upload_chunk_failure", times=2, status=400)  # not worth a retry
    run = cincopa(
        served, state_home, "sync", str(tmp_path / "lib"), "--ledger", str(ledger), "--json"
    )
    assert run.code == 20, run.err
    failed = [line for line in run.lines() if line["state"] == "failed"]
    assert len(failed) == 2
    assert all(line["error"].startswith("APIStatusError: ") for line in failed), failed
    assert "2 failed" in run.err

    exported = cincopa(served, state_home, "ledger", "export", str(ledger), "--format", "csv")
    assert exported.code == 0, exported.err
    rows = list(csv.DictReader(io.StringIO(exported.out)))
    assert sorted(row["key"] for row in rows) == sorted(files)
    assert sorted(row["state"] for row in rows) == ["done", "done", "failed", "failed"]
    assert {row["error_class"] for row in rows if row["state"] == "failed"} == {"APIStatusError"}

    rerun = cincopa(served, state_home, "sync", str(tmp_path / "lib"), "--ledger", str(ledger))
    assert rerun.code == 0, rerun.err
    assert len(served.emu.state.main.assets) == len(files)
    jsonl = cincopa(served, state_home, "ledger", "export", str(ledger), "--format", "jsonl")
    assert {json.loads(line)["state"] for line in jsonl.out.splitlines()} == {"done"}


def test_piped_progress_is_plain_lines(served: Served, state_home: Path, tmp_path: Path) -> None:
    library(tmp_path / "lib")
    run = cincopa(served, state_home, "sync", str(tmp_path / "lib"))
    assert run.code == 0, run.err
    assert "\x1b[" not in run.err + run.out  # no terminal codes when not on a terminal
    assert "synced 4 of 4 file(s)" in run.out + run.err


def test_bad_source_is_a_usage_error_and_sends_nothing(
    served: Served, state_home: Path, tmp_path: Path
) -> None:
    before = len(served.emu.requests)
    run = cincopa(served, state_home, "sync", str(tmp_path / "missing"))
    assert run.code == 2
    assert "missing" in run.err
    assert len(served.emu.requests) == before
