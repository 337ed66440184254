"""Developer and CI sessions: ``nox -s lint typing tests`` is what CI runs.

* ``tests``   the test suite (asyncio and trio) under coverage, subprocesses included (the CLI's
              tests run it in them); the coverage report is printed whether the tests pass or not
* ``lint``    ruff check + ruff format --check
* ``typing``  mypy --strict over the package, tools/ and tests/typing; pyright over tests/typing
* ``codegen`` regenerate ``_generated.py`` with tools/codegen.py (``-- --check`` only checks)
* ``bench``   the benchmarks in benchmarks/, each printing ratios against its baselines
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["lint", "typing", "tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_external_run = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def install_groups(session: nox.Session, *groups: str) -> None:
    requirements = [
        req for group in groups for req in nox.project.dependency_groups(PYPROJECT, group)
    ]
    session.install("-e", ".", *requirements)


@nox.session
def tests(session: nox.Session) -> None:
    install_groups(session, "tests")
    session.run("coverage", "erase")
    try:
        session.run("coverage", "run", "-m", "pytest", *session.posargs)
    finally:  # the figure on every run, failing ones too
        session.run("coverage", "combine", "--quiet")
        session.run("coverage", "report")


@nox.session
def lint(session: nox.Session) -> None:
    install_groups(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    install_groups(session, "typing")
    session.run("mypy")
    # pyright[nodejs] runs on Node.js from a wheel; skip its version check against PyPI.
    python = Path(session.bin) / "python"
    session.run("pyright", "--pythonpath", str(python), env={"PYRIGHT_PYTHON_IGNORE_WARNINGS": "1"})


@nox.session
def codegen(session: nox.Session) -> None:
    session.install("-e", ".")
    session.run("python", "tools/codegen.py", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Hypothesis fuzzing of every generated method and of upload file names, at length."""
    install_groups(session, "tests")
    session.run(
        "pytest", "tests/test_fuzz.py", "-q", *session.posargs, env={"HYPOTHESIS_PROFILE": "fuzz"}
    )


@nox.session
def soak(session: nox.Session) -> None:
    """The long soak under every fault kind (tests/soak.py); `-- --seconds N` to change it."""
    install_groups(session, "tests")
    session.run("python", "-m", "tests.soak", *(session.posargs or ["--seconds", "120"]))


@nox.session
def bench(session: nox.Session) -> None:
    install_groups(session, "bench")
    scripts = session.posargs or ["overhead"]
    for name in scripts:
        session.run("python", f"benchmarks/bench_{name}.py")
