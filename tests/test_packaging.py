"""What a wheel built from this tree ships: the package and its LICENSE, no development tools."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_ships_the_license_and_no_development_tools(tmp_path: Path) -> None:
    build = ["wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(tmp_path)]
    subprocess.run(
        [sys.executable, "-m", "pip", *build, str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("cincopa_async-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    licenses = [name for name in names if name.endswith(".dist-info/licenses/LICENSE")]
    assert len(licenses) == 1
    text = zipfile.ZipFile(wheel).read(licenses[0]).decode()
    assert text.startswith("MIT License")
    assert not [name for name in names if "codegen" in name or name.startswith("tools/")]
    assert "cincopa_async/testing/_httpserver.py" not in names
    assert "cincopa_async/py.typed" in names
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    assert b"License-Expression: MIT" in metadata
    assert b"Project-URL: " in metadata
    assert b"Provides-Extra: trio" in metadata


def test_the_extras_that_serve_the_emulator_bring_uvicorn_and_httptools() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    for extra in ("emulator", "cli"):
        names = {requirement.split(">")[0] for requirement in extras[extra]}
        assert {"uvicorn", "httptools", "uvloop"} <= names, extra
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    assert project["license"] == "MIT"
