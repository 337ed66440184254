"""Developer and CI sessions: ``nox -s lint typing tests lowest`` is what CI runs.

* ``tests``   the test suite (asyncio and trio) under coverage, subprocesses included (the CLI's
              tests run it in them); the coverage report is printed whether the tests pass or not
* ``lint``    ruff check + ruff format --check
* ``typing``  mypy --strict over the package, tools/ and tests/typing; pyright over tests/typing
* ``lowest``  the tests that drive the runtime dependencies, each dependency at the lowest
              version ``pyproject.toml`` allows
* ``codegen`` regenerate ``_generated.py`` with tools/codegen.py (``-- --check`` only checks)
* ``bench``   the benchmarks in benchmarks/, each printing ratios against its baselines
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).parent))  # tools/, wherever nox was started from
from tools.lowest import lowest_pins

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


# The tests that drive what the SDK takes from each runtime dependency: httpx (types, errors,
# transports), aiohttp (the default route), anyio, attrs and cattrs (the models and the
# converter), orjson (the decoder), through the client, uploads and a hostile server.
LOWEST_TESTS = (
    "tests/test_client.py",
    "tests/test_errors.py",
    "tests/test_hostile_wire.py",
    "tests/test_json.py",
    "tests/test_lifecycle.py",
    "tests/test_models.py",
    "tests/test_paging.py",
    "tests/test_retry.py",
    "tests/test_shards.py",
    "tests/test_structure.py",
    "tests/test_transport.py",
    "tests/test_uploads.py",
)


@nox.session
def lowest(session: nox.Session) -> None:
    """A bound in ``pyproject.toml`` lower than an API the SDK uses fails here, not for a user
    whose other packages hold a dependency back (cattrs 24.1 lacked one the SDK called). The
    ``trio`` extra's bound too: every async test runs on trio as well."""
    project = PYPROJECT["project"]
    pins = lowest_pins([*project["dependencies"], *project["optional-dependencies"]["trio"]])
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "tests"), *pins)
    session.run("python", "-m", "pip", "list", "--format=freeze")
    session.run("pytest", "-q", *LOWEST_TESTS, *session.posargs)


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
