"""The README's front door, run as a newcomer would: its blocks verbatim, against the emulator.

``cincopa emulator`` runs in a subprocess; the Quickstart and the FastAPI example are taken from
README.md unchanged and run with nothing but the two variables it prints added to the
environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_block(section: str, language: str = "python") -> str:
    """The first ``language`` block after the heading ``## section``."""
    after = README.split(f"\n## {section}\n", 1)[1]
    match = re.search(rf"```{language}\n(.*?)```", after, re.DOTALL)
    assert match is not None, section
    return match.group(1)


def environment(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CINCOPA_")}
    env.update(variables)
    return env


@contextlib.contextmanager
def cincopa_emulator() -> Iterator[dict[str, str]]:
    """``cincopa emulator --port 0``; yields the ``NAME=value`` lines it printed, as a mapping."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cincopa_async.cli", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=environment(),
    )
    try:
        assert process.stdout is not None
        printed: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("Press Ctrl-C"):
                break
            name, sep, value = line.strip().partition("=")
            if sep:
                printed[name] = value
        yield printed
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def uvicorn_app(module: str, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """``python -m uvicorn module:app --port 0`` in ``cwd``; yields its root URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", f"{module}:app", "--port", "0"],
        cwd=cwd,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            started = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            if started:
                break
            assert "ERROR" not in line, line
        else:
            raise AssertionError("uvicorn did not start")
        yield started.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        if process.stderr is not None:
            process.stderr.close()


def test_quickstart_and_fastapi_run_verbatim_with_the_emulators_two_variables(
    tmp_path: Path,
) -> None:
    quickstart = code_block("Quickstart")
    fastapi_app = code_block("FastAPI")
    (tmp_path / "quickstart.py").write_text(quickstart, encoding="utf-8")
    (tmp_path / "readme_app.py").write_text(fastapi_app, encoding="utf-8")
    (tmp_path / "intro.mp4").write_bytes(os.urandom(50_000))
    with cincopa_emulator() as printed:
        assert set(printed) == {"CINCOPA_BASE_URL", "CINCOPA_API_TOKEN"}
        env = environment(**printed)  # exported: those two and nothing else of ours
        run = subprocess.run(
            [sys.executable, "quickstart.py"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr
        listed = [line.split() for line in run.stdout.splitlines()]
        assert [words[1] for words in listed] == ["Intro"]  # rid, caption, uploaded
        rid = listed[0][0]
        with uvicorn_app("readme_app", tmp_path, env) as root:
            reply = httpx.get(f"{root}/videos", trust_env=False, timeout=30)
        assert reply.status_code == 200, reply.text
        assert json.loads(reply.text) == [rid]


def test_the_readme_test_command_is_what_ci_runs() -> None:
    """The README's test command (in a venv, for PEP 668 systems) is the one in .ci/run."""
    commands = code_block("The two commands", "bash")
    test_command = next(line for line in commands.splitlines() if line.endswith("nox -s tests"))
    assert test_command == (
        "python3 -m venv .venv && .venv/bin/pip install nox && .venv/bin/nox -s tests"
    )
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    ci_command = next(line for line in ci.splitlines() if "nox -s" in line and "#" not in line)
    venv, install, nox = ci_command.split(" && ")
    assert venv == "python3 -m venv .venv"
    assert install.replace(" --quiet", "") == ".venv/bin/pip install nox"
    assert nox.split() == [".venv/bin/nox", "-s", "lint", "typing", "tests", "lowest"]


@pytest.mark.parametrize("section", ["Quickstart", "FastAPI"])
def test_the_examples_take_their_configuration_from_the_environment(section: str) -> None:
    """Nothing in the blocks points at the emulator: they are the real-API examples."""
    block = code_block(section)
    assert "127.0.0.1" not in block
    assert "base_url" not in block
